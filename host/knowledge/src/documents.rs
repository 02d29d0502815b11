//! Documents: direct ingestion (IngestKnowledgeBaseDocuments), their statuses, deletion, and
//! the one function that indexes a document whichever way it arrived.

use std::collections::BTreeMap;

use base64::Engine as _;
use serde_json::Value;

use crate::ingest::{
    Chunking, SourceDocument, chunk_and_embed, content_type_of, parse, sidecar_metadata,
};
use crate::input::{
    CustomSourceType, DocumentIdentifier, DocumentIdentifiersInput, DocumentMetadataType,
    DocumentSourceType, IngestDocumentsInput, InlineContentType, KnowledgeBaseDocument, ListInput,
    MetadataAttribute, MetadataValueType, S3Location,
};
use crate::output::{DocumentDetail, DocumentDetails, DocumentStatus};
use crate::record::{DataSourceRecord, DocumentRecord, KnowledgeBaseRecord, document_key};
use crate::retrieve::Location;
use crate::service::{Knowledge, check_client_token, now, page};
use crate::{DataSourceId, KnowledgeBaseId, KnowledgeError};

/// What indexing one document did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Indexed {
    New,
    Modified,
    /// Same content hash as the indexed copy: nothing was embedded.
    Unchanged,
    Failed(String),
}

/// The largest inline text Bedrock accepts, in characters.
const MAX_INLINE_TEXT: usize = 5_242_880;

impl Knowledge {
    /// IngestKnowledgeBaseDocuments: up to ten documents, each parsed, chunked, embedded and
    /// indexed before the call answers (so each detail is INDEXED or FAILED, never pending).
    /// The whole request is checked first: a malformed document writes nothing.
    pub async fn ingest_documents(
        &self,
        kb: &KnowledgeBaseId,
        ds: &DataSourceId,
        input: IngestDocumentsInput,
    ) -> Result<DocumentDetails, KnowledgeError> {
        if let Some(token) = &input.client_token {
            check_client_token(token)?;
        }
        check_count("documents", input.documents.len())?;
        let kb_record = self.find_knowledge_base(kb)?;
        let ds_record = self.find_data_source(kb, ds)?;
        let mut sources = Vec::with_capacity(input.documents.len());
        for (i, document) in input.documents.iter().enumerate() {
            sources.push(
                self.read_document(&ds_record, document, &format!("documents.{i}"))
                    .await?,
            );
        }
        let mut details = Vec::with_capacity(sources.len());
        for source in sources {
            let identifier = source.identifier.clone();
            let outcome = self.index_source(&kb_record, &ds_record, source).await?;
            details.push(self.detail(kb, ds, &identifier)?);
            tracing::debug!(knowledge_base = %kb, data_source = %ds, ?outcome, "document ingested");
        }
        self.inner.index.commit();
        Ok(DocumentDetails {
            document_details: details,
            next_token: None,
        })
    }

    /// Checks one wire document and reads its content and metadata.
    async fn read_document(
        &self,
        ds: &DataSourceRecord,
        document: &KnowledgeBaseDocument,
        field: &str,
    ) -> Result<SourceDocument, KnowledgeError> {
        let content = &document.content;
        let expected = match ds.configuration.kind {
            crate::config::DataSourceType::S3 => DocumentSourceType::S3,
            crate::config::DataSourceType::Web => {
                return Err(KnowledgeError::invalid(
                    "dataSourceId",
                    "a WEB data source takes its documents from its crawl; start an ingestion job",
                ));
            }
            _ => DocumentSourceType::Custom,
        };
        if content.data_source_type != expected {
            return Err(KnowledgeError::invalid(
                format!("{field}.content.dataSourceType"),
                format!(
                    "must be {} for a {} data source",
                    if expected == DocumentSourceType::S3 {
                        "S3"
                    } else {
                        "CUSTOM"
                    },
                    ds.configuration.kind.as_str()
                ),
            ));
        }
        let (identifier, location, bytes, content_type) = match content.data_source_type {
            DocumentSourceType::Custom => {
                let custom = content.custom.as_ref().ok_or_else(|| {
                    KnowledgeError::invalid(
                        format!("{field}.content.custom"),
                        "Member must not be null",
                    )
                })?;
                let id = &custom.custom_document_identifier.id;
                if id.is_empty() || id.chars().count() > 2048 {
                    return Err(KnowledgeError::invalid(
                        format!("{field}.content.custom.customDocumentIdentifier.id"),
                        "Member must have length between 1 and 2048",
                    ));
                }
                let (bytes, content_type) = match custom.source_type {
                    CustomSourceType::InLine => {
                        let field = format!("{field}.content.custom.inlineContent");
                        let inline = custom.inline_content.as_ref().ok_or_else(|| {
                            KnowledgeError::invalid(
                                &field,
                                "Member must not be null for IN_LINE content",
                            )
                        })?;
                        match inline.kind {
                            InlineContentType::Text => {
                                let text = inline.text_content.as_ref().ok_or_else(|| {
                                    KnowledgeError::invalid(
                                        format!("{field}.textContent"),
                                        "Member must not be null",
                                    )
                                })?;
                                let length = text.data.chars().count();
                                if length == 0 || length > MAX_INLINE_TEXT {
                                    return Err(KnowledgeError::invalid(
                                        format!("{field}.textContent.data"),
                                        format!(
                                            "Member must have length between 1 and {MAX_INLINE_TEXT}"
                                        ),
                                    ));
                                }
                                (text.data.clone().into_bytes(), "text/plain".to_owned())
                            }
                            InlineContentType::Byte => {
                                let bytes = inline.byte_content.as_ref().ok_or_else(|| {
                                    KnowledgeError::invalid(
                                        format!("{field}.byteContent"),
                                        "Member must not be null",
                                    )
                                })?;
                                let data = base64::engine::general_purpose::STANDARD
                                    .decode(&bytes.data)
                                    .map_err(|e| {
                                        KnowledgeError::invalid(
                                            format!("{field}.byteContent.data"),
                                            format!("Member must be base64: {e}"),
                                        )
                                    })?;
                                (data, bytes.mime_type.clone())
                            }
                        }
                    }
                    CustomSourceType::S3Location => {
                        let location = custom.s3_location.as_ref().ok_or_else(|| {
                            KnowledgeError::invalid(
                                format!("{field}.content.custom.s3Location"),
                                "Member must not be null for S3_LOCATION content",
                            )
                        })?;
                        let bytes = self
                            .read_s3(
                                &location.uri,
                                &format!("{field}.content.custom.s3Location.uri"),
                            )
                            .await?;
                        (bytes, content_type_of(&location.uri).to_owned())
                    }
                };
                (
                    DocumentIdentifier {
                        data_source_type: DocumentSourceType::Custom,
                        s3: None,
                        custom: Some(custom.custom_document_identifier.clone()),
                        web: None,
                    },
                    Location::custom(id.clone()),
                    bytes,
                    content_type,
                )
            }
            DocumentSourceType::S3 => {
                let s3 = content.s3.as_ref().ok_or_else(|| {
                    KnowledgeError::invalid(
                        format!("{field}.content.s3"),
                        "Member must not be null",
                    )
                })?;
                let uri = &s3.s3_location.uri;
                let bytes = self
                    .read_s3(uri, &format!("{field}.content.s3.s3Location.uri"))
                    .await?;
                (
                    DocumentIdentifier {
                        data_source_type: DocumentSourceType::S3,
                        s3: Some(S3Location {
                            uri: uri.clone(),
                            bucket_owner_account_id: None,
                        }),
                        custom: None,
                        web: None,
                    },
                    Location::s3(uri.clone()),
                    bytes,
                    content_type_of(uri).to_owned(),
                )
            }
            // Pages come from a crawl, never from this call.
            DocumentSourceType::Web => {
                return Err(KnowledgeError::invalid(
                    format!("{field}.content.dataSourceType"),
                    "Member must satisfy enum value set: [CUSTOM, S3]",
                ));
            }
        };
        let metadata = match &document.metadata {
            None => BTreeMap::new(),
            Some(metadata) => match metadata.kind {
                DocumentMetadataType::InLineAttribute => {
                    let attributes = metadata.inline_attributes.as_deref().unwrap_or_default();
                    if !(1..=50).contains(&attributes.len()) {
                        return Err(KnowledgeError::invalid(
                            format!("{field}.metadata.inlineAttributes"),
                            "Member must have length between 1 and 50",
                        ));
                    }
                    inline_metadata(attributes, &format!("{field}.metadata.inlineAttributes"))?
                }
                DocumentMetadataType::S3Location => {
                    let field = format!("{field}.metadata.s3Location");
                    let location = metadata.s3_location.as_ref().ok_or_else(|| {
                        KnowledgeError::invalid(&field, "Member must not be null")
                    })?;
                    let bytes = self.read_s3(&location.uri, &format!("{field}.uri")).await?;
                    sidecar_metadata(&bytes).map_err(|e| KnowledgeError::invalid(field, e))?
                }
            },
        };
        Ok(SourceDocument {
            identifier,
            location,
            bytes,
            content_type,
            metadata,
        })
    }

    async fn read_s3(&self, uri: &str, field: &str) -> Result<Vec<u8>, KnowledgeError> {
        self.inner
            .buckets
            .read(uri)
            .await
            .map_err(|e| KnowledgeError::invalid(field, e))
    }

    /// Indexes one document: unless its content hash is unchanged, parses, chunks and embeds
    /// it, then writes its record (chunks and vectors in one atomic write) and flushes.
    pub(crate) async fn index_source(
        &self,
        kb: &KnowledgeBaseRecord,
        ds: &DataSourceRecord,
        source: SourceDocument,
    ) -> Result<Indexed, KnowledgeError> {
        let inner = &self.inner;
        let chunking = Chunking::new(ds.ingestion.as_ref(), &kb.embedding_model);
        let hash = source.content_hash(&chunking.fingerprint(&inner.registry), &kb.embedding_model);
        let doc_key = document_key(&source.identifier);
        let key = format!("{}/{}/{doc_key}", kb.id, ds.id);
        let previous = inner.docs.get(&key)?;
        if let Some(previous) = &previous
            && previous.status == DocumentStatus::Indexed
            && previous.content_hash == hash
        {
            return Ok(Indexed::Unchanged);
        }
        let result = match parse(source.bytes.clone(), &source.content_type).await {
            Ok(text) => {
                chunk_and_embed(
                    &inner.registry,
                    &inner.models,
                    &kb.embedding_model,
                    &source,
                    text,
                    &chunking,
                )
                .await
            }
            Err(reason) => Err(reason),
        };
        let (status, reason, chunks, outcome) = match result {
            Ok(chunks) => {
                let outcome = if previous.is_some() {
                    Indexed::Modified
                } else {
                    Indexed::New
                };
                (DocumentStatus::Indexed, None, chunks, outcome)
            }
            Err(reason) => (
                DocumentStatus::Failed,
                Some(reason.clone()),
                Vec::new(),
                Indexed::Failed(reason),
            ),
        };
        let record = DocumentRecord {
            knowledge_base_id: kb.id.clone(),
            data_source_id: ds.id.clone(),
            identifier: source.identifier,
            content_hash: hash,
            status,
            status_reason: reason,
            updated_at: now(),
            location: source.location,
            metadata: source.metadata,
            chunks,
        };
        inner.docs.put(&key, &record)?;
        inner.store.flush()?;
        if status == DocumentStatus::Indexed {
            self.index_document(&key, record, true);
        } else {
            inner.index.remove(&kb.id, &format!("{}/{doc_key}", ds.id));
        }
        Ok(outcome)
    }

    fn detail(
        &self,
        kb: &KnowledgeBaseId,
        ds: &DataSourceId,
        identifier: &DocumentIdentifier,
    ) -> Result<DocumentDetail, KnowledgeError> {
        let key = format!("{kb}/{ds}/{}", document_key(identifier));
        Ok(match self.inner.docs.get(&key)? {
            Some(record) => DocumentDetail {
                knowledge_base_id: kb.clone(),
                data_source_id: ds.clone(),
                identifier: record.identifier,
                status: record.status,
                status_reason: record.status_reason,
                updated_at: Some(record.updated_at),
            },
            None => DocumentDetail {
                knowledge_base_id: kb.clone(),
                data_source_id: ds.clone(),
                identifier: identifier.clone(),
                status: DocumentStatus::NotFound,
                status_reason: None,
                updated_at: None,
            },
        })
    }

    /// GetKnowledgeBaseDocuments.
    pub fn get_documents(
        &self,
        kb: &KnowledgeBaseId,
        ds: &DataSourceId,
        input: &DocumentIdentifiersInput,
    ) -> Result<DocumentDetails, KnowledgeError> {
        self.find_data_source(kb, ds)?;
        check_identifiers(&input.document_identifiers)?;
        let details = input
            .document_identifiers
            .iter()
            .map(|identifier| self.detail(kb, ds, identifier))
            .collect::<Result<_, _>>()?;
        Ok(DocumentDetails {
            document_details: details,
            next_token: None,
        })
    }

    /// ListKnowledgeBaseDocuments.
    pub fn list_documents(
        &self,
        kb: &KnowledgeBaseId,
        ds: &DataSourceId,
        input: &ListInput,
    ) -> Result<DocumentDetails, KnowledgeError> {
        self.find_data_source(kb, ds)?;
        let records = self.inner.docs.scan_prefix(&format!("{kb}/{ds}/"))?;
        let (records, next_token) = page(records, input.max_results, input.next_token.as_deref())?;
        Ok(DocumentDetails {
            document_details: records
                .into_iter()
                .map(|(_, r)| DocumentDetail {
                    knowledge_base_id: kb.clone(),
                    data_source_id: ds.clone(),
                    identifier: r.identifier,
                    status: r.status,
                    status_reason: r.status_reason,
                    updated_at: Some(r.updated_at),
                })
                .collect(),
            next_token,
        })
    }

    /// DeleteKnowledgeBaseDocuments: the documents leave the index before the call answers.
    pub fn delete_documents(
        &self,
        kb: &KnowledgeBaseId,
        ds: &DataSourceId,
        input: &DocumentIdentifiersInput,
    ) -> Result<DocumentDetails, KnowledgeError> {
        if let Some(token) = &input.client_token {
            check_client_token(token)?;
        }
        self.find_data_source(kb, ds)?;
        check_identifiers(&input.document_identifiers)?;
        let mut details = Vec::new();
        for identifier in &input.document_identifiers {
            let doc_key = document_key(identifier);
            let removed = self.inner.docs.delete(&format!("{kb}/{ds}/{doc_key}"))?;
            self.inner
                .index
                .remove(kb.as_str(), &format!("{ds}/{doc_key}"));
            details.push(DocumentDetail {
                knowledge_base_id: kb.clone(),
                data_source_id: ds.clone(),
                identifier: identifier.clone(),
                status: if removed.is_some() {
                    DocumentStatus::Deleting
                } else {
                    DocumentStatus::NotFound
                },
                status_reason: None,
                updated_at: Some(now()),
            });
        }
        self.inner.store.flush()?;
        self.inner.index.commit();
        Ok(DocumentDetails {
            document_details: details,
            next_token: None,
        })
    }
}

fn check_count(field: &str, count: usize) -> Result<(), KnowledgeError> {
    if (1..=10).contains(&count) {
        Ok(())
    } else {
        Err(KnowledgeError::invalid(
            field,
            "Member must have length between 1 and 10",
        ))
    }
}

fn check_identifiers(identifiers: &[DocumentIdentifier]) -> Result<(), KnowledgeError> {
    check_count("documentIdentifiers", identifiers.len())?;
    for (i, identifier) in identifiers.iter().enumerate() {
        let ok = match identifier.data_source_type {
            DocumentSourceType::Custom => identifier.custom.is_some(),
            DocumentSourceType::S3 => identifier.s3.is_some(),
            DocumentSourceType::Web => identifier.web.is_some(),
        };
        if !ok {
            return Err(KnowledgeError::invalid(
                format!("documentIdentifiers.{i}"),
                "the member named by dataSourceType (custom, s3 or web) must be set",
            ));
        }
    }
    Ok(())
}

/// Inline attributes as JSON values, each checked against its declared type.
fn inline_metadata(
    attributes: &[MetadataAttribute],
    field: &str,
) -> Result<BTreeMap<String, Value>, KnowledgeError> {
    let mut metadata = BTreeMap::new();
    for (i, attribute) in attributes.iter().enumerate() {
        let field = format!("{field}.{i}");
        if attribute.key.is_empty() || attribute.key.chars().count() > 200 {
            return Err(KnowledgeError::invalid(
                format!("{field}.key"),
                "Member must have length between 1 and 200",
            ));
        }
        let value = &attribute.value;
        let (member, found) = match value.kind {
            MetadataValueType::Number => ("numberValue", value.number_value.map(Value::from)),
            MetadataValueType::Boolean => ("booleanValue", value.boolean_value.map(Value::from)),
            MetadataValueType::String => {
                ("stringValue", value.string_value.clone().map(Value::from))
            }
            MetadataValueType::StringList => (
                "stringListValue",
                value.string_list_value.clone().map(Value::from),
            ),
        };
        let value = found.ok_or_else(|| {
            KnowledgeError::invalid(
                format!("{field}.value.{member}"),
                "Member must be set for the attribute's type",
            )
        })?;
        metadata.insert(attribute.key.clone(), value);
    }
    Ok(metadata)
}

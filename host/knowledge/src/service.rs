//! The knowledge-base service: the control plane, document ingestion and retrieval.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use mantle_guardrails::{Guardrails, Verdict};
use mantle_inference::Catalog;
use mantle_plugins::Registry;
use mantle_store::{Store, Table};
use serde_json::Value;

use crate::bucket::{BucketSource, Buckets};
use crate::config::{
    DataDeletionPolicy, KnowledgeBaseType, validate_data_source, validate_ingestion,
};
use crate::guard::{Guard, GuardrailAction};
use crate::index::{Index, IndexedDoc, Mode, Query};
use crate::ingest::embed_query;
use crate::input::{
    CreateKnowledgeBaseInput, DataSourceInput, ListInput, UpdateKnowledgeBaseInput,
};
use crate::output::{
    DataSource, DataSourcePage, DataSourceStatus, DataSourceSummary, DeletedDataSource,
    DeletedKnowledgeBase, DocumentStatus, IngestionJobStatus, KnowledgeBase, KnowledgeBasePage,
    KnowledgeBaseStatus, KnowledgeBaseSummary,
};
use crate::record::{
    ClientToken, DataSourceRecord, DocumentRecord, IngestionJobRecord, KnowledgeBaseRecord,
    RagSessionRecord,
};
use crate::rerank::{RerankInput, RerankOutput, relevance, reranker};
use crate::retrieve::{
    ResultContent, RetrievalResult, RetrieveInput, RetrieveOutput, SearchRequest, SearchType,
};
use crate::{DataSourceId, KnowledgeBaseId, KnowledgeError};
pub(crate) use mantle_store::now_rfc3339 as now;

pub use mantle_store::ArnScope;

/// Where the service keeps files beside its sled records.
#[derive(Debug, Clone)]
pub struct KnowledgeDirs {
    /// Where `s3://` URIs are read: the embedded bucket root or an S3-compatible endpoint.
    pub buckets: BucketSource,
    /// The keyword index (rebuildable from the records).
    pub index: PathBuf,
    /// The saved vector graphs (rebuildable from the records).
    pub vectors: PathBuf,
}

impl KnowledgeDirs {
    /// The layout under a server's data directory: `buckets/` (the embedded bucket root),
    /// `knowledge-index/` and `knowledge-vectors/`.
    pub fn under(data_dir: &std::path::Path) -> Self {
        Self {
            buckets: BucketSource::Embedded(data_dir.join("buckets")),
            index: data_dir.join("knowledge-index"),
            vectors: data_dir.join("knowledge-vectors"),
        }
    }
}

/// How often the vector graphs that changed are saved.
pub const SAVE_EVERY: Duration = Duration::from_secs(30);

/// Saves changed vector graphs every [`SAVE_EVERY`] until the service is dropped. It holds
/// the service only while it saves (a weak reference between rounds), so dropping the last
/// clone closes the store and the indexes at once, save for a round in progress.
fn spawn_saver(inner: &Arc<Inner>) {
    let service = Arc::downgrade(inner);
    let spawned = std::thread::Builder::new()
        .name("mantle-kb-save".into())
        .spawn(move || {
            loop {
                std::thread::sleep(SAVE_EVERY);
                let Some(inner) = service.upgrade() else {
                    return;
                };
                if let Err(reason) = inner.index.save_vectors() {
                    tracing::warn!(%reason, "cannot save a vector graph; the next start rebuilds it");
                }
            }
        });
    if let Err(e) = spawned {
        tracing::warn!(error = %e, "no vector-graph saver; every start rebuilds the graphs");
    }
}

/// A document record as the index holds it.
fn indexed_doc(doc: DocumentRecord) -> IndexedDoc {
    IndexedDoc {
        serial: 0,
        data_source_id: doc.data_source_id,
        content_hash: doc.content_hash,
        location: doc.location,
        metadata: doc.metadata,
        chunks: doc.chunks,
    }
}

/// The knowledge-base service. Cheap to clone; clones share the store, the index and the
/// running jobs.
///
/// ```no_run
/// # async fn example(knowledge: mantle_knowledge::Knowledge, kb: mantle_knowledge::KnowledgeBaseId)
/// # -> Result<(), mantle_knowledge::KnowledgeError> {
/// use mantle_knowledge::SearchRequest;
/// let search = SearchRequest::new("How do I rotate keys?", 3);
/// for result in knowledge.search(&kb, &search).await? {
///     println!("{:.3} {}", result.score, result.content.text);
/// }
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Knowledge {
    pub(crate) inner: Arc<Inner>,
}

#[derive(Debug)]
pub(crate) struct Inner {
    pub(crate) store: Store,
    pub(crate) kbs: Table<KnowledgeBaseRecord>,
    pub(crate) sources: Table<DataSourceRecord>,
    pub(crate) jobs: Table<IngestionJobRecord>,
    pub(crate) docs: Table<DocumentRecord>,
    pub(crate) tokens: Table<ClientToken>,
    pub(crate) sessions: Table<RagSessionRecord>,
    pub(crate) registry: Arc<Registry>,
    pub(crate) models: Arc<Catalog>,
    /// Applied when a Retrieve or RetrieveAndGenerate request names a guardrail.
    pub(crate) guardrails: Guardrails,
    pub(crate) scope: ArnScope,
    /// Where `s3://` URIs are read.
    pub(crate) buckets: Buckets,
    pub(crate) index: Index,
    /// Whether WEB crawls may reach loopback, private and link-local addresses.
    pub(crate) crawl_private_networks: AtomicBool,
    /// Stop flags of the jobs running in this process, by job record key.
    pub(crate) running: Mutex<HashMap<String, Arc<AtomicBool>>>,
}

impl Knowledge {
    /// Opens the service over `store`. Jobs that a previous process left running are marked
    /// FAILED (their finished documents stay indexed), and the index is rebuilt from the
    /// document records.
    pub fn open(
        store: Store,
        registry: Arc<Registry>,
        models: Arc<Catalog>,
        guardrails: Guardrails,
        scope: ArnScope,
        dirs: KnowledgeDirs,
    ) -> Result<Self, KnowledgeError> {
        let index = Index::open(&dirs.index, &dirs.vectors).map_err(|reason| {
            KnowledgeError::Index(format!(
                "cannot open the keyword index in {}: {reason}",
                dirs.index.display()
            ))
        })?;
        let inner = Inner {
            kbs: store.table()?,
            sources: store.table()?,
            jobs: store.table()?,
            docs: store.table()?,
            tokens: store.table()?,
            sessions: store.table()?,
            store,
            registry,
            models,
            guardrails,
            scope,
            buckets: Buckets::new(dirs.buckets),
            index,
            crawl_private_networks: AtomicBool::new(false),
            running: Mutex::new(HashMap::new()),
        };
        let knowledge = Self {
            inner: Arc::new(inner),
        };
        knowledge.recover()?;
        spawn_saver(&knowledge.inner);
        Ok(knowledge)
    }

    fn recover(&self) -> Result<(), KnowledgeError> {
        let inner = &self.inner;
        let mut interrupted = 0;
        for (key, job) in inner.jobs.all()? {
            if !job.status.is_final() {
                inner.jobs.update::<KnowledgeError>(&key, |job| {
                    Ok(job.map(|mut job| {
                        job.status = IngestionJobStatus::Failed;
                        job.failure_reasons.push(
                            "The server stopped while the job ran; documents it finished are \
                             indexed, the rest were not changed. Start a new job to finish."
                                .into(),
                        );
                        job.updated_at = now();
                        job
                    }))
                })?;
                interrupted += 1;
            }
        }
        // The keyword index may be behind the records (a crash between a record's write and
        // the next commit) or ahead of them (a delete not yet committed): entries whose hash
        // matches are kept, the rest rewritten or removed.
        let mut keywords = inner.index.keyword_contents().unwrap_or_else(|reason| {
            tracing::warn!(%reason, "keyword index unreadable; rewriting every entry");
            HashMap::new()
        });
        let mut indexed = 0;
        let mut rewritten = 0;
        let mut restorer = inner.index.restorer();
        for (key, doc) in inner.docs.all()? {
            if doc.status == DocumentStatus::Indexed {
                let current = keywords.remove(&key).as_deref() == Some(doc.content_hash.as_str());
                if !current {
                    rewritten += 1;
                }
                if let Some((kb, rest)) = key.split_once('/') {
                    restorer.put(kb, rest.to_owned(), indexed_doc(doc), !current);
                }
                indexed += 1;
            }
        }
        let vectors = restorer.finish();
        // A graph rebuilt or fixed up here is saved before serving, so the next start does
        // not pay for it again.
        if vectors.inserted + vectors.dropped > 0
            && let Err(reason) = inner.index.save_vectors()
        {
            tracing::warn!(%reason, "cannot save a vector graph; the next start rebuilds it");
        }
        for stale in keywords.keys() {
            inner.index.remove_keywords(stale);
        }
        inner.index.commit();
        inner.store.flush()?;
        tracing::info!(
            documents = indexed,
            keyword_entries_rewritten = rewritten,
            vectors_reused = vectors.reused,
            vectors_inserted = vectors.inserted,
            vectors_dropped = vectors.dropped,
            interrupted_jobs = interrupted,
            "knowledge bases opened"
        );
        Ok(())
    }

    /// Puts a document record into the index; `keywords` says whether its keyword entry
    /// needs (re)writing. Keyword writes are searchable after the next `index.commit()`.
    pub(crate) fn index_document(&self, record_key: &str, doc: DocumentRecord, keywords: bool) {
        let Some((kb, rest)) = record_key.split_once('/') else {
            return;
        };
        self.inner
            .index
            .put(kb, rest.to_owned(), indexed_doc(doc), keywords);
    }

    /// Saves what the index holds only in memory (the vector graphs changed since their last
    /// save) and flushes the records. Nothing is lost without it — the next start rebuilds
    /// what was not saved — it only makes that start faster. The service also does this on its
    /// own every [`SAVE_EVERY`] and after each ingestion job.
    pub fn checkpoint(&self) -> Result<(), KnowledgeError> {
        self.inner
            .index
            .save_vectors()
            .map_err(KnowledgeError::Index)?;
        self.inner.store.flush()?;
        Ok(())
    }

    /// Lets WEB crawls reach addresses that are not public: loopback, private networks,
    /// link-local (cloud metadata services). Off by default, so whoever may create a data
    /// source cannot make the server read its own network; an operator crawling an intranet
    /// turns it on (`crawl-private-networks` in the server's settings).
    pub fn set_crawl_private_networks(&self, allowed: bool) {
        self.inner
            .crawl_private_networks
            .store(allowed, std::sync::atomic::Ordering::Relaxed);
    }

    /// The object at `s3://bucket/key`, read from where this server keeps buckets (the
    /// embedded bucket root or the S3-compatible endpoint), for flows' Retrieval nodes.
    pub async fn get_object(&self, uri: &str) -> Result<Vec<u8>, String> {
        self.inner.buckets.read(uri).await
    }

    /// Stores an object at `s3://bucket/key` in the same place, for flows' Storage nodes.
    pub async fn put_object(&self, uri: &str, bytes: Vec<u8>) -> Result<(), String> {
        self.inner.buckets.write(uri, bytes).await
    }

    pub fn knowledge_base_arn(&self, id: &KnowledgeBaseId) -> String {
        self.inner.scope.arn("knowledge-base", id)
    }

    /// CreateKnowledgeBase.
    pub fn create_knowledge_base(
        &self,
        input: CreateKnowledgeBaseInput,
    ) -> Result<KnowledgeBase, KnowledgeError> {
        let inner = &self.inner;
        if let Some(token) = &input.client_token {
            check_client_token(token)?;
            if let Some(done) = inner.tokens.get(&format!("CreateKnowledgeBase/{token}"))?
                && let Some(record) = inner.kbs.get(&done.key)?
            {
                return Ok(self.knowledge_base(&record));
            }
        }
        check_name(&input.name)?;
        check_description(input.description.as_deref())?;
        check_storage(input.storage_configuration.as_ref())?;
        let (embedding_model, dimensions) =
            self.check_configuration(&input.knowledge_base_configuration)?;
        let now = now();
        let record = KnowledgeBaseRecord {
            id: KnowledgeBaseId::new().to_string(),
            name: input.name,
            description: input.description,
            role_arn: input.role_arn,
            configuration: input.knowledge_base_configuration,
            embedding_model,
            dimensions,
            metadata_configurations: Vec::new(),
            tags: input.tags.unwrap_or_default(),
            created_at: now.clone(),
            updated_at: now,
        };
        inner.kbs.put(&record.id, &record)?;
        if let Some(token) = &input.client_token {
            inner.tokens.put(
                &format!("CreateKnowledgeBase/{token}"),
                &ClientToken {
                    key: record.id.clone(),
                },
            )?;
        }
        inner.store.flush()?;
        tracing::info!(knowledge_base = %record.id, model = %record.embedding_model, "knowledge base created");
        Ok(self.knowledge_base(&record))
    }

    /// Checks a knowledge base's configuration against the served models, answering the
    /// embedding model's id and dimension.
    fn check_configuration(
        &self,
        config: &crate::config::KnowledgeBaseConfiguration,
    ) -> Result<(String, u32), KnowledgeError> {
        if config.kind != KnowledgeBaseType::Vector {
            return Err(KnowledgeError::invalid(
                "knowledgeBaseConfiguration.type",
                "only VECTOR knowledge bases are served by this server",
            ));
        }
        let vector = config
            .vector_knowledge_base_configuration
            .as_ref()
            .ok_or_else(|| {
                KnowledgeError::invalid(
                    "knowledgeBaseConfiguration.vectorKnowledgeBaseConfiguration",
                    "Member must not be null for a VECTOR knowledge base",
                )
            })?;
        const MODEL_FIELD: &str =
            "knowledgeBaseConfiguration.vectorKnowledgeBaseConfiguration.embeddingModelArn";
        let model = self
            .inner
            .models
            .embedding(&vector.embedding_model_arn)
            .map_err(|e| KnowledgeError::invalid(MODEL_FIELD, e.to_string()))?;
        let dimensions = model.dimensions() as u32;
        if let Some(bedrock) = vector
            .embedding_model_configuration
            .as_ref()
            .and_then(|c| c.bedrock_embedding_model_configuration.as_ref())
        {
            let field = "knowledgeBaseConfiguration.vectorKnowledgeBaseConfiguration.embeddingModelConfiguration.bedrockEmbeddingModelConfiguration";
            if let Some(asked) = bedrock.dimensions
                && asked != dimensions
            {
                return Err(KnowledgeError::invalid(
                    format!("{field}.dimensions"),
                    format!(
                        "{} makes vectors of {dimensions} dimensions, not {asked}",
                        model.info.id
                    ),
                ));
            }
            if bedrock.embedding_data_type == Some(crate::config::EmbeddingDataType::Binary) {
                return Err(KnowledgeError::invalid(
                    format!("{field}.embeddingDataType"),
                    "only FLOAT32 embeddings are served by this server",
                ));
            }
        }
        Ok((model.info.id.clone(), dimensions))
    }

    fn knowledge_base(&self, record: &KnowledgeBaseRecord) -> KnowledgeBase {
        let id = KnowledgeBaseId::stored(&record.id);
        KnowledgeBase {
            knowledge_base_arn: self.knowledge_base_arn(&id),
            knowledge_base_id: id,
            name: record.name.clone(),
            description: record.description.clone(),
            role_arn: record.role_arn.clone(),
            knowledge_base_configuration: record.configuration.clone(),
            status: KnowledgeBaseStatus::Active,
            created_at: record.created_at.clone(),
            updated_at: record.updated_at.clone(),
            metadata_configurations: record.metadata_configurations.clone(),
        }
    }

    pub(crate) fn find_knowledge_base(
        &self,
        id: &KnowledgeBaseId,
    ) -> Result<KnowledgeBaseRecord, KnowledgeError> {
        self.inner
            .kbs
            .get(id.as_str())?
            .ok_or_else(|| KnowledgeError::NotFound(format!("Knowledge base {id} does not exist.")))
    }

    /// GetKnowledgeBase.
    pub fn get_knowledge_base(
        &self,
        id: &KnowledgeBaseId,
    ) -> Result<KnowledgeBase, KnowledgeError> {
        Ok(self.knowledge_base(&self.find_knowledge_base(id)?))
    }

    /// ListKnowledgeBases.
    pub fn list_knowledge_bases(
        &self,
        input: &ListInput,
    ) -> Result<KnowledgeBasePage, KnowledgeError> {
        let records = self.inner.kbs.all()?;
        let (records, next_token) = page(records, input.max_results, input.next_token.as_deref())?;
        Ok(KnowledgeBasePage {
            knowledge_base_summaries: records
                .into_iter()
                .map(|(_, r)| KnowledgeBaseSummary {
                    knowledge_base_id: KnowledgeBaseId::stored(&r.id),
                    name: r.name,
                    description: r.description,
                    status: KnowledgeBaseStatus::Active,
                    updated_at: r.updated_at,
                })
                .collect(),
            next_token,
        })
    }

    /// UpdateKnowledgeBase. The embedding model cannot change: the stored vectors are its.
    pub fn update_knowledge_base(
        &self,
        id: &KnowledgeBaseId,
        input: UpdateKnowledgeBaseInput,
    ) -> Result<KnowledgeBase, KnowledgeError> {
        check_name(&input.name)?;
        check_description(input.description.as_deref())?;
        check_storage(input.storage_configuration.as_ref())?;
        if let Some(configurations) = &input.metadata_configurations
            && configurations.len() > 30
        {
            return Err(KnowledgeError::invalid(
                "metadataConfigurations",
                "Member must have length less than or equal to 30",
            ));
        }
        let (model, _) = self.check_configuration(&input.knowledge_base_configuration)?;
        let updated = self.inner.kbs.update::<KnowledgeError>(id.as_str(), |record| {
            let mut record = record.ok_or_else(|| {
                KnowledgeError::NotFound(format!("Knowledge base {id} does not exist."))
            })?;
            if record.embedding_model != model {
                return Err(KnowledgeError::invalid(
                    "knowledgeBaseConfiguration.vectorKnowledgeBaseConfiguration.embeddingModelArn",
                    format!(
                        "the embedding model of a knowledge base cannot change (it is {})",
                        record.embedding_model
                    ),
                ));
            }
            record.name = input.name.clone();
            record.description = input.description.clone();
            record.role_arn = input.role_arn.clone();
            record.configuration = input.knowledge_base_configuration.clone();
            if let Some(configurations) = &input.metadata_configurations {
                record.metadata_configurations = configurations.clone();
            }
            record.updated_at = now();
            Ok(Some(record))
        })?;
        self.inner.store.flush()?;
        let record = updated.ok_or_else(|| {
            KnowledgeError::NotFound(format!("Knowledge base {id} does not exist."))
        })?;
        Ok(self.knowledge_base(&record))
    }

    /// DeleteKnowledgeBase: the knowledge base, its data sources, documents and jobs.
    pub fn delete_knowledge_base(
        &self,
        id: &KnowledgeBaseId,
    ) -> Result<DeletedKnowledgeBase, KnowledgeError> {
        let inner = &self.inner;
        self.find_knowledge_base(id)?;
        let prefix = format!("{id}/");
        self.stop_jobs(&prefix);
        for (key, _) in inner.docs.scan_prefix(&prefix)? {
            inner.docs.delete(&key)?;
        }
        for (key, _) in inner.jobs.scan_prefix(&prefix)? {
            inner.jobs.delete(&key)?;
        }
        for (key, _) in inner.sources.scan_prefix(&prefix)? {
            inner.sources.delete(&key)?;
        }
        inner.kbs.delete(id.as_str())?;
        inner.index.drop_knowledge_base(id.as_str());
        inner.index.commit();
        inner.store.flush()?;
        tracing::info!(knowledge_base = %id, "knowledge base deleted");
        Ok(DeletedKnowledgeBase {
            knowledge_base_id: id.clone(),
            status: KnowledgeBaseStatus::Deleting,
        })
    }

    /// CreateDataSource.
    pub fn create_data_source(
        &self,
        kb: &KnowledgeBaseId,
        input: DataSourceInput,
    ) -> Result<DataSource, KnowledgeError> {
        let inner = &self.inner;
        self.find_knowledge_base(kb)?;
        let token_key = match &input.client_token {
            Some(token) => {
                check_client_token(token)?;
                Some(format!("CreateDataSource/{kb}/{token}"))
            }
            None => None,
        };
        if let Some(key) = &token_key
            && let Some(done) = inner.tokens.get(key)?
            && let Some(record) = inner.sources.get(&done.key)?
        {
            return Ok(data_source(&record));
        }
        check_data_source(&input)?;
        self.check_name_free(kb, &input.name, None)?;
        let now = now();
        let record = DataSourceRecord {
            knowledge_base_id: kb.to_string(),
            id: DataSourceId::new().to_string(),
            name: input.name,
            description: input.description,
            configuration: input.data_source_configuration,
            deletion_policy: input.data_deletion_policy.unwrap_or_default(),
            server_side_encryption: input.server_side_encryption_configuration,
            ingestion: input.vector_ingestion_configuration,
            created_at: now.clone(),
            updated_at: now,
        };
        let key = format!("{kb}/{}", record.id);
        inner.sources.put(&key, &record)?;
        if let Some(token) = &token_key {
            inner.tokens.put(token, &ClientToken { key })?;
        }
        inner.store.flush()?;
        tracing::info!(knowledge_base = %kb, data_source = %record.id, "data source created");
        Ok(data_source(&record))
    }

    fn check_name_free(
        &self,
        kb: &KnowledgeBaseId,
        name: &str,
        except: Option<&DataSourceId>,
    ) -> Result<(), KnowledgeError> {
        let taken = self
            .inner
            .sources
            .scan_prefix(&format!("{kb}/"))?
            .into_iter()
            .any(|(_, r)| r.name == name && except.is_none_or(|e| e.as_str() != r.id));
        if taken {
            return Err(KnowledgeError::Conflict(format!(
                "A data source named {name} already exists in knowledge base {kb}."
            )));
        }
        Ok(())
    }

    pub(crate) fn find_data_source(
        &self,
        kb: &KnowledgeBaseId,
        ds: &DataSourceId,
    ) -> Result<DataSourceRecord, KnowledgeError> {
        self.find_knowledge_base(kb)?;
        self.inner
            .sources
            .get(&format!("{kb}/{ds}"))?
            .ok_or_else(|| {
                KnowledgeError::NotFound(format!(
                    "Data source {ds} does not exist in knowledge base {kb}."
                ))
            })
    }

    /// GetDataSource.
    pub fn get_data_source(
        &self,
        kb: &KnowledgeBaseId,
        ds: &DataSourceId,
    ) -> Result<DataSource, KnowledgeError> {
        Ok(data_source(&self.find_data_source(kb, ds)?))
    }

    /// ListDataSources.
    pub fn list_data_sources(
        &self,
        kb: &KnowledgeBaseId,
        input: &ListInput,
    ) -> Result<DataSourcePage, KnowledgeError> {
        self.find_knowledge_base(kb)?;
        let records = self.inner.sources.scan_prefix(&format!("{kb}/"))?;
        let (records, next_token) = page(records, input.max_results, input.next_token.as_deref())?;
        Ok(DataSourcePage {
            data_source_summaries: records
                .into_iter()
                .map(|(_, r)| DataSourceSummary {
                    knowledge_base_id: KnowledgeBaseId::stored(&r.knowledge_base_id),
                    data_source_id: DataSourceId::stored(&r.id),
                    name: r.name,
                    status: DataSourceStatus::Available,
                    description: r.description,
                    updated_at: r.updated_at,
                })
                .collect(),
            next_token,
        })
    }

    /// UpdateDataSource. The connector's type cannot change; new chunking settings apply to
    /// the next ingestion (the content hash covers them, so every document is re-chunked).
    pub fn update_data_source(
        &self,
        kb: &KnowledgeBaseId,
        ds: &DataSourceId,
        input: DataSourceInput,
    ) -> Result<DataSource, KnowledgeError> {
        if input.client_token.is_some() {
            return Err(KnowledgeError::invalid(
                "clientToken",
                "is not a member of UpdateDataSource's input",
            ));
        }
        check_data_source(&input)?;
        let current = self.find_data_source(kb, ds)?;
        if current.configuration.kind != input.data_source_configuration.kind {
            return Err(KnowledgeError::invalid(
                "dataSourceConfiguration.type",
                format!(
                    "a data source's type cannot change (it is {})",
                    current.configuration.kind.as_str()
                ),
            ));
        }
        self.check_name_free(kb, &input.name, Some(ds))?;
        let updated =
            self.inner
                .sources
                .update::<KnowledgeError>(&format!("{kb}/{ds}"), |record| {
                    let mut record = record.ok_or_else(|| {
                        KnowledgeError::NotFound(format!(
                            "Data source {ds} does not exist in knowledge base {kb}."
                        ))
                    })?;
                    record.name = input.name.clone();
                    record.description = input.description.clone();
                    record.configuration = input.data_source_configuration.clone();
                    if let Some(policy) = input.data_deletion_policy {
                        record.deletion_policy = policy;
                    }
                    record.server_side_encryption =
                        input.server_side_encryption_configuration.clone();
                    record.ingestion = input.vector_ingestion_configuration.clone();
                    record.updated_at = now();
                    Ok(Some(record))
                })?;
        self.inner.store.flush()?;
        let record = updated
            .ok_or_else(|| KnowledgeError::NotFound(format!("Data source {ds} does not exist.")))?;
        Ok(data_source(&record))
    }

    /// DeleteDataSource. With `dataDeletionPolicy` DELETE its documents leave the index; with
    /// RETAIN they stay searchable.
    pub fn delete_data_source(
        &self,
        kb: &KnowledgeBaseId,
        ds: &DataSourceId,
    ) -> Result<DeletedDataSource, KnowledgeError> {
        let inner = &self.inner;
        let record = self.find_data_source(kb, ds)?;
        let prefix = format!("{kb}/{ds}/");
        self.stop_jobs(&prefix);
        if record.deletion_policy == DataDeletionPolicy::Delete {
            for (key, _) in inner.docs.scan_prefix(&prefix)? {
                inner.docs.delete(&key)?;
            }
            inner.index.remove_prefix(kb.as_str(), &format!("{ds}/"));
            inner.index.commit();
        }
        for (key, _) in inner.jobs.scan_prefix(&prefix)? {
            inner.jobs.delete(&key)?;
        }
        inner.sources.delete(&format!("{kb}/{ds}"))?;
        inner.store.flush()?;
        tracing::info!(knowledge_base = %kb, data_source = %ds, policy = ?record.deletion_policy, "data source deleted");
        Ok(DeletedDataSource {
            knowledge_base_id: kb.clone(),
            data_source_id: ds.clone(),
            status: DataSourceStatus::Deleting,
        })
    }

    /// Retrieve.
    pub async fn retrieve(
        &self,
        kb: &KnowledgeBaseId,
        input: &RetrieveInput,
    ) -> Result<RetrieveOutput, KnowledgeError> {
        let query = &input.retrieval_query;
        if query.kind == Some(crate::retrieve::QueryType::Image) || query.image.is_some() {
            return Err(KnowledgeError::invalid(
                "retrievalQuery.type",
                "IMAGE queries need a multimodal embedding model, which this server does not serve",
            ));
        }
        let text = query.text.clone().unwrap_or_default();
        if text.trim().is_empty() {
            return Err(KnowledgeError::invalid(
                "retrievalQuery.text",
                "Member must have length greater than or equal to 1",
            ));
        }
        if text.chars().count() > 20_000 {
            return Err(KnowledgeError::invalid(
                "retrievalQuery.text",
                "Member must have length less than or equal to 20000",
            ));
        }
        if input.next_token.is_some() {
            return Err(KnowledgeError::invalid(
                "nextToken",
                "the pagination token is not one this server issued (Retrieve answers in one page)",
            ));
        }
        let mut search = SearchRequest::from_configuration(
            text,
            input.retrieval_configuration.as_ref(),
            "retrievalConfiguration",
        )?;
        let Some(reference) = &input.guardrail_configuration else {
            return Ok(RetrieveOutput {
                retrieval_results: self.search(kb, &search).await?,
                guardrail_action: None,
            });
        };
        // The query is the guarded input: a blocked one searches nothing, a masked one
        // searches with its findings masked.
        let guard = Guard::parse(reference, "guardrailConfiguration")?;
        let verdict = self.guard_input(&guard, &search.text).await?;
        let action = GuardrailAction::of(&verdict);
        let retrieval_results = match verdict {
            // Nothing is searched, but an unknown knowledge base is still an error.
            Verdict::Blocked(_) => {
                self.find_knowledge_base(kb)?;
                Vec::new()
            }
            Verdict::Masked(texts) => {
                search.text = texts.into_iter().next().unwrap_or_default();
                self.search(kb, &search).await?
            }
            Verdict::Pass => self.search(kb, &search).await?,
        };
        Ok(RetrieveOutput {
            retrieval_results,
            guardrail_action: Some(action),
        })
    }

    /// The search behind Retrieve, for services that call it as a function (RetrieveAndGenerate,
    /// agents, flows, the plugin `knowledge` import).
    pub async fn search(
        &self,
        kb: &KnowledgeBaseId,
        search: &SearchRequest,
    ) -> Result<Vec<RetrievalResult>, KnowledgeError> {
        let record = self.find_knowledge_base(kb)?;
        let model = self.inner.models.embedding(&record.embedding_model)?;
        let query = embed_query(model, &search.text).await?;
        let hits = self.inner.index.search(
            kb.as_str(),
            &Query {
                vector: &query,
                text: &search.text,
                k: search.number_of_results,
                filter: search.filter.as_ref(),
                mode: match search.search_type {
                    SearchType::Semantic => Mode::Semantic,
                    SearchType::Hybrid => Mode::Hybrid,
                },
            },
        );
        let mut results: Vec<RetrievalResult> = hits
            .into_iter()
            .map(|hit| {
                let doc = &hit.doc;
                let mut metadata = doc.chunk_metadata(hit.chunk).into_owned();
                metadata.insert(
                    "x-amz-bedrock-kb-source-uri".into(),
                    Value::from(doc.location.uri()),
                );
                metadata.insert(
                    "x-amz-bedrock-kb-chunk-id".into(),
                    Value::from(format!("{}-{}", &doc.content_hash[..16], hit.chunk)),
                );
                metadata.insert(
                    "x-amz-bedrock-kb-data-source-id".into(),
                    Value::from(doc.data_source_id.clone()),
                );
                RetrievalResult {
                    content: ResultContent::text(doc.chunks[hit.chunk].text.clone()),
                    location: doc.location.clone(),
                    metadata,
                    score: f64::from(hit.score),
                }
            })
            .collect();
        if let Some(rerank) = &search.rerank
            && !results.is_empty()
        {
            let model = reranker(&self.inner.models, &rerank.model_arn, &rerank.model_field)?;
            let texts: Vec<String> = results
                .iter()
                .map(|r| {
                    let mut text = r.content.text.clone();
                    for (key, value) in &r.metadata {
                        if !key.starts_with("x-amz-bedrock-kb-") && rerank.metadata.selects(key) {
                            let value = value
                                .as_str()
                                .map_or_else(|| value.to_string(), str::to_owned);
                            text.push_str(&format!("\n{key}: {value}"));
                        }
                    }
                    text
                })
                .collect();
            let scores = relevance(model, &search.text, &texts).await?;
            for (result, score) in results.iter_mut().zip(scores) {
                result.score = f64::from(score);
            }
            results.sort_by(|a, b| b.score.total_cmp(&a.score));
            if let Some(keep) = rerank.keep {
                results.truncate(keep);
            }
        }
        Ok(results)
    }

    /// Rerank: scores the sources against the query with the reranker model, best first.
    pub async fn rerank(&self, input: &RerankInput) -> Result<RerankOutput, KnowledgeError> {
        crate::rerank::rerank(&self.inner.models, input).await
    }

    /// Searchable chunks in a knowledge base (for operators and benchmarks).
    pub fn indexed_chunks(&self, kb: &KnowledgeBaseId) -> usize {
        self.inner.index.len(kb.as_str())
    }

    /// Signals every running job whose key starts with `prefix` to stop.
    pub(crate) fn stop_jobs(&self, prefix: &str) {
        let running = self.inner.running.lock().unwrap_or_else(|e| e.into_inner());
        for (key, flag) in running.iter() {
            if key.starts_with(prefix) {
                flag.store(true, std::sync::atomic::Ordering::Relaxed);
            }
        }
    }
}

fn data_source(record: &DataSourceRecord) -> DataSource {
    DataSource {
        knowledge_base_id: KnowledgeBaseId::stored(&record.knowledge_base_id),
        data_source_id: DataSourceId::stored(&record.id),
        name: record.name.clone(),
        status: DataSourceStatus::Available,
        description: record.description.clone(),
        data_source_configuration: record.configuration.clone(),
        server_side_encryption_configuration: record.server_side_encryption.clone(),
        vector_ingestion_configuration: record.ingestion.clone(),
        data_deletion_policy: record.deletion_policy,
        created_at: record.created_at.clone(),
        updated_at: record.updated_at.clone(),
    }
}

fn check_data_source(input: &DataSourceInput) -> Result<(), KnowledgeError> {
    check_name(&input.name)?;
    check_description(input.description.as_deref())?;
    validate_data_source(&input.data_source_configuration)?;
    if let Some(ingestion) = &input.vector_ingestion_configuration {
        validate_ingestion(ingestion)?;
    }
    Ok(())
}

/// Bedrock's `Name` pattern, `([0-9a-zA-Z][_-]?){1,100}`.
fn check_name(name: &str) -> Result<(), KnowledgeError> {
    let bytes = name.as_bytes();
    let mut i = 0;
    let mut groups = 0;
    while i < bytes.len() {
        if !bytes[i].is_ascii_alphanumeric() {
            break;
        }
        i += 1;
        if i < bytes.len() && matches!(bytes[i], b'_' | b'-') {
            i += 1;
        }
        groups += 1;
    }
    if i == bytes.len() && (1..=100).contains(&groups) {
        Ok(())
    } else {
        Err(KnowledgeError::invalid(
            "name",
            "Member must satisfy regular expression pattern: ([0-9a-zA-Z][_-]?){1,100}",
        ))
    }
}

fn check_description(description: Option<&str>) -> Result<(), KnowledgeError> {
    match description {
        Some(d) if d.is_empty() || d.chars().count() > 200 => Err(KnowledgeError::invalid(
            "description",
            "Member must have length between 1 and 200",
        )),
        _ => Ok(()),
    }
}

/// bedrock-agent's `clientToken`, whose shape mantle-store knows.
pub(crate) fn check_client_token(token: &str) -> Result<(), KnowledgeError> {
    if mantle_store::is_client_token(token) {
        Ok(())
    } else {
        Err(KnowledgeError::invalid(
            "clientToken",
            mantle_store::CLIENT_TOKEN_RULE,
        ))
    }
}

/// Vectors live in the embedded index; an external store is refused by name.
fn check_storage(storage: Option<&Value>) -> Result<(), KnowledgeError> {
    let Some(storage) = storage else {
        return Ok(());
    };
    let kind = storage
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or("(none)");
    Err(KnowledgeError::invalid(
        "storageConfiguration.type",
        format!(
            "{kind} is not served: this server keeps vectors in its embedded index; omit storageConfiguration"
        ),
    ))
}

/// One page of `items`: `nextToken` is the offset of the next page.
pub(crate) fn page<T>(
    items: Vec<T>,
    max_results: Option<u32>,
    next_token: Option<&str>,
) -> Result<(Vec<T>, Option<String>), KnowledgeError> {
    let max = max_results.unwrap_or(1000);
    crate::config::in_range("maxResults", max, 1, 1000)?;
    mantle_store::page(items, max as usize, next_token).ok_or_else(|| {
        KnowledgeError::invalid(
            "nextToken",
            "the pagination token is not one this server issued",
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_bedrocks_pattern() {
        for good in ["a", "kb-1", "my_kb_2", "A-b-C"] {
            assert!(check_name(good).is_ok(), "{good}");
        }
        for bad in ["", "-a", "a--b", "a b", "kb!", &"a".repeat(101)] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn pages_carry_offsets() {
        let (items, next) = page((0..5).collect(), Some(2), None).unwrap();
        assert_eq!((items, next.as_deref()), (vec![0, 1], Some("2")));
        let (items, next) = page((0..5).collect(), Some(2), Some("4")).unwrap();
        assert_eq!((items, next), (vec![4], None));
        assert!(page::<u8>(vec![], Some(0), None).is_err());
        assert!(page::<u8>(vec![], None, Some("x")).is_err());
    }
}

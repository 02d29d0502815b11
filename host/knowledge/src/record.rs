//! What is stored. A document is one record holding its chunks and their vectors, so that
//! indexing a document is one atomic write: after a crash a document is either wholly indexed
//! or absent, and re-ingesting it replaces its chunks instead of adding to them.

use std::collections::BTreeMap;

use base64::Engine as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

use crate::config::{
    DataDeletionPolicy, DataSourceConfiguration, KnowledgeBaseConfiguration,
    VectorIngestionConfiguration,
};
use crate::input::{DocumentIdentifier, DocumentSourceType, MetadataConfiguration};
use crate::output::{DocumentStatus, IngestionJobStatistics, IngestionJobStatus, Tags};
use crate::retrieve::Location;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct KnowledgeBaseRecord {
    pub(crate) id: String,
    pub(crate) name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) description: Option<String>,
    pub(crate) role_arn: String,
    pub(crate) configuration: KnowledgeBaseConfiguration,
    /// The served embedding model's id, resolved when the knowledge base was configured.
    pub(crate) embedding_model: String,
    pub(crate) dimensions: u32,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) metadata_configurations: Vec<MetadataConfiguration>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub(crate) tags: Tags,
    pub(crate) created_at: String,
    pub(crate) updated_at: String,
}

impl mantle_store::Record for KnowledgeBaseRecord {
    const TREE: &'static str = "knowledge_bases";
    const SCHEMA_VERSION: u32 = 1;
}

/// Keyed `{knowledgeBaseId}/{dataSourceId}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct DataSourceRecord {
    pub(crate) knowledge_base_id: String,
    pub(crate) id: String,
    pub(crate) name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) description: Option<String>,
    pub(crate) configuration: DataSourceConfiguration,
    pub(crate) deletion_policy: DataDeletionPolicy,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) server_side_encryption: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) ingestion: Option<VectorIngestionConfiguration>,
    pub(crate) created_at: String,
    pub(crate) updated_at: String,
}

impl mantle_store::Record for DataSourceRecord {
    const TREE: &'static str = "data_sources";
    const SCHEMA_VERSION: u32 = 1;
}

/// Keyed `{knowledgeBaseId}/{dataSourceId}/{ingestionJobId}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct IngestionJobRecord {
    pub(crate) knowledge_base_id: String,
    pub(crate) data_source_id: String,
    pub(crate) id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) description: Option<String>,
    pub(crate) status: IngestionJobStatus,
    pub(crate) statistics: IngestionJobStatistics,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) failure_reasons: Vec<String>,
    pub(crate) started_at: String,
    pub(crate) updated_at: String,
}

impl mantle_store::Record for IngestionJobRecord {
    const TREE: &'static str = "ingestion_jobs";
    const SCHEMA_VERSION: u32 = 1;
}

/// One document of a data source with its chunks, keyed
/// `{knowledgeBaseId}/{dataSourceId}/{document key}` (see [`document_key`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct DocumentRecord {
    pub(crate) knowledge_base_id: String,
    pub(crate) data_source_id: String,
    pub(crate) identifier: DocumentIdentifier,
    /// SHA-256 of the content, its metadata and the chunking that made the chunks: a re-run
    /// with the same hash has nothing to do.
    pub(crate) content_hash: String,
    pub(crate) status: DocumentStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) status_reason: Option<String>,
    pub(crate) updated_at: String,
    pub(crate) location: Location,
    /// Filterable attributes, as JSON scalars or lists of strings.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub(crate) metadata: BTreeMap<String, Value>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) chunks: Vec<StoredChunk>,
}

impl mantle_store::Record for DocumentRecord {
    const TREE: &'static str = "kb_documents";
    const SCHEMA_VERSION: u32 = 1;
}

/// A chunk and its embedding. Hierarchical parents are stored without a vector: they are
/// returned, not searched.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct StoredChunk {
    pub(crate) text: String,
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        serialize_with = "vector_to_base64",
        deserialize_with = "vector_from_base64"
    )]
    pub(crate) vector: Vec<f32>,
    /// The index of this chunk's parent among the document's chunks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) parent: Option<u32>,
    /// Attributes of this chunk alone, which a POST_CHUNKING transformation set: filtered on
    /// and returned together with the document's (the chunk's win where both name a key).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub(crate) metadata: BTreeMap<String, Value>,
}

/// The part of a document's record key after `{kb}/{ds}/`.
pub(crate) fn document_key(identifier: &DocumentIdentifier) -> String {
    match identifier.data_source_type {
        DocumentSourceType::Custom => identifier
            .custom
            .as_ref()
            .map_or_else(String::new, |custom| format!("custom:{}", custom.id)),
        DocumentSourceType::S3 => identifier
            .s3
            .as_ref()
            .map_or_else(String::new, |s3| format!("s3:{}", s3.uri)),
        DocumentSourceType::Web => identifier
            .web
            .as_ref()
            .map_or_else(String::new, |web| format!("web:{}", web.url)),
    }
}

/// A `clientToken` already answered, so a retried create returns what the first try made.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ClientToken {
    /// The record key of what the first call made.
    pub(crate) key: String,
}

impl mantle_store::Record for ClientToken {
    const TREE: &'static str = "kb_client_tokens";
    const SCHEMA_VERSION: u32 = 1;
}

/// A RetrieveAndGenerate conversation, so a follow-up question is read with its history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RagSessionRecord {
    pub(crate) turns: Vec<RagTurn>,
    pub(crate) updated_at: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RagTurn {
    pub(crate) question: String,
    pub(crate) answer: String,
}

impl mantle_store::Record for RagSessionRecord {
    const TREE: &'static str = "rag_sessions";
    const SCHEMA_VERSION: u32 = 1;
}

/// Vectors are kept as little-endian f32 bytes in base64: a third of their JSON size.
fn vector_to_base64<S: Serializer>(vector: &[f32], serializer: S) -> Result<S::Ok, S::Error> {
    let bytes: Vec<u8> = vector.iter().flat_map(|x| x.to_le_bytes()).collect();
    serializer.serialize_str(&base64::engine::general_purpose::STANDARD.encode(bytes))
}

fn vector_from_base64<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<f32>, D::Error> {
    let text = String::deserialize(deserializer)?;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(text)
        .map_err(serde::de::Error::custom)?;
    if bytes.len() % 4 != 0 {
        return Err(serde::de::Error::custom(
            "a vector's bytes are not whole f32s",
        ));
    }
    Ok(bytes
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vectors_round_trip_exactly() {
        let chunk = StoredChunk {
            text: "t".into(),
            vector: vec![0.1, -2.5e-8, f32::MAX, 0.0],
            parent: Some(3),
            metadata: BTreeMap::new(),
        };
        let json = serde_json::to_string(&chunk).unwrap();
        assert_eq!(serde_json::from_str::<StoredChunk>(&json).unwrap(), chunk);
    }
}

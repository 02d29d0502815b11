//! What the control-plane operations answer, in Bedrock's shapes (camelCase on the wire). The
//! server wraps the resources that Bedrock wraps (`{"knowledgeBase": …}`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::config::{
    DataDeletionPolicy, DataSourceConfiguration, KnowledgeBaseConfiguration,
    VectorIngestionConfiguration,
};
use crate::input::{DocumentIdentifier, MetadataConfiguration};
use crate::{DataSourceId, IngestionJobId, KnowledgeBaseId};

/// A knowledge base's lifecycle state. Mantle creates and updates in place, so a knowledge base
/// is ACTIVE as soon as the call that made it returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum KnowledgeBaseStatus {
    Active,
    Deleting,
}

/// GetKnowledgeBase's (and Create's, Update's) resource.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct KnowledgeBase {
    pub knowledge_base_id: KnowledgeBaseId,
    pub name: String,
    pub knowledge_base_arn: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub role_arn: String,
    pub knowledge_base_configuration: KnowledgeBaseConfiguration,
    pub status: KnowledgeBaseStatus,
    pub created_at: String,
    pub updated_at: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub metadata_configurations: Vec<MetadataConfiguration>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct KnowledgeBaseSummary {
    pub knowledge_base_id: KnowledgeBaseId,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub status: KnowledgeBaseStatus,
    pub updated_at: String,
}

/// ListKnowledgeBases' answer.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct KnowledgeBasePage {
    pub knowledge_base_summaries: Vec<KnowledgeBaseSummary>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
}

/// DeleteKnowledgeBase's answer.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeletedKnowledgeBase {
    pub knowledge_base_id: KnowledgeBaseId,
    pub status: KnowledgeBaseStatus,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum DataSourceStatus {
    Available,
    Deleting,
}

/// GetDataSource's resource.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DataSource {
    pub knowledge_base_id: KnowledgeBaseId,
    pub data_source_id: DataSourceId,
    pub name: String,
    pub status: DataSourceStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub data_source_configuration: DataSourceConfiguration,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_side_encryption_configuration: Option<serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vector_ingestion_configuration: Option<VectorIngestionConfiguration>,
    pub data_deletion_policy: DataDeletionPolicy,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DataSourceSummary {
    pub knowledge_base_id: KnowledgeBaseId,
    pub data_source_id: DataSourceId,
    pub name: String,
    pub status: DataSourceStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub updated_at: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DataSourcePage {
    pub data_source_summaries: Vec<DataSourceSummary>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
}

/// DeleteDataSource's answer.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeletedDataSource {
    pub knowledge_base_id: KnowledgeBaseId,
    pub data_source_id: DataSourceId,
    pub status: DataSourceStatus,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum IngestionJobStatus {
    Starting,
    InProgress,
    Complete,
    Failed,
    Stopping,
    Stopped,
}

impl IngestionJobStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Starting => "STARTING",
            Self::InProgress => "IN_PROGRESS",
            Self::Complete => "COMPLETE",
            Self::Failed => "FAILED",
            Self::Stopping => "STOPPING",
            Self::Stopped => "STOPPED",
        }
    }

    /// Whether the job has ended.
    pub fn is_final(self) -> bool {
        matches!(self, Self::Complete | Self::Failed | Self::Stopped)
    }
}

/// What an ingestion job did, document by document.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IngestionJobStatistics {
    pub number_of_documents_scanned: u64,
    pub number_of_metadata_documents_scanned: u64,
    pub number_of_new_documents_indexed: u64,
    pub number_of_modified_documents_indexed: u64,
    pub number_of_metadata_documents_modified: u64,
    pub number_of_documents_deleted: u64,
    pub number_of_documents_failed: u64,
    /// Unchanged since the last run (same content hash), so not embedded again.
    pub number_of_documents_skipped: u64,
}

/// GetIngestionJob's resource.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct IngestionJob {
    pub knowledge_base_id: KnowledgeBaseId,
    pub data_source_id: DataSourceId,
    pub ingestion_job_id: IngestionJobId,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub status: IngestionJobStatus,
    pub statistics: IngestionJobStatistics,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub failure_reasons: Vec<String>,
    pub started_at: String,
    pub updated_at: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct IngestionJobSummary {
    pub knowledge_base_id: KnowledgeBaseId,
    pub data_source_id: DataSourceId,
    pub ingestion_job_id: IngestionJobId,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub status: IngestionJobStatus,
    pub statistics: IngestionJobStatistics,
    pub started_at: String,
    pub updated_at: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct IngestionJobPage {
    pub ingestion_job_summaries: Vec<IngestionJobSummary>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum DocumentStatus {
    Indexed,
    Failed,
    Deleting,
    NotFound,
}

/// One document's state, as the document operations answer it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DocumentDetail {
    pub knowledge_base_id: KnowledgeBaseId,
    pub data_source_id: DataSourceId,
    pub identifier: DocumentIdentifier,
    pub status: DocumentStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<String>,
}

/// The document operations' answer.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DocumentDetails {
    pub document_details: Vec<DocumentDetail>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
}

/// Free-form tags, as bedrock-agent carries them.
pub type Tags = BTreeMap<String, String>;

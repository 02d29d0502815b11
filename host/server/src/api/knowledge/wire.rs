//! The knowledge-base APIs' wire shapes that are not the domain's own: path parameters and the
//! envelopes Bedrock wraps some resources in. Bodies and answers are Bedrock's shapes already
//! and live in `mantle-knowledge`.

use mantle_knowledge::{
    DataSource, DataSourceId, IngestionJob, IngestionJobId, KnowledgeBase, KnowledgeBaseId,
};
use serde::{Deserialize, Serialize};

/// `/knowledgebases/{knowledgeBaseId}`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct KnowledgeBasePath {
    pub(crate) knowledge_base_id: KnowledgeBaseId,
}

/// `/knowledgebases/{knowledgeBaseId}/datasources/{dataSourceId}`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct DataSourcePath {
    pub(crate) knowledge_base_id: KnowledgeBaseId,
    pub(crate) data_source_id: DataSourceId,
}

/// `…/ingestionjobs/{ingestionJobId}`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct IngestionJobPath {
    pub(crate) knowledge_base_id: KnowledgeBaseId,
    pub(crate) data_source_id: DataSourceId,
    pub(crate) ingestion_job_id: IngestionJobId,
}

/// `{"knowledgeBase": …}`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct KnowledgeBaseEnvelope {
    pub(crate) knowledge_base: KnowledgeBase,
}

/// `{"dataSource": …}`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct DataSourceEnvelope {
    pub(crate) data_source: DataSource,
}

/// `{"ingestionJob": …}`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct IngestionJobEnvelope {
    pub(crate) ingestion_job: IngestionJob,
}

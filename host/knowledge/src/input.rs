//! What the operations take. The bodies are Bedrock's shapes, so they deserialize straight
//! from the wire; closed enums and `deny_unknown_fields` make a bad value a validation error
//! naming its path.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::config::{
    DataDeletionPolicy, DataSourceConfiguration, KnowledgeBaseConfiguration,
    VectorIngestionConfiguration,
};

/// CreateKnowledgeBase's body.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateKnowledgeBaseInput {
    #[serde(default)]
    pub client_token: Option<String>,
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    /// Kept and echoed; this server has no IAM roles to assume.
    pub role_arn: String,
    pub knowledge_base_configuration: KnowledgeBaseConfiguration,
    /// Vectors live in the embedded index: any external store is refused, naming its type.
    #[serde(default)]
    pub storage_configuration: Option<Value>,
    #[serde(default)]
    pub tags: Option<BTreeMap<String, String>>,
}

/// UpdateKnowledgeBase's body.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpdateKnowledgeBaseInput {
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    pub role_arn: String,
    pub knowledge_base_configuration: KnowledgeBaseConfiguration,
    #[serde(default)]
    pub storage_configuration: Option<Value>,
    #[serde(default)]
    pub metadata_configurations: Option<Vec<MetadataConfiguration>>,
}

/// How a metadata key is typed and whether it can be filtered on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MetadataConfiguration {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: MetadataConfigurationType,
    pub searchability: Searchability,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum MetadataConfigurationType {
    String,
    StringList,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Searchability {
    Enabled,
    Disabled,
}

/// CreateDataSource's and UpdateDataSource's body (Update has no `clientToken`).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DataSourceInput {
    #[serde(default)]
    pub client_token: Option<String>,
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    pub data_source_configuration: DataSourceConfiguration,
    #[serde(default)]
    pub data_deletion_policy: Option<DataDeletionPolicy>,
    #[serde(default)]
    pub server_side_encryption_configuration: Option<Value>,
    #[serde(default)]
    pub vector_ingestion_configuration: Option<VectorIngestionConfiguration>,
}

/// StartIngestionJob's body.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StartIngestionJobInput {
    #[serde(default)]
    pub client_token: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
}

/// A List operation's paging (`maxResults` 1..1000, `nextToken`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ListInput {
    #[serde(default)]
    pub max_results: Option<u32>,
    #[serde(default)]
    pub next_token: Option<String>,
}

/// ListIngestionJobs' body.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ListIngestionJobsInput {
    #[serde(default)]
    pub filters: Option<Vec<IngestionJobFilter>>,
    #[serde(default)]
    pub sort_by: Option<IngestionJobSortBy>,
    #[serde(default)]
    pub max_results: Option<u32>,
    #[serde(default)]
    pub next_token: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct IngestionJobFilter {
    pub attribute: IngestionJobFilterAttribute,
    pub operator: IngestionJobFilterOperator,
    pub values: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum IngestionJobFilterAttribute {
    Status,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum IngestionJobFilterOperator {
    Eq,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct IngestionJobSortBy {
    pub attribute: IngestionJobSortAttribute,
    pub order: SortOrder,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum IngestionJobSortAttribute {
    Status,
    StartedAt,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum SortOrder {
    Ascending,
    Descending,
}

/// IngestKnowledgeBaseDocuments' body.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct IngestDocumentsInput {
    #[serde(default)]
    pub client_token: Option<String>,
    pub documents: Vec<KnowledgeBaseDocument>,
}

/// One document to ingest directly.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct KnowledgeBaseDocument {
    #[serde(default)]
    pub metadata: Option<DocumentMetadata>,
    pub content: DocumentContent,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DocumentContent {
    pub data_source_type: DocumentSourceType,
    #[serde(default)]
    pub custom: Option<CustomContent>,
    #[serde(default)]
    pub s3: Option<S3Content>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum DocumentSourceType {
    Custom,
    S3,
    /// A page of a WEB data source. Bedrock's model has no such member; this server lists a
    /// crawl's pages with it, and Get/DeleteKnowledgeBaseDocuments accept it.
    Web,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CustomContent {
    pub custom_document_identifier: CustomDocumentIdentifier,
    pub source_type: CustomSourceType,
    #[serde(default)]
    pub s3_location: Option<S3Location>,
    #[serde(default)]
    pub inline_content: Option<InlineContent>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CustomDocumentIdentifier {
    pub id: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum CustomSourceType {
    InLine,
    S3Location,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct S3Location {
    pub uri: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bucket_owner_account_id: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct S3Content {
    pub s3_location: S3Location,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct InlineContent {
    #[serde(rename = "type")]
    pub kind: InlineContentType,
    #[serde(default)]
    pub byte_content: Option<ByteContent>,
    #[serde(default)]
    pub text_content: Option<TextContent>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum InlineContentType {
    Byte,
    Text,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ByteContent {
    pub mime_type: String,
    /// Base64, as the wire carries blobs.
    pub data: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TextContent {
    pub data: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DocumentMetadata {
    #[serde(rename = "type")]
    pub kind: DocumentMetadataType,
    #[serde(default)]
    pub inline_attributes: Option<Vec<MetadataAttribute>>,
    #[serde(default)]
    pub s3_location: Option<S3Location>,
    #[serde(default)]
    pub access_control_list: Option<Value>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum DocumentMetadataType {
    InLineAttribute,
    S3Location,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MetadataAttribute {
    pub key: String,
    pub value: MetadataAttributeValue,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MetadataAttributeValue {
    #[serde(rename = "type")]
    pub kind: MetadataValueType,
    #[serde(default)]
    pub number_value: Option<f64>,
    #[serde(default)]
    pub boolean_value: Option<bool>,
    #[serde(default)]
    pub string_value: Option<String>,
    #[serde(default)]
    pub string_list_value: Option<Vec<String>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum MetadataValueType {
    Boolean,
    Number,
    String,
    StringList,
}

/// Which document an operation means: a CUSTOM document's id, an S3 document's URI or a
/// crawled page's URL.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DocumentIdentifier {
    pub data_source_type: DocumentSourceType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub s3: Option<S3Location>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom: Option<CustomDocumentIdentifier>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub web: Option<WebDocumentIdentifier>,
}

impl DocumentIdentifier {
    /// A crawled page, by its URL.
    pub fn web(url: impl Into<String>) -> Self {
        Self {
            data_source_type: DocumentSourceType::Web,
            s3: None,
            custom: None,
            web: Some(WebDocumentIdentifier { url: url.into() }),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WebDocumentIdentifier {
    pub url: String,
}

/// GetKnowledgeBaseDocuments' and DeleteKnowledgeBaseDocuments' body.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DocumentIdentifiersInput {
    #[serde(default)]
    pub client_token: Option<String>,
    pub document_identifiers: Vec<DocumentIdentifier>,
}

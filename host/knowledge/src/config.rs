//! Knowledge-base and data-source configurations in Bedrock's shapes. They arrive in requests
//! and are echoed in responses, so each derives both directions; rules serde cannot say are
//! checked by the `validate_*` functions, which name the offending field.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::KnowledgeError;

/// `knowledgeBaseConfiguration`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct KnowledgeBaseConfiguration {
    #[serde(rename = "type")]
    pub kind: KnowledgeBaseType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vector_knowledge_base_configuration: Option<VectorKnowledgeBaseConfiguration>,
    /// Accepted so the field is recognised; a KENDRA knowledge base is refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kendra_knowledge_base_configuration: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sql_knowledge_base_configuration: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub managed_knowledge_base_configuration: Option<Value>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum KnowledgeBaseType {
    Vector,
    Kendra,
    Sql,
    Managed,
}

/// `vectorKnowledgeBaseConfiguration`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct VectorKnowledgeBaseConfiguration {
    /// A served embedding model: its id, alias, or foundation-model ARN.
    pub embedding_model_arn: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub embedding_model_configuration: Option<EmbeddingModelConfiguration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supplemental_data_storage_configuration: Option<Value>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EmbeddingModelConfiguration {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bedrock_embedding_model_configuration: Option<BedrockEmbeddingModelConfiguration>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BedrockEmbeddingModelConfiguration {
    /// Must equal the model's own dimension: local models have one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dimensions: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub embedding_data_type: Option<EmbeddingDataType>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audio: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub video: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_configuration: Option<Value>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum EmbeddingDataType {
    Float32,
    Binary,
}

/// `dataSourceConfiguration`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DataSourceConfiguration {
    #[serde(rename = "type")]
    pub kind: DataSourceType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub s3_configuration: Option<S3DataSourceConfiguration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub web_configuration: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confluence_configuration: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub salesforce_configuration: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub share_point_configuration: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub managed_knowledge_base_connector_configuration: Option<Value>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum DataSourceType {
    S3,
    Web,
    Confluence,
    Salesforce,
    Sharepoint,
    Custom,
    RedshiftMetadata,
    ManagedKnowledgeBaseConnector,
}

impl DataSourceType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::S3 => "S3",
            Self::Web => "WEB",
            Self::Confluence => "CONFLUENCE",
            Self::Salesforce => "SALESFORCE",
            Self::Sharepoint => "SHAREPOINT",
            Self::Custom => "CUSTOM",
            Self::RedshiftMetadata => "REDSHIFT_METADATA",
            Self::ManagedKnowledgeBaseConnector => "MANAGED_KNOWLEDGE_BASE_CONNECTOR",
        }
    }
}

/// `s3Configuration`: a bucket of the embedded bucket root (`arn:aws:s3:::NAME` is
/// `<data-dir>/buckets/NAME/`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct S3DataSourceConfiguration {
    pub bucket_arn: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inclusion_prefixes: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bucket_owner_account_id: Option<String>,
}

impl S3DataSourceConfiguration {
    /// The bucket's name, from `arn:aws:s3:::NAME`.
    pub fn bucket(&self) -> Option<&str> {
        let name = self.bucket_arn.strip_prefix("arn:aws:s3:::")?;
        valid_bucket_name(name).then_some(name)
    }
}

/// S3's bucket naming rules, which also keep a name from escaping the bucket root.
pub(crate) fn valid_bucket_name(name: &str) -> bool {
    (3..=63).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.')
        && !name.starts_with(['.', '-'])
        && !name.ends_with(['.', '-'])
        && !name.contains("..")
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum DataDeletionPolicy {
    /// Deleting the data source deletes its chunks from the index.
    #[default]
    Delete,
    /// Deleting the data source keeps its chunks searchable.
    Retain,
}

/// `vectorIngestionConfiguration`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct VectorIngestionConfiguration {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chunking_configuration: Option<ChunkingConfiguration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom_transformation_configuration: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parsing_configuration: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context_enrichment_configuration: Option<Value>,
}

/// `chunkingConfiguration`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ChunkingConfiguration {
    pub chunking_strategy: ChunkingStrategy,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fixed_size_chunking_configuration: Option<FixedSizeChunking>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hierarchical_chunking_configuration: Option<HierarchicalChunking>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub semantic_chunking_configuration: Option<SemanticChunking>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ChunkingStrategy {
    FixedSize,
    None,
    Hierarchical,
    Semantic,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FixedSizeChunking {
    pub max_tokens: u32,
    pub overlap_percentage: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HierarchicalChunking {
    pub level_configurations: Vec<ChunkLevel>,
    pub overlap_tokens: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ChunkLevel {
    pub max_tokens: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SemanticChunking {
    pub max_tokens: u32,
    pub buffer_size: u32,
    pub breakpoint_percentile_threshold: u32,
}

const CHUNKING: &str = "vectorIngestionConfiguration.chunkingConfiguration";

/// Checks a data source's ingestion settings: what Bedrock's model constrains, and what this
/// server can run.
pub(crate) fn validate_ingestion(
    config: &VectorIngestionConfiguration,
) -> Result<(), KnowledgeError> {
    for (field, value) in [
        (
            "customTransformationConfiguration",
            &config.custom_transformation_configuration,
        ),
        ("parsingConfiguration", &config.parsing_configuration),
        (
            "contextEnrichmentConfiguration",
            &config.context_enrichment_configuration,
        ),
    ] {
        if value.is_some() {
            return Err(KnowledgeError::invalid(
                format!("vectorIngestionConfiguration.{field}"),
                "is not supported by this server yet; omit it",
            ));
        }
    }
    let Some(chunking) = &config.chunking_configuration else {
        return Ok(());
    };
    let sub = |name: &str| format!("{CHUNKING}.{name}");
    let set = [
        (
            "fixedSizeChunkingConfiguration",
            chunking.fixed_size_chunking_configuration.is_some(),
            ChunkingStrategy::FixedSize,
        ),
        (
            "hierarchicalChunkingConfiguration",
            chunking.hierarchical_chunking_configuration.is_some(),
            ChunkingStrategy::Hierarchical,
        ),
        (
            "semanticChunkingConfiguration",
            chunking.semantic_chunking_configuration.is_some(),
            ChunkingStrategy::Semantic,
        ),
    ];
    for (name, present, strategy) in set {
        if present && chunking.chunking_strategy != strategy {
            return Err(KnowledgeError::invalid(
                sub(name),
                "must be absent unless chunkingStrategy names it",
            ));
        }
    }
    match chunking.chunking_strategy {
        ChunkingStrategy::None => Ok(()),
        ChunkingStrategy::FixedSize => {
            let fixed = chunking
                .fixed_size_chunking_configuration
                .as_ref()
                .ok_or_else(|| required(&sub("fixedSizeChunkingConfiguration")))?;
            in_range(
                &sub("fixedSizeChunkingConfiguration.maxTokens"),
                fixed.max_tokens,
                1,
                8192,
            )?;
            in_range(
                &sub("fixedSizeChunkingConfiguration.overlapPercentage"),
                fixed.overlap_percentage,
                1,
                99,
            )
        }
        ChunkingStrategy::Hierarchical => {
            let field = sub("hierarchicalChunkingConfiguration");
            let hierarchical = chunking
                .hierarchical_chunking_configuration
                .as_ref()
                .ok_or_else(|| required(&field))?;
            let levels = &hierarchical.level_configurations;
            if levels.len() != 2 {
                return Err(KnowledgeError::invalid(
                    format!("{field}.levelConfigurations"),
                    "Member must have length 2: a parent level, then a child level",
                ));
            }
            for (i, level) in levels.iter().enumerate() {
                in_range(
                    &format!("{field}.levelConfigurations.{i}.maxTokens"),
                    level.max_tokens,
                    1,
                    8192,
                )?;
            }
            if levels[1].max_tokens >= levels[0].max_tokens {
                return Err(KnowledgeError::invalid(
                    format!("{field}.levelConfigurations.1.maxTokens"),
                    "the child level's maxTokens must be smaller than the parent level's",
                ));
            }
            if hierarchical.overlap_tokens < 1
                || hierarchical.overlap_tokens >= levels[1].max_tokens
            {
                return Err(KnowledgeError::invalid(
                    format!("{field}.overlapTokens"),
                    "Member must be at least 1 and smaller than the child level's maxTokens",
                ));
            }
            Ok(())
        }
        ChunkingStrategy::Semantic => Err(KnowledgeError::invalid(
            sub("chunkingStrategy"),
            "SEMANTIC chunking is not served by this server yet; use FIXED_SIZE, HIERARCHICAL or NONE",
        )),
    }
}

fn required(field: &str) -> KnowledgeError {
    KnowledgeError::invalid(field, "Member must not be null")
}

pub(crate) fn in_range(field: &str, value: u32, min: u32, max: u32) -> Result<(), KnowledgeError> {
    if (min..=max).contains(&value) {
        Ok(())
    } else {
        Err(KnowledgeError::invalid(
            field,
            format!("Member must have value between {min} and {max}"),
        ))
    }
}

/// Checks a data source's connector settings: what Bedrock's model constrains, and what this
/// server can read.
pub(crate) fn validate_data_source(config: &DataSourceConfiguration) -> Result<(), KnowledgeError> {
    match config.kind {
        DataSourceType::Custom => {
            if config.s3_configuration.is_some() {
                return Err(KnowledgeError::invalid(
                    "dataSourceConfiguration.s3Configuration",
                    "must be absent for a CUSTOM data source",
                ));
            }
            Ok(())
        }
        DataSourceType::S3 => {
            let s3 = config
                .s3_configuration
                .as_ref()
                .ok_or_else(|| required("dataSourceConfiguration.s3Configuration"))?;
            if s3.bucket().is_none() {
                return Err(KnowledgeError::invalid(
                    "dataSourceConfiguration.s3Configuration.bucketArn",
                    "Member must be an S3 bucket ARN, arn:aws:s3:::NAME, with a valid bucket name",
                ));
            }
            if let Some(prefixes) = &s3.inclusion_prefixes {
                if prefixes.len() != 1 {
                    return Err(KnowledgeError::invalid(
                        "dataSourceConfiguration.s3Configuration.inclusionPrefixes",
                        "Member must have length 1",
                    ));
                }
                if prefixes[0].is_empty() || prefixes[0].len() > 300 {
                    return Err(KnowledgeError::invalid(
                        "dataSourceConfiguration.s3Configuration.inclusionPrefixes.0",
                        "Member must have length between 1 and 300",
                    ));
                }
            }
            Ok(())
        }
        other => Err(KnowledgeError::invalid(
            "dataSourceConfiguration.type",
            format!(
                "{} data sources are not served by this server; use S3 or CUSTOM",
                other.as_str()
            ),
        )),
    }
}

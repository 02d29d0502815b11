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
    pub web_configuration: Option<WebDataSourceConfiguration>,
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

/// `webConfiguration`: the seed URLs a WEB data source crawls from, and how far.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WebDataSourceConfiguration {
    pub source_configuration: WebSourceConfiguration,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crawler_configuration: Option<WebCrawlerConfiguration>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WebSourceConfiguration {
    pub url_configuration: UrlConfiguration,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UrlConfiguration {
    pub seed_urls: Vec<SeedUrl>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SeedUrl {
    pub url: String,
}

/// `crawlerConfiguration`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WebCrawlerConfiguration {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crawler_limits: Option<WebCrawlerLimits>,
    /// Regular expressions; with any given, a page is crawled only when its URL matches one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inclusion_filters: Option<Vec<String>>,
    /// Regular expressions; a URL matching one is never crawled, even when an inclusion
    /// filter matches it too.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exclusion_filters: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<WebScope>,
    /// A suffix to the crawler's user agent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<String>,
    /// The whole `User-Agent` header, replacing the crawler's own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_agent_header: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WebCrawlerLimits {
    /// Pages fetched per minute from one host.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limit: Option<u32>,
    /// Pages fetched in one crawl, over all hosts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_pages: Option<u32>,
}

/// Which URLs a crawl may follow from its seeds. Without a scope, Bedrock's default: the
/// seed's host and, on it, the seed's path and what lies below it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum WebScope {
    /// Any page on the seed's host.
    HostOnly,
    /// Any page on the seed's domain or one of its subdomains.
    Subdomains,
}

/// The most pages one crawl fetches, whatever `maxPages` says (Bedrock's own limit).
pub const MAX_WEB_PAGES: u32 = 25_000;

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
    pub custom_transformation_configuration: Option<CustomTransformationConfiguration>,
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

/// `customTransformationConfiguration`: a plugin run over each chunk after chunking. Bedrock
/// names a Lambda function; here the function name is an installed chunker plugin's name, and
/// `intermediateStorage` is accepted but unused (chunks pass to the plugin in memory).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CustomTransformationConfiguration {
    pub intermediate_storage: IntermediateStorage,
    pub transformations: Vec<Transformation>,
}

impl CustomTransformationConfiguration {
    /// The POST_CHUNKING plugin's name.
    pub fn post_chunking_plugin(&self) -> Option<&str> {
        self.transformations
            .iter()
            .find(|t| t.step_to_apply == TransformationStep::PostChunking)
            .and_then(|t| {
                lambda_function_name(
                    &t.transformation_function
                        .transformation_lambda_configuration
                        .lambda_arn,
                )
            })
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct IntermediateStorage {
    pub s3_location: S3Uri,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct S3Uri {
    pub uri: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Transformation {
    pub transformation_function: TransformationFunction,
    pub step_to_apply: TransformationStep,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TransformationFunction {
    pub transformation_lambda_configuration: TransformationLambdaConfiguration,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TransformationLambdaConfiguration {
    pub lambda_arn: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TransformationStep {
    PostChunking,
}

/// The function name of `arn:aws:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER]`: where Bedrock
/// calls a Lambda function, Mantle calls the plugin of that name.
///
/// ```
/// use mantle_knowledge::config::lambda_function_name;
/// let arn = "arn:aws:lambda:us-east-1:123456789012:function:add-titles";
/// assert_eq!(lambda_function_name(arn), Some("add-titles"));
/// assert_eq!(lambda_function_name(&format!("{arn}:3")), Some("add-titles"));
/// assert_eq!(lambda_function_name("arn:aws:s3:::bucket"), None);
/// assert_eq!(lambda_function_name("add-titles"), None);
/// ```
pub fn lambda_function_name(arn: &str) -> Option<&str> {
    let rest = arn.strip_prefix("arn:")?;
    let mut parts = rest.splitn(7, ':');
    let (_partition, service, _region, _account, resource) = (
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
    );
    let name = parts.next()?;
    let valid = service == "lambda"
        && resource == "function"
        && (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    valid.then_some(name)
}

const CHUNKING: &str = "vectorIngestionConfiguration.chunkingConfiguration";

/// Checks a data source's ingestion settings: what Bedrock's model constrains, and what this
/// server can run.
pub(crate) fn validate_ingestion(
    config: &VectorIngestionConfiguration,
) -> Result<(), KnowledgeError> {
    if let Some(custom) = &config.custom_transformation_configuration {
        validate_transformation(custom)?;
    }
    for (field, value) in [
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
        ChunkingStrategy::Semantic => {
            let field = sub("semanticChunkingConfiguration");
            let semantic = chunking
                .semantic_chunking_configuration
                .as_ref()
                .ok_or_else(|| required(&field))?;
            in_range(&format!("{field}.maxTokens"), semantic.max_tokens, 1, 8192)?;
            in_range(&format!("{field}.bufferSize"), semantic.buffer_size, 0, 1)?;
            in_range(
                &format!("{field}.breakpointPercentileThreshold"),
                semantic.breakpoint_percentile_threshold,
                50,
                99,
            )
        }
    }
}

fn validate_transformation(
    custom: &CustomTransformationConfiguration,
) -> Result<(), KnowledgeError> {
    const FIELD: &str = "vectorIngestionConfiguration.customTransformationConfiguration";
    let uri = &custom.intermediate_storage.s3_location.uri;
    if crate::bucket::parse_s3_uri(uri).is_none() && s3_bucket_uri(uri).is_none() {
        return Err(KnowledgeError::invalid(
            format!("{FIELD}.intermediateStorage.s3Location.uri"),
            "Member must be an S3 URI, s3://BUCKET or s3://BUCKET/PREFIX",
        ));
    }
    if custom.transformations.len() != 1 {
        return Err(KnowledgeError::invalid(
            format!("{FIELD}.transformations"),
            "Member must have length 1",
        ));
    }
    let arn = &custom.transformations[0]
        .transformation_function
        .transformation_lambda_configuration
        .lambda_arn;
    if lambda_function_name(arn).is_none() {
        return Err(KnowledgeError::invalid(
            format!(
                "{FIELD}.transformations.0.transformationFunction.transformationLambdaConfiguration.lambdaArn"
            ),
            "Member must be a Lambda function ARN, arn:aws:lambda:REGION:ACCOUNT:function:NAME, whose NAME is an installed chunker plugin",
        ));
    }
    Ok(())
}

/// The bucket of `s3://BUCKET` or `s3://BUCKET/`.
pub(crate) fn s3_bucket_uri(uri: &str) -> Option<&str> {
    let bucket = uri.strip_prefix("s3://")?.trim_end_matches('/');
    valid_bucket_name(bucket).then_some(bucket)
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
        DataSourceType::Web => {
            let web = config
                .web_configuration
                .as_ref()
                .ok_or_else(|| required("dataSourceConfiguration.webConfiguration"))?;
            validate_web(web)
        }
        other => Err(KnowledgeError::invalid(
            "dataSourceConfiguration.type",
            format!(
                "{} data sources are not served by this server; use S3, WEB or CUSTOM",
                other.as_str()
            ),
        )),
    }
}

fn validate_web(web: &WebDataSourceConfiguration) -> Result<(), KnowledgeError> {
    const FIELD: &str = "dataSourceConfiguration.webConfiguration";
    let seeds = &web.source_configuration.url_configuration.seed_urls;
    if !(1..=100).contains(&seeds.len()) {
        return Err(KnowledgeError::invalid(
            format!("{FIELD}.sourceConfiguration.urlConfiguration.seedUrls"),
            "Member must have length between 1 and 100",
        ));
    }
    for (i, seed) in seeds.iter().enumerate() {
        crate::web::seed_url(&seed.url).map_err(|reason| {
            KnowledgeError::invalid(
                format!("{FIELD}.sourceConfiguration.urlConfiguration.seedUrls.{i}.url"),
                reason,
            )
        })?;
    }
    let Some(crawler) = &web.crawler_configuration else {
        return Ok(());
    };
    let field = format!("{FIELD}.crawlerConfiguration");
    if let Some(limits) = &crawler.crawler_limits {
        if let Some(rate) = limits.rate_limit {
            in_range(&format!("{field}.crawlerLimits.rateLimit"), rate, 1, 300)?;
        }
        if let Some(pages) = limits.max_pages {
            in_range(
                &format!("{field}.crawlerLimits.maxPages"),
                pages,
                1,
                MAX_WEB_PAGES,
            )?;
        }
    }
    for (name, filters) in [
        ("inclusionFilters", &crawler.inclusion_filters),
        ("exclusionFilters", &crawler.exclusion_filters),
    ] {
        let Some(filters) = filters else { continue };
        if !(1..=25).contains(&filters.len()) {
            return Err(KnowledgeError::invalid(
                format!("{field}.{name}"),
                "Member must have length between 1 and 25",
            ));
        }
        for (i, filter) in filters.iter().enumerate() {
            if filter.is_empty() || filter.chars().count() > 1000 {
                return Err(KnowledgeError::invalid(
                    format!("{field}.{name}.{i}"),
                    "Member must have length between 1 and 1000",
                ));
            }
            regex::Regex::new(filter).map_err(|e| {
                KnowledgeError::invalid(
                    format!("{field}.{name}.{i}"),
                    format!("is not a regular expression: {e}"),
                )
            })?;
        }
    }
    for (name, value, min, max) in [
        ("userAgent", &crawler.user_agent, 15, 40),
        ("userAgentHeader", &crawler.user_agent_header, 61, 86),
    ] {
        if let Some(value) = value {
            let len = value.chars().count();
            if !(min..=max).contains(&len) {
                return Err(KnowledgeError::invalid(
                    format!("{field}.{name}"),
                    format!("Member must have length between {min} and {max}"),
                ));
            }
            // A header value must stay one header: no line breaks or control characters.
            if value.chars().any(char::is_control) {
                return Err(KnowledgeError::invalid(
                    format!("{field}.{name}"),
                    "Member must not contain control characters",
                ));
            }
        }
    }
    Ok(())
}

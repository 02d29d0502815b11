//! Retrieve's request and answer in Bedrock's shapes, and the typed search they map to.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::filter::RetrievalFilter;
use crate::rerank::{ModelConfiguration, RerankingType};
use crate::{KnowledgeError, config::in_range};

/// Bedrock's default `numberOfResults`.
pub const DEFAULT_NUMBER_OF_RESULTS: u32 = 5;

/// Retrieve's body.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RetrieveInput {
    pub retrieval_query: KnowledgeBaseQuery,
    #[serde(default)]
    pub retrieval_configuration: Option<RetrievalConfiguration>,
    #[serde(default)]
    pub guardrail_configuration: Option<GuardrailReference>,
    #[serde(default)]
    pub next_token: Option<String>,
    #[serde(default)]
    pub user_context: Option<Value>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct KnowledgeBaseQuery {
    #[serde(default)]
    pub text: Option<String>,
    #[serde(default, rename = "type")]
    pub kind: Option<QueryType>,
    #[serde(default)]
    pub image: Option<Value>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum QueryType {
    Text,
    Image,
}

/// `retrievalConfiguration`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RetrievalConfiguration {
    #[serde(default)]
    pub vector_search_configuration: Option<VectorSearchConfiguration>,
    #[serde(default)]
    pub managed_search_configuration: Option<Value>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct VectorSearchConfiguration {
    #[serde(default)]
    pub number_of_results: Option<u32>,
    #[serde(default)]
    pub override_search_type: Option<SearchType>,
    /// A `RetrievalFilter`, parsed by [`RetrievalFilter::parse`] so mistakes name their path.
    #[serde(default)]
    pub filter: Option<Value>,
    #[serde(default)]
    pub implicit_filter_configuration: Option<Value>,
    #[serde(default)]
    pub reranking_configuration: Option<VectorSearchRerankingConfiguration>,
}

/// `rerankingConfiguration` of a vector search: the retrieved chunks are scored again by a
/// reranker model and the best `numberOfRerankedResults` kept.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct VectorSearchRerankingConfiguration {
    #[serde(rename = "type")]
    pub kind: RerankingType,
    #[serde(default)]
    pub bedrock_reranking_configuration: Option<VectorSearchBedrockReranking>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct VectorSearchBedrockReranking {
    pub model_configuration: ModelConfiguration,
    #[serde(default)]
    pub number_of_reranked_results: Option<u32>,
    #[serde(default)]
    pub metadata_configuration: Option<RerankingMetadataConfiguration>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RerankingMetadataConfiguration {
    pub selection_mode: SelectionMode,
    #[serde(default)]
    pub selective_mode_configuration: Option<SelectiveMode>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum SelectionMode {
    Selective,
    All,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SelectiveMode {
    #[serde(default)]
    pub fields_to_include: Option<Vec<FieldName>>,
    #[serde(default)]
    pub fields_to_exclude: Option<Vec<FieldName>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FieldName {
    pub field_name: String,
}

/// Which metadata attributes a reranker reads beside a chunk's text.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum MetadataSelection {
    /// The text alone (no `metadataConfiguration`).
    #[default]
    None,
    All,
    Include(Vec<String>),
    Exclude(Vec<String>),
}

impl MetadataSelection {
    pub(crate) fn selects(&self, key: &str) -> bool {
        match self {
            Self::None => false,
            Self::All => true,
            Self::Include(keys) => keys.iter().any(|k| k == key),
            Self::Exclude(keys) => !keys.iter().any(|k| k == key),
        }
    }
}

/// A checked reranking step.
#[derive(Debug, Clone, PartialEq)]
pub struct Rerank {
    pub model_arn: String,
    /// `modelArn`'s wire path, for errors about the model.
    pub model_field: String,
    /// How many of the reranked results to keep; all of them when `None`.
    pub keep: Option<usize>,
    pub metadata: MetadataSelection,
}

/// How Retrieve ranks: by meaning alone, or by meaning and exact words together.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum SearchType {
    /// Bedrock's choice when the store has a text index, as Mantle's embedded one does.
    #[default]
    Hybrid,
    Semantic,
}

/// A guardrail named by the runtime's `guardrailId` + `guardrailVersion`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GuardrailReference {
    pub guardrail_id: String,
    pub guardrail_version: String,
}

/// What one search asks of the index, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchRequest {
    pub text: String,
    pub number_of_results: usize,
    pub filter: Option<RetrievalFilter>,
    pub search_type: SearchType,
    pub rerank: Option<Rerank>,
}

impl SearchRequest {
    /// A search with Bedrock's defaults: hybrid ranking, no filter, no reranking.
    ///
    /// ```
    /// let search = mantle_knowledge::SearchRequest::new("How long are backups kept?", 3);
    /// assert_eq!(search.number_of_results, 3);
    /// ```
    pub fn new(text: impl Into<String>, number_of_results: usize) -> Self {
        Self {
            text: text.into(),
            number_of_results,
            filter: None,
            search_type: SearchType::default(),
            rerank: None,
        }
    }

    /// The search a `retrievalConfiguration` describes, with mistakes named under `field`
    /// (`retrievalConfiguration`, or its place in a RetrieveAndGenerate request).
    pub fn from_configuration(
        text: String,
        configuration: Option<&RetrievalConfiguration>,
        field: &str,
    ) -> Result<Self, KnowledgeError> {
        if configuration.is_some_and(|c| c.managed_search_configuration.is_some()) {
            return Err(KnowledgeError::invalid(
                format!("{field}.managedSearchConfiguration"),
                "applies to MANAGED knowledge bases, which this server does not serve",
            ));
        }
        let vector = configuration.and_then(|c| c.vector_search_configuration.as_ref());
        let field = format!("{field}.vectorSearchConfiguration");
        let mut number_of_results = DEFAULT_NUMBER_OF_RESULTS;
        let mut filter = None;
        let mut search_type = SearchType::default();
        let mut rerank = None;
        if let Some(vector) = vector {
            search_type = vector.override_search_type.unwrap_or_default();
            if let Some(n) = vector.number_of_results {
                in_range(&format!("{field}.numberOfResults"), n, 1, 100)?;
                number_of_results = n;
            }
            if vector.implicit_filter_configuration.is_some() {
                return Err(KnowledgeError::invalid(
                    format!("{field}.implicitFilterConfiguration"),
                    "is not supported by this server yet; omit it",
                ));
            }
            if let Some(reranking) = &vector.reranking_configuration {
                rerank = Some(check_reranking(
                    reranking,
                    &format!("{field}.rerankingConfiguration"),
                )?);
            }
            if let Some(value) = &vector.filter {
                filter = Some(RetrievalFilter::parse(value, &format!("{field}.filter"))?);
            }
        }
        Ok(Self {
            text,
            number_of_results: number_of_results as usize,
            filter,
            search_type,
            rerank,
        })
    }
}

fn check_reranking(
    reranking: &VectorSearchRerankingConfiguration,
    field: &str,
) -> Result<Rerank, KnowledgeError> {
    let field = format!("{field}.bedrockRerankingConfiguration");
    let bedrock = reranking
        .bedrock_reranking_configuration
        .as_ref()
        .ok_or_else(|| {
            KnowledgeError::invalid(&field, "is required for BEDROCK_RERANKING_MODEL")
        })?;
    let keep = match bedrock.number_of_reranked_results {
        Some(n) => {
            in_range(&format!("{field}.numberOfRerankedResults"), n, 1, 100)?;
            Some(n as usize)
        }
        None => None,
    };
    let metadata = match &bedrock.metadata_configuration {
        None => MetadataSelection::None,
        Some(m) if m.selection_mode == SelectionMode::All => MetadataSelection::All,
        Some(m) => {
            let selective = m.selective_mode_configuration.as_ref();
            let names = |list: &Option<Vec<FieldName>>| {
                list.as_ref()
                    .map(|l| l.iter().map(|f| f.field_name.clone()).collect::<Vec<_>>())
            };
            match (
                selective.and_then(|s| names(&s.fields_to_include)),
                selective.and_then(|s| names(&s.fields_to_exclude)),
            ) {
                (Some(include), None) => MetadataSelection::Include(include),
                (None, Some(exclude)) => MetadataSelection::Exclude(exclude),
                _ => {
                    return Err(KnowledgeError::invalid(
                        format!("{field}.metadataConfiguration.selectiveModeConfiguration"),
                        "SELECTIVE mode takes exactly one of fieldsToInclude and fieldsToExclude",
                    ));
                }
            }
        }
    };
    Ok(Rerank {
        model_arn: bedrock.model_configuration.model_arn.clone(),
        model_field: format!("{field}.modelConfiguration.modelArn"),
        keep,
        metadata,
    })
}

/// Where a result came from, in the shape of its data source's type.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Location {
    #[serde(rename = "type")]
    pub kind: LocationType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub s3_location: Option<UriLocation>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub web_location: Option<UrlLocation>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom_document_location: Option<IdLocation>,
}

impl Location {
    pub fn s3(uri: impl Into<String>) -> Self {
        Self {
            kind: LocationType::S3,
            s3_location: Some(UriLocation { uri: uri.into() }),
            web_location: None,
            custom_document_location: None,
        }
    }

    pub fn web(url: impl Into<String>) -> Self {
        Self {
            kind: LocationType::Web,
            s3_location: None,
            web_location: Some(UrlLocation { url: url.into() }),
            custom_document_location: None,
        }
    }

    pub fn custom(id: impl Into<String>) -> Self {
        Self {
            kind: LocationType::Custom,
            s3_location: None,
            web_location: None,
            custom_document_location: Some(IdLocation { id: id.into() }),
        }
    }

    /// The location as one string (`s3://…`, a URL, or the custom id), for metadata and
    /// for plugins.
    pub fn uri(&self) -> &str {
        if let Some(s3) = &self.s3_location {
            &s3.uri
        } else if let Some(web) = &self.web_location {
            &web.url
        } else if let Some(custom) = &self.custom_document_location {
            &custom.id
        } else {
            ""
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum LocationType {
    S3,
    Web,
    Custom,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UriLocation {
    pub uri: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UrlLocation {
    pub url: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IdLocation {
    pub id: String,
}

/// A result's content.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ResultContent {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub text: String,
}

impl ResultContent {
    pub fn text(text: impl Into<String>) -> Self {
        Self {
            kind: "TEXT",
            text: text.into(),
        }
    }
}

/// One retrieved chunk.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RetrievalResult {
    pub content: ResultContent,
    pub location: Location,
    /// The document's attributes plus Bedrock's `x-amz-bedrock-kb-*` keys.
    pub metadata: BTreeMap<String, Value>,
    /// Cosine similarity mapped to 0..1, as vector stores report it (`(1 + cos) / 2`).
    pub score: f64,
}

/// Retrieve's answer.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RetrieveOutput {
    pub retrieval_results: Vec<RetrievalResult>,
    /// Present when the request named a guardrail.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub guardrail_action: Option<crate::GuardrailAction>,
}

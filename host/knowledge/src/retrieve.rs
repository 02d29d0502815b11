//! Retrieve's request and answer in Bedrock's shapes, and the typed search they map to.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::filter::RetrievalFilter;
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
    pub reranking_configuration: Option<Value>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum SearchType {
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
}

impl SearchRequest {
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
        if let Some(vector) = vector {
            if let Some(n) = vector.number_of_results {
                in_range(&format!("{field}.numberOfResults"), n, 1, 100)?;
                number_of_results = n;
            }
            if vector.override_search_type == Some(SearchType::Hybrid) {
                return Err(KnowledgeError::invalid(
                    format!("{field}.overrideSearchType"),
                    "HYBRID search is not supported by this knowledge base's store yet; use SEMANTIC or omit it",
                ));
            }
            for (name, value) in [
                (
                    "implicitFilterConfiguration",
                    &vector.implicit_filter_configuration,
                ),
                ("rerankingConfiguration", &vector.reranking_configuration),
            ] {
                if value.is_some() {
                    return Err(KnowledgeError::invalid(
                        format!("{field}.{name}"),
                        "is not supported by this server yet; omit it",
                    ));
                }
            }
            if let Some(value) = &vector.filter {
                filter = Some(RetrievalFilter::parse(value, &format!("{field}.filter"))?);
            }
        }
        Ok(Self {
            text,
            number_of_results: number_of_results as usize,
            filter,
        })
    }
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
}

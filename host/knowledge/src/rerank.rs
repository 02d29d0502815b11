//! Rerank (bedrock-agent-runtime `POST /rerank`), and the reranking step of Retrieve.
//!
//! The reranker is a served embedding model: a source's relevance is the cosine of its
//! embedding and the query's, mapped to 0..1 like Retrieve's scores. Bedrock's own reranker ids
//! (`amazon.rerank-v1:0`, `cohere.rerank-v3-5:0`) run on the default embedding model unless
//! `[model-aliases]` maps them to another, so unchanged client code works.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use mantle_inference::{Catalog, EmbeddingModel, InferenceError, MINILM_ID};

use crate::KnowledgeError;
use crate::index::dot;
use crate::ingest::embed_query;

/// Sources embedded per model call.
const BATCH: usize = 64;

/// Rerank's body.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RerankInput {
    pub queries: Vec<RerankQuery>,
    pub sources: Vec<RerankSource>,
    pub reranking_configuration: RerankingConfiguration,
    #[serde(default)]
    pub next_token: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RerankQuery {
    #[serde(rename = "type")]
    pub kind: TextType,
    #[serde(default)]
    pub text_query: Option<TextDocument>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TextType {
    Text,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RerankSource {
    #[serde(rename = "type")]
    pub kind: SourceType,
    #[serde(default)]
    pub inline_document_source: Option<RerankDocument>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum SourceType {
    Inline,
}

/// A source's document, sent back with its result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RerankDocument {
    #[serde(rename = "type")]
    pub kind: DocumentType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text_document: Option<TextDocument>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub json_document: Option<Value>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum DocumentType {
    Text,
    Json,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TextDocument {
    #[serde(default)]
    pub text: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RerankingConfiguration {
    #[serde(rename = "type")]
    pub kind: RerankingType,
    #[serde(default)]
    pub bedrock_reranking_configuration: Option<BedrockRerankingConfiguration>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RerankingType {
    BedrockRerankingModel,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BedrockRerankingConfiguration {
    pub model_configuration: ModelConfiguration,
    #[serde(default)]
    pub number_of_results: Option<u32>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ModelConfiguration {
    pub model_arn: String,
    #[serde(default)]
    pub additional_model_request_fields: Option<Value>,
}

/// One reranked source.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RerankResult {
    /// The source's position in the request.
    pub index: usize,
    pub relevance_score: f32,
    pub document: RerankDocument,
}

/// Rerank's answer, most relevant first.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RerankOutput {
    pub results: Vec<RerankResult>,
}

/// The embedding model a reranker ARN or id names.
pub(crate) fn reranker<'a>(
    models: &'a Catalog,
    model_arn: &str,
    field: &str,
) -> Result<&'a EmbeddingModel, KnowledgeError> {
    match models.embedding(model_arn) {
        Ok(model) => Ok(model),
        Err(InferenceError::UnknownModel { .. }) if is_bedrock_reranker(model_arn) => models
            .embedding(MINILM_ID)
            .map_err(|e| KnowledgeError::invalid(field, format!("no reranker is served: {e}"))),
        Err(e @ InferenceError::WrongKind { .. }) => Err(KnowledgeError::invalid(
            field,
            format!("{e}; a reranker must be an embedding model"),
        )),
        Err(e) => Err(KnowledgeError::invalid(field, e.to_string())),
    }
}

fn is_bedrock_reranker(model_arn: &str) -> bool {
    let id = model_arn.rsplit('/').next().unwrap_or(model_arn);
    id.starts_with("amazon.rerank") || id.starts_with("cohere.rerank")
}

/// The cosine of `query` with each text, in 0..1, in the order of `texts`.
pub(crate) async fn relevance(
    model: &EmbeddingModel,
    query: &str,
    texts: &[String],
) -> Result<Vec<f32>, KnowledgeError> {
    let query = embed_query(model, query).await?;
    let mut scores = Vec::with_capacity(texts.len());
    for batch in texts.chunks(BATCH) {
        // The model refuses empty inputs; an empty source is simply irrelevant.
        let inputs: Vec<String> = batch
            .iter()
            .map(|t| if t.is_empty() { " ".into() } else { t.clone() })
            .collect();
        for vector in model.embed(inputs).await?.vectors {
            scores.push((1.0 + dot(&vector, &query)) / 2.0);
        }
    }
    Ok(scores)
}

/// A checked source: the text the reranker reads, and the document its result returns.
type Source<'a> = (String, &'a RerankDocument);

impl RerankInput {
    /// The query, and each source's text and document, checked, with mistakes named by their
    /// wire path.
    fn texts(&self) -> Result<(String, Vec<Source<'_>>), KnowledgeError> {
        if self.next_token.is_some() {
            return Err(KnowledgeError::invalid(
                "nextToken",
                "the pagination token is not one this server issued (Rerank answers in one page)",
            ));
        }
        if self.queries.len() != 1 {
            return Err(KnowledgeError::invalid(
                "queries",
                "Member must have length 1 (Rerank takes exactly one query)",
            ));
        }
        let query = self.queries[0]
            .text_query
            .as_ref()
            .and_then(|q| q.text.clone())
            .ok_or_else(|| KnowledgeError::invalid("queries.0.textQuery.text", "is required"))?;
        let length = query.chars().count();
        if !(1..=32_000).contains(&length) {
            return Err(KnowledgeError::invalid(
                "queries.0.textQuery.text",
                "Member must have length between 1 and 32000",
            ));
        }
        if !(1..=1000).contains(&self.sources.len()) {
            return Err(KnowledgeError::invalid(
                "sources",
                "Member must have length between 1 and 1000",
            ));
        }
        let mut texts = Vec::with_capacity(self.sources.len());
        for (i, source) in self.sources.iter().enumerate() {
            let field = format!("sources.{i}.inlineDocumentSource");
            let document = source
                .inline_document_source
                .as_ref()
                .ok_or_else(|| KnowledgeError::invalid(&field, "is required for INLINE sources"))?;
            let text = match document.kind {
                DocumentType::Text => document
                    .text_document
                    .as_ref()
                    .and_then(|d| d.text.clone())
                    .ok_or_else(|| {
                        KnowledgeError::invalid(
                            format!("{field}.textDocument.text"),
                            "is required for TEXT documents",
                        )
                    })?,
                DocumentType::Json => match &document.json_document {
                    Some(Value::String(s)) => s.clone(),
                    Some(json) => json.to_string(),
                    None => {
                        return Err(KnowledgeError::invalid(
                            format!("{field}.jsonDocument"),
                            "is required for JSON documents",
                        ));
                    }
                },
            };
            texts.push((text, document));
        }
        Ok((query, texts))
    }
}

/// Rerank.
pub(crate) async fn rerank(
    models: &Catalog,
    input: &RerankInput,
) -> Result<RerankOutput, KnowledgeError> {
    let (query, sources) = input.texts()?;
    let configuration = input
        .reranking_configuration
        .bedrock_reranking_configuration
        .as_ref()
        .ok_or_else(|| {
            KnowledgeError::invalid(
                "rerankingConfiguration.bedrockRerankingConfiguration",
                "is required for BEDROCK_RERANKING_MODEL",
            )
        })?;
    let count = match configuration.number_of_results {
        Some(n) if !(1..=1000).contains(&n) => {
            return Err(KnowledgeError::invalid(
                "rerankingConfiguration.bedrockRerankingConfiguration.numberOfResults",
                "Member must be between 1 and 1000",
            ));
        }
        Some(n) => n as usize,
        None => sources.len(),
    };
    let model = reranker(
        models,
        &configuration.model_configuration.model_arn,
        "rerankingConfiguration.bedrockRerankingConfiguration.modelConfiguration.modelArn",
    )?;
    let texts: Vec<String> = sources.iter().map(|(text, _)| text.clone()).collect();
    let scores = relevance(model, &query, &texts).await?;
    let mut order: Vec<usize> = (0..texts.len()).collect();
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));
    order.truncate(count);
    Ok(RerankOutput {
        results: order
            .into_iter()
            .map(|index| RerankResult {
                index,
                relevance_score: scores[index],
                document: sources[index].1.clone(),
            })
            .collect(),
    })
}

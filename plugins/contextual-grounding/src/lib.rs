//! # contextual-grounding
//!
//! Bedrock's `contextualGroundingPolicy` as a Mantle guardrail plugin, on the host's embedding
//! model (capability `models`). The config is Bedrock's `contextualGroundingPolicyConfig`:
//!
//! ```json
//! {"filtersConfig": [{"type": "GROUNDING", "threshold": 0.75},
//!                    {"type": "RELEVANCE", "threshold": 0.5}]}
//! ```
//!
//! It judges a model's output (source `OUTPUT`) against the blocks qualified
//! `grounding_source` and `query`; without them there is nothing to score and it reports
//! nothing. Scores are in 0..1, and a response scoring below a filter's threshold is blocked:
//!
//! - **GROUNDING**: each sentence of the response is scored by *meaning* (its best cosine
//!   similarity to a sentence window of the source, rescaled so unrelated text is 0) and by
//!   *content words* (the share of its words, numbers and names that occur in the source). A
//!   sentence is as supported as the lesser of the two is, so a fluent sentence that swaps a
//!   name or a number ("Lyon is the capital") scores low on words even though its meaning is
//!   close; the response's score is the mean over its sentences, weighted by their length.
//! - **RELEVANCE**: the response's best similarity to the query, rescaled the same way.
//!
//! An embedding model does not entail: a response that negates its source ("X is not Y") can
//! score as grounded. Bedrock's own checks are model-based too; these are cheaper and weaker.

use mantle_sdk::PluginError;
use mantle_sdk::guardrail::{
    Action, AssessRequest, Assessment, Finding, Guest, PolicyKind, Qualifier, Source, Span,
    block_or_none,
};
use mantle_sdk::models::{Embedder, dot, embed_unit};
use serde::Deserialize;

/// The embedding model texts are compared with: the host's default.
pub const DEFAULT_MODEL: &str = "hf.all-minilm-l6-v2-v1:0";

/// Cosine similarities at or below this are unrelated texts (score 0); at or above
/// [`SIMILAR`], the same statement (score 1). MiniLM puts unrelated English sentences around
/// 0.0–0.2 and paraphrases at 0.7–0.9.
const UNRELATED: f32 = 0.2;
const SIMILAR: f32 = 0.8;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawConfig {
    filters_config: Vec<RawFilter>,
    #[serde(default)]
    #[expect(
        dead_code,
        reason = "accepted for Bedrock's shape; one scorer serves both tiers"
    )]
    tier_config: Option<serde_json::Value>,
    embedding_model_id: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawFilter {
    #[serde(rename = "type")]
    kind: String,
    threshold: f64,
    action: Option<String>,
    enabled: Option<bool>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Grounding,
    Relevance,
}

#[derive(Debug)]
struct Filter {
    kind: Kind,
    threshold: f64,
    action: Action,
}

fn parse(config: &str) -> Result<(Vec<Filter>, String), PluginError> {
    let raw: RawConfig = mantle_sdk::parse_config(config)?;
    if raw.filters_config.is_empty() {
        return Err(PluginError::invalid_config(
            "filtersConfig must name at least one filter",
        ));
    }
    let mut filters: Vec<Filter> = Vec::new();
    for (i, f) in raw.filters_config.iter().enumerate() {
        let path = format!("filtersConfig[{i}]");
        let kind = match f.kind.as_str() {
            "GROUNDING" => Kind::Grounding,
            "RELEVANCE" => Kind::Relevance,
            other => {
                return Err(PluginError::invalid_config(format!(
                    "{path}.type: unknown filter `{other}` (expected GROUNDING or RELEVANCE)"
                )));
            }
        };
        if filters.iter().any(|g| g.kind == kind) {
            return Err(PluginError::invalid_config(format!(
                "{path}.type: filter {} is configured twice",
                f.kind
            )));
        }
        if !(0.0..=0.99).contains(&f.threshold) {
            return Err(PluginError::invalid_config(format!(
                "{path}.threshold must be between 0 and 0.99"
            )));
        }
        let action = block_or_none(f.action.as_deref(), &format!("{path}.action"))?;
        if f.enabled.unwrap_or(true) {
            filters.push(Filter {
                kind,
                threshold: f.threshold,
                action,
            });
        }
    }
    let model = raw
        .embedding_model_id
        .unwrap_or_else(|| DEFAULT_MODEL.to_owned());
    Ok((filters, model))
}

/// A cosine similarity on the 0..1 scale of the scores.
fn rescale(cosine: f32) -> f64 {
    f64::from(((cosine - UNRELATED) / (SIMILAR - UNRELATED)).clamp(0.0, 1.0))
}

/// Words that carry no claim: a response's "the", "is" or "it" need no support.
const STOPWORDS: &[&str] = &[
    "a", "about", "after", "all", "also", "am", "an", "and", "any", "are", "as", "at", "be",
    "been", "before", "being", "but", "by", "can", "could", "did", "do", "does", "for", "from",
    "had", "has", "have", "he", "her", "here", "him", "his", "how", "i", "if", "in", "into", "is",
    "it", "its", "me", "more", "most", "my", "no", "not", "of", "on", "one", "or", "our", "she",
    "so", "some", "such", "than", "that", "the", "their", "them", "then", "there", "these", "they",
    "this", "those", "to", "too", "very", "was", "we", "were", "what", "when", "where", "which",
    "while", "who", "whom", "why", "will", "with", "would", "yes", "you", "your",
];

/// The content words of `text`, lowercased and cut to a stem of at most six letters so that
/// "capital" and "capitals", "founded" and "founding" meet.
fn content_words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .filter(|w| !STOPWORDS.contains(&w.as_str()))
        .map(|w| w.chars().take(6).collect())
        .collect()
}

/// The grounding and relevance scores of `response` against `sources` and `queries`.
fn scores(
    response: &str,
    sources: &[&str],
    queries: &[&str],
    model: &str,
    embed: Embedder<'_>,
) -> Result<(f64, f64), PluginError> {
    let sentences: Vec<&str> = mantle_sdk::text::sentences(response)
        .into_iter()
        .map(|r| &response[r])
        .collect();
    let source_windows: Vec<&str> = sources
        .iter()
        .flat_map(|s| mantle_sdk::text::windows(s).into_iter().map(move |r| &s[r]))
        .collect();
    let mut texts: Vec<String> = Vec::new();
    texts.push(response.to_owned());
    texts.extend(sentences.iter().map(|s| (*s).to_owned()));
    texts.extend(source_windows.iter().map(|s| (*s).to_owned()));
    texts.extend(queries.iter().map(|q| (*q).to_owned()));
    let vectors = embed_unit(embed, model, &texts)?;
    let (whole, rest) = vectors.split_first().expect("one vector per text");
    let (sentence_vectors, rest) = rest.split_at(sentences.len());
    let (source_vectors, query_vectors) = rest.split_at(source_windows.len());

    let source_words: std::collections::HashSet<String> =
        sources.iter().flat_map(|s| content_words(s)).collect();
    let (mut supported, mut weight) = (0.0f64, 0.0f64);
    for (sentence, vector) in sentences.iter().zip(sentence_vectors) {
        let words = content_words(sentence);
        if words.is_empty() {
            continue;
        }
        let meaning = rescale(
            source_vectors
                .iter()
                .map(|s| dot(s, vector))
                .fold(f32::MIN, f32::max),
        );
        let found = words.iter().filter(|w| source_words.contains(*w)).count();
        let by_words = found as f64 / words.len() as f64;
        let w = words.len() as f64;
        supported += w * meaning.min(by_words);
        weight += w;
    }
    let grounding = if weight > 0.0 {
        supported / weight
    } else {
        1.0
    };
    let relevance = rescale(
        query_vectors
            .iter()
            .map(|q| dot(q, whole))
            .fold(f32::MIN, f32::max),
    );
    Ok((grounding, relevance))
}

fn assess_with(request: &AssessRequest, embed: Embedder<'_>) -> Result<Assessment, PluginError> {
    let (filters, model) = parse(&request.config)?;
    let mut findings = Vec::new();
    // Grounding judges what a model said; a prompt has nothing to be grounded in.
    if request.source == Source::Input || filters.is_empty() {
        return Ok(Assessment { findings });
    }
    let qualified = |q: Qualifier| -> Vec<&str> {
        request
            .content
            .iter()
            .filter(|b| b.qualifiers.contains(&q))
            .map(|b| b.text.as_str())
            .collect()
    };
    let sources = qualified(Qualifier::GroundingSource);
    let queries = qualified(Qualifier::Query);
    for (index, block) in request.guarded_blocks() {
        if block.text.trim().is_empty() {
            continue;
        }
        let (grounding, relevance) = scores(&block.text, &sources, &queries, &model, embed)?;
        for filter in &filters {
            let (name, score, needs) = match filter.kind {
                Kind::Grounding => ("GROUNDING", grounding, &sources),
                Kind::Relevance => ("RELEVANCE", relevance, &queries),
            };
            if needs.is_empty() {
                continue;
            }
            // Reported whatever the score (with action NONE when it passes), as Bedrock lists
            // every configured grounding filter in a full assessment.
            let action = if score < filter.threshold {
                filter.action
            } else {
                Action::None
            };
            let mut finding = Finding::new(
                PolicyKind::ContextualGrounding,
                name,
                index,
                0,
                block.text.as_str(),
            )
            .with_action(action)
            .with_score((score * 100.0).round() / 100.0, filter.threshold);
            finding.span = Span::at(0, block.text.len());
            findings.push(finding);
        }
    }
    Ok(Assessment { findings })
}

fn host_embed(model: &str, texts: &[String]) -> Result<Vec<Vec<f32>>, PluginError> {
    mantle_sdk::models::embed(model, texts)
}

/// The contextual-grounding policy.
#[derive(Debug)]
pub struct ContextualGrounding;

impl Guest for ContextualGrounding {
    fn assess(request: AssessRequest) -> Result<Assessment, PluginError> {
        assess_with(&request, &host_embed)
    }
}

#[cfg(target_arch = "wasm32")]
mantle_sdk::export_guardrail!(ContextualGrounding);

#[cfg(test)]
mod tests;

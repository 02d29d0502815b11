//! # denied-topics
//!
//! Bedrock's `topicPolicy` as a Mantle guardrail plugin, built on the host's embedding model
//! (capability `models`). The config is Bedrock's `topicPolicyConfig`:
//!
//! ```json
//! {"topicsConfig": [{"name": "Investment advice",
//!                    "definition": "Recommendations about where to invest money.",
//!                    "examples": ["Should I buy Tesla shares?"],
//!                    "type": "DENY", "inputAction": "BLOCK", "outputAction": "NONE"}]}
//! ```
//!
//! How a text is judged: it is cut into sentence windows (each sentence, and each pair of
//! adjacent sentences, so a topic split over two sentences is still seen whole), every window
//! is embedded, and a topic is detected in a block when some window's cosine similarity to the
//! topic's definition or to one of its examples reaches the threshold. Examples matter most:
//! a definition is a description, while examples are worded like the texts to catch.
//!
//! The topics' own embeddings are computed when a configuration is first seen and kept with
//! the compiled configuration, so a guardrail version's topics are embedded once per instance
//! (the host reuses this plugin's instances), not per call.
//!
//! Two optional keys, outside Bedrock's shape, serve teams that run this plugin as a custom
//! policy: `threshold` (the similarity a window must reach, default [`DEFAULT_THRESHOLD`]) and
//! `embeddingModelId` (default [`DEFAULT_MODEL`]).

use std::sync::Arc;

use mantle_sdk::PluginError;
use mantle_sdk::guardrail::{
    Action, AssessRequest, Assessment, Finding, Guest, PolicyKind, Source, Span, block_or_none,
};
use mantle_sdk::models::{Embedder, dot, embed_unit};
use serde::Deserialize;

/// The embedding model topics and texts are compared with: the host's default.
pub const DEFAULT_MODEL: &str = "hf.all-minilm-l6-v2-v1:0";

/// The cosine similarity at which a window is on a topic, chosen on the tuning half of
/// `eval/guardrails/topics` (`cargo xtask eval-guardrails --half tune --sweep`): the lowest
/// threshold that kept false positives on hard negatives and benign texts near 3%.
pub const DEFAULT_THRESHOLD: f32 = 0.4;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawConfig {
    topics_config: Vec<RawTopic>,
    /// Bedrock's CLASSIC / STANDARD tier; both run the same classifier here.
    #[serde(default)]
    #[allow(dead_code)]
    tier_config: Option<serde_json::Value>,
    threshold: Option<f32>,
    embedding_model_id: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawTopic {
    name: String,
    definition: String,
    #[serde(default)]
    examples: Vec<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
    input_action: Option<String>,
    output_action: Option<String>,
    input_enabled: Option<bool>,
    output_enabled: Option<bool>,
}

/// A topic ready to compare with: its actions per source and its unit-length embeddings
/// (definition first, then each example).
#[derive(Debug)]
struct Topic {
    name: String,
    input: Option<Action>,
    output: Option<Action>,
    exemplars: Vec<Vec<f32>>,
}

impl Topic {
    fn action(&self, source: Source) -> Option<Action> {
        match source {
            Source::Input => self.input,
            Source::Output => self.output,
        }
    }
}

/// A validated configuration with its topics embedded.
#[derive(Debug)]
struct Compiled {
    topics: Vec<Topic>,
    threshold: f32,
    model: String,
}

impl Compiled {
    fn parse(config: &str, embed: Embedder<'_>) -> Result<Self, PluginError> {
        let raw: RawConfig = mantle_sdk::parse_config(config)?;
        if raw.topics_config.is_empty() {
            return Err(PluginError::invalid_config(
                "topicsConfig must name at least one topic",
            ));
        }
        let threshold = raw.threshold.unwrap_or(DEFAULT_THRESHOLD);
        if !(-1.0..=1.0).contains(&threshold) {
            return Err(PluginError::invalid_config(
                "threshold must be a cosine similarity between -1 and 1",
            ));
        }
        let model = raw
            .embedding_model_id
            .unwrap_or_else(|| DEFAULT_MODEL.to_owned());
        let mut texts = Vec::new();
        let mut topics = Vec::new();
        for (i, topic) in raw.topics_config.iter().enumerate() {
            let path = format!("topicsConfig[{i}]");
            if let Some(kind) = topic.kind.as_deref().filter(|k| *k != "DENY") {
                return Err(PluginError::invalid_config(format!(
                    "{path}.type: unknown topic type `{kind}` (expected DENY)"
                )));
            }
            if topic.definition.trim().is_empty() {
                return Err(PluginError::invalid_config(format!(
                    "{path}.definition must not be empty"
                )));
            }
            let input = block_or_none(
                topic.input_action.as_deref(),
                &format!("{path}.inputAction"),
            )?;
            let output = block_or_none(
                topic.output_action.as_deref(),
                &format!("{path}.outputAction"),
            )?;
            texts.push(topic.definition.clone());
            texts.extend(topic.examples.iter().cloned());
            topics.push(Topic {
                name: topic.name.clone(),
                input: topic.input_enabled.unwrap_or(true).then_some(input),
                output: topic.output_enabled.unwrap_or(true).then_some(output),
                exemplars: Vec::new(),
            });
        }
        let mut vectors = embed_unit(embed, &model, &texts)?.into_iter();
        // One vector per text, in order: each topic's definition, then its examples.
        for (topic, raw) in topics.iter_mut().zip(&raw.topics_config) {
            topic.exemplars = vectors.by_ref().take(1 + raw.examples.len()).collect();
        }
        Ok(Self {
            topics,
            threshold,
            model,
        })
    }
}

/// How many distinct configurations an instance keeps compiled (with their embeddings).
const CACHE_ENTRIES: usize = 8;

static CACHE: mantle_sdk::ConfigCache<Compiled> = mantle_sdk::ConfigCache::new(CACHE_ENTRIES);

/// The best window of one block for one topic.
#[derive(Debug, Clone, Copy)]
struct Best {
    score: f32,
    window: usize,
}

/// The assessment, with the embedder passed in so native tests can supply vectors.
fn assess_with(request: &AssessRequest, embed: Embedder<'_>) -> Result<Assessment, PluginError> {
    let compiled: Arc<Compiled> =
        CACHE.get_or_parse(&request.config, |config| Compiled::parse(config, embed))?;
    let source = request.source;
    let mut findings = Vec::new();
    if compiled.topics.iter().all(|t| t.action(source).is_none()) {
        return Ok(Assessment { findings });
    }
    // Every window of every guarded block, embedded in one call.
    let (spans, texts) = request.sentence_windows();
    if spans.is_empty() {
        return Ok(Assessment { findings });
    }
    let vectors = embed_unit(embed, &compiled.model, &texts)?;
    for topic in &compiled.topics {
        let Some(action) = topic.action(source) else {
            continue;
        };
        // Per block, the window most like the topic.
        let mut best: Vec<(u32, Best)> = Vec::new();
        for (w, (index, _)) in spans.iter().enumerate() {
            let score = topic
                .exemplars
                .iter()
                .map(|e| dot(e, &vectors[w]))
                .fold(f32::MIN, f32::max);
            match best.iter_mut().find(|(i, _)| i == index) {
                Some((_, b)) if b.score >= score => {}
                Some((_, b)) => *b = Best { score, window: w },
                None => best.push((*index, Best { score, window: w })),
            }
        }
        for (index, b) in best {
            if b.score < compiled.threshold {
                continue;
            }
            let range = &spans[b.window].1;
            let text = &request.content[index as usize].text;
            let mut finding = Finding::new(
                PolicyKind::Topic,
                "DENY",
                index,
                range.start,
                &text[range.clone()],
            )
            .with_name(topic.name.as_str())
            .with_action(action)
            .with_score(f64::from(b.score), f64::from(compiled.threshold));
            finding.span = Span::at(range.start, range.len());
            findings.push(finding);
        }
    }
    Ok(Assessment { findings })
}

/// The host's embedding model, through the `models` import.
fn host_embed(model: &str, texts: &[String]) -> Result<Vec<Vec<f32>>, PluginError> {
    mantle_sdk::models::embed(model, texts)
}

/// The denied-topics policy.
#[derive(Debug)]
pub struct DeniedTopics;

impl Guest for DeniedTopics {
    fn assess(request: AssessRequest) -> Result<Assessment, PluginError> {
        assess_with(&request, &host_embed)
    }
}

#[cfg(target_arch = "wasm32")]
mantle_sdk::export_guardrail!(DeniedTopics);

#[cfg(test)]
mod tests;

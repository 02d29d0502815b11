//! # content-filter
//!
//! Bedrock's `contentPolicy` as a Mantle guardrail plugin, built on the host's embedding model
//! (capability `models`). The config is Bedrock's `contentPolicyConfig`:
//!
//! ```json
//! {"filtersConfig": [{"type": "INSULTS", "inputStrength": "HIGH", "outputStrength": "MEDIUM"},
//!                    {"type": "PROMPT_ATTACK", "inputStrength": "HIGH", "outputStrength": "NONE"}]}
//! ```
//!
//! How a text is judged: each sentence window (see [`mantle_sdk::text`]) is compared with the
//! category's labelled exemplars (`exemplars/<CATEGORY>.json`: harmful texts, each with a
//! severity, and benign texts on the same subjects). A window's confidence comes from the
//! nearest harmful exemplar: how close it is (the similarity bands in [`Bands`]), capped by that
//! exemplar's severity, and NONE when a benign exemplar is nearer. The text's confidence is its
//! highest window's. As Bedrock documents it, a filter blocks when the confidence reaches what
//! its strength catches: HIGH strength blocks LOW, MEDIUM and HIGH confidence; MEDIUM blocks
//! MEDIUM and HIGH; LOW blocks HIGH only; NONE blocks nothing.
//!
//! The exemplars are embedded on an instance's first call and kept (the host reuses this
//! plugin's instances). One optional key outside Bedrock's shape serves teams that run this
//! plugin as a custom policy: `bands` (`{"low": .., "medium": .., "high": ..}`, similarities).

use std::sync::{Arc, Mutex};

use mantle_sdk::PluginError;
use mantle_sdk::guardrail::{
    Action, AssessRequest, Assessment, Finding, Guest, PolicyKind, Source, Span, block_or_none,
};
use mantle_sdk::models::{Embedder, dot, embed_unit};
use serde::Deserialize;

/// The embedding model texts and exemplars are compared with: the host's default.
pub const DEFAULT_MODEL: &str = "hf.all-minilm-l6-v2-v1:0";

/// Bedrock's content filter categories, with their exemplars.
pub const CATEGORIES: [(&str, &str); 6] = [
    ("HATE", include_str!("../exemplars/HATE.json")),
    ("INSULTS", include_str!("../exemplars/INSULTS.json")),
    ("SEXUAL", include_str!("../exemplars/SEXUAL.json")),
    ("VIOLENCE", include_str!("../exemplars/VIOLENCE.json")),
    ("MISCONDUCT", include_str!("../exemplars/MISCONDUCT.json")),
    (
        "PROMPT_ATTACK",
        include_str!("../exemplars/PROMPT_ATTACK.json"),
    ),
];

/// Bedrock's confidence and strength scale.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Level {
    None,
    Low,
    Medium,
    High,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::None => "NONE",
            Level::Low => "LOW",
            Level::Medium => "MEDIUM",
            Level::High => "HIGH",
        }
    }

    /// Whether a filter of this strength acts on a text of `confidence`.
    pub fn catches(self, confidence: Level) -> bool {
        match self {
            Level::None => false,
            // HIGH strength catches LOW confidence; LOW strength only HIGH confidence.
            strength => {
                confidence != Level::None
                    && confidence as u8 >= Level::High as u8 + Level::Low as u8 - strength as u8
            }
        }
    }
}

/// The similarities to the nearest harmful exemplar at which a window is LOW, MEDIUM and HIGH
/// confidence, chosen on the tuning half of `eval/guardrails/content` (`cargo xtask
/// eval-guardrails --only content --half tune --bands ..`) between 0.35/0.45/0.55 (more recall,
/// up to 20% false positives at HIGH strength) and 0.45/0.55/0.65 (few detections at MEDIUM).
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
pub struct Bands {
    pub low: f32,
    pub medium: f32,
    pub high: f32,
}

impl Default for Bands {
    fn default() -> Self {
        Bands {
            low: 0.40,
            medium: 0.50,
            high: 0.60,
        }
    }
}

impl Bands {
    fn level(&self, similarity: f32) -> Level {
        if similarity >= self.high {
            Level::High
        } else if similarity >= self.medium {
            Level::Medium
        } else if similarity >= self.low {
            Level::Low
        } else {
            Level::None
        }
    }
}

#[derive(Debug, Deserialize)]
struct ExemplarFile {
    category: String,
    harmful: Vec<Harmful>,
    benign: Vec<String>,
}

#[derive(Debug, Deserialize)]
struct Harmful {
    text: String,
    severity: Level,
}

/// One category's exemplars as unit vectors.
#[derive(Debug)]
struct Category {
    name: &'static str,
    harmful: Vec<(Vec<f32>, Level)>,
    benign: Vec<Vec<f32>>,
}

impl Category {
    /// The confidence that `window` (a unit vector) is in this category.
    fn confidence(&self, window: &[f32], bands: &Bands) -> (Level, f32) {
        let (nearest, severity) = self
            .harmful
            .iter()
            .map(|(v, severity)| (dot(v, window), *severity))
            .fold(
                (f32::MIN, Level::None),
                |a, b| if b.0 > a.0 { b } else { a },
            );
        let benign = self
            .benign
            .iter()
            .map(|v| dot(v, window))
            .fold(f32::MIN, f32::max);
        if benign >= nearest {
            return (Level::None, nearest);
        }
        (bands.level(nearest).min(severity), nearest)
    }
}

/// The exemplars of every category, embedded once per instance (per model).
static EXEMPLARS: Mutex<Option<(String, Arc<Vec<Category>>)>> = Mutex::new(None);

fn exemplars(model: &str, embed: Embedder<'_>) -> Result<Arc<Vec<Category>>, PluginError> {
    let mut cached = EXEMPLARS.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((m, categories)) = cached.as_ref()
        && m == model
    {
        return Ok(Arc::clone(categories));
    }
    let mut files = Vec::new();
    let mut texts = Vec::new();
    for (name, json) in CATEGORIES {
        let file: ExemplarFile = serde_json::from_str(json).map_err(|e| {
            PluginError::new("internal", format!("exemplars of {name} do not parse: {e}"))
        })?;
        debug_assert_eq!(file.category, name);
        texts.extend(file.harmful.iter().map(|h| h.text.clone()));
        texts.extend(file.benign.iter().cloned());
        files.push((name, file));
    }
    let mut vectors = embed_unit(embed, model, &texts)?.into_iter();
    let mut categories = Vec::new();
    for (name, file) in files {
        // One vector per text, in order: a category's harmful exemplars, then its benign ones.
        let harmful = file
            .harmful
            .iter()
            .zip(vectors.by_ref())
            .map(|(h, v)| (v, h.severity))
            .collect();
        let benign = vectors.by_ref().take(file.benign.len()).collect();
        categories.push(Category {
            name,
            harmful,
            benign,
        });
    }
    let categories = Arc::new(categories);
    *cached = Some((model.to_owned(), Arc::clone(&categories)));
    Ok(categories)
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawConfig {
    filters_config: Vec<RawFilter>,
    /// Bedrock's CLASSIC / STANDARD tier; both run the same classifier here.
    #[serde(default)]
    #[expect(
        dead_code,
        reason = "accepted for Bedrock's shape; one classifier serves both"
    )]
    tier_config: Option<serde_json::Value>,
    bands: Option<Bands>,
    embedding_model_id: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawFilter {
    #[serde(rename = "type")]
    kind: String,
    input_strength: Level,
    output_strength: Level,
    input_action: Option<String>,
    output_action: Option<String>,
    input_enabled: Option<bool>,
    output_enabled: Option<bool>,
}

/// One configured filter: its category and, per source, its strength and action (`None` when
/// disabled for that source or at strength NONE).
#[derive(Debug)]
struct Filter {
    category: usize,
    input: Option<(Level, Action)>,
    output: Option<(Level, Action)>,
}

#[derive(Debug)]
struct Compiled {
    filters: Vec<Filter>,
    bands: Bands,
    model: String,
}

impl Compiled {
    fn parse(config: &str) -> Result<Self, PluginError> {
        let raw: RawConfig = mantle_sdk::parse_config(config)?;
        if raw.filters_config.is_empty() {
            return Err(PluginError::invalid_config(
                "filtersConfig must name at least one filter",
            ));
        }
        let mut filters: Vec<Filter> = Vec::new();
        for (i, f) in raw.filters_config.iter().enumerate() {
            let path = format!("filtersConfig[{i}]");
            let category = CATEGORIES
                .iter()
                .position(|(name, _)| *name == f.kind)
                .ok_or_else(|| {
                    PluginError::invalid_config(format!(
                        "{path}.type: unknown filter `{}` (expected one of HATE, INSULTS, \
                         SEXUAL, VIOLENCE, MISCONDUCT, PROMPT_ATTACK)",
                        f.kind
                    ))
                })?;
            if filters.iter().any(|g| g.category == category) {
                return Err(PluginError::invalid_config(format!(
                    "{path}.type: filter {} is configured twice",
                    f.kind
                )));
            }
            if f.kind == "PROMPT_ATTACK" && f.output_strength != Level::None {
                return Err(PluginError::invalid_config(format!(
                    "{path}.outputStrength: PROMPT_ATTACK applies to inputs only; its output \
                     strength must be NONE"
                )));
            }
            let per_source = |strength: Level, act: Option<&str>, enabled: Option<bool>, field| {
                let act = block_or_none(act, &format!("{path}.{field}"))?;
                Ok::<_, PluginError>(
                    (enabled.unwrap_or(true) && strength != Level::None).then_some((strength, act)),
                )
            };
            filters.push(Filter {
                category,
                input: per_source(
                    f.input_strength,
                    f.input_action.as_deref(),
                    f.input_enabled,
                    "inputAction",
                )?,
                output: per_source(
                    f.output_strength,
                    f.output_action.as_deref(),
                    f.output_enabled,
                    "outputAction",
                )?,
            });
        }
        let bands = raw.bands.unwrap_or_default();
        if !(bands.low <= bands.medium && bands.medium <= bands.high) {
            return Err(PluginError::invalid_config(
                "bands must rise: low <= medium <= high",
            ));
        }
        Ok(Compiled {
            filters,
            bands,
            model: raw
                .embedding_model_id
                .unwrap_or_else(|| DEFAULT_MODEL.to_owned()),
        })
    }
}

const CACHE_ENTRIES: usize = 8;

static CACHE: mantle_sdk::ConfigCache<Compiled> = mantle_sdk::ConfigCache::new(CACHE_ENTRIES);

/// The assessment, with the embedder passed in so native tests can supply vectors.
fn assess_with(request: &AssessRequest, embed: Embedder<'_>) -> Result<Assessment, PluginError> {
    let compiled = CACHE.get_or_parse(&request.config, Compiled::parse)?;
    // Embedding the exemplars at configuration time makes a missing model a config error.
    let categories = exemplars(&compiled.model, embed)?;
    let source = request.source;
    let active: Vec<(&Filter, Level, Action)> = compiled
        .filters
        .iter()
        .filter_map(|f| {
            let (strength, action) = match source {
                Source::Input => f.input?,
                Source::Output => f.output?,
            };
            Some((f, strength, action))
        })
        .collect();
    let mut findings = Vec::new();
    if active.is_empty() {
        return Ok(Assessment { findings });
    }
    let (spans, texts) = request.sentence_windows();
    if spans.is_empty() {
        return Ok(Assessment { findings });
    }
    let vectors = embed_unit(embed, &compiled.model, &texts)?;
    for (filter, strength, action) in active {
        let category = &categories[filter.category];
        // Per block, the most confident window (ties to the most similar).
        let mut best: Vec<(u32, Level, f32, usize)> = Vec::new();
        for (w, (index, _)) in spans.iter().enumerate() {
            let (level, similarity) = category.confidence(&vectors[w], &compiled.bands);
            match best.iter_mut().find(|b| b.0 == *index) {
                Some(b) if (b.1, b.2) >= (level, similarity) => {}
                Some(b) => *b = (*index, level, similarity, w),
                None => best.push((*index, level, similarity, w)),
            }
        }
        for (index, confidence, _, w) in best {
            if !strength.catches(confidence) {
                continue;
            }
            let range = &spans[w].1;
            let text = &request.content[index as usize].text;
            let mut finding = Finding::new(
                PolicyKind::Content,
                category.name,
                index,
                range.start,
                &text[range.clone()],
            )
            .with_action(action)
            .with_attribute("confidence", confidence.as_str())
            .with_attribute("filterStrength", strength.as_str());
            finding.span = Span::at(range.start, range.len());
            findings.push(finding);
        }
    }
    Ok(Assessment { findings })
}

fn host_embed(model: &str, texts: &[String]) -> Result<Vec<Vec<f32>>, PluginError> {
    mantle_sdk::models::embed(model, texts)
}

/// The content-filter policy.
#[derive(Debug)]
pub struct ContentFilter;

impl Guest for ContentFilter {
    fn assess(request: AssessRequest) -> Result<Assessment, PluginError> {
        assess_with(&request, &host_embed)
    }
}

#[cfg(target_arch = "wasm32")]
mantle_sdk::export_guardrail!(ContentFilter);

#[cfg(test)]
mod tests;

//! # fixed-size-chunker
//!
//! Bedrock's knowledge-base chunking strategies as a Mantle chunker plugin. Tokens are
//! approximated by whitespace-separated words; every chunk's text is exactly the document's
//! bytes in its span (from the first word's first byte to the last word's last byte).
//!
//! Configs (all keys as in Bedrock's `chunkingConfiguration`, or the short forms):
//!
//! - `{}` — FIXED_SIZE with Bedrock's defaults, 300 tokens and 20 % overlap;
//! - `{"maxTokens": 300, "overlapPercentage": 20}`, or
//!   `{"chunkingStrategy": "FIXED_SIZE", "fixedSizeChunkingConfiguration": {...}}`;
//! - `{"hierarchical": {"parentMaxTokens": 1500, "childMaxTokens": 300, "overlapTokens": 60}}`, or
//!   `{"chunkingStrategy": "HIERARCHICAL", "hierarchicalChunkingConfiguration":
//!   {"levelConfigurations": [{"maxTokens": 1500}, {"maxTokens": 300}], "overlapTokens": 60}}`
//!   — parent chunks (level 0), each followed by its children (level 1, `parent` = the index of
//!   the parent in the returned list);
//! - `{"chunkingStrategy": "NONE"}` — the whole document as one chunk.

use mantle_sdk::PluginError;
use mantle_sdk::chunker::{Chunk, Document, Guest};
use serde::Deserialize;
use serde_json::Value;

/// Bedrock's default chunk size, in tokens.
pub const DEFAULT_MAX_TOKENS: u32 = 300;
/// Bedrock's default overlap between consecutive chunks, in percent.
pub const DEFAULT_OVERLAP_PERCENTAGE: u32 = 20;
/// The largest chunk this plugin makes, in tokens.
pub const MAX_TOKENS_LIMIT: u32 = 100_000;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct FixedSize {
    #[serde(default = "default_max_tokens")]
    max_tokens: u32,
    #[serde(default = "default_overlap")]
    overlap_percentage: u32,
}

fn default_max_tokens() -> u32 {
    DEFAULT_MAX_TOKENS
}

fn default_overlap() -> u32 {
    DEFAULT_OVERLAP_PERCENTAGE
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct HierarchicalShort {
    parent_max_tokens: u32,
    child_max_tokens: u32,
    #[serde(default)]
    overlap_tokens: u32,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct LevelConfiguration {
    max_tokens: u32,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct HierarchicalBedrock {
    level_configurations: Vec<LevelConfiguration>,
    #[serde(default)]
    overlap_tokens: u32,
}

/// A validated chunking plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plan {
    /// Windows of `max_tokens` words, consecutive windows sharing `overlap` words.
    Fixed { max_tokens: u32, overlap: u32 },
    /// Parent windows, each cut into child windows; both share `overlap` words with the next.
    Hierarchical {
        parent: u32,
        child: u32,
        overlap: u32,
    },
    /// The whole document.
    None,
}

fn invalid(message: impl std::fmt::Display) -> PluginError {
    PluginError::invalid_config(message)
}

fn field<T: serde::de::DeserializeOwned>(value: &Value, name: &str) -> Result<T, PluginError> {
    serde_json::from_value(value.clone()).map_err(|e| invalid(format!("{name}: {e}")))
}

impl Plan {
    /// Parses and validates a chunking config.
    pub fn parse(config: &str) -> Result<Self, PluginError> {
        let value: Value = mantle_sdk::parse_config(config)?;
        if !value.is_object() {
            return Err(invalid("expected a JSON object"));
        }
        let strategy = value.get("chunkingStrategy").and_then(Value::as_str);
        let plan = match strategy {
            Some("NONE") => Plan::None,
            Some("FIXED_SIZE") => {
                let inner = value.get("fixedSizeChunkingConfiguration").ok_or_else(|| {
                    invalid("fixedSizeChunkingConfiguration is required for FIXED_SIZE")
                })?;
                Self::fixed(field(inner, "fixedSizeChunkingConfiguration")?)?
            }
            Some("HIERARCHICAL") => {
                let inner = value
                    .get("hierarchicalChunkingConfiguration")
                    .ok_or_else(|| {
                        invalid("hierarchicalChunkingConfiguration is required for HIERARCHICAL")
                    })?;
                let h: HierarchicalBedrock = field(inner, "hierarchicalChunkingConfiguration")?;
                let [parent, child] = h.level_configurations.as_slice() else {
                    return Err(invalid(
                        "hierarchicalChunkingConfiguration.levelConfigurations must have two levels (parent, child)",
                    ));
                };
                Self::hierarchical(parent.max_tokens, child.max_tokens, h.overlap_tokens)?
            }
            Some(other) => {
                return Err(invalid(format!(
                    "chunkingStrategy: `{other}` is not supported by this chunker (FIXED_SIZE, HIERARCHICAL or NONE)"
                )));
            }
            None => match value.get("hierarchical") {
                Some(inner) => {
                    let h: HierarchicalShort = field(inner, "hierarchical")?;
                    Self::hierarchical(h.parent_max_tokens, h.child_max_tokens, h.overlap_tokens)?
                }
                None => Self::fixed(field(&value, "config")?)?,
            },
        };
        Ok(plan)
    }

    fn fixed(config: FixedSize) -> Result<Self, PluginError> {
        if !(1..=MAX_TOKENS_LIMIT).contains(&config.max_tokens) {
            return Err(invalid(format!(
                "maxTokens must be between 1 and {MAX_TOKENS_LIMIT}"
            )));
        }
        if config.overlap_percentage > 99 {
            return Err(invalid("overlapPercentage must be between 0 and 99"));
        }
        Ok(Plan::Fixed {
            max_tokens: config.max_tokens,
            overlap: config.max_tokens * config.overlap_percentage / 100,
        })
    }

    fn hierarchical(parent: u32, child: u32, overlap: u32) -> Result<Self, PluginError> {
        if !(1..=MAX_TOKENS_LIMIT).contains(&parent) || !(1..=MAX_TOKENS_LIMIT).contains(&child) {
            return Err(invalid(format!(
                "maxTokens must be between 1 and {MAX_TOKENS_LIMIT}"
            )));
        }
        if child > parent {
            return Err(invalid(
                "the child chunk size must not exceed the parent chunk size",
            ));
        }
        if overlap >= child {
            return Err(invalid(
                "overlapTokens must be smaller than the child chunk size",
            ));
        }
        Ok(Plan::Hierarchical {
            parent,
            child,
            overlap,
        })
    }
}

/// The byte ranges of the whitespace-separated words of `text`.
pub fn words(text: &str) -> Vec<(usize, usize)> {
    let mut words = Vec::new();
    let mut start = None;
    for (i, c) in text.char_indices() {
        match (c.is_whitespace(), start) {
            (true, Some(s)) => {
                words.push((s, i));
                start = None;
            }
            (false, None) => start = Some(i),
            _ => {}
        }
    }
    if let Some(s) = start {
        words.push((s, text.len()));
    }
    words
}

/// Windows `[start, end)` over `n` words: `size` words each, the next starting `size - overlap`
/// words later, the last one ending at `n`.
pub fn windows(n: usize, size: usize, overlap: usize) -> Vec<(usize, usize)> {
    let step = size.saturating_sub(overlap).max(1);
    let mut out = Vec::new();
    let mut start = 0;
    while start < n {
        let end = (start + size).min(n);
        out.push((start, end));
        if end == n {
            break;
        }
        start += step;
    }
    out
}

fn chunk(text: &str, words: &[(usize, usize)], (first, last): (usize, usize)) -> Chunk {
    let start = words[first].0;
    let end = words[last - 1].1;
    let mut chunk = Chunk::new(&text[start..end], start);
    chunk
        .metadata
        .push(("tokens".to_owned(), (last - first).to_string()));
    chunk
}

/// Splits `text` by `plan`.
pub fn split(text: &str, plan: Plan) -> Vec<Chunk> {
    let words = words(text);
    if words.is_empty() {
        return Vec::new();
    }
    match plan {
        Plan::None => vec![chunk(text, &words, (0, words.len()))],
        Plan::Fixed {
            max_tokens,
            overlap,
        } => windows(words.len(), max_tokens as usize, overlap as usize)
            .into_iter()
            .map(|w| chunk(text, &words, w))
            .collect(),
        Plan::Hierarchical {
            parent,
            child,
            overlap,
        } => {
            let mut out = Vec::new();
            for (p_start, p_end) in windows(words.len(), parent as usize, overlap as usize) {
                let parent_index = out.len() as u32;
                out.push(chunk(text, &words, (p_start, p_end)));
                for (c_start, c_end) in windows(p_end - p_start, child as usize, overlap as usize) {
                    out.push(
                        chunk(text, &words, (p_start + c_start, p_start + c_end))
                            .with_parent(parent_index, 1),
                    );
                }
            }
            out
        }
    }
}

/// The chunker.
#[derive(Debug)]
pub struct FixedSizeChunker;

impl Guest for FixedSizeChunker {
    fn split(document: Document, config: String) -> Result<Vec<Chunk>, PluginError> {
        let plan = Plan::parse(&config)?;
        Ok(split(&document.text, plan))
    }
}

#[cfg(target_arch = "wasm32")]
mantle_sdk::export_chunker!(FixedSizeChunker);

#[cfg(test)]
mod tests {
    use super::*;
    use mantle_sdk::testkit;

    fn run(text: &str, config: &str) -> Vec<Chunk> {
        FixedSizeChunker::split(testkit::document(text), config.to_owned()).unwrap()
    }

    fn texts(chunks: &[Chunk]) -> Vec<&str> {
        chunks.iter().map(|c| c.text.as_str()).collect()
    }

    fn assert_exact_spans(text: &str, chunks: &[Chunk]) {
        for c in chunks {
            assert_eq!(&text[c.span.start as usize..c.span.end as usize], c.text);
        }
    }

    #[test]
    fn fixed_size_with_overlap() {
        let text = "one two three four five six seven eight nine ten";
        let chunks = run(text, r#"{"maxTokens": 4, "overlapPercentage": 50}"#);
        assert_eq!(
            texts(&chunks),
            [
                "one two three four",
                "three four five six",
                "five six seven eight",
                "seven eight nine ten"
            ]
        );
        assert_exact_spans(text, &chunks);
        assert!(chunks.iter().all(|c| c.parent.is_none() && c.level == 0));
        assert_eq!(chunks[0].metadata, [("tokens".to_owned(), "4".to_owned())]);
    }

    #[test]
    fn overlap_is_floored_and_last_chunk_may_be_short() {
        let chunks = run(
            "a b c d e f g",
            r#"{"maxTokens": 3, "overlapPercentage": 20}"#,
        );
        assert_eq!(texts(&chunks), ["a b c", "d e f", "g"]);
    }

    #[test]
    fn spans_are_exact_bytes_with_unicode_and_odd_whitespace() {
        let text = "  Grüße\u{3000}aus\n\nKöln —\tdas  ist 東京 ";
        let chunks = run(text, r#"{"maxTokens": 2, "overlapPercentage": 0}"#);
        assert_eq!(
            texts(&chunks),
            ["Grüße\u{3000}aus", "Köln —", "das  ist", "東京"]
        );
        assert_exact_spans(text, &chunks);
    }

    #[test]
    fn bedrock_shapes_and_defaults() {
        let text = "w ".repeat(700);
        let chunks = run(&text, "");
        // 300 tokens, 60 overlap: starts at 0, 240, 480.
        assert_eq!(chunks.len(), 3);
        assert_eq!(chunks[1].span.start, 480);
        let same = run(
            &text,
            r#"{"chunkingStrategy": "FIXED_SIZE", "fixedSizeChunkingConfiguration": {"maxTokens": 300, "overlapPercentage": 20}}"#,
        );
        assert_eq!(texts(&same), texts(&chunks));
        let whole = run(" a b c ", r#"{"chunkingStrategy": "NONE"}"#);
        assert_eq!(texts(&whole), ["a b c"]);
    }

    #[test]
    fn hierarchical_parents_and_children() {
        let text = "1 2 3 4 5 6 7 8";
        let chunks = run(
            text,
            r#"{"hierarchical": {"parentMaxTokens": 6, "childMaxTokens": 3, "overlapTokens": 1}}"#,
        );
        let shape: Vec<(&str, Option<u32>, u32)> = chunks
            .iter()
            .map(|c| (c.text.as_str(), c.parent, c.level))
            .collect();
        assert_eq!(
            shape,
            [
                ("1 2 3 4 5 6", None, 0),
                ("1 2 3", Some(0), 1),
                ("3 4 5", Some(0), 1),
                ("5 6", Some(0), 1),
                ("6 7 8", None, 0),
                ("6 7 8", Some(4), 1),
            ]
        );
        assert_exact_spans(text, &chunks);
        let bedrock = run(
            text,
            r#"{"chunkingStrategy": "HIERARCHICAL", "hierarchicalChunkingConfiguration": {"levelConfigurations": [{"maxTokens": 6}, {"maxTokens": 3}], "overlapTokens": 1}}"#,
        );
        assert_eq!(texts(&bedrock), texts(&chunks));
    }

    #[test]
    fn empty_documents_have_no_chunks() {
        assert!(run("", "{}").is_empty());
        assert!(run(" \n\t ", "{}").is_empty());
    }

    #[test]
    fn invalid_configs() {
        for config in [
            r#"{"maxTokens": 0}"#,
            r#"{"maxTokens": 10, "overlapPercentage": 100}"#,
            r#"{"maxTokens": "ten"}"#,
            r#"{"hierarchical": {"parentMaxTokens": 3, "childMaxTokens": 6}}"#,
            r#"{"hierarchical": {"parentMaxTokens": 6, "childMaxTokens": 3, "overlapTokens": 3}}"#,
            r#"{"chunkingStrategy": "SEMANTIC"}"#,
            r#"{"chunkingStrategy": "FIXED_SIZE"}"#,
            r#"{"chunkingStrategy": "HIERARCHICAL", "hierarchicalChunkingConfiguration": {"levelConfigurations": [{"maxTokens": 6}]}}"#,
            "[]",
        ] {
            let err =
                FixedSizeChunker::split(testkit::document("a b"), config.to_owned()).unwrap_err();
            assert_eq!(err.code, "invalid-config", "{config}");
        }
    }

    #[test]
    fn windows_cover_everything() {
        for n in 0..40 {
            for size in 1..8 {
                for overlap in 0..size {
                    let w = windows(n, size, overlap);
                    if n == 0 {
                        assert!(w.is_empty());
                        continue;
                    }
                    assert_eq!(w[0].0, 0);
                    assert_eq!(w.last().unwrap().1, n);
                    for pair in w.windows(2) {
                        assert!(pair[1].0 <= pair[0].1, "gap in {w:?}");
                        assert!(pair[1].0 > pair[0].0);
                    }
                }
            }
        }
    }
}

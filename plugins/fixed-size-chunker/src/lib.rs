//! # fixed-size-chunker
//!
//! Bedrock's knowledge-base chunking strategies as a Mantle chunker plugin. Chunks are cut at
//! whitespace, sized in the tokens of the model named by `embeddingModelId` (the host passes the
//! knowledge base's embedding model, so a chunk never runs past what the model reads; counted
//! through the `models` import), or in words when no model is named. Every chunk's text is
//! exactly the document's bytes in its span (from the first word's first byte to the last
//! word's last byte).
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
//!
//! Any of them may add `"embeddingModelId": "<model id>"`.

use std::ops::Range;

use mantle_sdk::PluginError;
use mantle_sdk::chunker::{Chunk, Document, Guest};
use mantle_sdk::tokens::{self, TokenCounter};
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
    /// Windows of `max_tokens` tokens, consecutive windows sharing up to `overlap` tokens.
    Fixed { max_tokens: u32, overlap: u32 },
    /// Parent windows, each cut into child windows; both share up to `overlap` tokens with the next.
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

fn chunk(text: &str, words: &[Range<usize>], weights: &[u32], range: Range<usize>) -> Chunk {
    let start = words[range.start].start;
    let end = words[range.end - 1].end;
    let mut chunk = Chunk::new(&text[start..end], start);
    chunk.metadata.push((
        "tokens".to_owned(),
        tokens::total(weights, range).to_string(),
    ));
    chunk
}

/// Splits `text` by `plan`, counting each word's tokens with `counter`.
pub fn split(
    text: &str,
    plan: Plan,
    counter: &mut TokenCounter<'_>,
) -> Result<Vec<Chunk>, PluginError> {
    let words = tokens::words(text);
    if words.is_empty() {
        return Ok(Vec::new());
    }
    let weights = tokens::weigh(text, &words, counter)?;
    let chunks = match plan {
        Plan::None => vec![chunk(text, &words, &weights, 0..words.len())],
        Plan::Fixed {
            max_tokens,
            overlap,
        } => tokens::windows(&weights, max_tokens, overlap)
            .into_iter()
            .map(|w| chunk(text, &words, &weights, w))
            .collect(),
        Plan::Hierarchical {
            parent,
            child,
            overlap,
        } => {
            let mut out = Vec::new();
            for p in tokens::windows(&weights, parent, overlap) {
                let parent_index = out.len() as u32;
                out.push(chunk(text, &words, &weights, p.clone()));
                for c in tokens::windows(&weights[p.clone()], child, overlap) {
                    let range = p.start + c.start..p.start + c.end;
                    out.push(chunk(text, &words, &weights, range).with_parent(parent_index, 1));
                }
            }
            out
        }
    };
    Ok(chunks)
}

/// The model whose tokenizer counts tokens: `embeddingModelId`, which the host sets to the
/// knowledge base's embedding model. Without one a word is a token.
pub fn tokenizer(config: &str) -> Result<Option<String>, PluginError> {
    let value: Value = mantle_sdk::parse_config(config)?;
    match value.get("embeddingModelId") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(model)) if !model.is_empty() => Ok(Some(model.clone())),
        Some(_) => Err(invalid("embeddingModelId must be a model id")),
    }
}

/// The chunker.
#[derive(Debug)]
pub struct FixedSizeChunker;

impl Guest for FixedSizeChunker {
    fn split(document: Document, config: String) -> Result<Vec<Chunk>, PluginError> {
        let plan = Plan::parse(&config)?;
        let tokenizer = tokenizer(&config)?;
        let mut counter = match &tokenizer {
            Some(model) => TokenCounter::model(model),
            None => TokenCounter::words(),
        };
        split(&document.text, plan, &mut counter)
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
    fn tokens_come_from_the_named_tokenizer() {
        let text = "internationalization is a long word ok";
        // A stand-in tokenizer: one token per four bytes.
        let mut counter = TokenCounter::with(|w| Ok(w.len().div_ceil(4) as u32));
        let plan =
            Plan::parse(r#"{"maxTokens": 4, "overlapPercentage": 0, "embeddingModelId": "m"}"#)
                .unwrap();
        let chunks = split(text, plan, &mut counter).unwrap();
        assert_eq!(
            texts(&chunks),
            ["internationalization", "is a long word", "ok"]
        );
        assert_eq!(chunks[1].metadata, [("tokens".to_owned(), "4".to_owned())]);
        assert_exact_spans(text, &chunks);
        assert_eq!(
            tokenizer(r#"{"embeddingModelId": "m"}"#)
                .unwrap()
                .as_deref(),
            Some("m")
        );
        assert_eq!(tokenizer("{}").unwrap(), None);
        assert!(tokenizer(r#"{"embeddingModelId": 3}"#).is_err());
        // Natively there is no host to count with: the error says so rather than guessing.
        let err = FixedSizeChunker::split(
            testkit::document("a b"),
            r#"{"embeddingModelId": "m"}"#.to_owned(),
        )
        .unwrap_err();
        assert_eq!(err.code, "unavailable");
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
}

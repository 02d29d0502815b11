//! # semantic-chunker
//!
//! Bedrock's SEMANTIC chunking as a Mantle chunker plugin. The document is cut into sentences;
//! each sentence is embedded together with `bufferSize` sentences on either side (so one short
//! sentence does not decide alone), and the cosine distance between neighbouring groups says
//! how much the subject moves from one sentence to the next. A chunk ends after every sentence
//! whose distance is above the `breakpointPercentileThreshold`-th percentile of all distances
//! (numpy's linear interpolation), and a chunk over `maxTokens` is packed again sentence by
//! sentence (a sentence that alone is over the limit is cut at words).
//!
//! Embeddings and token counts come from the model named by `embeddingModelId`, which the host
//! sets to the knowledge base's embedding model (capability `models`).
//!
//! Configs, as Bedrock's `chunkingConfiguration` or its inner object:
//!
//! - `{"chunkingStrategy": "SEMANTIC", "semanticChunkingConfiguration": {"maxTokens": 300,
//!   "bufferSize": 0, "breakpointPercentileThreshold": 95}, "embeddingModelId": "…"}`;
//! - `{"maxTokens": 300, "bufferSize": 1, "breakpointPercentileThreshold": 90, "embeddingModelId": "…"}`
//!   (omitted fields take the values above, Bedrock's console defaults).

use std::ops::Range;

use mantle_sdk::PluginError;
use mantle_sdk::chunker::{Chunk, Document, Guest};
use mantle_sdk::models::{Embedder, dot, embed_unit};
use mantle_sdk::tokens::{self, TokenCounter};
use serde::Deserialize;
use serde_json::Value;

/// Sentence groups embedded per host call.
const EMBED_BATCH: usize = 32;

/// A validated SEMANTIC configuration.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Config {
    #[serde(default = "default_max_tokens")]
    pub max_tokens: u32,
    #[serde(default)]
    pub buffer_size: u32,
    #[serde(default = "default_threshold")]
    pub breakpoint_percentile_threshold: u32,
}

fn default_max_tokens() -> u32 {
    300
}

fn default_threshold() -> u32 {
    95
}

fn invalid(message: impl std::fmt::Display) -> PluginError {
    PluginError::invalid_config(message)
}

impl Config {
    /// Parses and validates a config (Bedrock's bounds: maxTokens 1..=8192, bufferSize 0..=1,
    /// breakpointPercentileThreshold 50..=99), and the model it names.
    pub fn parse(config: &str) -> Result<(Self, String), PluginError> {
        let value: Value = mantle_sdk::parse_config(config)?;
        if !value.is_object() {
            return Err(invalid("expected a JSON object"));
        }
        let inner = match value.get("chunkingStrategy").and_then(Value::as_str) {
            Some("SEMANTIC") => value
                .get("semanticChunkingConfiguration")
                .ok_or_else(|| invalid("semanticChunkingConfiguration is required for SEMANTIC"))?,
            Some(other) => {
                return Err(invalid(format!(
                    "chunkingStrategy: `{other}` is not supported by this chunker (SEMANTIC)"
                )));
            }
            None => &value,
        };
        let parsed: Self = serde_json::from_value(inner.clone()).map_err(invalid)?;
        if !(1..=8192).contains(&parsed.max_tokens) {
            return Err(invalid("maxTokens must be between 1 and 8192"));
        }
        if parsed.buffer_size > 1 {
            return Err(invalid("bufferSize must be 0 or 1"));
        }
        if !(50..=99).contains(&parsed.breakpoint_percentile_threshold) {
            return Err(invalid(
                "breakpointPercentileThreshold must be between 50 and 99",
            ));
        }
        let model = match value.get("embeddingModelId") {
            Some(Value::String(model)) if !model.is_empty() => model.clone(),
            _ => {
                return Err(invalid(
                    "embeddingModelId (the model whose embeddings find the breakpoints) is required",
                ));
            }
        };
        Ok((parsed, model))
    }
}

/// The `p`-th percentile of `values` with linear interpolation between the closest ranks, as
/// numpy's default (what Bedrock's and LangChain's semantic chunkers use).
pub fn percentile(values: &[f32], p: u32) -> f32 {
    if values.is_empty() {
        return 0.0;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f32::total_cmp);
    let rank = f64::from(p) / 100.0 * (sorted.len() - 1) as f64;
    let low = rank.floor() as usize;
    let high = rank.ceil() as usize;
    let fraction = (rank - low as f64) as f32;
    sorted[low] + (sorted[high] - sorted[low]) * fraction
}

/// The indices of the sentences after which a chunk ends: where the distance from one sentence
/// group to the next is above the threshold's percentile.
pub fn breakpoints(vectors: &[Vec<f32>], threshold: u32) -> Vec<usize> {
    let distances: Vec<f32> = vectors
        .windows(2)
        .map(|p| 1.0 - dot(&p[0], &p[1]))
        .collect();
    let cut = percentile(&distances, threshold);
    distances
        .iter()
        .enumerate()
        .filter(|&(_, &d)| d > cut)
        .map(|(i, _)| i)
        .collect()
}

/// A stretch of the document: its byte range and its words (indices into the word list).
#[derive(Debug, Clone)]
struct Piece {
    bytes: Range<usize>,
    words: Range<usize>,
}

/// Splits `text`: `embedder` embeds sentence groups, `counter` counts tokens.
pub fn split(
    text: &str,
    config: &Config,
    model: &str,
    embedder: Embedder<'_>,
    counter: &mut TokenCounter<'_>,
) -> Result<Vec<Chunk>, PluginError> {
    let words = tokens::words(text);
    if words.is_empty() {
        return Ok(Vec::new());
    }
    let weights = tokens::weigh(text, &words, counter)?;
    // A sentence boundary is always whitespace or a line break, so every word lies in exactly
    // one sentence; a sentence's words are the run of words inside its bytes.
    let mut sentences = Vec::new();
    let mut next_word = 0;
    for bytes in mantle_sdk::text::sentences(text) {
        let first = next_word;
        while next_word < words.len() && words[next_word].end <= bytes.end {
            next_word += 1;
        }
        if next_word > first {
            sentences.push(Piece {
                bytes,
                words: first..next_word,
            });
        }
    }
    let buffer = config.buffer_size as usize;
    let groups: Vec<String> = (0..sentences.len())
        .map(|i| {
            let first = &sentences[i.saturating_sub(buffer)];
            let last = &sentences[(i + buffer).min(sentences.len() - 1)];
            text[first.bytes.start..last.bytes.end].to_owned()
        })
        .collect();
    let mut vectors = Vec::with_capacity(groups.len());
    if groups.len() > 1 {
        for batch in groups.chunks(EMBED_BATCH) {
            vectors.extend(embed_unit(embedder, model, batch)?);
        }
    }
    let mut segments = Vec::new();
    let mut start = 0;
    for end in breakpoints(&vectors, config.breakpoint_percentile_threshold)
        .into_iter()
        .map(|i| i + 1)
        .chain([sentences.len()])
    {
        if end > start {
            segments.push(start..end);
            start = end;
        }
    }
    let mut chunks = Vec::new();
    for segment in segments {
        for piece in pack(&sentences[segment], &words, &weights, config.max_tokens) {
            let mut chunk = Chunk::new(&text[piece.bytes.clone()], piece.bytes.start);
            chunk.metadata.push((
                "tokens".to_owned(),
                tokens::total(&weights, piece.words).to_string(),
            ));
            chunks.push(chunk);
        }
    }
    Ok(chunks)
}

/// The sentences of one segment as chunks of at most `max_tokens`: whole sentences while they
/// fit, and a sentence over the limit alone in word windows.
fn pack(
    sentences: &[Piece],
    words: &[Range<usize>],
    weights: &[u32],
    max_tokens: u32,
) -> Vec<Piece> {
    let mut out: Vec<Piece> = Vec::new();
    let mut open: Option<(Piece, u32)> = None;
    for sentence in sentences {
        let size = tokens::total(weights, sentence.words.clone());
        if let Some((piece, total)) = &mut open
            && *total + size <= max_tokens
        {
            piece.bytes.end = sentence.bytes.end;
            piece.words.end = sentence.words.end;
            *total += size;
            continue;
        }
        out.extend(open.take().map(|(piece, _)| piece));
        if size <= max_tokens {
            open = Some((sentence.clone(), size));
        } else {
            let offset = sentence.words.start;
            out.extend(
                tokens::windows(&weights[sentence.words.clone()], max_tokens, 0)
                    .into_iter()
                    .map(|w| offset + w.start..offset + w.end)
                    .map(|w| Piece {
                        bytes: words[w.start].start..words[w.end - 1].end,
                        words: w,
                    }),
            );
        }
    }
    out.extend(open.map(|(piece, _)| piece));
    out
}

/// The chunker.
#[derive(Debug)]
pub struct SemanticChunker;

impl Guest for SemanticChunker {
    fn split(document: Document, config: String) -> Result<Vec<Chunk>, PluginError> {
        let (config, model) = Config::parse(&config)?;
        let mut counter = TokenCounter::model(&model);
        split(
            &document.text,
            &config,
            &model,
            &mantle_sdk::models::embed,
            &mut counter,
        )
    }
}

#[cfg(target_arch = "wasm32")]
mantle_sdk::export_chunker!(SemanticChunker);

#[cfg(test)]
mod tests {
    use super::*;
    use mantle_sdk::testkit;

    const MODEL: &str = "m";

    fn run(text: &str, config: Config) -> Vec<Chunk> {
        split(
            text,
            &config,
            MODEL,
            &testkit::bag_of_words,
            &mut TokenCounter::words(),
        )
        .unwrap()
    }

    fn config(max_tokens: u32, buffer_size: u32, threshold: u32) -> Config {
        Config {
            max_tokens,
            buffer_size,
            breakpoint_percentile_threshold: threshold,
        }
    }

    fn texts(chunks: &[Chunk]) -> Vec<&str> {
        chunks.iter().map(|c| c.text.as_str()).collect()
    }

    #[test]
    fn chunks_end_where_the_subject_changes() {
        let text = "Cats purr and cats nap. Cats chase mice at night. Cats nap in the sun.\n\
                    Rockets burn fuel fast. Rockets reach orbit quickly. Rockets need fuel.";
        let chunks = run(text, config(300, 0, 80));
        assert_eq!(
            texts(&chunks),
            [
                "Cats purr and cats nap. Cats chase mice at night. Cats nap in the sun.",
                "Rockets burn fuel fast. Rockets reach orbit quickly. Rockets need fuel."
            ]
        );
        for c in &chunks {
            assert_eq!(&text[c.span.start as usize..c.span.end as usize], c.text);
        }
        // With the buffer each group also reads its neighbours; the cut stays between subjects.
        let buffered = run(text, config(300, 1, 80));
        assert_eq!(texts(&buffered), texts(&chunks));
    }

    #[test]
    fn a_high_threshold_keeps_more_together() {
        let text = "Red apples grow. Green apples grow. Blue whales swim. Grey whales swim. \
                    Old trains run. New trains run.";
        let low = run(text, config(300, 0, 50));
        let high = run(text, config(300, 0, 99));
        assert!(
            low.len() > high.len(),
            "{:?} vs {:?}",
            texts(&low),
            texts(&high)
        );
    }

    #[test]
    fn chunks_over_max_tokens_are_packed_by_sentence_then_cut_at_words() {
        let text = "one two three. four five six. seven eight nine ten eleven twelve thirteen.";
        // One subject (identical vectors never break), so only the size limit cuts.
        let same = |_: &str, texts: &[String]| -> Result<Vec<Vec<f32>>, PluginError> {
            Ok(texts.iter().map(|_| vec![1.0, 0.0]).collect())
        };
        let chunks = split(
            text,
            &config(6, 0, 95),
            MODEL,
            &same,
            &mut TokenCounter::words(),
        )
        .unwrap();
        assert_eq!(
            texts(&chunks),
            [
                "one two three. four five six.",
                "seven eight nine ten eleven twelve",
                "thirteen."
            ]
        );
        assert_eq!(chunks[0].metadata, [("tokens".to_owned(), "6".to_owned())]);
    }

    #[test]
    fn percentiles_interpolate_like_numpy() {
        let values = [4.0, 1.0, 3.0, 2.0];
        assert_eq!(percentile(&values, 50), 2.5);
        assert!((percentile(&values, 95) - 3.85).abs() < 1e-6);
        assert_eq!(percentile(&[7.0], 90), 7.0);
        assert_eq!(percentile(&[], 90), 0.0);
    }

    #[test]
    fn one_sentence_is_one_chunk_and_empty_text_none() {
        assert_eq!(
            texts(&run("  Just this  ", config(300, 0, 95))),
            ["Just this"]
        );
        assert!(run(" \n ", config(300, 0, 95)).is_empty());
    }

    #[test]
    fn configs() {
        let (parsed, model) = Config::parse(
            r#"{"chunkingStrategy": "SEMANTIC", "semanticChunkingConfiguration": {"maxTokens": 200, "bufferSize": 1, "breakpointPercentileThreshold": 80}, "embeddingModelId": "e"}"#,
        )
        .unwrap();
        assert_eq!((parsed, model.as_str()), (config(200, 1, 80), "e"));
        let (defaults, _) = Config::parse(r#"{"embeddingModelId": "e"}"#).unwrap();
        assert_eq!(defaults, config(300, 0, 95));
        for bad in [
            r#"{}"#,
            r#"{"embeddingModelId": "e", "maxTokens": 0}"#,
            r#"{"embeddingModelId": "e", "bufferSize": 2}"#,
            r#"{"embeddingModelId": "e", "breakpointPercentileThreshold": 49}"#,
            r#"{"embeddingModelId": "e", "chunkingStrategy": "FIXED_SIZE"}"#,
            r#"{"embeddingModelId": "e", "chunkingStrategy": "SEMANTIC"}"#,
            "[]",
        ] {
            let err = SemanticChunker::split(testkit::document("a b"), bad.to_owned()).unwrap_err();
            assert_eq!(err.code, "invalid-config", "{bad}");
        }
        // Natively there are no models to embed with.
        let err = SemanticChunker::split(
            testkit::document("One sentence. Another one."),
            r#"{"embeddingModelId": "e"}"#.to_owned(),
        )
        .unwrap_err();
        assert_eq!(err.code, "unavailable");
    }
}

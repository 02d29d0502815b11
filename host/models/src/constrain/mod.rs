//! Constrained decoding: the model writes only what a JSON Schema (or a fixed set of texts)
//! allows, so a forced tool call or a JSON answer is valid by construction rather than by
//! hope.
//!
//! ```
//! use std::sync::Arc;
//! use mantle_models::constrain::{Grammar, JsonMatcher};
//!
//! let schema = serde_json::json!({
//!     "type": "object",
//!     "properties": { "city": { "type": "string" } },
//!     "required": ["city"]
//! });
//! let grammar = Arc::new(Grammar::from_schema(&schema)?);
//! let mut matcher = JsonMatcher::new(grammar);
//! assert!(matcher.accepts(br#"{"ci"#));
//! assert!(!matcher.accepts(br#"{"town"#));
//! assert!(matcher.advance(br#"{"city": "Paris"}"#) && matcher.is_complete());
//! # Ok::<(), mantle_models::constrain::SchemaError>(())
//! ```
//!
//! In a decode loop, [`TokenConstraint::choose`] picks the next token among those the matcher
//! accepts, with the request's own sampling settings.

mod matcher;
mod schema;

pub use matcher::{JsonMatcher, matches};
pub use schema::{Grammar, MAX_CHOICES, SchemaError};

use crate::Sampler;

/// Candidates checked before falling back to a scan of the whole vocabulary: the model's own
/// favourites are almost always allowed, and checking them is cheap.
const HEAD: usize = 64;

/// A vocabulary's bytes, ready to be checked against a grammar (build once per model).
#[derive(Debug)]
pub struct TokenConstraint {
    bytes: Vec<Option<Box<[u8]>>>,
}

impl TokenConstraint {
    /// `bytes[id]` is what token `id` writes (see [`crate::Tokenizer::token_bytes`]).
    pub fn new(bytes: Vec<Option<Box<[u8]>>>) -> Self {
        Self { bytes }
    }

    /// What token `id` writes, if it is not a special token.
    pub fn bytes(&self, id: u32) -> Option<&[u8]> {
        self.bytes.get(id as usize)?.as_deref()
    }

    /// The next token: sampled with `sampler` among the tokens `matcher` accepts. Looks at the
    /// [`HEAD`] most likely tokens first, and at the whole vocabulary only when none of them
    /// fits. `None` if no token can continue (the grammar is complete or the vocabulary
    /// cannot spell what it needs).
    pub fn choose(
        &self,
        logits: &[f32],
        sampler: &mut Sampler,
        matcher: &JsonMatcher,
    ) -> Option<u32> {
        let first = matcher.next_bytes();
        let allowed = |id: u32| {
            self.bytes(id)
                .is_some_and(|b| first[b[0] as usize] && matcher.accepts(b))
        };
        let n = logits.len().min(self.bytes.len());
        let mut order: Vec<u32> = (0..n as u32).collect();
        let by_logit_desc = |a: &u32, b: &u32| logits[*b as usize].total_cmp(&logits[*a as usize]);
        let head = HEAD.min(n);
        if head < n {
            order.select_nth_unstable_by(head - 1, by_logit_desc);
        }
        let mut valid: Vec<u32> = order[..head]
            .iter()
            .copied()
            .filter(|&id| allowed(id))
            .collect();
        if valid.is_empty() {
            valid = order[head..]
                .iter()
                .copied()
                .filter(|&id| allowed(id))
                .collect();
            if valid.len() > HEAD {
                valid.select_nth_unstable_by(HEAD - 1, by_logit_desc);
                valid.truncate(HEAD);
            }
        }
        sampler.sample_among(logits, &valid)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::SamplingParams;

    /// A toy vocabulary: the grammar, not the logits, decides what comes out.
    #[test]
    fn choose_follows_the_grammar_against_the_logits() {
        let vocab = [
            "{", "}", "\"", "a", "b", ":", " ", "x", "\"a\":", "1", "{\"b",
        ];
        let constraint = TokenConstraint::new(
            vocab
                .iter()
                .map(|t| Some(t.as_bytes().to_vec().into_boxed_slice()))
                .chain([None]) // a special token
                .collect(),
        );
        let schema = serde_json::json!({
            "type": "object",
            "properties": { "a": { "type": "integer" } },
            "required": ["a"]
        });
        let mut matcher = JsonMatcher::new(Arc::new(Grammar::from_schema(&schema).unwrap()));
        // The model prefers `x`, then the special token, then `{"b`; none fits.
        let mut logits = vec![0.0f32; vocab.len() + 1];
        logits[7] = 9.0;
        logits[11] = 8.0;
        logits[10] = 7.0;
        let mut sampler = Sampler::greedy();
        let mut out = String::new();
        for _ in 0..10 {
            if matcher.is_complete() {
                break;
            }
            let id = constraint.choose(&logits, &mut sampler, &matcher).unwrap();
            let bytes = constraint.bytes(id).unwrap();
            assert!(matcher.advance(bytes));
            out.push_str(std::str::from_utf8(bytes).unwrap());
            logits[id as usize] -= 0.5;
        }
        let value: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert!(value["a"].is_i64(), "{out}");

        let mut sampler = Sampler::new(SamplingParams {
            temperature: 1.0,
            seed: Some(3),
            ..SamplingParams::default()
        });
        let matcher = JsonMatcher::new(Arc::new(Grammar::one_of_texts(["b"]).unwrap()));
        assert_eq!(constraint.choose(&logits, &mut sampler, &matcher), Some(4));
    }
}

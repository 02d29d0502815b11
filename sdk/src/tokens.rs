//! Token-sized windows over a text's words, for chunkers.
//!
//! A knowledge base's `maxTokens` means the embedding model's tokens: a chunk longer than the
//! model reads is silently cut when it is embedded, so its end can never be found. A chunker
//! therefore weighs each whitespace-separated word by its token count for the model and cuts
//! windows by those weights. Word-piece and BPE tokenizers split text at whitespace first, so a
//! text's count is (up to a token or two per word for BPE's merged spaces) the sum of its words'.
//!
//! ```
//! use mantle_sdk::tokens::{TokenCounter, weigh, windows, words};
//! let text = "tokenization is interesting";
//! let words = words(text);
//! // Natively there is no model: a stand-in counter gives each word one token per 5 bytes.
//! let mut counter = TokenCounter::with(|word| Ok(word.len().div_ceil(5) as u32));
//! let weights = weigh(text, &words, &mut counter).unwrap();
//! assert_eq!(weights, [3, 1, 3]);
//! let cut: Vec<&str> = windows(&weights, 4, 0)
//!     .into_iter()
//!     .map(|w| &text[words[w.start].start..words[w.end - 1].end])
//!     .collect();
//! assert_eq!(cut, ["tokenization is", "interesting"]);
//! ```

use std::collections::HashMap;
use std::ops::Range;

use crate::PluginError;

type Count<'a> = Box<dyn FnMut(&str) -> Result<u32, PluginError> + 'a>;

/// Token counts of words, each distinct word asked once.
pub struct TokenCounter<'a> {
    count: Option<Count<'a>>,
    cache: HashMap<String, u32>,
}

impl std::fmt::Debug for TokenCounter<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenCounter")
            .field("by_model", &self.count.is_some())
            .field("cached", &self.cache.len())
            .finish()
    }
}

impl<'a> TokenCounter<'a> {
    /// One token per word: the approximation for when no tokenizer is named.
    ///
    /// ```
    /// let mut counter = mantle_sdk::tokens::TokenCounter::words();
    /// assert_eq!(counter.count("antidisestablishmentarianism").unwrap(), 1);
    /// ```
    pub fn words() -> Self {
        Self {
            count: None,
            cache: HashMap::new(),
        }
    }

    /// Counts by `model_id`'s tokenizer through the host (capability `models`).
    ///
    /// ```
    /// let mut counter = mantle_sdk::tokens::TokenCounter::model("sentence-transformers/all-MiniLM-L6-v2");
    /// # #[cfg(not(target_arch = "wasm32"))]
    /// assert_eq!(counter.count("hello").unwrap_err().code, "unavailable");
    /// ```
    pub fn model(model_id: &'a str) -> Self {
        Self::with(move |word| crate::models::count_tokens(model_id, word))
    }

    /// Counts with `count`, e.g. a stand-in tokenizer in native tests.
    ///
    /// ```
    /// let mut counter = mantle_sdk::tokens::TokenCounter::with(|w| Ok(w.len() as u32));
    /// assert_eq!(counter.count("four").unwrap(), 4);
    /// ```
    pub fn with(count: impl FnMut(&str) -> Result<u32, PluginError> + 'a) -> Self {
        Self {
            count: Some(Box::new(count)),
            cache: HashMap::new(),
        }
    }

    /// The tokens of one word; at least one, since every word is read as something.
    pub fn count(&mut self, word: &str) -> Result<u32, PluginError> {
        let Some(count) = &mut self.count else {
            return Ok(1);
        };
        if let Some(&n) = self.cache.get(word) {
            return Ok(n);
        }
        let n = count(word)?.max(1);
        self.cache.insert(word.to_owned(), n);
        Ok(n)
    }
}

/// The byte ranges of the whitespace-separated words of `text`.
///
/// ```
/// assert_eq!(mantle_sdk::tokens::words(" a  bc "), [1..2, 4..6]);
/// ```
pub fn words(text: &str) -> Vec<Range<usize>> {
    let mut words = Vec::new();
    let mut start = None;
    for (i, c) in text.char_indices() {
        match (c.is_whitespace(), start) {
            (true, Some(s)) => {
                words.push(s..i);
                start = None;
            }
            (false, None) => start = Some(i),
            _ => {}
        }
    }
    if let Some(s) = start {
        words.push(s..text.len());
    }
    words
}

/// The token count of each of `words` (byte ranges of `text`).
pub fn weigh(
    text: &str,
    words: &[Range<usize>],
    counter: &mut TokenCounter<'_>,
) -> Result<Vec<u32>, PluginError> {
    words
        .iter()
        .map(|w| counter.count(&text[w.clone()]))
        .collect()
}

/// Windows over words weighted by `weights`: each holds as many words as fit in `max_tokens`
/// (at least one, so a word longer than the limit is a window of its own), and the next starts
/// at the first word from which at most `overlap` tokens reach the previous window's end.
/// With every weight 1 this is windows of `max_tokens` words sharing `overlap` words.
///
/// ```
/// use mantle_sdk::tokens::windows;
/// assert_eq!(windows(&[1; 10], 4, 2), [0..4, 2..6, 4..8, 6..10]);
/// assert_eq!(windows(&[2, 2, 5, 1], 4, 0), [0..2, 2..3, 3..4]);
/// ```
pub fn windows(weights: &[u32], max_tokens: u32, overlap: u32) -> Vec<Range<usize>> {
    let n = weights.len();
    let mut out = Vec::new();
    let mut start = 0;
    while start < n {
        let mut end = start;
        let mut sum = 0u64;
        while end < n && (end == start || sum + u64::from(weights[end]) <= u64::from(max_tokens)) {
            sum += u64::from(weights[end]);
            end += 1;
        }
        out.push(start..end);
        if end == n {
            break;
        }
        let mut next = end;
        let mut tail = 0u64;
        while next > start + 1 && tail + u64::from(weights[next - 1]) <= u64::from(overlap) {
            tail += u64::from(weights[next - 1]);
            next -= 1;
        }
        start = next;
    }
    out
}

/// The total of `weights` over `range`.
///
/// ```
/// assert_eq!(mantle_sdk::tokens::total(&[1, 2, 3], 1..3), 5);
/// ```
pub fn total(weights: &[u32], range: Range<usize>) -> u32 {
    weights[range].iter().sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unit_weights_cover_everything_with_the_requested_overlap() {
        for n in 0..40 {
            for size in 1..8u32 {
                for overlap in 0..size {
                    let w = windows(&vec![1; n], size, overlap);
                    if n == 0 {
                        assert!(w.is_empty());
                        continue;
                    }
                    assert_eq!(w[0].start, 0);
                    assert_eq!(w.last().unwrap().end, n);
                    for pair in w.windows(2) {
                        assert_eq!(pair[0].len(), size as usize, "{w:?}");
                        assert_eq!(pair[0].end - pair[1].start, overlap as usize, "{w:?}");
                    }
                }
            }
        }
    }

    #[test]
    fn weighted_windows_stay_within_the_limit_and_progress() {
        let weights: Vec<u32> = (0..200).map(|i| (i * 7 % 5) + 1).collect();
        for max in [1, 3, 8, 20] {
            for overlap in [0, 1, 4] {
                let w = windows(&weights, max, overlap);
                assert_eq!(w.last().unwrap().end, weights.len());
                for window in &w {
                    assert!(window.len() == 1 || total(&weights, window.clone()) <= max);
                }
                for pair in w.windows(2) {
                    assert!(pair[1].start > pair[0].start && pair[1].start <= pair[0].end);
                    let shared = total(&weights, pair[1].start..pair[0].end);
                    assert!(shared <= overlap || pair[1].start == pair[0].start + 1);
                }
            }
        }
    }

    #[test]
    fn counters_cache_and_floor_at_one() {
        let mut asked = Vec::new();
        {
            let mut counter = TokenCounter::with(|w| {
                asked.push(w.to_owned());
                Ok(w.len() as u32 / 3)
            });
            assert_eq!(counter.count("ab").unwrap(), 1);
            assert_eq!(counter.count("abcdef").unwrap(), 2);
            assert_eq!(counter.count("ab").unwrap(), 1);
        }
        assert_eq!(asked, ["ab", "abcdef"]);
    }
}

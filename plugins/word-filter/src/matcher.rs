//! Whole-word, case-insensitive matching of many words and phrases in one pass over a text.
//!
//! A text is cut into tokens: maximal runs of word characters (Unicode letters, digits, marks
//! and `_`), and single other non-space characters. A word or phrase is cut the same way, and
//! matches where the same tokens follow each other with whitespace between the same tokens —
//! any run of whitespace matching any other — and no whitespace where it has none. Because
//! tokens are maximal runs, a match always starts and ends at a word boundary: `ass` does not
//! match in `class`, `c++` matches in `I like c++.`.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// A small, fast hasher for short keys (FxHash). The keys are the configured words; a text can
/// only look them up, so hash flooding does not apply.
#[derive(Debug, Default, Clone, Copy)]
pub struct FxHasher(u64);

impl Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        const K: u64 = 0x517c_c1b7_2722_0a95;
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let word = u64::from_le_bytes(chunk.try_into().unwrap_or([0; 8]));
            self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(K);
        }
        for &byte in chunks.remainder() {
            self.0 = (self.0.rotate_left(5) ^ u64::from(byte)).wrapping_mul(K);
        }
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

type FxMap<K, V> = HashMap<K, V, BuildHasherDefault<FxHasher>>;

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_' || is_mark(c)
}

/// Combining marks, so that `e` + U+0301 stays one word.
fn is_mark(c: char) -> bool {
    matches!(c, '\u{0300}'..='\u{036F}' | '\u{1AB0}'..='\u{1AFF}' | '\u{1DC0}'..='\u{1DFF}'
        | '\u{20D0}'..='\u{20FF}' | '\u{FE20}'..='\u{FE2F}' | '\u{0483}'..='\u{0489}'
        | '\u{0591}'..='\u{05BD}' | '\u{0610}'..='\u{061A}' | '\u{064B}'..='\u{065F}'
        | '\u{0900}'..='\u{0903}' | '\u{093A}'..='\u{094F}' | '\u{200C}' | '\u{200D}')
}

/// A token of a text: its byte range, its lowercased form (a range of [`Tokens::lower`]) and
/// whether whitespace comes before it.
#[derive(Debug, Clone, Copy)]
pub struct Token {
    pub start: usize,
    pub end: usize,
    lower_start: usize,
    lower_end: usize,
    spaced: bool,
}

/// A text cut into tokens, with their lowercased forms in one buffer.
#[derive(Debug, Default)]
pub struct Tokens {
    pub tokens: Vec<Token>,
    lower: String,
}

impl Tokens {
    /// Cuts `text` into tokens.
    pub fn new(text: &str) -> Self {
        let mut tokens = Tokens {
            tokens: Vec::with_capacity(text.len() / 4),
            lower: String::with_capacity(text.len()),
        };
        let bytes = text.as_bytes();
        let mut spaced = false;
        let mut i = 0;
        while i < bytes.len() {
            let b = bytes[i];
            let start = i;
            let lower_start = tokens.lower.len();
            let word = if b < 0x80 {
                // ASCII fast path (`char::is_whitespace` on ASCII is exactly these).
                if matches!(b, b'\t' | b'\n' | 0x0B | 0x0C | b'\r' | b' ') {
                    spaced = true;
                    i += 1;
                    continue;
                }
                tokens.lower.push(b.to_ascii_lowercase() as char);
                i += 1;
                b.is_ascii_alphanumeric() || b == b'_'
            } else {
                let (c, len) = char_at(text, i);
                if c.is_whitespace() {
                    spaced = true;
                    i += len;
                    continue;
                }
                push_lower(&mut tokens.lower, c);
                i += len;
                is_word_char(c)
            };
            if word {
                // ASCII fast path, most text: the run is copied at once, then lowercased in place.
                let run_start = i;
                while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
                    i += 1;
                }
                if i > run_start {
                    let at = tokens.lower.len();
                    tokens.lower.push_str(&text[run_start..i]);
                    tokens.lower[at..].make_ascii_lowercase();
                }
                while i < bytes.len() {
                    let b = bytes[i];
                    if b < 0x80 {
                        if !(b.is_ascii_alphanumeric() || b == b'_') {
                            break;
                        }
                        tokens.lower.push(b.to_ascii_lowercase() as char);
                        i += 1;
                        continue;
                    }
                    let (next, len) = char_at(text, i);
                    if !is_word_char(next) {
                        break;
                    }
                    push_lower(&mut tokens.lower, next);
                    i += len;
                }
            }
            tokens.tokens.push(Token {
                start,
                end: i,
                lower_start,
                lower_end: tokens.lower.len(),
                spaced,
            });
            spaced = false;
        }
        tokens
    }

    /// The lowercased form of `token`.
    pub fn lower(&self, token: &Token) -> &str {
        &self.lower[token.lower_start..token.lower_end]
    }
}

/// The character at byte `i` of `text` (a char boundary) and its length.
fn char_at(text: &str, i: usize) -> (char, usize) {
    let b = text.as_bytes()[i];
    if b < 0x80 {
        return (b as char, 1);
    }
    let c = text[i..].chars().next().unwrap_or('\u{FFFD}');
    (c, c.len_utf8())
}

/// Appends `c` lowercased; typographic apostrophes (’ ‘) compare as `'`.
fn push_lower(out: &mut String, c: char) {
    if c.is_ascii() {
        out.push(c.to_ascii_lowercase());
    } else if matches!(c, '\u{2018}' | '\u{2019}') {
        out.push('\'');
    } else {
        out.extend(c.to_lowercase());
    }
}

/// A word or phrase to find, cut into lowercased tokens.
#[derive(Debug, Clone)]
struct Pattern {
    /// Each token's text, and whether whitespace comes before it (ignored for the first).
    tokens: Vec<(String, bool)>,
    id: u32,
}

/// A set of words and phrases, each with an id, found together in one pass.
#[derive(Debug, Default)]
pub struct Matcher {
    patterns: Vec<Pattern>,
    by_first: FxMap<String, Vec<u32>>,
    /// A bit per [`filter_slot`] of the patterns' first tokens: most tokens of a text are
    /// rejected by one bit test, without hashing.
    filter: Filter,
}

/// 2 Kib, one bit per slot.
#[derive(Debug, Clone, Default)]
struct Filter([u64; 32]);

impl Filter {
    /// A slot from a lowercased token's first two bytes, last byte and length.
    fn slot(token: &[u8]) -> usize {
        let len = token.len();
        let key = u64::from(token[0])
            | u64::from(token[len.min(2) - 1]) << 8
            | u64::from(token[len - 1]) << 16
            | (len as u64) << 24;
        (key.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 53) as usize
    }

    fn insert(&mut self, token: &str) {
        let slot = Self::slot(token.as_bytes());
        self.0[slot / 64] |= 1 << (slot % 64);
    }

    fn may_contain(&self, token: &str) -> bool {
        let slot = Self::slot(token.as_bytes());
        self.0[slot / 64] & (1 << (slot % 64)) != 0
    }
}

/// A match: the pattern's id and the byte range it covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Match {
    pub id: u32,
    pub start: usize,
    pub end: usize,
}

impl Matcher {
    /// Adds `phrase` under `id`; returns false (and adds nothing) when it has no tokens.
    pub fn add(&mut self, phrase: &str, id: u32) -> bool {
        // One word (most entries): no need to cut it.
        if !phrase.is_empty() && phrase.chars().all(is_word_char) {
            let mut lower = String::with_capacity(phrase.len());
            phrase.chars().for_each(|c| push_lower(&mut lower, c));
            let index = self.patterns.len() as u32;
            self.filter.insert(&lower);
            self.by_first.entry(lower.clone()).or_default().push(index);
            self.patterns.push(Pattern {
                tokens: vec![(lower, false)],
                id,
            });
            return true;
        }
        let cut = Tokens::new(phrase);
        if cut.tokens.is_empty() {
            return false;
        }
        let tokens: Vec<(String, bool)> = cut
            .tokens
            .iter()
            .map(|t| (cut.lower(t).to_owned(), t.spaced))
            .collect();
        let index = self.patterns.len() as u32;
        self.filter.insert(&tokens[0].0);
        self.by_first
            .entry(tokens[0].0.clone())
            .or_default()
            .push(index);
        self.patterns.push(Pattern { tokens, id });
        true
    }

    /// How many patterns there are.
    pub fn len(&self) -> usize {
        self.patterns.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.patterns.is_empty()
    }

    /// Every match in `text` (already cut into `tokens`), in order of start; patterns may overlap.
    pub fn find(&self, tokens: &Tokens, out: &mut Vec<Match>) {
        if self.patterns.is_empty() {
            return;
        }
        let all = &tokens.tokens;
        for (i, token) in all.iter().enumerate() {
            let lower = tokens.lower(token);
            if !self.filter.may_contain(lower) {
                continue;
            }
            let Some(candidates) = self.by_first.get(lower) else {
                continue;
            };
            for &index in candidates {
                let pattern = &self.patterns[index as usize];
                let n = pattern.tokens.len();
                if i + n > all.len() {
                    continue;
                }
                let rest_matches = pattern.tokens[1..]
                    .iter()
                    .zip(&all[i + 1..i + n])
                    .all(|((text, spaced), t)| t.spaced == *spaced && tokens.lower(t) == text);
                if rest_matches {
                    out.push(Match {
                        id: pattern.id,
                        start: token.start,
                        end: all[i + n - 1].end,
                    });
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn find(patterns: &[&str], text: &str) -> Vec<(u32, String)> {
        let mut matcher = Matcher::default();
        for (id, p) in patterns.iter().enumerate() {
            matcher.add(p, id as u32);
        }
        let mut out = Vec::new();
        matcher.find(&Tokens::new(text), &mut out);
        out.into_iter()
            .map(|m| (m.id, text[m.start..m.end].to_owned()))
            .collect()
    }

    #[test]
    fn whole_words_only() {
        assert_eq!(
            find(&["ass"], "a class act, an ASS, ass-kicking"),
            [(0, "ASS".into()), (0, "ass".into())]
        );
        assert!(find(&["cat"], "concatenate cats category").is_empty());
        assert_eq!(find(&["cat"], "cat_"), []);
        assert_eq!(find(&["42"], "42nd 42 x42"), [(0, "42".into())]);
    }

    #[test]
    fn phrases_span_runs_of_whitespace() {
        assert_eq!(
            find(&["bad  word"], "a BAD\n\t word!"),
            [(0, "BAD\n\t word".into())]
        );
        assert!(find(&["bad word"], "badword bad-word").is_empty());
    }

    #[test]
    fn punctuation_inside_patterns() {
        assert_eq!(find(&["c++"], "I like C++."), [(0, "C++".into())]);
        assert_eq!(find(&["at&t"], "call AT&T now"), [(0, "AT&T".into())]);
        assert!(find(&["at&t"], "AT & T").is_empty());
    }

    #[test]
    fn unicode_case_and_boundaries() {
        assert_eq!(
            find(&["straße"], "Die STRASSE, die Straße."),
            [(0, "Straße".into())]
        );
        assert_eq!(
            find(&["ÉCOLE"], "l'école est fermée"),
            [(0, "école".into())]
        );
        assert!(find(&["éco"], "écologie").is_empty());
        assert_eq!(find(&["привет"], "Привет, мир"), [(0, "Привет".into())]);
        // Combining marks stay inside the word.
        assert!(find(&["cafe"], "cafe\u{301}").is_empty());
        // Scripts without spaces match as whole runs only.
        assert_eq!(find(&["東京"], "東京 へ"), [(0, "東京".into())]);
    }

    #[test]
    fn apostrophes_compare_alike() {
        assert_eq!(
            find(&["don't"], "I DON’T and I don't"),
            [(0, "DON’T".into()), (0, "don't".into())]
        );
        assert_eq!(find(&["can’t"], "can't"), [(0, "can't".into())]);
    }

    #[test]
    fn overlapping_patterns_are_all_reported() {
        let got = find(&["bad", "bad word", "word"], "bad word");
        assert_eq!(
            got,
            [
                (0, "bad".into()),
                (1, "bad word".into()),
                (2, "word".into())
            ]
        );
    }

    #[test]
    fn empty_patterns_are_refused() {
        let mut matcher = Matcher::default();
        assert!(!matcher.add("  \n", 0));
        assert!(matcher.is_empty());
    }
}

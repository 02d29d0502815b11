//! Sentences and sentence windows, for policies that judge a text by its sentences.
//!
//! A whole paragraph's embedding is an average that one on-topic sentence barely moves, so
//! model-backed policies (denied topics, content filters) embed sentences; pairs of adjacent
//! sentences catch what only two sentences together say ("I have some savings. Which shares
//! should I buy?").
//!
//! ```
//! use mantle_sdk::text::windows;
//! let text = "Hello there. Which shares should I buy? Thanks!";
//! let pieces: Vec<&str> = windows(text).into_iter().map(|r| &text[r]).collect();
//! assert!(pieces.contains(&"Which shares should I buy?"));
//! assert!(pieces.contains(&"Hello there. Which shares should I buy?"));
//! ```

use std::ops::Range;

/// Sentences shorter than this many words are too little to embed alone (they still take part
/// in pairs).
const MIN_WORDS: usize = 3;

/// Byte ranges of the sentences of `text`, trimmed, without empty ones. A sentence ends at
/// `.`, `!`, `?` or `…` followed by whitespace (or the end), or at a line break.
pub fn sentences(text: &str) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        let end = i + c.len_utf8();
        let boundary = match c {
            '\n' => true,
            '.' | '!' | '?' | '…' => chars.peek().is_none_or(|(_, next)| next.is_whitespace()),
            _ => false,
        };
        if boundary {
            push_trimmed(text, start..end, &mut out);
            start = end;
        }
    }
    push_trimmed(text, start..text.len(), &mut out);
    out
}

fn push_trimmed(text: &str, range: Range<usize>, out: &mut Vec<Range<usize>>) {
    let piece = &text[range.clone()];
    let lead = piece.len() - piece.trim_start().len();
    let trail = piece.len() - piece.trim_end().len();
    if lead + trail < piece.len() {
        out.push(range.start + lead..range.end - trail);
    }
}

fn words(text: &str) -> usize {
    text.split_whitespace().count()
}

/// The windows of `text`: each sentence of at least [`MIN_WORDS`] words, and each pair of
/// adjacent sentences. A text of one short sentence is its own window.
pub fn windows(text: &str) -> Vec<Range<usize>> {
    let sentences = sentences(text);
    let mut out: Vec<Range<usize>> = Vec::with_capacity(sentences.len() * 2);
    for (i, s) in sentences.iter().enumerate() {
        if words(&text[s.clone()]) >= MIN_WORDS || sentences.len() == 1 {
            out.push(s.clone());
        }
        if let Some(next) = sentences.get(i + 1) {
            out.push(s.start..next.end);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pieces(text: &str) -> Vec<&str> {
        sentences(text).into_iter().map(|r| &text[r]).collect()
    }

    #[test]
    fn sentences_end_at_punctuation_followed_by_space_or_a_line_break() {
        assert_eq!(
            pieces("  First one. Second one?\nThird line\n\nFourth!  "),
            ["First one.", "Second one?", "Third line", "Fourth!"]
        );
        // A decimal point or an abbreviation glued to the next word does not end a sentence.
        assert_eq!(pieces("Pi is 3.14 today."), ["Pi is 3.14 today."]);
        assert_eq!(pieces("Was it…  yes"), ["Was it…", "yes"]);
        assert!(pieces(" \n ").is_empty());
    }

    #[test]
    fn short_sentences_are_only_embedded_in_pairs() {
        let text = "Hi. I want to buy shares. Ok.";
        let got: Vec<&str> = windows(text).into_iter().map(|r| &text[r]).collect();
        assert_eq!(
            got,
            [
                "Hi. I want to buy shares.",
                "I want to buy shares.",
                "I want to buy shares. Ok."
            ]
        );
        assert_eq!(windows("Hi"), vec![0..2usize]);
        assert!(windows("").is_empty());
    }
}

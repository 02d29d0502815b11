//! The managed `PROFANITY` list (`profanity.txt`). `build.rs` expands it with inflections at
//! compile time: single words go into a static hash table (no set-up per instance), the few
//! phrases into a small matcher built on first use.

use std::sync::OnceLock;

use crate::expand::word_hash;
use crate::matcher::{Match, Matcher, Tokens};

#[cfg(test)]
const LIST: &str = include_str!("profanity.txt");

mod table {
    include!(concat!(env!("OUT_DIR"), "/profanity_table.rs"));
}

/// Whether `lower` (a lowercased token) is one of the list's words.
pub fn is_word(lower: &str) -> bool {
    let mask = table::TABLE.len() - 1;
    let mut slot = (word_hash(lower.as_bytes()) & mask as u64) as usize;
    loop {
        match table::TABLE[slot] {
            0 => return false,
            index if table::WORDS[usize::from(index) - 1] == lower => return true,
            _ => slot = (slot + 1) & mask,
        }
    }
}

/// The list's phrases as a matcher.
fn phrases() -> &'static Matcher {
    static PHRASES: OnceLock<Matcher> = OnceLock::new();
    PHRASES.get_or_init(|| {
        let mut matcher = Matcher::default();
        for phrase in table::PHRASES {
            matcher.add(phrase, 0);
        }
        matcher
    })
}

/// Every match of the list in `tokens` (words and phrases; they may overlap).
pub fn find(tokens: &Tokens, out: &mut Vec<Match>) {
    for token in &tokens.tokens {
        if is_word(tokens.lower(token)) {
            out.push(Match {
                id: 0,
                start: token.start,
                end: token.end,
            });
        }
    }
    phrases().find(tokens, out);
}

/// Every word and phrase of the list, inflections included, lowercased, sorted, once each.
pub fn entries() -> Vec<String> {
    let mut out: Vec<String> = table::WORDS
        .iter()
        .chain(table::PHRASES.iter())
        .map(|s| (*s).to_owned())
        .collect();
    out.sort();
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::expand::inflections;

    #[test]
    fn the_list_has_a_few_hundred_base_entries_and_more_forms() {
        let base = LIST
            .lines()
            .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
            .count();
        assert!(base >= 250, "{base}");
        let forms = entries();
        assert!(forms.len() > 1200, "{}", forms.len());
        for must in [
            "fuck",
            "fucking",
            "fuckin",
            "shitty",
            "shitting",
            "bitches",
            "son of a bitch",
            "motherfuckers",
            "cumming",
        ] {
            assert!(forms.iter().any(|f| f == must), "{must}");
        }
        // Innocent words stay out.
        for innocent in [
            "class",
            "assess",
            "cocktail",
            "scunthorpe",
            "tit",
            "hell",
            "shitake",
            "dickens",
            "cockpit",
            "cocked",
            "cocker",
            "shaggy",
            "pricked",
            "damning",
            "cumin",
            "cummin",
            "spicy",
            "sauerkraut",
        ] {
            assert!(!forms.iter().any(|f| f == innocent), "{innocent}");
        }
    }

    #[test]
    fn the_static_table_is_the_expanded_list() {
        let mut expanded = Vec::new();
        crate::expand::for_each_entry(LIST, |e| expanded.push(e.to_lowercase()));
        expanded.sort();
        expanded.dedup();
        assert_eq!(entries(), expanded);
        for word in table::WORDS {
            assert!(is_word(word), "{word}");
        }
        assert!(!is_word("hello"));
        assert!(!is_word(""));
    }

    #[test]
    fn inflections_follow_english() {
        assert!(inflections("piss").contains(&"pisses".to_owned()));
        assert!(inflections("douche").contains(&"douching".to_owned()));
        assert!(inflections("shit").contains(&"shitty".to_owned()));
        assert!(!inflections("fuck").contains(&"fuckked".to_owned()));
    }
}

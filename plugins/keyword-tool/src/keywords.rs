//! `extract_keywords`: the most frequent words of a text that are not stop words.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::{Value, json};

/// The tool's input schema.
pub const SCHEMA: &str = r#"{
  "type": "object",
  "properties": {
    "text": {"type": "string", "description": "The text to extract keywords from.", "maxLength": 1000000},
    "max_keywords": {"type": "integer", "minimum": 1, "maximum": 100, "default": 10, "description": "How many keywords to return."},
    "min_length": {"type": "integer", "minimum": 1, "maximum": 50, "default": 3, "description": "Ignore words shorter than this many characters."}
  },
  "required": ["text"],
  "additionalProperties": false
}"#;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Input {
    text: String,
    #[serde(default = "default_max")]
    max_keywords: u32,
    #[serde(default = "default_min_length")]
    min_length: u32,
}

fn default_max() -> u32 {
    10
}

fn default_min_length() -> u32 {
    3
}

const STOP_WORDS: &str = "a about above after again against all also am an and any are aren't as at be because been \
before being below between both but by can can't cannot could couldn't did didn't do does doesn't doing don't down \
during each even ever every few for from further get gets got had hadn't has hasn't have haven't having he he'd he'll \
he's her here here's hers herself him himself his how how's however i i'd i'll i'm i've if in into is isn't it it's \
its itself just let's like made make many may me might more most much must mustn't my myself need no nor not now of \
off often on once one only or other ought our ours ourselves out over own per quite rather really said same say says \
shall shan't she she'd she'll she's should shouldn't since so some still such than that that's the their theirs them \
themselves then there there's these they they'd they'll they're they've this those though through thus to too two \
under until up upon us use used uses using very via was wasn't we we'd we'll we're we've well were weren't what \
what's when when's where where's whether which while who who's whom why why's will with within without won't would \
wouldn't yes yet you you'd you'll you're you've your yours yourself yourselves";

fn is_stop_word(word: &str) -> bool {
    STOP_WORDS.split(' ').any(|w| w == word)
}

/// Runs the tool.
pub fn run(input: Input) -> Result<Value, String> {
    if !(1..=100).contains(&input.max_keywords) {
        return Err("max_keywords must be between 1 and 100".into());
    }
    if !(1..=50).contains(&input.min_length) {
        return Err("min_length must be between 1 and 50".into());
    }
    // word -> (count, first position)
    let mut counts: BTreeMap<String, (u32, usize)> = BTreeMap::new();
    let mut total = 0u32;
    let words = input
        .text
        .split(|c: char| !(c.is_alphanumeric() || c == '\'' || c == '’' || c == '-'))
        .map(|w| w.trim_matches(|c: char| c == '\'' || c == '’' || c == '-'))
        .filter(|w| !w.is_empty());
    for (position, word) in words.enumerate() {
        let word = word.to_lowercase().replace('’', "'");
        let word = word.strip_suffix("'s").unwrap_or(&word);
        total += 1;
        if word.chars().count() < input.min_length as usize
            || is_stop_word(word)
            || word.chars().all(|c| c.is_numeric())
        {
            continue;
        }
        counts.entry(word.to_owned()).or_insert((0, position)).0 += 1;
    }
    let mut ranked: Vec<(String, (u32, usize))> = counts.into_iter().collect();
    ranked.sort_by(|a, b| b.1.0.cmp(&a.1.0).then(a.1.1.cmp(&b.1.1)));
    ranked.truncate(input.max_keywords as usize);
    let keywords: Vec<Value> = ranked
        .into_iter()
        .map(|(keyword, (count, _))| {
            let score = f64::from(count) / f64::from(total.max(1));
            json!({"keyword": keyword, "count": count, "score": (score * 10_000.0).round() / 10_000.0})
        })
        .collect();
    Ok(json!({"keywords": keywords, "total_words": total}))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keywords(text: &str, max: u32) -> Vec<(String, u64)> {
        let out = run(Input {
            text: text.into(),
            max_keywords: max,
            min_length: 3,
        })
        .unwrap();
        out["keywords"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| {
                (
                    k["keyword"].as_str().unwrap().to_owned(),
                    k["count"].as_u64().unwrap(),
                )
            })
            .collect()
    }

    #[test]
    fn ranks_by_count_then_first_appearance() {
        let got = keywords("The cat sat. The dog sat. A cat, a dog and a CAT's toy.", 3);
        assert_eq!(
            got,
            [("cat".into(), 3), ("sat".into(), 2), ("dog".into(), 2)]
        );
    }

    #[test]
    fn skips_stop_words_numbers_and_short_words() {
        let got = keywords(
            "It is what it is: 2024 was ok, and so was 2025. Über-fast ünïcode!",
            10,
        );
        assert_eq!(got, [("über-fast".into(), 1), ("ünïcode".into(), 1)]);
    }

    #[test]
    fn validates_ranges() {
        assert!(
            run(Input {
                text: "x".into(),
                max_keywords: 0,
                min_length: 3
            })
            .is_err()
        );
        assert!(
            run(Input {
                text: "x".into(),
                max_keywords: 5,
                min_length: 99
            })
            .is_err()
        );
        let out = run(Input {
            text: String::new(),
            max_keywords: 5,
            min_length: 3,
        })
        .unwrap();
        assert_eq!(out["total_words"], 0);
    }
}

//! # word-filter
//!
//! Bedrock's `wordPolicy` as a Mantle guardrail plugin. The config is Bedrock's
//! `wordPolicyConfig`:
//!
//! ```json
//! {"wordsConfig": [{"text": "project falcon", "inputAction": "BLOCK", "outputAction": "NONE"}],
//!  "managedWordListsConfig": [{"type": "PROFANITY"}]}
//! ```
//!
//! Actions are `BLOCK` (the default) or `NONE` (report only); `inputEnabled`/`outputEnabled`
//! (default true) turn an entry off for one source. Words and phrases match whole-word and
//! case-insensitively, phrases across runs of whitespace (see [`matcher`]). Findings are in the
//! `word` policy: type `CUSTOM` with `matched` = the configured text (as Bedrock reports it), or
//! type `PROFANITY` with `matched` = the text found; the span is always the range in the block.

// Used at run time only for its hash; the expansion itself runs in `build.rs` and tests.
#[cfg_attr(not(test), allow(dead_code))]
mod expand;
pub mod matcher;
pub mod profanity;

use std::sync::Arc;

use mantle_sdk::PluginError;
use mantle_sdk::guardrail::{
    Action, AssessRequest, Assessment, Finding, Guest, PolicyKind, Source, Span, block_or_none,
};
use serde::Deserialize;

use crate::matcher::{Match, Matcher, Tokens};

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawConfig {
    #[serde(default)]
    words_config: Vec<RawEntry>,
    #[serde(default)]
    managed_word_lists_config: Vec<RawEntry>,
}

/// A `wordsConfig` entry (`text`) or a `managedWordListsConfig` entry (`type`).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawEntry {
    text: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
    input_action: Option<String>,
    output_action: Option<String>,
    input_enabled: Option<bool>,
    output_enabled: Option<bool>,
}

/// What to do about a match, per source; `None` where the entry is disabled for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Actions {
    input: Option<Action>,
    output: Option<Action>,
}

impl Actions {
    fn parse(entry: &RawEntry, path: &str) -> Result<Self, PluginError> {
        let input = block_or_none(
            entry.input_action.as_deref(),
            &format!("{path}.inputAction"),
        )?;
        let output = block_or_none(
            entry.output_action.as_deref(),
            &format!("{path}.outputAction"),
        )?;
        Ok(Actions {
            input: entry.input_enabled.unwrap_or(true).then_some(input),
            output: entry.output_enabled.unwrap_or(true).then_some(output),
        })
    }

    fn for_source(self, source: Source) -> Option<Action> {
        match source {
            Source::Input => self.input,
            Source::Output => self.output,
        }
    }
}

/// A validated configuration.
#[derive(Debug, Default)]
struct Compiled {
    /// The custom words, by matcher id: their configured text and actions.
    words: Vec<(String, Actions)>,
    custom: Matcher,
    /// The managed PROFANITY list's actions, when configured.
    profanity: Option<Actions>,
}

impl Compiled {
    fn parse(config: &str) -> Result<Self, PluginError> {
        let raw: RawConfig = mantle_sdk::parse_config(config)?;
        let mut compiled = Compiled::default();
        for (i, entry) in raw.words_config.iter().enumerate() {
            let path = format!("wordsConfig[{i}]");
            let text = entry
                .text
                .as_deref()
                .ok_or_else(|| PluginError::invalid_config(format!("{path}.text is required")))?;
            let actions = Actions::parse(entry, &path)?;
            let id = compiled.words.len() as u32;
            if !compiled.custom.add(text, id) {
                return Err(PluginError::invalid_config(format!(
                    "{path}.text must contain a word"
                )));
            }
            compiled.words.push((text.to_owned(), actions));
        }
        for (i, entry) in raw.managed_word_lists_config.iter().enumerate() {
            let path = format!("managedWordListsConfig[{i}]");
            match entry.kind.as_deref() {
                Some("PROFANITY") => compiled.profanity = Some(Actions::parse(entry, &path)?),
                Some(other) => {
                    return Err(PluginError::invalid_config(format!(
                        "{path}.type: unknown managed word list `{other}` (expected PROFANITY)"
                    )));
                }
                None => {
                    return Err(PluginError::invalid_config(format!(
                        "{path}.type is required"
                    )));
                }
            }
        }
        Ok(compiled)
    }
}

/// How many distinct configurations an instance keeps compiled.
const CACHE_ENTRIES: usize = 8;

/// The most recently used configurations, newest last (see `sensitive-information`).
static CACHE: mantle_sdk::ConfigCache<Compiled> = mantle_sdk::ConfigCache::new(CACHE_ENTRIES);

fn compiled(config: &str) -> Result<Arc<Compiled>, PluginError> {
    CACHE.get_or_parse(config, Compiled::parse)
}

/// The word policy.
#[derive(Debug)]
pub struct WordFilter;

impl Guest for WordFilter {
    fn assess(request: AssessRequest) -> Result<Assessment, PluginError> {
        let compiled = compiled(&request.config)?;
        let source = request.source;
        let profanity = compiled.profanity.and_then(|a| a.for_source(source));
        let any_custom = compiled
            .words
            .iter()
            .any(|(_, a)| a.for_source(source).is_some());
        let mut findings = Vec::new();
        if profanity.is_none() && !any_custom {
            return Ok(Assessment { findings });
        }
        let mut matches: Vec<Match> = Vec::new();
        for (index, block) in request.guarded_blocks() {
            let text = block.text.as_str();
            let tokens = Tokens::new(text);
            if any_custom {
                matches.clear();
                compiled.custom.find(&tokens, &mut matches);
                for m in &matches {
                    let (word, actions) = &compiled.words[m.id as usize];
                    let Some(action) = actions.for_source(source) else {
                        continue;
                    };
                    let mut finding =
                        Finding::new(PolicyKind::Word, "CUSTOM", index, m.start, word.as_str())
                            .with_action(action);
                    finding.span = Span::at(m.start, m.end - m.start);
                    findings.push(finding);
                }
            }
            if let Some(action) = profanity {
                matches.clear();
                profanity::find(&tokens, &mut matches);
                // A phrase of the list and a word inside it are one finding: keep the longest.
                matches.sort_by_key(|m| (m.start, std::cmp::Reverse(m.end)));
                let mut covered = 0;
                for m in &matches {
                    if m.start < covered {
                        continue;
                    }
                    covered = m.end;
                    findings.push(
                        Finding::new(
                            PolicyKind::Word,
                            "PROFANITY",
                            index,
                            m.start,
                            &text[m.start..m.end],
                        )
                        .with_action(action),
                    );
                }
            }
        }
        findings.sort_by_key(|f| (f.block, f.span.start, f.span.end));
        // The same word configured twice is one finding.
        findings.dedup_by(|a, b| {
            (a.block, a.span.start, a.span.end) == (b.block, b.span.start, b.span.end)
                && a.type_ == b.type_
                && a.matched == b.matched
        });
        Ok(Assessment { findings })
    }
}

#[cfg(target_arch = "wasm32")]
mantle_sdk::export_guardrail!(WordFilter);

#[cfg(test)]
mod tests;

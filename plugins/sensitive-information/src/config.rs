//! Bedrock's `sensitiveInformationPolicyConfig`, parsed and validated once per distinct config
//! string and cached for the life of the instance.

use std::sync::Arc;

use mantle_sdk::PluginError;
use mantle_sdk::guardrail::{Action, Source};
use regex::{Regex, RegexBuilder};
use serde::Deserialize;

use crate::pii::PiiType;

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawConfig {
    #[serde(default)]
    pii_entities_config: Vec<RawEntity>,
    #[serde(default)]
    regexes_config: Vec<RawRegex>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawEntity {
    #[serde(rename = "type")]
    kind: Option<String>,
    action: Option<String>,
    input_action: Option<String>,
    output_action: Option<String>,
    input_enabled: Option<bool>,
    output_enabled: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawRegex {
    name: Option<String>,
    pattern: Option<String>,
    #[allow(dead_code)]
    description: Option<String>,
    action: Option<String>,
    input_action: Option<String>,
    output_action: Option<String>,
    input_enabled: Option<bool>,
    output_enabled: Option<bool>,
}

/// What to do about a match, per source; `None` where the source is disabled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Actions {
    pub input: Option<Action>,
    pub output: Option<Action>,
}

impl Actions {
    /// The action for `source`, or `None` when the entry is disabled for it.
    pub fn for_source(&self, source: Source) -> Option<Action> {
        match source {
            Source::Input => self.input,
            Source::Output => self.output,
        }
    }
}

/// A custom regex from `regexesConfig`.
#[derive(Debug)]
pub struct CustomRegex {
    pub name: String,
    pub pattern: String,
    pub replacement: String,
    pub regex: Regex,
    pub actions: Actions,
}

/// A validated configuration, ready to scan with.
#[derive(Debug, Default)]
pub struct Compiled {
    /// Per PII type (indexed by `PiiType as usize`): what to do, if configured.
    pub entities: [Actions; PiiType::COUNT],
    pub regexes: Vec<CustomRegex>,
}

/// The largest compiled program a custom regex may make (its NFA and its lazy DFA cache).
const REGEX_SIZE_LIMIT: usize = 1 << 20;

fn parse_action(value: &str, field: &str) -> Result<Action, PluginError> {
    match value {
        "BLOCK" => Ok(Action::Block),
        "ANONYMIZE" => Ok(Action::Anonymize),
        "NONE" => Ok(Action::None),
        other => Err(PluginError::invalid_config(format!(
            "{field}: unknown action `{other}` (expected BLOCK, ANONYMIZE or NONE)"
        ))),
    }
}

#[allow(clippy::too_many_arguments)]
fn actions(
    path: &str,
    action: Option<&str>,
    input_action: Option<&str>,
    output_action: Option<&str>,
    input_enabled: Option<bool>,
    output_enabled: Option<bool>,
) -> Result<Actions, PluginError> {
    let default = match action {
        Some(a) => parse_action(a, &format!("{path}.action"))?,
        None => Action::Anonymize,
    };
    let input = match input_action {
        Some(a) => parse_action(a, &format!("{path}.inputAction"))?,
        None => default,
    };
    let output = match output_action {
        Some(a) => parse_action(a, &format!("{path}.outputAction"))?,
        None => default,
    };
    Ok(Actions {
        input: input_enabled.unwrap_or(true).then_some(input),
        output: output_enabled.unwrap_or(true).then_some(output),
    })
}

impl Compiled {
    /// Parses and validates `config` (Bedrock's `sensitiveInformationPolicyConfig` as JSON).
    pub fn parse(config: &str) -> Result<Self, PluginError> {
        let raw: RawConfig = mantle_sdk::parse_config(config)?;
        let mut compiled = Compiled::default();
        for (i, entity) in raw.pii_entities_config.iter().enumerate() {
            let path = format!("piiEntitiesConfig[{i}]");
            let kind = entity
                .kind
                .as_deref()
                .ok_or_else(|| PluginError::invalid_config(format!("{path}.type is required")))?;
            let kind = PiiType::from_name(kind).ok_or_else(|| {
                PluginError::invalid_config(format!(
                    "{path}.type: unknown PII entity type `{kind}`"
                ))
            })?;
            let actions = actions(
                &path,
                entity.action.as_deref(),
                entity.input_action.as_deref(),
                entity.output_action.as_deref(),
                entity.input_enabled,
                entity.output_enabled,
            )?;
            compiled.entities[kind as usize] = actions;
        }
        for (i, raw) in raw.regexes_config.iter().enumerate() {
            let path = format!("regexesConfig[{i}]");
            let name = raw
                .name
                .as_deref()
                .filter(|n| !n.trim().is_empty())
                .ok_or_else(|| PluginError::invalid_config(format!("{path}.name is required")))?;
            let pattern = raw
                .pattern
                .as_deref()
                .filter(|p| !p.is_empty())
                .ok_or_else(|| {
                    PluginError::invalid_config(format!("{path}.pattern is required"))
                })?;
            let regex = RegexBuilder::new(pattern)
                .size_limit(REGEX_SIZE_LIMIT)
                .dfa_size_limit(REGEX_SIZE_LIMIT)
                .build()
                .map_err(|e| {
                    PluginError::invalid_config(format!(
                        "{path}.pattern: regex `{name}` does not compile: {e}"
                    ))
                })?;
            let actions = actions(
                &path,
                raw.action.as_deref(),
                raw.input_action.as_deref(),
                raw.output_action.as_deref(),
                raw.input_enabled,
                raw.output_enabled,
            )?;
            compiled.regexes.push(CustomRegex {
                name: name.to_owned(),
                pattern: pattern.to_owned(),
                replacement: format!("{{{name}}}"),
                regex,
                actions,
            });
        }
        Ok(compiled)
    }

    /// The actions configured for `kind`.
    pub fn entity(&self, kind: PiiType) -> Actions {
        self.entities[kind as usize]
    }
}

/// How many distinct configurations an instance keeps compiled.
const CACHE_ENTRIES: usize = 8;

/// The most recently used configurations, newest last. The host reuses warm instances across
/// calls, and a guardrail's config rarely changes, so this is almost always a hit on the last
/// entry: one string comparison per call.
static CACHE: mantle_sdk::ConfigCache<Compiled> = mantle_sdk::ConfigCache::new(CACHE_ENTRIES);

/// The compiled form of `config`, from the cache or freshly parsed.
pub fn compiled(config: &str) -> Result<Arc<Compiled>, PluginError> {
    CACHE.get_or_parse(config, Compiled::parse)
}

//! Prompt management's request bodies, in Bedrock's shapes.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::config::PromptVariant;
use crate::PromptIdentifier;

/// bedrock-agent tags: a map.
pub type Tags = BTreeMap<String, String>;

/// CreatePrompt's body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreatePromptInput {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_encryption_key_arn: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_variant: Option<String>,
    #[serde(default)]
    pub variants: Vec<PromptVariant>,
    #[serde(default, skip_serializing)]
    pub client_token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<Tags>,
}

/// UpdatePrompt's body: the draft's new content, whole.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpdatePromptInput {
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub customer_encryption_key_arn: Option<String>,
    #[serde(default)]
    pub default_variant: Option<String>,
    #[serde(default)]
    pub variants: Vec<PromptVariant>,
}

/// CreatePromptVersion's body.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreatePromptVersionInput {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing)]
    pub client_token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<Tags>,
}

/// ListPrompts' query: every prompt's draft, or one prompt's draft and versions.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ListPromptsInput {
    pub prompt_identifier: Option<PromptIdentifier>,
    pub max_results: Option<u32>,
    pub next_token: Option<String>,
}

/// GetPrompt's `includedData`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum IncludedData {
    #[default]
    AllData,
    /// The prompt's fields without its variants.
    MetadataOnly,
}

//! What prompt management stores.

use serde::{Deserialize, Serialize};

use super::config::PromptVariant;
use super::input::Tags;

/// A prompt's draft, keyed by its id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PromptRecord {
    pub(crate) id: String,
    #[serde(flatten)]
    pub(crate) content: PromptContent,
    #[serde(default, skip_serializing_if = "Tags::is_empty")]
    pub(crate) tags: Tags,
    pub(crate) created_at: String,
    pub(crate) updated_at: String,
    /// The number the next version gets: numbers are never reused, even after a delete.
    pub(crate) next_version: u32,
}

/// What a version snapshots.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PromptContent {
    pub(crate) name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) customer_encryption_key_arn: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) default_variant: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) variants: Vec<PromptVariant>,
}

impl mantle_store::Record for PromptRecord {
    const TREE: &'static str = "prompts";
    const SCHEMA_VERSION: u32 = 1;
}

/// An immutable version, keyed `{promptId}/{version:05}` so versions list in number order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PromptVersionRecord {
    pub(crate) id: String,
    pub(crate) version: u32,
    #[serde(flatten)]
    pub(crate) content: PromptContent,
    #[serde(default, skip_serializing_if = "Tags::is_empty")]
    pub(crate) tags: Tags,
    pub(crate) created_at: String,
}

impl mantle_store::Record for PromptVersionRecord {
    const TREE: &'static str = "prompt_versions";
    const SCHEMA_VERSION: u32 = 1;
}

pub(crate) fn version_key(id: &str, version: u32) -> String {
    format!("{id}/{version:05}")
}

//! What is stored of a guardrail: its DRAFT and its immutable numbered versions, in one record
//! so that every change is a single atomic write.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::config::Policies;

/// One guardrail with all its versions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GuardrailRecord {
    pub id: String,
    pub created_at: String,
    pub draft: Definition,
    #[serde(default)]
    pub versions: BTreeMap<u32, Definition>,
    /// Numbers are never reused, even after a version is deleted.
    pub next_version: u32,
}

impl mantle_store::Record for GuardrailRecord {
    const TREE: &'static str = "guardrails";
    const SCHEMA_VERSION: u32 = 1;
}

/// A guardrail's full configuration at one version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Definition {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub policies: Policies,
    /// Team plugins attached through Mantle's admin API.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub custom_policies: Vec<CustomPolicy>,
    pub blocked_input_messaging: String,
    pub blocked_outputs_messaging: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kms_key_id: Option<String>,
    pub updated_at: String,
}

/// A guardrail plugin attached to a guardrail as one more policy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CustomPolicy {
    /// `name` (follows the newest enabled version, so swaps apply at once) or `name@version`.
    pub plugin: String,
    /// The plugin's configuration.
    #[serde(default)]
    pub config: serde_json::Value,
}

/// A `clientRequestToken` already answered, so a retried create returns the same resource.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClientToken {
    pub guardrail_id: String,
    pub version: String,
}

impl mantle_store::Record for ClientToken {
    const TREE: &'static str = "client_tokens";
    const SCHEMA_VERSION: u32 = 1;
}

//! What is stored of a guardrail: its DRAFT and its immutable numbered versions, in one record
//! so that every change is a single atomic write.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::config::Policies;

/// One guardrail with all its versions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct GuardrailRecord {
    pub(crate) id: String,
    pub(crate) created_at: String,
    pub(crate) draft: Definition,
    #[serde(default)]
    pub(crate) versions: BTreeMap<u32, Definition>,
    /// Numbers are never reused, even after a version is deleted.
    pub(crate) next_version: u32,
}

impl mantle_store::Record for GuardrailRecord {
    const TREE: &'static str = "guardrails";
    const SCHEMA_VERSION: u32 = 1;
}

/// A guardrail's full configuration at one version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Definition {
    pub(crate) name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) description: Option<String>,
    pub(crate) policies: Policies,
    /// Team plugins attached through Mantle's admin API.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) custom_policies: Vec<CustomPolicy>,
    pub(crate) blocked_input_messaging: String,
    pub(crate) blocked_outputs_messaging: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) kms_key_id: Option<String>,
    pub(crate) updated_at: String,
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
pub(crate) struct ClientToken {
    pub(crate) guardrail_id: String,
    pub(crate) version: String,
}

impl mantle_store::Record for ClientToken {
    const TREE: &'static str = "client_tokens";
    const SCHEMA_VERSION: u32 = 1;
}

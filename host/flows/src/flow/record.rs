//! What flows store.

use serde::{Deserialize, Serialize};

use super::definition::FlowDefinition;
use super::input::{ConcurrencyConfiguration, RoutingEntry};
use super::output::FlowStatus;
use crate::prompt::input::Tags;

/// A flow's draft, keyed by its id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct FlowRecord {
    pub(crate) id: String,
    #[serde(flatten)]
    pub(crate) content: FlowContent,
    pub(crate) status: FlowStatus,
    #[serde(default, skip_serializing_if = "Tags::is_empty")]
    pub(crate) tags: Tags,
    pub(crate) created_at: String,
    pub(crate) updated_at: String,
    /// The number the next version gets: numbers are never reused.
    pub(crate) next_version: u32,
}

/// What a version snapshots.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct FlowContent {
    pub(crate) name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) description: Option<String>,
    pub(crate) execution_role_arn: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) customer_encryption_key_arn: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) definition: Option<FlowDefinition>,
}

impl mantle_store::Record for FlowRecord {
    const TREE: &'static str = "flows";
    const SCHEMA_VERSION: u32 = 1;
}

/// An immutable, prepared version, keyed `{flowId}/{version:05}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct FlowVersionRecord {
    pub(crate) id: String,
    pub(crate) version: u32,
    #[serde(flatten)]
    pub(crate) content: FlowContent,
    pub(crate) created_at: String,
}

impl mantle_store::Record for FlowVersionRecord {
    const TREE: &'static str = "flow_versions";
    const SCHEMA_VERSION: u32 = 1;
}

/// An alias, keyed `{flowId}/{aliasId}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct FlowAliasRecord {
    pub(crate) flow_id: String,
    pub(crate) id: String,
    pub(crate) name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) description: Option<String>,
    pub(crate) routing: Vec<RoutingEntry>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) concurrency: Option<ConcurrencyConfiguration>,
    #[serde(default, skip_serializing_if = "Tags::is_empty")]
    pub(crate) tags: Tags,
    pub(crate) created_at: String,
    pub(crate) updated_at: String,
}

impl mantle_store::Record for FlowAliasRecord {
    const TREE: &'static str = "flow_aliases";
    const SCHEMA_VERSION: u32 = 1;
}

pub(crate) fn version_key(id: &str, version: u32) -> String {
    format!("{id}/{version:05}")
}

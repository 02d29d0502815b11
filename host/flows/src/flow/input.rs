//! Flows' request bodies, in Bedrock's shapes.

use serde::{Deserialize, Serialize};

use super::definition::FlowDefinition;
use crate::Version;
use crate::prompt::input::Tags;

/// CreateFlow's body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateFlowInput {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub execution_role_arn: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_encryption_key_arn: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub definition: Option<FlowDefinition>,
    #[serde(default, skip_serializing)]
    pub client_token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<Tags>,
}

/// UpdateFlow's body: the draft's new content, whole.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpdateFlowInput {
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    pub execution_role_arn: String,
    #[serde(default)]
    pub customer_encryption_key_arn: Option<String>,
    #[serde(default)]
    pub definition: Option<FlowDefinition>,
}

/// CreateFlowVersion's body.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateFlowVersionInput {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing)]
    pub client_token: Option<String>,
}

/// ValidateFlowDefinition's body.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ValidateFlowDefinitionInput {
    pub definition: FlowDefinition,
}

/// CreateFlowAlias's body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateFlowAliasInput {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub routing_configuration: Vec<RoutingEntry>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub concurrency_configuration: Option<ConcurrencyConfiguration>,
    #[serde(default, skip_serializing)]
    pub client_token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<Tags>,
}

/// UpdateFlowAlias's body.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpdateFlowAliasInput {
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    pub routing_configuration: Vec<RoutingEntry>,
    #[serde(default)]
    pub concurrency_configuration: Option<ConcurrencyConfiguration>,
}

/// Which version an alias runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RoutingEntry {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flow_version: Option<Version>,
}

/// How many of an execution's nodes may run at once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ConcurrencyConfiguration {
    #[serde(rename = "type")]
    pub kind: ConcurrencyType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_concurrency: Option<u32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ConcurrencyType {
    Automatic,
    Manual,
}

/// A List operation's paging.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListInput {
    pub max_results: Option<u32>,
    pub next_token: Option<String>,
}

//! Flows' responses, in Bedrock's shapes: flat, the resource's fields at the top.

use serde::Serialize;

use super::definition::FlowDefinition;
use super::input::{ConcurrencyConfiguration, RoutingEntry};
use super::validate::FlowValidation;
use crate::{FlowAliasId, FlowId};

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, Serialize)]
pub enum FlowStatus {
    Failed,
    Prepared,
    Preparing,
    NotPrepared,
}

/// A flow's draft (CreateFlow, GetFlow, UpdateFlow).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Flow {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub execution_role_arn: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub customer_encryption_key_arn: Option<String>,
    pub id: FlowId,
    pub arn: String,
    pub status: FlowStatus,
    pub created_at: String,
    pub updated_at: String,
    /// Always `DRAFT`.
    pub version: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub definition: Option<FlowDefinition>,
    /// GetFlow only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub validations: Option<Vec<FlowValidation>>,
}

/// A flow version (CreateFlowVersion, GetFlowVersion).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FlowVersion {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub execution_role_arn: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub customer_encryption_key_arn: Option<String>,
    pub id: FlowId,
    pub arn: String,
    pub status: FlowStatus,
    pub created_at: String,
    pub version: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub definition: Option<FlowDefinition>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FlowSummary {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub id: FlowId,
    pub arn: String,
    pub status: FlowStatus,
    pub created_at: String,
    pub updated_at: String,
    pub version: &'static str,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FlowPage {
    pub flow_summaries: Vec<FlowSummary>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FlowVersionSummary {
    pub id: FlowId,
    pub arn: String,
    pub status: FlowStatus,
    pub created_at: String,
    pub version: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FlowVersionPage {
    pub flow_version_summaries: Vec<FlowVersionSummary>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
}

/// A flow alias (CreateFlowAlias, GetFlowAlias, UpdateFlowAlias, and in ListFlowAliases).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FlowAlias {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub routing_configuration: Vec<RoutingEntry>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub concurrency_configuration: Option<ConcurrencyConfiguration>,
    pub flow_id: FlowId,
    pub id: FlowAliasId,
    pub arn: String,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FlowAliasPage {
    pub flow_alias_summaries: Vec<FlowAlias>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeletedFlow {
    pub id: FlowId,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeletedFlowVersion {
    pub id: FlowId,
    pub version: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeletedFlowAlias {
    pub flow_id: FlowId,
    pub id: FlowAliasId,
}

/// PrepareFlow's answer.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PreparedFlow {
    pub id: FlowId,
    pub status: FlowStatus,
}

/// ValidateFlowDefinition's answer.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Validations {
    pub validations: Vec<FlowValidation>,
}

//! Flows' wire shapes that are not the domain's own: path parameters and query strings.

use mantle_flows::flow::execution::EventType;
use mantle_flows::flow::input::ListInput;
use mantle_flows::prompt::input::IncludedData;
use mantle_flows::{FlowAliasIdentifier, FlowId, FlowsError, Version};
use serde::{Deserialize, Deserializer};

/// `/flows/{flowIdentifier}/`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct FlowPath {
    pub(crate) flow_identifier: FlowId,
}

/// `/flows/{flowIdentifier}/versions/{flowVersion}/`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct FlowVersionPath {
    pub(crate) flow_identifier: FlowId,
    #[serde(deserialize_with = "flow_version")]
    pub(crate) flow_version: Version,
}

fn flow_version<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Version, D::Error> {
    let label = String::deserialize(deserializer)?;
    Version::parse_labelled(&label, "flowVersion").map_err(serde::de::Error::custom)
}

/// `/flows/{flowIdentifier}/aliases/{aliasIdentifier}`: GetFlowAlias and the other alias
/// operations, and InvokeFlow (whose model calls the alias `flowAliasIdentifier`; one route has
/// one parameter name).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct FlowAliasPath {
    pub(crate) flow_identifier: FlowId,
    pub(crate) alias_identifier: FlowAliasIdentifier,
}

/// `?includedData=`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct IncludedQuery {
    included_data: Option<String>,
}

impl IncludedQuery {
    pub(crate) fn included_data(&self) -> Result<IncludedData, FlowsError> {
        crate::api::prompts::included_data(self.included_data.as_deref())
    }
}

/// `?skipResourceInUseCheck=`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct DeleteQuery {
    skip_resource_in_use_check: Option<String>,
}

impl DeleteQuery {
    pub(crate) fn skip(&self) -> Result<bool, FlowsError> {
        match self.skip_resource_in_use_check.as_deref() {
            None | Some("false") => Ok(false),
            Some("true") => Ok(true),
            Some(_) => Err(FlowsError::invalid(
                "skipResourceInUseCheck",
                "Member must be a boolean",
            )),
        }
    }
}

/// `?maxResults=&nextToken=`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ListQuery {
    max_results: Option<String>,
    next_token: Option<String>,
}

impl TryFrom<ListQuery> for ListInput {
    type Error = FlowsError;

    fn try_from(query: ListQuery) -> Result<Self, Self::Error> {
        Ok(Self {
            max_results: crate::api::prompts::max_results(query.max_results.as_deref())?,
            next_token: query.next_token,
        })
    }
}

/// `…/aliases/{aliasIdentifier}/executions/{executionIdentifier}`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ExecutionPath {
    pub(crate) flow_identifier: FlowId,
    pub(crate) alias_identifier: FlowAliasIdentifier,
    pub(crate) execution_identifier: String,
}

/// ListFlowExecutions' query.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ExecutionsQuery {
    flow_alias_identifier: Option<String>,
    max_results: Option<String>,
    next_token: Option<String>,
}

impl ExecutionsQuery {
    pub(crate) fn alias(&self) -> Result<Option<FlowAliasIdentifier>, FlowsError> {
        self.flow_alias_identifier
            .as_deref()
            .map(str::parse)
            .transpose()
    }

    pub(crate) fn list(&self) -> Result<ListInput, FlowsError> {
        Ok(ListInput {
            max_results: crate::api::prompts::max_results(self.max_results.as_deref())?,
            next_token: self.next_token.clone(),
        })
    }
}

/// ListFlowExecutionEvents' query.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct EventsQuery {
    event_type: Option<String>,
    max_results: Option<String>,
    next_token: Option<String>,
}

impl EventsQuery {
    pub(crate) fn event_type(&self) -> Result<EventType, FlowsError> {
        match self.event_type.as_deref() {
            Some("Node") => Ok(EventType::Node),
            Some("Flow") => Ok(EventType::Flow),
            _ => Err(FlowsError::invalid(
                "eventType",
                "Member must satisfy enum value set: [Node, Flow]",
            )),
        }
    }

    pub(crate) fn list(&self) -> Result<ListInput, FlowsError> {
        Ok(ListInput {
            max_results: crate::api::prompts::max_results(self.max_results.as_deref())?,
            next_token: self.next_token.clone(),
        })
    }
}

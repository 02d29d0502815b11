//! Prompt management's wire shapes that are not the domain's own: path parameters and query
//! strings. Bodies and answers are Bedrock's shapes already and live in `mantle-flows`.

use mantle_flows::prompt::input::{IncludedData, ListPromptsInput};
use mantle_flows::{FlowsError, PromptIdentifier, Version};
use serde::Deserialize;

/// `/prompts/{promptIdentifier}/`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PromptPath {
    pub(crate) prompt_identifier: PromptIdentifier,
}

/// `?promptVersion=&includedData=` on GetPrompt, `?promptVersion=` on DeletePrompt.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct VersionQuery {
    prompt_version: Option<String>,
    included_data: Option<String>,
}

impl VersionQuery {
    /// Parsed here rather than by serde so that a bad value names its parameter.
    pub(crate) fn version(&self) -> Result<Option<Version>, FlowsError> {
        self.prompt_version
            .as_deref()
            .map(|v| Version::parse_labelled(v, "promptVersion"))
            .transpose()
    }

    pub(crate) fn included_data(&self) -> Result<IncludedData, FlowsError> {
        included_data(self.included_data.as_deref())
    }
}

/// `includedData` (GetPrompt, GetFlow, GetFlowVersion).
pub(crate) fn included_data(text: Option<&str>) -> Result<IncludedData, FlowsError> {
    match text {
        None | Some("ALL_DATA") => Ok(IncludedData::AllData),
        Some("METADATA_ONLY") => Ok(IncludedData::MetadataOnly),
        Some(_) => Err(FlowsError::invalid(
            "includedData",
            "Member must satisfy enum value set: [ALL_DATA, METADATA_ONLY]",
        )),
    }
}

/// ListPrompts' query string.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ListQuery {
    prompt_identifier: Option<String>,
    max_results: Option<String>,
    next_token: Option<String>,
}

impl TryFrom<ListQuery> for ListPromptsInput {
    type Error = FlowsError;

    fn try_from(query: ListQuery) -> Result<Self, Self::Error> {
        Ok(Self {
            prompt_identifier: query
                .prompt_identifier
                .as_deref()
                .map(str::parse)
                .transpose()?,
            max_results: max_results(query.max_results.as_deref())?,
            next_token: query.next_token,
        })
    }
}

/// `maxResults` arrives as text.
pub(crate) fn max_results(text: Option<&str>) -> Result<Option<u32>, FlowsError> {
    text.map(|m| {
        m.parse::<u32>()
            .map_err(|_| FlowsError::invalid("maxResults", "Member must be an integer"))
    })
    .transpose()
}

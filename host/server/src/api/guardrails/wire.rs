//! The guardrail APIs' wire shapes that are not the domain's own: path parameters and query
//! strings. Bodies and answers are Bedrock's shapes already and live in `mantle-guardrails`.

use mantle_guardrails::{GuardrailError, GuardrailId, GuardrailVersion, ListInput};
use serde::Deserialize;

/// `{guardrailIdentifier}`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct GuardrailPath {
    pub(crate) guardrail_identifier: GuardrailId,
}

/// `/guardrail/{guardrailIdentifier}/version/{guardrailVersion}/apply`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ApplyPath {
    pub(crate) guardrail_identifier: GuardrailId,
    pub(crate) guardrail_version: GuardrailVersion,
}

/// `?guardrailVersion=` on GetGuardrail and DeleteGuardrail.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct VersionQuery {
    guardrail_version: Option<String>,
}

impl VersionQuery {
    /// The version asked for, if any. Parsed here rather than by serde so that a bad one is a
    /// ValidationException naming `guardrailVersion`.
    pub(crate) fn version(&self) -> Result<Option<GuardrailVersion>, GuardrailError> {
        self.guardrail_version
            .as_deref()
            .map(str::parse)
            .transpose()
    }
}

/// ListGuardrails' query string.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ListQuery {
    guardrail_identifier: Option<String>,
    max_results: Option<String>,
    next_token: Option<String>,
}

impl TryFrom<ListQuery> for ListInput {
    type Error = GuardrailError;

    fn try_from(query: ListQuery) -> Result<Self, Self::Error> {
        Ok(Self {
            guardrail_identifier: query
                .guardrail_identifier
                .as_deref()
                .map(str::parse)
                .transpose()?,
            max_results: query
                .max_results
                .map(|m| {
                    m.parse::<usize>().map_err(|_| {
                        GuardrailError::invalid("maxResults", "Member must be an integer")
                    })
                })
                .transpose()?,
            next_token: query.next_token,
        })
    }
}

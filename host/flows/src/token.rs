//! bedrock-agent's `clientToken`: a retried create (boto3 retries 5xx and throttling with the
//! same token) answers what the first call made instead of making a second resource.
//!
//! The token is claimed before the resource is written, with the id it will have, so a crash
//! between the two writes is repaired by the retry (it writes the resource under the claimed
//! id) rather than answered with a duplicate.

use serde::{Deserialize, Serialize};

use crate::FlowsError;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ClientTokenRecord {
    /// The record key of what the first call made.
    pub(crate) key: String,
    /// The first call's input, so that a different request under the same token is refused.
    pub(crate) fingerprint: String,
}

impl mantle_store::Record for ClientTokenRecord {
    const TREE: &'static str = "flows_client_tokens";
    const SCHEMA_VERSION: u32 = 1;
}

/// What a token says about a create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Claim {
    /// A first call: make the resource under this key.
    New(String),
    /// A retry: the first call made (or was making) the resource under this key.
    Replay(String),
}

/// `[a-zA-Z0-9](-*[a-zA-Z0-9]){0,256}`, 33 to 256 characters.
pub(crate) fn check(token: &str) -> Result<(), FlowsError> {
    let shape = token.starts_with(|c: char| c.is_ascii_alphanumeric())
        && token.ends_with(|c: char| c.is_ascii_alphanumeric())
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-');
    if shape && (33..=256).contains(&token.len()) {
        Ok(())
    } else {
        Err(FlowsError::invalid(
            "clientToken",
            "Member must have length between 33 and 256 and satisfy regular expression pattern: [a-zA-Z0-9](-*[a-zA-Z0-9]){0,256}",
        ))
    }
}

/// Claims `token` for operation `op` with a fresh key from `mint`; without a token every call
/// is a first call.
pub(crate) fn claim(
    tokens: &mantle_store::Table<ClientTokenRecord>,
    op: &str,
    token: Option<&str>,
    fingerprint: &impl Serialize,
    mint: impl FnOnce() -> String,
) -> Result<Claim, FlowsError> {
    let key = mint();
    let Some(token) = token else {
        return Ok(Claim::New(key));
    };
    check(token)?;
    let fingerprint = serde_json::to_string(fingerprint).map_err(mantle_store::StoreError::from)?;
    let record_key = format!("{op}/{token}");
    let record = ClientTokenRecord {
        key: key.clone(),
        fingerprint: fingerprint.clone(),
    };
    if tokens.insert_new(&record_key, &record)? {
        return Ok(Claim::New(key));
    }
    let first = tokens.get(&record_key)?.ok_or_else(|| {
        FlowsError::Conflict("The client token is being used by a request that is ending.".into())
    })?;
    if first.fingerprint != fingerprint {
        return Err(FlowsError::Conflict(format!(
            "The client token {token} was already used by a different {op} request."
        )));
    }
    Ok(Claim::Replay(first.key))
}

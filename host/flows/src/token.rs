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

/// bedrock-agent's `clientToken`, whose shape mantle-store knows.
pub(crate) fn check(token: &str) -> Result<(), FlowsError> {
    if mantle_store::is_client_token(token) {
        Ok(())
    } else {
        Err(FlowsError::invalid(
            "clientToken",
            mantle_store::CLIENT_TOKEN_RULE,
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

/// Points a first call's token at `key`, for resources whose key is known only once they are
/// made (a version's number comes from bumping its draft); a replay or a call without a token
/// has nothing to settle.
pub(crate) fn settle(
    tokens: &mantle_store::Table<ClientTokenRecord>,
    op: &str,
    claim: &Claim,
    token: Option<&str>,
    key: &str,
) -> Result<(), FlowsError> {
    let (Claim::New(_), Some(token)) = (claim, token) else {
        return Ok(());
    };
    tokens.update::<FlowsError>(&format!("{op}/{token}"), |t| {
        Ok(t.map(|mut t| {
            t.key = key.to_owned();
            t
        }))
    })?;
    Ok(())
}

//! HTTP handlers, one module per API family; each handler is a thin adapter over a domain
//! service. Paths follow ../shared/BEDROCK_API.md. Each family contributes its own `router()`
//! (routes tagged with their operation names, see [`operation`]), merged in `crate::app`.

use crate::error::AwsError;

pub(crate) mod admin;
pub(crate) mod converse;
pub(crate) mod count_tokens;
pub(crate) mod flows;
pub(crate) mod foundation_models;
pub(crate) mod guardrails;
pub(crate) mod invoke_model;
pub(crate) mod knowledge;
pub(crate) mod openai;
pub(crate) mod operation;
pub(crate) mod ops;
pub(crate) mod prompts;
pub(crate) mod runtime;
pub(crate) mod stream;

/// Runs blocking work (compiling a component on install, tokenizing) off the async workers, so
/// a slow one does not stall other requests.
pub(crate) async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, AwsError> + Send + 'static,
) -> Result<T, AwsError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| AwsError::internal(format!("request worker failed: {e}")))?
}

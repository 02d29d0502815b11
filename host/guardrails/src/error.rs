//! What can go wrong in the guardrail service, in its own terms; the server maps each case to
//! the AWS error contract (`mantle-server`'s `error.rs`).

use mantle_plugins::CallError;

/// A failed guardrail operation.
#[derive(Debug, thiserror::Error)]
pub enum GuardrailError {
    /// The caller's input is wrong; `field` is its wire path (`wordPolicyConfig.wordsConfig.0.text`)
    /// when one field is to blame, and `message` the constraint it breaks.
    #[error("{}", validation_message(.field.as_deref(), .message))]
    Validation {
        field: Option<String>,
        message: String,
    },
    /// No such guardrail, or no such version of it.
    #[error("{0}")]
    NotFound(String),
    /// The change collides with what is stored (a name already taken).
    #[error("{0}")]
    Conflict(String),
    /// A policy plugin trapped, ran out of memory, returned an error or an impossible finding.
    #[error("Guardrail policy {plugin} failed: {message}")]
    PolicyFailed { plugin: String, message: String },
    /// A policy plugin used up its time budget.
    #[error("Guardrail policy {plugin} exceeded its time budget of {timeout_ms} ms")]
    PolicyTimeout { plugin: String, timeout_ms: u64 },
    /// A policy's plugin is not installed or is disabled.
    #[error("Guardrail policy {plugin} is unavailable: {reason}")]
    PluginMissing { plugin: String, reason: String },
    /// The store could not read or write a record.
    #[error(transparent)]
    Store(#[from] mantle_store::StoreError),
}

impl GuardrailError {
    /// A [`GuardrailError::Validation`] about one field.
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Validation {
            field: Some(field.into()),
            message: message.into(),
        }
    }

    /// A failed call to the policy plugin `plugin`: whose fault, and what it means for the
    /// request that ran it.
    pub(crate) fn from_call(plugin: &str, error: CallError) -> Self {
        match error {
            CallError::Timeout { plugin, timeout_ms } => Self::PolicyTimeout { plugin, timeout_ms },
            CallError::NotFound(_) => Self::PluginMissing {
                plugin: plugin.to_owned(),
                reason: "not installed".into(),
            },
            CallError::Disabled(_) => Self::PluginMissing {
                plugin: plugin.to_owned(),
                reason: "disabled".into(),
            },
            other => Self::PolicyFailed {
                plugin: plugin.to_owned(),
                message: other.to_string(),
            },
        }
    }
}

fn validation_message(field: Option<&str>, message: &str) -> String {
    match field {
        Some(field) => format!("{field}: {message}"),
        None => message.to_owned(),
    }
}

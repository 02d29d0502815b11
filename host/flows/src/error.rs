//! What can go wrong in prompt management and flows, in the domain's own terms; the server
//! maps each case to the AWS error contract (`mantle-server`'s `error.rs`).

use mantle_inference::InferenceError;

/// A failed prompt or flow operation.
#[derive(Debug, thiserror::Error)]
pub enum FlowsError {
    /// The caller's input is wrong; `field` is its wire path (`variants.0.templateConfiguration`)
    /// when one field is to blame, and `message` the constraint it breaks.
    #[error("{}", validation_message(.field.as_deref(), .message))]
    Validation {
        field: Option<String>,
        message: String,
    },
    /// No such prompt, prompt version, flow, flow version or alias.
    #[error("{0}")]
    NotFound(String),
    /// The change collides with what is stored (a name taken, a version in use).
    #[error("{0}")]
    Conflict(String),
    /// A node of a running flow failed: its model, plugin, knowledge base or bucket did, or
    /// a value it received is not of its input's declared type.
    #[error("node {node} failed: {message}")]
    NodeFailed { node: String, message: String },
    /// The model a prompt runs on could not serve the call.
    #[error(transparent)]
    Model(#[from] InferenceError),
    /// The store could not read or write a record.
    #[error(transparent)]
    Store(#[from] mantle_store::StoreError),
}

impl FlowsError {
    /// A [`FlowsError::Validation`] about one field.
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Validation {
            field: Some(field.into()),
            message: message.into(),
        }
    }
}

fn validation_message(field: Option<&str>, message: &str) -> String {
    match field {
        Some(field) => format!("{field}: {message}"),
        None => message.to_owned(),
    }
}

//! What can go wrong in the knowledge-base service, in its own terms; the server maps each
//! case to the AWS error contract (`mantle-server`'s `error.rs`).

use mantle_inference::InferenceError;

/// A failed knowledge-base operation.
#[derive(Debug, thiserror::Error)]
pub enum KnowledgeError {
    /// The caller's input is wrong; `field` is its wire path
    /// (`vectorIngestionConfiguration.chunkingConfiguration.chunkingStrategy`) when one field is
    /// to blame, and `message` the constraint it breaks.
    #[error("{}", validation_message(.field.as_deref(), .message))]
    Validation {
        field: Option<String>,
        message: String,
    },
    /// No such knowledge base, data source, ingestion job or session.
    #[error("{0}")]
    NotFound(String),
    /// The change collides with what is stored or running (a job already in progress).
    #[error("{0}")]
    Conflict(String),
    /// The embedding or text model could not serve the call.
    #[error(transparent)]
    Model(#[from] InferenceError),
    /// The guardrail named in the request could not be applied.
    #[error(transparent)]
    Guardrail(#[from] mantle_guardrails::GuardrailError),
    /// The on-disk search index could not be opened.
    #[error("{0}")]
    Index(String),
    /// The store could not read or write a record.
    #[error(transparent)]
    Store(#[from] mantle_store::StoreError),
}

impl KnowledgeError {
    /// A [`KnowledgeError::Validation`] about one field.
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

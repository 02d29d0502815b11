//! What authentication, authorization and key management can answer.

/// An access failure, in the terms AWS answers them (the server maps each to its exception).
#[derive(Debug, thiserror::Error)]
pub enum AccessError {
    /// No `Authorization` header (nor API key) at all.
    #[error("Missing Authentication Token")]
    MissingAuthentication,
    /// A key id, API key or session token this server does not know, or one that is disabled.
    #[error("{0}")]
    UnrecognizedClient(String),
    /// An `Authorization` header missing a part SigV4 needs.
    #[error("{0}")]
    IncompleteSignature(String),
    /// A signature that does not verify, or a request signed outside its time window or scope.
    #[error("{0}")]
    InvalidSignature(String),
    /// Known caller, no permission: the message names the principal, action and resource.
    #[error("{0}")]
    AccessDenied(String),
    /// Bad input to a key operation, naming the field.
    #[error("{field}: {message}")]
    Validation { field: String, message: String },
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error(transparent)]
    Store(#[from] mantle_store::StoreError),
    /// The sealing key or a sealed secret could not be read.
    #[error("{0}")]
    Seal(String),
}

impl AccessError {
    pub(crate) fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Validation {
            field: field.into(),
            message: message.into(),
        }
    }

    /// AWS's words for a signature that does not match.
    pub(crate) fn signature_mismatch() -> Self {
        Self::InvalidSignature(
            "The request signature we calculated does not match the signature you provided. \
             Check your AWS Secret Access Key and signing method. Consult the service \
             documentation for details."
                .into(),
        )
    }

    /// AWS's words for an unknown or disabled access key id.
    pub(crate) fn unknown_key() -> Self {
        Self::UnrecognizedClient("The security token included in the request is invalid.".into())
    }
}

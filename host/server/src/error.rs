//! The AWS error contract, in one place: the error shape, and every mapping from a domain
//! service's error to it (`From<…> for AwsError`), so each service's errors read the same way
//! whichever route or service surfaced them.
//!
//! botocore reads the error code from `x-amzn-ErrorType` (cut at the first `:`), then from the
//! body's `__type`; the message from the body's `message`. Every error response carries both,
//! plus `x-amzn-RequestId` (added by the request-id layer).

use axum::Json;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// The error codes Mantle answers with, named as in Bedrock's service models.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    Validation,
    AccessDenied,
    ResourceNotFound,
    Conflict,
    Throttling,
    ServiceQuotaExceeded,
    ModelTimeout,
    ModelError,
    DependencyFailed,
    InternalServer,
    ServiceUnavailable,
    UnknownOperation,
    /// No credentials at all.
    MissingAuthenticationToken,
    /// An access key, API key or session token the server does not know (or disabled).
    UnrecognizedClient,
    /// A SigV4 `Authorization` header missing a part.
    IncompleteSignature,
    /// A signature that does not verify, or signed outside its time window.
    InvalidSignature,
}

/// Which Bedrock service answered; a few codes take a different status per service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    /// `bedrock` and `bedrock-runtime`.
    Bedrock,
    /// `bedrock-agent` and `bedrock-agent-runtime`.
    Agent,
}

impl ErrorCode {
    pub fn name(self) -> &'static str {
        match self {
            Self::Validation => "ValidationException",
            Self::AccessDenied => "AccessDeniedException",
            Self::ResourceNotFound => "ResourceNotFoundException",
            Self::Conflict => "ConflictException",
            Self::Throttling => "ThrottlingException",
            Self::ServiceQuotaExceeded => "ServiceQuotaExceededException",
            Self::ModelTimeout => "ModelTimeoutException",
            Self::ModelError => "ModelErrorException",
            Self::DependencyFailed => "DependencyFailedException",
            Self::InternalServer => "InternalServerException",
            Self::ServiceUnavailable => "ServiceUnavailableException",
            Self::UnknownOperation => "UnknownOperationException",
            Self::MissingAuthenticationToken => "MissingAuthenticationTokenException",
            Self::UnrecognizedClient => "UnrecognizedClientException",
            Self::IncompleteSignature => "IncompleteSignatureException",
            Self::InvalidSignature => "InvalidSignatureException",
        }
    }

    pub fn status(self, service: Service) -> StatusCode {
        match (self, service) {
            (Self::Validation, _) => StatusCode::BAD_REQUEST,
            (Self::AccessDenied, _)
            | (Self::MissingAuthenticationToken, _)
            | (Self::UnrecognizedClient, _)
            | (Self::IncompleteSignature, _)
            | (Self::InvalidSignature, _) => StatusCode::FORBIDDEN,
            (Self::ResourceNotFound, _) | (Self::UnknownOperation, _) => StatusCode::NOT_FOUND,
            (Self::Conflict, Service::Bedrock) => StatusCode::BAD_REQUEST,
            (Self::Conflict, Service::Agent) => StatusCode::CONFLICT,
            (Self::Throttling, _) => StatusCode::TOO_MANY_REQUESTS,
            (Self::ServiceQuotaExceeded, Service::Bedrock) => StatusCode::BAD_REQUEST,
            (Self::ServiceQuotaExceeded, Service::Agent) => StatusCode::PAYMENT_REQUIRED,
            (Self::ModelTimeout, _) => StatusCode::REQUEST_TIMEOUT,
            (Self::ModelError, _) | (Self::DependencyFailed, _) => StatusCode::FAILED_DEPENDENCY,
            (Self::InternalServer, _) => StatusCode::INTERNAL_SERVER_ERROR,
            (Self::ServiceUnavailable, _) => StatusCode::SERVICE_UNAVAILABLE,
        }
    }
}

/// A field-level problem, for bedrock-agent's `fieldList`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FieldError {
    pub name: String,
    pub message: String,
}

/// An error as a Bedrock client sees it.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{}: {message}", code.name())]
pub struct AwsError {
    pub code: ErrorCode,
    pub message: String,
    pub service: Service,
    pub fields: Vec<FieldError>,
}

impl AwsError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            service: Service::Bedrock,
            fields: Vec::new(),
        }
    }

    /// A ValidationException about `field`, worded as AWS words them.
    pub fn invalid_field(field: &str, constraint: impl std::fmt::Display) -> Self {
        let mut error = Self::new(
            ErrorCode::Validation,
            format!(
                "1 validation error detected: Value at '{field}' failed to satisfy constraint: {constraint}"
            ),
        );
        error.fields.push(FieldError {
            name: field.to_owned(),
            message: constraint.to_string(),
        });
        error
    }

    pub fn validation(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Validation, message)
    }

    /// A domain's validation error: about `field` when it names one.
    pub fn invalid(field: Option<&str>, message: String) -> Self {
        match field {
            Some(field) => Self::invalid_field(field, message),
            None => Self::validation(message),
        }
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::ResourceNotFound, message)
    }

    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Conflict, message)
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::InternalServer, message)
    }

    /// The error as an event-stream exception member names it (`validationException`).
    pub fn event_exception_type(&self) -> String {
        let name = self.code.name();
        let mut chars = name.chars();
        chars.next().map_or_else(String::new, |first| {
            first.to_ascii_lowercase().to_string() + chars.as_str()
        })
    }

    /// The same error as answered by the agent services.
    pub fn for_agent(mut self) -> Self {
        self.service = Service::Agent;
        self
    }
}

impl From<mantle_store::StoreError> for AwsError {
    fn from(error: mantle_store::StoreError) -> Self {
        tracing::error!(%error, "store failure");
        Self::internal("The server could not read or write its records.")
    }
}

/// `error` as Bedrock answers it, with `name` spelling the wire's path of a field the error is
/// about (each surface names fields its own way).
pub fn inference_error(
    error: mantle_inference::InferenceError,
    name: impl Fn(&mantle_inference::Field) -> String,
) -> AwsError {
    use mantle_inference::InferenceError as E;
    match error {
        E::InvalidField { field, constraint } => AwsError::invalid_field(&name(&field), constraint),
        E::Invalid(message) => AwsError::validation(message),
        E::UnknownModel { .. } => AwsError::validation("The provided model identifier is invalid."),
        error @ E::NotInstalled { .. } => AwsError::not_found(error.to_string()),
        error @ E::WrongKind { .. } => AwsError::validation(error.to_string()),
        error @ E::Busy { .. } => AwsError::new(ErrorCode::Throttling, error.to_string()),
        error @ E::Stopped => AwsError::new(ErrorCode::ServiceUnavailable, error.to_string()),
        E::ModelFailed(message) => AwsError::new(ErrorCode::ModelError, message),
    }
}

/// Inference errors that name no field, or named as Converse names them.
impl From<mantle_inference::InferenceError> for AwsError {
    fn from(error: mantle_inference::InferenceError) -> Self {
        let names = crate::api::converse::FieldNames::default();
        inference_error(error, |field| names.name(field))
    }
}

impl From<mantle_guardrails::GuardrailError> for AwsError {
    fn from(error: mantle_guardrails::GuardrailError) -> Self {
        use mantle_guardrails::GuardrailError as E;
        match error {
            E::Validation { field, message } => Self::invalid(field.as_deref(), message),
            E::NotFound(message) => Self::not_found(message),
            E::Conflict(message) => Self::conflict(message),
            // A policy is a model-like dependency of the call: Bedrock's codes for a failing
            // or slow model say what happened without blaming the client.
            error @ E::PolicyFailed { .. } => Self::new(ErrorCode::ModelError, error.to_string()),
            error @ E::PolicyTimeout { .. } => {
                Self::new(ErrorCode::ModelTimeout, error.to_string())
            }
            error @ E::PluginMissing { .. } => {
                Self::new(ErrorCode::ServiceUnavailable, error.to_string())
            }
            E::Store(error) => error.into(),
        }
    }
}

/// Knowledge bases answer in bedrock-agent's dialect (409 conflicts, `fieldList`).
impl From<mantle_knowledge::KnowledgeError> for AwsError {
    fn from(error: mantle_knowledge::KnowledgeError) -> Self {
        use mantle_knowledge::KnowledgeError as E;
        let error = match error {
            E::Validation { field, message } => Self::invalid(field.as_deref(), message),
            E::NotFound(message) => Self::not_found(message),
            E::Conflict(message) => Self::conflict(message),
            E::Model(error) => error.into(),
            E::Store(error) => error.into(),
            E::Index(message) => Self::internal(message),
            E::Guardrail(error) => error.into(),
        };
        error.for_agent()
    }
}

/// Prompts and flows answer in bedrock-agent's dialect too.
impl From<mantle_flows::FlowsError> for AwsError {
    fn from(error: mantle_flows::FlowsError) -> Self {
        use mantle_flows::FlowsError as E;
        let error = match error {
            E::Validation { field, message } => Self::invalid(field.as_deref(), message),
            E::NotFound(message) => Self::not_found(message),
            E::Conflict(message) => Self::conflict(message),
            error @ E::NodeFailed { .. } => {
                Self::new(ErrorCode::DependencyFailed, error.to_string())
            }
            E::Model(error) => error.into(),
            E::Store(error) => error.into(),
        };
        error.for_agent()
    }
}

/// Installing a plugin through the admin API (which answers in bedrock-agent's dialect).
impl From<mantle_plugins::LoadError> for AwsError {
    fn from(error: mantle_plugins::LoadError) -> Self {
        match error {
            mantle_plugins::LoadError::AlreadyInstalled(_) => {
                Self::conflict(error.to_string()).for_agent()
            }
            mantle_plugins::LoadError::Io { .. } => Self::internal(error.to_string()),
            other => Self::validation(other.to_string()),
        }
    }
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    #[serde(rename = "__type")]
    kind: &'a str,
    message: &'a str,
    #[serde(rename = "fieldList", skip_serializing_if = "Option::is_none")]
    field_list: Option<&'a [FieldError]>,
}

impl IntoResponse for AwsError {
    fn into_response(self) -> Response {
        let name = self.code.name();
        let status = self.code.status(self.service);
        if status.is_server_error() {
            tracing::error!(code = name, message = %self.message, "request failed");
        } else {
            tracing::debug!(code = name, message = %self.message, "request rejected");
        }
        let field_list = (self.service == Service::Agent && !self.fields.is_empty())
            .then_some(self.fields.as_slice());
        let body = ErrorBody {
            kind: name,
            message: &self.message,
            field_list,
        };
        let mut response = (status, Json(body)).into_response();
        response
            .headers_mut()
            .insert("x-amzn-ErrorType", HeaderValue::from_static(name));
        response
    }
}

/// Answers any path no operation claims, the way AWS front ends do.
pub async fn unknown_operation(method: http::Method, uri: http::Uri) -> AwsError {
    AwsError::new(
        ErrorCode::UnknownOperation,
        format!("No operation matches {method} {}", uri.path()),
    )
}

/// Answers a path that exists called with a method it does not serve: the same
/// UnknownOperationException body, with HTTP's 405 status.
pub async fn method_not_allowed(method: http::Method, uri: http::Uri) -> Response {
    let mut response = unknown_operation(method, uri).await.into_response();
    *response.status_mut() = StatusCode::METHOD_NOT_ALLOWED;
    response
}

//! Request extractors whose rejections are Bedrock-shaped errors naming the offending field.

use axum::body::Bytes;
use axum::extract::path::ErrorKind;
use axum::extract::rejection::PathRejection;
use axum::extract::{FromRequest, FromRequestParts, Path, Request};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use crate::error::AwsError;

/// A JSON body. An empty body (as boto3 sends for operations without body fields) reads as `{}`.
/// Errors name the JSON path of the bad field.
#[derive(Debug, Clone)]
pub struct AwsJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for AwsJson<T> {
    type Rejection = AwsError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == http::StatusCode::PAYLOAD_TOO_LARGE {
                AwsError::validation("The request body is larger than this server accepts.")
            } else {
                AwsError::validation(format!("The request body could not be read: {rejection}"))
            }
        })?;
        parse_json(&bytes).map(AwsJson)
    }
}

/// Parses `bytes` as `T`, with a ValidationException naming the path of what is wrong.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, AwsError> {
    let bytes: &[u8] = if bytes.iter().all(u8::is_ascii_whitespace) {
        b"{}"
    } else {
        bytes
    };
    // Syntax first, shape second: a well-formed body with a wrong shape (a union with two
    // members, say) must name the field, not claim the JSON is malformed.
    let value: serde_json::Value = serde_json::from_slice(bytes)
        .map_err(|e| AwsError::validation(format!("The request body is not valid JSON: {e}")))?;
    serde_path_to_error::deserialize(value).map_err(|error| {
        let path = error.path().to_string();
        let message = strip_position(&error.into_inner().to_string());
        if path == "." || path.is_empty() {
            AwsError::validation(format!("1 validation error detected: {message}"))
        } else {
            AwsError::invalid_field(&path, message)
        }
    })
}

fn strip_position(message: &str) -> String {
    match message.find(" at line ") {
        Some(at) => message[..at].to_owned(),
        None => message.to_owned(),
    }
}

/// Query parameters, with Bedrock-shaped rejections.
#[derive(Debug, Clone)]
pub struct AwsQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for AwsQuery<T> {
    type Rejection = AwsError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or_default();
        serde_urlencoded::from_str(query)
            .map(AwsQuery)
            .map_err(|e| AwsError::validation(format!("Invalid query string: {e}")))
    }
}

/// Path parameters, with Bedrock-shaped rejections: a ValidationException naming the parameter
/// (`guardrailIdentifier`, `guardrailVersion`, …). Deserialize into a struct whose fields are
/// named as the route's parameters, so the rejection can name the one that is wrong.
#[derive(Debug, Clone)]
pub struct AwsPath<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for AwsPath<T> {
    type Rejection = AwsError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Path::<T>::from_request_parts(parts, state)
            .await
            .map(|Path(value)| AwsPath(value))
            .map_err(path_rejection)
    }
}

fn path_rejection(rejection: PathRejection) -> AwsError {
    let PathRejection::FailedToDeserializePathParams(error) = rejection else {
        // No parameters at all: the handler sits on a route without them, a server bug.
        return AwsError::internal(rejection.body_text());
    };
    match error.into_kind() {
        ErrorKind::DeserializeError { key, message, .. } => AwsError::invalid_field(&key, message),
        ErrorKind::ParseErrorAtKey {
            key, expected_type, ..
        } => AwsError::invalid_field(&key, format!("Member must be a {expected_type}")),
        ErrorKind::InvalidUtf8InPathParam { key } => {
            AwsError::invalid_field(&key, "Member must be valid UTF-8")
        }
        // The extractor's type does not fit the route: a server bug, not the client's.
        kind @ (ErrorKind::WrongNumberOfParameters { .. } | ErrorKind::UnsupportedType { .. }) => {
            AwsError::internal(kind.to_string())
        }
        other => AwsError::validation(format!("1 validation error detected: {other}")),
    }
}

/// [`AwsJson`] for the bedrock-agent services: rejections answer in their dialect (a
/// `fieldList`, their status codes).
#[derive(Debug, Clone)]
pub struct AgentJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for AgentJson<T> {
    type Rejection = AwsError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        AwsJson::<T>::from_request(req, state)
            .await
            .map(|AwsJson(value)| AgentJson(value))
            .map_err(AwsError::for_agent)
    }
}

/// [`AwsPath`] for the bedrock-agent services.
#[derive(Debug, Clone)]
pub struct AgentPath<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for AgentPath<T> {
    type Rejection = AwsError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        AwsPath::<T>::from_request_parts(parts, state)
            .await
            .map(|AwsPath(value)| AgentPath(value))
            .map_err(AwsError::for_agent)
    }
}

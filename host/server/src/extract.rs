//! Request extractors whose rejections are Bedrock-shaped errors naming the offending field.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
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

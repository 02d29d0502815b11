//! bedrock control plane: CreateGuardrail, GetGuardrail, ListGuardrails, UpdateGuardrail,
//! DeleteGuardrail, CreateGuardrailVersion.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde::Deserialize;

use super::blocking;
use crate::error::AwsError;
use crate::extract::{AwsJson, AwsQuery};
use crate::guardrails::service::GuardrailInput;
use crate::state::AppState;

/// `POST /guardrails` → 202.
pub async fn create_guardrail(
    State(app): State<AppState>,
    AwsJson(input): AwsJson<GuardrailInput>,
) -> Result<impl IntoResponse, AwsError> {
    let guardrails = app.guardrails.clone();
    let body = blocking(move || guardrails.create(input)).await?;
    Ok((StatusCode::ACCEPTED, Json(body)))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VersionQuery {
    guardrail_version: Option<String>,
}

/// `GET /guardrails/{guardrailIdentifier}?guardrailVersion=`.
pub async fn get_guardrail(
    State(app): State<AppState>,
    Path(identifier): Path<String>,
    AwsQuery(query): AwsQuery<VersionQuery>,
) -> Result<impl IntoResponse, AwsError> {
    let body = app
        .guardrails
        .get(&identifier, query.guardrail_version.as_deref())?;
    Ok(Json(body))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListQuery {
    guardrail_identifier: Option<String>,
    max_results: Option<String>,
    next_token: Option<String>,
}

/// `GET /guardrails`.
pub async fn list_guardrails(
    State(app): State<AppState>,
    AwsQuery(query): AwsQuery<ListQuery>,
) -> Result<impl IntoResponse, AwsError> {
    let max_results = query
        .max_results
        .map(|m| {
            m.parse::<usize>()
                .map_err(|_| AwsError::invalid_field("maxResults", "Member must be an integer"))
        })
        .transpose()?;
    let body = app.guardrails.list(
        query.guardrail_identifier.as_deref(),
        max_results,
        query.next_token.as_deref(),
    )?;
    Ok(Json(body))
}

/// `PUT /guardrails/{guardrailIdentifier}` → 202.
pub async fn update_guardrail(
    State(app): State<AppState>,
    Path(identifier): Path<String>,
    AwsJson(input): AwsJson<GuardrailInput>,
) -> Result<impl IntoResponse, AwsError> {
    let guardrails = app.guardrails.clone();
    let body = blocking(move || guardrails.update(&identifier, input)).await?;
    Ok((StatusCode::ACCEPTED, Json(body)))
}

/// `DELETE /guardrails/{guardrailIdentifier}?guardrailVersion=` → 202.
pub async fn delete_guardrail(
    State(app): State<AppState>,
    Path(identifier): Path<String>,
    AwsQuery(query): AwsQuery<VersionQuery>,
) -> Result<impl IntoResponse, AwsError> {
    app.guardrails
        .delete(&identifier, query.guardrail_version.as_deref())?;
    Ok((StatusCode::ACCEPTED, Json(serde_json::json!({}))))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateVersionInput {
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    client_request_token: Option<String>,
}

/// `POST /guardrails/{guardrailIdentifier}` → 202.
pub async fn create_guardrail_version(
    State(app): State<AppState>,
    Path(identifier): Path<String>,
    AwsJson(input): AwsJson<CreateVersionInput>,
) -> Result<impl IntoResponse, AwsError> {
    let body = app.guardrails.create_version(
        &identifier,
        input.description,
        input.client_request_token,
    )?;
    Ok((StatusCode::ACCEPTED, Json(body)))
}

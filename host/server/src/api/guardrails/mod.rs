//! Bedrock Guardrails over HTTP: the control plane (bedrock) and ApplyGuardrail
//! (bedrock-runtime), each handler a thin adapter over [`mantle_guardrails::Guardrails`].
//!
//! This module is the worked example of the service pattern (`docs/architecture.md`): wire
//! shapes in [`wire`], one [`router`] with each route's operation name, handlers that take only
//! the state they use, and errors mapped in `crate::error`.

mod wire;

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use mantle_guardrails::{
    ApplyInput, CreateVersionInput, GuardrailInput, GuardrailVersion, Guardrails, ListInput,
};

use crate::api::operation::{delete, get, post, put};
use crate::error::AwsError;
use crate::extract::{AwsJson, AwsPath, AwsQuery};
use crate::state::AppState;
use wire::{ApplyPath, GuardrailPath, ListQuery, VersionQuery};

/// The guardrail routes, each with its Bedrock operation name.
pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/guardrails",
            post("CreateGuardrail", create_guardrail).merge(get("ListGuardrails", list_guardrails)),
        )
        .route(
            "/guardrails/{guardrailIdentifier}",
            get("GetGuardrail", get_guardrail)
                .merge(put("UpdateGuardrail", update_guardrail))
                .merge(delete("DeleteGuardrail", delete_guardrail))
                .merge(post("CreateGuardrailVersion", create_guardrail_version)),
        )
        .route(
            "/guardrail/{guardrailIdentifier}/version/{guardrailVersion}/apply",
            post("ApplyGuardrail", apply_guardrail),
        )
}

/// `POST /guardrails` → 202.
async fn create_guardrail(
    State(guardrails): State<Guardrails>,
    AwsJson(input): AwsJson<GuardrailInput>,
) -> Result<impl IntoResponse, AwsError> {
    let created = guardrails.create(input).await?;
    Ok((StatusCode::ACCEPTED, Json(created)))
}

/// `GET /guardrails?guardrailIdentifier=&maxResults=&nextToken=`.
async fn list_guardrails(
    State(guardrails): State<Guardrails>,
    AwsQuery(query): AwsQuery<ListQuery>,
) -> Result<impl IntoResponse, AwsError> {
    let input = ListInput::try_from(query)?;
    Ok(Json(guardrails.list(&input)?))
}

/// `GET /guardrails/{guardrailIdentifier}?guardrailVersion=`.
async fn get_guardrail(
    State(guardrails): State<Guardrails>,
    AwsPath(path): AwsPath<GuardrailPath>,
    AwsQuery(query): AwsQuery<VersionQuery>,
) -> Result<impl IntoResponse, AwsError> {
    let version = query.version()?.unwrap_or(GuardrailVersion::Draft);
    Ok(Json(guardrails.get(&path.guardrail_identifier, version)?))
}

/// `PUT /guardrails/{guardrailIdentifier}` → 202.
async fn update_guardrail(
    State(guardrails): State<Guardrails>,
    AwsPath(path): AwsPath<GuardrailPath>,
    AwsJson(input): AwsJson<GuardrailInput>,
) -> Result<impl IntoResponse, AwsError> {
    let updated = guardrails.update(&path.guardrail_identifier, input).await?;
    Ok((StatusCode::ACCEPTED, Json(updated)))
}

/// `DELETE /guardrails/{guardrailIdentifier}?guardrailVersion=` → 202.
async fn delete_guardrail(
    State(guardrails): State<Guardrails>,
    AwsPath(path): AwsPath<GuardrailPath>,
    AwsQuery(query): AwsQuery<VersionQuery>,
) -> Result<impl IntoResponse, AwsError> {
    guardrails.delete(&path.guardrail_identifier, query.version()?)?;
    Ok((StatusCode::ACCEPTED, Json(serde_json::json!({}))))
}

/// `POST /guardrails/{guardrailIdentifier}` → 202.
async fn create_guardrail_version(
    State(guardrails): State<Guardrails>,
    AwsPath(path): AwsPath<GuardrailPath>,
    AwsJson(input): AwsJson<CreateVersionInput>,
) -> Result<impl IntoResponse, AwsError> {
    let created = guardrails.create_version(&path.guardrail_identifier, input)?;
    Ok((StatusCode::ACCEPTED, Json(created)))
}

/// `POST /guardrail/{guardrailIdentifier}/version/{guardrailVersion}/apply`.
async fn apply_guardrail(
    State(guardrails): State<Guardrails>,
    AwsPath(path): AwsPath<ApplyPath>,
    AwsJson(input): AwsJson<ApplyInput>,
) -> Result<impl IntoResponse, AwsError> {
    let outcome = guardrails
        .apply(&path.guardrail_identifier, path.guardrail_version, &input)
        .await?;
    Ok(Json(outcome))
}

//! Mantle's admin API for operators, under `/admin/`:
//!
//! - `GET /admin/plugins` — every plugin version
//! - `POST /admin/plugins` — install: JSON `{"manifest": "<plugin.toml text>", "component":
//!   "<base64 .wasm>", "replace": false}`
//! - `GET /admin/plugins/{id}` — one plugin (`name` or `name@version`)
//! - `POST /admin/plugins/{id}/enable`, `POST /admin/plugins/{id}/disable`
//! - `DELETE /admin/plugins/{id}`
//! - `PUT /admin/guardrails/{id}/custom-policies` — `{"policies": [{"plugin", "config"}]}`:
//!   attaches team guardrail plugins to a guardrail's DRAFT (boto3 refuses unknown fields in
//!   CreateGuardrail, so this lives beside it).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use base64::Engine as _;
use serde::Deserialize;

use super::blocking;
use crate::error::{AwsError, ErrorCode};
use crate::extract::AwsJson;
use crate::guardrails::record::CustomPolicy;
use crate::state::AppState;

pub async fn list_plugins(State(app): State<AppState>) -> impl IntoResponse {
    Json(serde_json::json!({ "plugins": app.registry.list() }))
}

pub async fn get_plugin(
    State(app): State<AppState>,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, AwsError> {
    app.registry
        .get(&id)
        .map(Json)
        .ok_or_else(|| AwsError::not_found(format!("Plugin {id} is not installed.")))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct InstallInput {
    manifest: String,
    /// The component, base64.
    component: String,
    #[serde(default)]
    replace: bool,
}

pub async fn install_plugin(
    State(app): State<AppState>,
    AwsJson(input): AwsJson<InstallInput>,
) -> Result<impl IntoResponse, AwsError> {
    let wasm = base64::engine::general_purpose::STANDARD
        .decode(input.component.as_bytes())
        .map_err(|e| AwsError::invalid_field("component", format!("not base64: {e}")))?;
    let registry = app.registry.clone();
    let info = blocking(move || {
        registry
            .install(&input.manifest, &wasm, input.replace)
            .map_err(|e| match e {
                mantle_plugins::LoadError::AlreadyInstalled(_) => {
                    AwsError::conflict(e.to_string()).for_agent()
                }
                mantle_plugins::LoadError::Io { .. } => AwsError::internal(e.to_string()),
                other => AwsError::validation(other.to_string()),
            })
    })
    .await?;
    Ok((StatusCode::CREATED, Json(info)))
}

pub async fn enable_plugin(
    State(app): State<AppState>,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, AwsError> {
    set_enabled(&app, &id, true)
}

pub async fn disable_plugin(
    State(app): State<AppState>,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, AwsError> {
    set_enabled(&app, &id, false)
}

fn set_enabled(
    app: &AppState,
    id: &str,
    enabled: bool,
) -> Result<impl IntoResponse + use<>, AwsError> {
    match app.registry.set_enabled(id, enabled) {
        Ok(true) => Ok(Json(app.registry.get(id))),
        Ok(false) => Err(AwsError::not_found(format!(
            "Plugin {id} is not installed (use name@version)."
        ))),
        Err(e) => Err(AwsError::internal(e.to_string())),
    }
}

pub async fn remove_plugin(
    State(app): State<AppState>,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, AwsError> {
    match app.registry.remove(&id) {
        Ok(true) => Ok(StatusCode::NO_CONTENT),
        Ok(false) => Err(AwsError::not_found(format!(
            "Plugin {id} is not installed (use name@version)."
        ))),
        Err(e) => Err(AwsError::new(ErrorCode::InternalServer, e.to_string())),
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CustomPoliciesInput {
    policies: Vec<CustomPolicy>,
}

pub async fn set_custom_policies(
    State(app): State<AppState>,
    Path(id): Path<String>,
    AwsJson(input): AwsJson<CustomPoliciesInput>,
) -> Result<impl IntoResponse, AwsError> {
    let guardrails = app.guardrails.clone();
    let body = blocking(move || guardrails.set_custom_policies(&id, input.policies)).await?;
    Ok(Json(body))
}

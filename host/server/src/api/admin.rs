//! Mantle's admin API for operators, under `/admin/`:
//!
//! - `GET /admin/plugins` — every plugin version
//! - `POST /admin/plugins` — install: JSON `{"manifest": "<plugin.toml text>", "component":
//!   "<base64 .wasm>", "replace": false}`
//! - `GET /admin/plugins/{id}` — one plugin (`name` or `name@version`)
//! - `POST /admin/plugins/{id}/enable`, `POST /admin/plugins/{id}/disable`
//! - `DELETE /admin/plugins/{id}`
//! - `PUT /admin/guardrails/{guardrailIdentifier}/custom-policies` — `{"policies": [{"plugin",
//!   "config"}]}`: attaches team guardrail plugins to a guardrail's DRAFT (boto3 refuses unknown
//!   fields in CreateGuardrail, so this lives beside it).

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use base64::Engine as _;
use mantle_guardrails::{CustomPolicy, GuardrailId, Guardrails};
use mantle_plugins::Registry;
use serde::Deserialize;

use super::blocking;
use crate::api::operation::{delete, get, post, put};
use crate::error::AwsError;
use crate::extract::{AwsJson, AwsPath};
use crate::state::AppState;

/// The admin routes. Their operation names start with `Admin`: they are Mantle's, not Bedrock's.
pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/admin/plugins",
            get("AdminListPlugins", list_plugins).merge(post("AdminInstallPlugin", install_plugin)),
        )
        .route(
            "/admin/plugins/{id}",
            get("AdminGetPlugin", get_plugin).merge(delete("AdminRemovePlugin", remove_plugin)),
        )
        .route(
            "/admin/plugins/{id}/enable",
            post("AdminEnablePlugin", enable_plugin),
        )
        .route(
            "/admin/plugins/{id}/disable",
            post("AdminDisablePlugin", disable_plugin),
        )
        .route(
            "/admin/guardrails/{guardrailIdentifier}/custom-policies",
            put("AdminSetCustomPolicies", set_custom_policies),
        )
}

async fn list_plugins(State(registry): State<Arc<Registry>>) -> impl IntoResponse {
    Json(serde_json::json!({ "plugins": registry.list() }))
}

async fn get_plugin(
    State(registry): State<Arc<Registry>>,
    AwsPath(id): AwsPath<String>,
) -> Result<impl IntoResponse, AwsError> {
    registry
        .get(&id)
        .map(Json)
        .ok_or_else(|| AwsError::not_found(format!("Plugin {id} is not installed.")))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct InstallInput {
    manifest: String,
    /// The component, base64.
    component: String,
    #[serde(default)]
    replace: bool,
}

async fn install_plugin(
    State(registry): State<Arc<Registry>>,
    AwsJson(input): AwsJson<InstallInput>,
) -> Result<impl IntoResponse, AwsError> {
    let wasm = base64::engine::general_purpose::STANDARD
        .decode(input.component.as_bytes())
        .map_err(|e| AwsError::invalid_field("component", format!("not base64: {e}")))?;
    // Compiling a component takes a while: off the async workers.
    let info =
        blocking(move || Ok(registry.install(&input.manifest, &wasm, input.replace)?)).await?;
    Ok((StatusCode::CREATED, Json(info)))
}

async fn enable_plugin(
    State(registry): State<Arc<Registry>>,
    AwsPath(id): AwsPath<String>,
) -> Result<impl IntoResponse, AwsError> {
    set_enabled(&registry, &id, true)
}

async fn disable_plugin(
    State(registry): State<Arc<Registry>>,
    AwsPath(id): AwsPath<String>,
) -> Result<impl IntoResponse, AwsError> {
    set_enabled(&registry, &id, false)
}

fn set_enabled(
    registry: &Registry,
    id: &str,
    enabled: bool,
) -> Result<impl IntoResponse + use<>, AwsError> {
    match registry.set_enabled(id, enabled) {
        Ok(true) => Ok(Json(registry.get(id))),
        Ok(false) => Err(not_installed(id)),
        Err(e) => Err(AwsError::internal(e.to_string())),
    }
}

async fn remove_plugin(
    State(registry): State<Arc<Registry>>,
    AwsPath(id): AwsPath<String>,
) -> Result<impl IntoResponse, AwsError> {
    match registry.remove(&id) {
        Ok(true) => Ok(StatusCode::NO_CONTENT),
        Ok(false) => Err(not_installed(&id)),
        Err(e) => Err(AwsError::internal(e.to_string())),
    }
}

fn not_installed(id: &str) -> AwsError {
    AwsError::not_found(format!("Plugin {id} is not installed (use name@version)."))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct CustomPoliciesInput {
    policies: Vec<CustomPolicy>,
}

async fn set_custom_policies(
    State(guardrails): State<Guardrails>,
    AwsPath(id): AwsPath<GuardrailId>,
    AwsJson(input): AwsJson<CustomPoliciesInput>,
) -> Result<impl IntoResponse, AwsError> {
    Ok(Json(
        guardrails.set_custom_policies(&id, input.policies).await?,
    ))
}

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
//! - `POST /admin/keys` — `{"name", "policies"?: [IAM policy documents], "sessionToken"?: bool}`
//!   → the key with its `secretAccessKey` and `apiKey`, shown this once; `GET /admin/keys`
//! - `GET`/`DELETE /admin/keys/{name}`, `POST /admin/keys/{name}/disable|enable|rotate`,
//!   `PUT /admin/keys/{name}/policies` — `{"policies": [...]}`
//!
//! With authentication on, every route here needs the admin key (`crate::auth`).

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use base64::Engine as _;
use mantle_access::{Access, CreateKeyInput, KeyStatus, PolicyDocument};
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
        .route(
            "/admin/keys",
            post("AdminCreateKey", create_key).merge(get("AdminListKeys", list_keys)),
        )
        .route(
            "/admin/keys/{name}",
            get("AdminGetKey", get_key).merge(delete("AdminDeleteKey", delete_key)),
        )
        .route(
            "/admin/keys/{name}/disable",
            post("AdminDisableKey", disable_key),
        )
        .route(
            "/admin/keys/{name}/enable",
            post("AdminEnableKey", enable_key),
        )
        .route(
            "/admin/keys/{name}/rotate",
            post("AdminRotateKey", rotate_key),
        )
        .route(
            "/admin/keys/{name}/policies",
            put("AdminSetKeyPolicies", set_key_policies),
        )
}

// Key changes flush the store (an acknowledged key survives a crash): off the async workers.

async fn create_key(
    State(access): State<Access>,
    AwsJson(input): AwsJson<CreateKeyInput>,
) -> Result<impl IntoResponse, AwsError> {
    let key = blocking(move || Ok(access.create_key(input)?)).await?;
    Ok((StatusCode::CREATED, Json(key)))
}

async fn list_keys(State(access): State<Access>) -> Result<impl IntoResponse, AwsError> {
    let keys = blocking(move || Ok(access.list_keys()?)).await?;
    Ok(Json(serde_json::json!({ "keys": keys })))
}

async fn get_key(
    State(access): State<Access>,
    AwsPath(name): AwsPath<String>,
) -> Result<impl IntoResponse, AwsError> {
    Ok(Json(blocking(move || Ok(access.get_key(&name)?)).await?))
}

async fn delete_key(
    State(access): State<Access>,
    AwsPath(name): AwsPath<String>,
) -> Result<impl IntoResponse, AwsError> {
    blocking(move || Ok(access.delete_key(&name)?)).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn disable_key(
    State(access): State<Access>,
    AwsPath(name): AwsPath<String>,
) -> Result<impl IntoResponse, AwsError> {
    let key = blocking(move || Ok(access.set_status(&name, KeyStatus::Inactive)?)).await?;
    Ok(Json(key))
}

async fn enable_key(
    State(access): State<Access>,
    AwsPath(name): AwsPath<String>,
) -> Result<impl IntoResponse, AwsError> {
    let key = blocking(move || Ok(access.set_status(&name, KeyStatus::Active)?)).await?;
    Ok(Json(key))
}

async fn rotate_key(
    State(access): State<Access>,
    AwsPath(name): AwsPath<String>,
) -> Result<impl IntoResponse, AwsError> {
    Ok(Json(blocking(move || Ok(access.rotate_key(&name)?)).await?))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct KeyPoliciesInput {
    policies: Vec<PolicyDocument>,
}

async fn set_key_policies(
    State(access): State<Access>,
    AwsPath(name): AwsPath<String>,
    AwsJson(input): AwsJson<KeyPoliciesInput>,
) -> Result<impl IntoResponse, AwsError> {
    let key = blocking(move || Ok(access.set_policies(&name, input.policies)?)).await?;
    Ok(Json(key))
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

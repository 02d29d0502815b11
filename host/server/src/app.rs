//! The router: every API on one port, with the layers every response passes through.
//!
//! Run it as `mantle serve --listen 127.0.0.1:8080 --data-dir ./data`, or in a test:
//!
//! ```no_run
//! # async fn example(state: mantle_server::state::AppState) {
//! use tower::ServiceExt;
//! let app = mantle_server::app::router(state);
//! let request = axum::http::Request::get("/health").body(axum::body::Body::empty()).unwrap();
//! let response = app.oneshot(request).await.unwrap();
//! assert_eq!(response.status(), 200);
//! # }
//! ```

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::HeaderName;
use axum::routing::{get, post, put};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};

use crate::api::{
    admin, apply_guardrail, converse, count_tokens, foundation_models, guardrails, invoke_model,
    openai, ops,
};
use crate::error::unknown_operation;
use crate::guardrails::Guardrails;
use crate::kv::SledKv;
use crate::settings::Settings;
use crate::state::AppState;

/// Opens the store and the plugin registry under the settings' directories.
pub fn build_state(settings: Settings) -> anyhow::Result<AppState> {
    std::fs::create_dir_all(&settings.data_dir)?;
    let store = mantle_store::Store::open(&settings.data_dir.join("db"))?;
    let engine = Arc::new(mantle_plugins::PluginEngine::new(
        mantle_plugins::EngineConfig {
            cache_dir: Some(settings.data_dir.join("cache").join("components")),
            ..Default::default()
        },
    )?);
    let services = Arc::new(mantle_plugins::HostServices {
        kv: Some(Arc::new(SledKv::new(&store)?)),
        ..Default::default()
    });
    let builtins = crate::builtins::BUILTIN_PLUGINS;
    if builtins.is_empty() {
        tracing::warn!(
            "this build has no built-in plugins (build them with `cargo xtask build-plugins`, then rebuild); only installed plugins are served"
        );
    }
    let registry = mantle_plugins::Registry::open_with_builtins(
        engine,
        services,
        settings.plugins_dir.clone(),
        builtins,
    )?;
    if settings.watch_plugins {
        registry.watch()?;
    }
    let guardrails = Guardrails::new(store.clone(), registry.clone(), settings.identity.clone())
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut catalog = crate::inference::Catalog::load_defaults(&settings.model_dir);
    for (alias, target) in &settings.model_aliases {
        catalog.add_alias(alias.clone(), target.clone());
        if catalog.resolve(target).is_err() {
            tracing::warn!(%alias, %target, "model alias names a model that is not served");
        }
    }
    let models = Arc::new(catalog);
    Ok(AppState {
        models,
        settings: Arc::new(settings),
        store,
        registry,
        guardrails,
    })
}

/// Every route, with request ids, body limits and metrics.
pub fn router(state: AppState) -> Router {
    let request_id = HeaderName::from_static("x-amzn-requestid");
    let max_body = state.settings.max_body_bytes;
    Router::new()
        // bedrock (control plane)
        .route(
            "/guardrails",
            post(guardrails::create_guardrail).get(guardrails::list_guardrails),
        )
        .route(
            "/guardrails/{guardrailIdentifier}",
            get(guardrails::get_guardrail)
                .put(guardrails::update_guardrail)
                .delete(guardrails::delete_guardrail)
                .post(guardrails::create_guardrail_version),
        )
        .route(
            "/foundation-models",
            get(foundation_models::list_foundation_models),
        )
        .route(
            "/foundation-models/{modelIdentifier}",
            get(foundation_models::get_foundation_model),
        )
        .route(
            "/inference-profiles",
            get(foundation_models::list_inference_profiles),
        )
        .route(
            "/inference-profiles/{inferenceProfileIdentifier}",
            get(foundation_models::get_inference_profile),
        )
        // bedrock-runtime
        .route("/model/{modelId}/converse", post(converse::converse))
        .route(
            "/model/{modelId}/converse-stream",
            post(converse::converse_stream),
        )
        .route("/model/{modelId}/invoke", post(invoke_model::invoke_model))
        .route(
            "/model/{modelId}/invoke-with-response-stream",
            post(invoke_model::invoke_model_with_response_stream),
        )
        .route(
            "/model/{modelId}/count-tokens",
            post(count_tokens::count_tokens),
        )
        // OpenAI-compatible
        .route("/v1/chat/completions", post(openai::chat_completions))
        .route("/v1/embeddings", post(openai::embeddings))
        .route("/v1/models", get(openai::models))
        .route(
            "/guardrail/{guardrailIdentifier}/version/{guardrailVersion}/apply",
            post(apply_guardrail::apply_guardrail),
        )
        // operators
        .route("/health", get(ops::health))
        .route("/metrics", get(ops::metrics))
        .route(
            "/admin/plugins",
            get(admin::list_plugins).post(admin::install_plugin),
        )
        .route(
            "/admin/plugins/{id}",
            get(admin::get_plugin).delete(admin::remove_plugin),
        )
        .route("/admin/plugins/{id}/enable", post(admin::enable_plugin))
        .route("/admin/plugins/{id}/disable", post(admin::disable_plugin))
        .route(
            "/admin/guardrails/{id}/custom-policies",
            put(admin::set_custom_policies),
        )
        .fallback(unknown_operation)
        .layer(axum::middleware::from_fn(crate::telemetry::track))
        .layer(DefaultBodyLimit::max(max_body))
        .layer(PropagateRequestIdLayer::new(request_id.clone()))
        .layer(SetRequestIdLayer::new(request_id, MakeRequestUuid))
        .with_state(state)
}

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
use mantle_guardrails::{ArnScope, Guardrails};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};

use crate::api::{admin, flows, foundation_models, guardrails, knowledge, ops, prompts, runtime};
use crate::auth::Auth;
use crate::error::{method_not_allowed, unknown_operation};
use crate::kv::SledKv;
use crate::settings::{AuthMode, Settings};
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
    // The catalog comes first: plugins granted `models` call the same engines the API serves.
    let mut catalog = mantle_inference::Catalog::load_defaults(&settings.model_dir);
    for (alias, target) in &settings.model_aliases {
        catalog.add_alias(alias.clone(), target.clone());
        if catalog.resolve(target).is_err() {
            tracing::warn!(%alias, %target, "model alias names a model that is not served");
        }
    }
    let models = Arc::new(catalog);
    let plugin_knowledge = Arc::new(crate::plugin_knowledge::PluginKnowledge::default());
    let services = Arc::new(mantle_plugins::HostServices {
        kv: Some(Arc::new(SledKv::new(&store)?)),
        models: Some(Arc::new(
            mantle_inference::plugin_models::PluginModels::new(models.clone()),
        )),
        knowledge: Some(plugin_knowledge.clone()),
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
    let scope = ArnScope {
        region: settings.identity.region.clone(),
        account: settings.identity.account.clone(),
    };
    let guardrails = Guardrails::new(store.clone(), registry.clone(), scope.clone())?;
    let knowledge = mantle_knowledge::Knowledge::open(
        store.clone(),
        registry.clone(),
        models.clone(),
        guardrails.clone(),
        scope.clone(),
        knowledge_dirs(&settings),
    )?;
    let prompts = mantle_flows::Prompts::open(store.clone(), scope.clone())?;
    let flows = mantle_flows::Flows::open(
        store.clone(),
        scope,
        mantle_flows::FlowServices {
            prompts: prompts.clone(),
            models: models.clone(),
            knowledge: knowledge.clone(),
            guardrails: guardrails.clone(),
            registry: registry.clone(),
        },
    )?;
    knowledge.set_crawl_private_networks(settings.crawl_private_networks);
    let auth = open_auth(&settings, store.clone())?;
    plugin_knowledge.bind(knowledge.clone());
    Ok(AppState {
        knowledge,
        prompts,
        flows,
        models,
        settings: Arc::new(settings),
        store,
        registry,
        guardrails,
        auth,
    })
}

/// The keys, and whether they are required. A network address with auth on by default but no
/// admin key to manage keys with is refused: nobody could call it, and an operator who meant
/// to open it should say so.
fn open_auth(settings: &Settings, store: mantle_store::Store) -> anyhow::Result<Auth> {
    let scope = ArnScope {
        region: settings.identity.region.clone(),
        account: settings.identity.account.clone(),
    };
    let access =
        mantle_access::Access::open(store, &settings.data_dir.join("access.key"), scope.clone())?;
    if let Some(key) = &settings.admin_key {
        access.set_admin_key(key)?;
    }
    let enabled = settings.auth_enabled()?;
    if enabled {
        if settings.auth == AuthMode::Auto && !access.has_admin_key() {
            anyhow::bail!(
                "{} is not a loopback address, so requests must be authenticated, and there is no admin key to create keys with: set MANTLE_ADMIN_KEY (or --admin-key), start with --auth required to have one made and printed once, or --insecure-no-auth to serve without authentication",
                settings.listen
            );
        }
        if let Some(generated) = access.ensure_admin_key()? {
            // Shown once (only its hash is kept), on stderr: stdout's first line is the address.
            eprintln!("mantle admin key (shown once; keep it): {generated}");
        }
        tracing::info!("authentication required: SigV4 or an API key on every request");
    } else if !settings.listen.ip().is_loopback() {
        tracing::warn!(listen = %settings.listen, "serving a network address WITHOUT authentication (--insecure-no-auth)");
    }
    Ok(Auth::new(access, enabled, scope, settings.max_body_bytes))
}

/// The knowledge service's files under the data dir, its `s3://` URIs read from the configured
/// S3-compatible service when there is one.
fn knowledge_dirs(settings: &Settings) -> mantle_knowledge::KnowledgeDirs {
    let mut dirs = mantle_knowledge::KnowledgeDirs::under(&settings.data_dir);
    if let Some(s3) = &settings.s3 {
        dirs.buckets = mantle_knowledge::BucketSource::S3(s3.clone());
    }
    dirs
}

/// Every route, with request ids, body limits and metrics. Each API family brings its own
/// router, its routes named by operation (`crate::api::operation`).
pub fn router(state: AppState) -> Router {
    let request_id = HeaderName::from_static("x-amzn-requestid");
    let max_body = state.settings.max_body_bytes;
    Router::new()
        // bedrock (control plane) and ApplyGuardrail (bedrock-runtime)
        .merge(guardrails::router())
        .merge(foundation_models::router())
        // bedrock-agent and bedrock-agent-runtime: knowledge bases
        .merge(knowledge::router())
        // bedrock-agent: prompt management
        .merge(prompts::router())
        .merge(flows::router())
        // bedrock-runtime model operations and the OpenAI-compatible surface
        .merge(runtime::router())
        // operators
        .merge(ops::router())
        .merge(admin::router())
        .fallback(unknown_operation)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::middleware::from_fn_with_state(
            state.auth.clone(),
            crate::auth::authenticate,
        ))
        .layer(axum::middleware::from_fn(crate::telemetry::track))
        .layer(DefaultBodyLimit::max(max_body))
        .layer(PropagateRequestIdLayer::new(request_id.clone()))
        .layer(SetRequestIdLayer::new(request_id, MakeRequestUuid))
        .with_state(state)
}

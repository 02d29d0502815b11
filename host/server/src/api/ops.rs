//! Operator endpoints outside the Bedrock surface: `GET /health`, `GET /metrics`.

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use mantle_plugins::Registry;

use crate::api::operation::get;
use crate::state::AppState;

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/health", get("Health", health))
        .route("/metrics", get("Metrics", metrics))
}

/// `GET /health`: the server is up and its plugins are loaded.
async fn health(State(registry): State<Arc<Registry>>) -> impl IntoResponse {
    Json(serde_json::json!({
        "status": "ok",
        "plugins": registry.list().len(),
        "version": env!("CARGO_PKG_VERSION"),
    }))
}

/// `GET /metrics`: Prometheus text.
async fn metrics() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        crate::telemetry::render_metrics(),
    )
}

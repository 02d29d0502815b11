//! Operator endpoints outside the Bedrock surface: `GET /health`, `GET /metrics`.

use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;

use crate::state::AppState;

/// `GET /health`: the server is up and its store answers.
pub async fn health(State(app): State<AppState>) -> impl IntoResponse {
    Json(serde_json::json!({
        "status": "ok",
        "plugins": app.registry.list().len(),
        "version": env!("CARGO_PKG_VERSION"),
    }))
}

/// `GET /metrics`: Prometheus text.
pub async fn metrics() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        crate::telemetry::render_metrics(),
    )
}

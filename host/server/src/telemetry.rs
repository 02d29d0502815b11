//! Logs (tracing) and metrics (Prometheus), and the layer that counts every request by
//! Bedrock operation and status.

use std::sync::OnceLock;
use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::Response;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

static METRICS: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// Installs the process-wide metrics recorder (once; later calls are no-ops).
pub fn init_metrics() {
    METRICS.get_or_init(|| {
        let buckets = [
            0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1,
            0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
        ];
        PrometheusBuilder::new()
            .set_buckets(&buckets)
            .and_then(|b| b.install_recorder())
            .inspect_err(|e| tracing::warn!(error = %e, "metrics recorder not installed"))
            .ok()
    });
}

/// The metrics in Prometheus text format.
pub fn render_metrics() -> String {
    match METRICS.get() {
        Some(Some(handle)) => handle.render(),
        _ => String::new(),
    }
}

/// Structured logs to stderr; `MANTLE_LOG` (or `RUST_LOG`) filters, `MANTLE_LOG_FORMAT=json`
/// switches to JSON lines.
pub fn init_logging() {
    use tracing_subscriber::EnvFilter;
    let filter = std::env::var("MANTLE_LOG")
        .ok()
        .or_else(|| std::env::var("RUST_LOG").ok())
        .unwrap_or_else(|| "info".into());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::new(filter))
        .with_writer(std::io::stderr);
    let result = if std::env::var("MANTLE_LOG_FORMAT").as_deref() == Ok("json") {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
    // A second init (tests start many servers in one process) keeps the first subscriber.
    drop(result);
}

/// The Bedrock operation a route serves, for metrics and logs.
pub fn operation(method: &str, path: &str) -> &'static str {
    match (method, path) {
        ("POST", "/guardrails") => "CreateGuardrail",
        ("GET", "/guardrails") => "ListGuardrails",
        ("GET", "/guardrails/{guardrailIdentifier}") => "GetGuardrail",
        ("PUT", "/guardrails/{guardrailIdentifier}") => "UpdateGuardrail",
        ("DELETE", "/guardrails/{guardrailIdentifier}") => "DeleteGuardrail",
        ("POST", "/guardrails/{guardrailIdentifier}") => "CreateGuardrailVersion",
        ("POST", "/guardrail/{guardrailIdentifier}/version/{guardrailVersion}/apply") => {
            "ApplyGuardrail"
        }
        ("GET", "/foundation-models") => "ListFoundationModels",
        ("GET", "/foundation-models/{modelIdentifier}") => "GetFoundationModel",
        ("GET", "/inference-profiles") => "ListInferenceProfiles",
        ("GET", "/inference-profiles/{inferenceProfileIdentifier}") => "GetInferenceProfile",
        ("POST", "/model/{modelId}/converse") => "Converse",
        ("POST", "/model/{modelId}/converse-stream") => "ConverseStream",
        ("POST", "/model/{modelId}/invoke") => "InvokeModel",
        ("POST", "/model/{modelId}/invoke-with-response-stream") => "InvokeModelWithResponseStream",
        ("POST", "/model/{modelId}/count-tokens") => "CountTokens",
        ("POST", "/v1/chat/completions") => "OpenAIChatCompletions",
        ("POST", "/v1/embeddings") => "OpenAIEmbeddings",
        ("GET", "/v1/models") => "OpenAIModels",
        ("GET", "/health") => "Health",
        ("GET", "/metrics") => "Metrics",
        (_, p) if p.starts_with("/admin/") => "Admin",
        _ => "Unknown",
    }
}

/// Counts and times each request by operation and status, and logs it.
pub async fn track(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().as_str().to_owned();
    let path = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_default();
    let operation = operation(&method, &path);
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    let elapsed = started.elapsed();
    metrics::counter!("mantle_requests_total", "operation" => operation, "status" => status.clone())
        .increment(1);
    metrics::histogram!("mantle_request_duration_seconds", "operation" => operation)
        .record(elapsed.as_secs_f64());
    tracing::info!(operation, %method, path, status, elapsed_us = elapsed.as_micros() as u64, "request");
    response
}

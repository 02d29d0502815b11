//! A real server on a random loopback port: health, metrics, request ids, the admin API.

use mantle_tests::{TestServer, data_dir_with_builtins};
use serde_json::Value;

#[test]
fn health_metrics_and_request_ids() {
    let server = TestServer::start(data_dir_with_builtins());
    let client = reqwest::blocking::Client::new();
    let health = client.get(server.url("/health")).send().unwrap();
    assert!(health.headers().contains_key("x-amzn-requestid"));
    let health: Value = health.json().unwrap();
    assert_eq!(health["status"], "ok");
    assert!(health["plugins"].as_u64().unwrap() >= 5);

    let missing = client.get(server.url("/guardrails/nosuch")).send().unwrap();
    assert_eq!(missing.status(), 404);
    assert_eq!(
        missing.headers()["x-amzn-errortype"],
        "ResourceNotFoundException"
    );

    let plugins: Value = client
        .get(server.url("/admin/plugins"))
        .send()
        .unwrap()
        .json()
        .unwrap();
    let ids: Vec<&str> = plugins["plugins"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap())
        .collect();
    assert!(ids.contains(&"word-filter@0.1.0"), "{ids:?}");

    let metrics = client
        .get(server.url("/metrics"))
        .send()
        .unwrap()
        .text()
        .unwrap();
    assert!(metrics.contains("mantle_requests_total"), "{metrics}");
    assert!(metrics.contains("operation=\"GetGuardrail\""), "{metrics}");
    assert!(metrics.contains("mantle_plugin_loads_total"), "{metrics}");
}

#[test]
fn oversized_bodies_are_refused() {
    let server = TestServer::start(data_dir_with_builtins());
    let client = reqwest::blocking::Client::new();
    let body = format!("{{\"name\": \"{}\"}}", "x".repeat(3 * 1024 * 1024));
    let response = client
        .post(server.url("/guardrails"))
        .header("content-type", "application/json")
        .body(body)
        .send()
        .unwrap();
    assert_eq!(response.status(), 400);
    assert_eq!(
        response.headers()["x-amzn-errortype"],
        "ValidationException"
    );
}

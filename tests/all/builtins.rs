//! A bare server — an empty data dir, nothing installed — serves the built-in plugins compiled
//! into the binary; an installed plugin of the same name takes over from the built-in.

use mantle_tests::{TestServer, plugin_dist};
use serde_json::{Value, json};

fn plugins(server: &TestServer) -> Vec<Value> {
    let listed: Value = reqwest::blocking::get(server.url("/admin/plugins"))
        .unwrap()
        .json()
        .unwrap();
    listed["plugins"].as_array().unwrap().clone()
}

fn apply(client: &reqwest::blocking::Client, server: &TestServer, id: &str, text: &str) -> Value {
    let response = client
        .post(server.url(&format!("/guardrail/{id}/version/DRAFT/apply")))
        .json(&json!({"source": "INPUT", "content": [{"text": {"text": text}}]}))
        .send()
        .unwrap();
    assert_eq!(response.status(), 200);
    response.json().unwrap()
}

#[test]
fn an_empty_data_dir_serves_the_built_in_plugins() {
    let server = TestServer::start(tempfile::tempdir().unwrap());
    let installed = std::fs::read_dir(server.data.path().join("plugins"))
        .unwrap()
        .count();
    assert_eq!(installed, 0, "nothing is installed in a fresh data dir");

    // Every plugin of plugins/dist is in the binary, listed as built-in.
    let listed = plugins(&server);
    let mut expected: Vec<String> = std::fs::read_dir(plugin_dist())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    expected.sort();
    let builtins: Vec<&str> = listed
        .iter()
        .filter(|p| p["source"] == "builtin")
        .map(|p| p["id"].as_str().unwrap())
        .collect();
    assert_eq!(builtins, expected);

    let client = reqwest::blocking::Client::new();
    let created: Value = client
        .post(server.url("/guardrails"))
        .json(&json!({
            "name": "bare",
            "wordPolicyConfig": {"wordsConfig": [{"text": "project aurora"}]},
            "sensitiveInformationPolicyConfig": {
                "piiEntitiesConfig": [{"type": "EMAIL", "action": "ANONYMIZE"}]
            },
            "blockedInputMessaging": "no",
            "blockedOutputsMessaging": "no",
        }))
        .send()
        .unwrap()
        .json()
        .unwrap();
    let id = created["guardrailId"].as_str().unwrap();

    let blocked = apply(&client, &server, id, "tell me about Project Aurora");
    assert_eq!(blocked["action"], "GUARDRAIL_INTERVENED");
    assert_eq!(blocked["outputs"], json!([{"text": "no"}]));
    let masked = apply(&client, &server, id, "mail bob@example.com");
    assert_eq!(masked["outputs"], json!([{"text": "mail {EMAIL}"}]));
    let clean = apply(&client, &server, id, "hello");
    assert_eq!(clean["action"], "NONE");
}

#[test]
fn an_installed_plugin_overrides_the_built_in_of_its_name() {
    let server = TestServer::start(tempfile::tempdir().unwrap());
    let client = reqwest::blocking::Client::new();
    let dist = plugin_dist().join("word-filter@0.1.0");
    let manifest = std::fs::read_to_string(dist.join("plugin.toml"))
        .unwrap()
        .replace("version = \"0.1.0\"", "version = \"0.0.9\"");
    let wasm = std::fs::read(dist.join("plugin.wasm")).unwrap();
    use base64::Engine as _;
    let installed = client
        .post(server.url("/admin/plugins"))
        .json(&json!({
            "manifest": manifest,
            "component": base64::engine::general_purpose::STANDARD.encode(&wasm),
        }))
        .send()
        .unwrap();
    assert_eq!(installed.status(), 201, "{}", installed.text().unwrap());

    let active = |server: &TestServer| -> Value {
        reqwest::blocking::get(server.url("/admin/plugins/word-filter"))
            .unwrap()
            .json()
            .unwrap()
    };
    // Installed wins over built-in even at a lower version: an operator's copy is deliberate.
    let got = active(&server);
    assert_eq!(
        (got["id"].as_str(), got["source"].as_str()),
        (Some("word-filter@0.0.9"), Some("installed"))
    );

    // Both stay listed; disabling the installed one brings the built-in back.
    let word_filters: Vec<(String, String)> = plugins(&server)
        .iter()
        .filter(|p| p["name"] == "word-filter")
        .map(|p| {
            (
                p["id"].as_str().unwrap().to_owned(),
                p["source"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        word_filters,
        [
            ("word-filter@0.0.9".to_owned(), "installed".to_owned()),
            ("word-filter@0.1.0".to_owned(), "builtin".to_owned())
        ]
    );
    let disabled = client
        .post(server.url("/admin/plugins/word-filter@0.0.9/disable"))
        .send()
        .unwrap();
    assert_eq!(disabled.status(), 200);
    let got = active(&server);
    assert_eq!(
        (got["id"].as_str(), got["source"].as_str()),
        (Some("word-filter@0.1.0"), Some("builtin"))
    );

    // A built-in is not something the admin API can remove.
    let removed = client
        .delete(server.url("/admin/plugins/word-filter@0.1.0"))
        .send()
        .unwrap();
    assert_eq!(removed.status(), 404);
}

//! Swapping a guardrail plugin while ApplyGuardrail runs at concurrency 16: no request fails,
//! and the new version's behaviour shows right after the swap.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use base64::Engine as _;
use mantle_tests::{TestServer, data_dir_with_builtins, fixture_dist};
use serde_json::{Value, json};

fn fixture_version(version: &str) -> std::path::PathBuf {
    fixture_dist().join(format!("custom-bank-policy@{version}"))
}

fn install_body(dir: &std::path::Path) -> Value {
    json!({
        "manifest": std::fs::read_to_string(dir.join("plugin.toml")).unwrap(),
        "component": base64::engine::general_purpose::STANDARD
            .encode(std::fs::read(dir.join("plugin.wasm")).unwrap()),
    })
}

#[test]
fn hot_swap_under_load_drops_nothing() {
    let server = TestServer::start(data_dir_with_builtins());
    let client = reqwest::blocking::Client::new();
    let installed = client
        .post(server.url("/admin/plugins"))
        .json(&install_body(&fixture_version("0.1.0")))
        .send()
        .unwrap();
    assert_eq!(installed.status(), 201, "{}", installed.text().unwrap());

    let created: Value = client
        .post(server.url("/guardrails"))
        .json(&json!({
            "name": "bank",
            "blockedInputMessaging": "blocked",
            "blockedOutputsMessaging": "blocked",
        }))
        .send()
        .unwrap()
        .json()
        .unwrap();
    let id = created["guardrailId"].as_str().unwrap().to_owned();
    let attached = client
        .put(server.url(&format!("/admin/guardrails/{id}/custom-policies")))
        .json(&json!({ "policies": [{ "plugin": "custom-bank-policy", "config": {"action": "ANONYMIZE"} }] }))
        .send()
        .unwrap();
    assert_eq!(attached.status(), 200, "{}", attached.text().unwrap());

    let apply_url = server.url(&format!("/guardrail/{id}/version/DRAFT/apply"));
    let body = json!({ "source": "INPUT", "content": [{ "text": { "text": "pay ACME-9876543210 now" } }] });
    let stop = Arc::new(AtomicBool::new(false));
    let failures = Arc::new(AtomicUsize::new(0));
    let done = Arc::new(AtomicUsize::new(0));
    let outcomes: Vec<_> = (0..16)
        .map(|_| {
            let (client, url, body) = (client.clone(), apply_url.clone(), body.clone());
            let (stop, failures, done) = (stop.clone(), failures.clone(), done.clone());
            std::thread::spawn(move || {
                let mut actions = Vec::new();
                while !stop.load(Ordering::Relaxed) {
                    match client.post(&url).json(&body).send() {
                        Ok(r) if r.status() == 200 => {
                            let v: Value = r.json().unwrap();
                            actions.push(
                                v["outputs"][0]["text"]
                                    .as_str()
                                    .unwrap_or_default()
                                    .to_owned(),
                            );
                            done.fetch_add(1, Ordering::Relaxed);
                        }
                        Ok(r) => {
                            eprintln!("failed: {} {}", r.status(), r.text().unwrap_or_default());
                            failures.fetch_add(1, Ordering::Relaxed);
                        }
                        Err(e) => {
                            eprintln!("failed: {e}");
                            failures.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
                actions
            })
        })
        .collect();

    while done.load(Ordering::Relaxed) < 200 {
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let swapped = client
        .post(server.url("/admin/plugins"))
        .json(&install_body(&fixture_version("0.2.0")))
        .send()
        .unwrap();
    assert_eq!(swapped.status(), 201, "{}", swapped.text().unwrap());

    // Right after the swap, a new request sees version 0.2.0's behaviour (it always blocks).
    let after: Value = client
        .post(&apply_url)
        .json(&body)
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(after["outputs"][0]["text"], "blocked", "{after}");

    let before_stop = done.load(Ordering::Relaxed);
    while done.load(Ordering::Relaxed) < before_stop + 200 {
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    stop.store(true, Ordering::Relaxed);
    let outputs: Vec<String> = outcomes
        .into_iter()
        .flat_map(|t| t.join().unwrap())
        .collect();
    assert_eq!(
        failures.load(Ordering::Relaxed),
        0,
        "no request may fail during a swap"
    );
    assert!(
        outputs.iter().any(|o| o == "pay {ACME_ACCOUNT} now"),
        "v1 answered before"
    );
    assert!(outputs.iter().any(|o| o == "blocked"), "v2 answered after");
}

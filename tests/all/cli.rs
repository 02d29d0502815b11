//! The operator commands (`mantle plugin …`, `mantle guardrail attach`) against a real server,
//! and `mantle plugin new`'s crate layout.

use mantle_tests::{TestServer, data_dir_with_builtins, fixture_dist};
use serde_json::Value;

fn mantle(args: &[&str]) -> anyhow::Result<()> {
    let mut argv = vec!["mantle".to_owned()];
    argv.extend(args.iter().map(|a| (*a).to_owned()));
    mantle_server::cli::run(argv.into_iter().map(Into::into))
}

fn plugin_ids(server: &TestServer) -> Vec<(String, bool)> {
    let listed: Value = reqwest::blocking::get(server.url("/admin/plugins"))
        .unwrap()
        .json()
        .unwrap();
    listed["plugins"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["id"].as_str().unwrap().to_owned(),
                p["enabled"].as_bool().unwrap(),
            )
        })
        .collect()
}

#[test]
fn plugin_commands_drive_the_admin_api() {
    let server = TestServer::start(data_dir_with_builtins());
    let url = server.url("");
    let dir = fixture_dist().join("custom-bank-policy@0.1.0");
    let dir = dir.to_str().unwrap();
    mantle(&["plugin", "install", dir, "--server", &url]).unwrap();
    assert!(plugin_ids(&server).contains(&("custom-bank-policy@0.1.0".into(), true)));
    // Installing the same version again is refused unless replacing.
    assert!(mantle(&["plugin", "install", dir, "--server", &url]).is_err());
    mantle(&["plugin", "install", dir, "--replace", "--server", &url]).unwrap();
    mantle(&["plugin", "list", "--server", &url]).unwrap();

    mantle(&[
        "plugin",
        "disable",
        "custom-bank-policy@0.1.0",
        "--server",
        &url,
    ])
    .unwrap();
    assert!(plugin_ids(&server).contains(&("custom-bank-policy@0.1.0".into(), false)));
    mantle(&[
        "plugin",
        "enable",
        "custom-bank-policy@0.1.0",
        "--server",
        &url,
    ])
    .unwrap();

    let created: Value = reqwest::blocking::Client::new()
        .post(server.url("/guardrails"))
        .json(&serde_json::json!({"name": "cli", "blockedInputMessaging": "no", "blockedOutputsMessaging": "no"}))
        .send()
        .unwrap()
        .json()
        .unwrap();
    let id = created["guardrailId"].as_str().unwrap();
    mantle(&[
        "guardrail",
        "attach",
        id,
        "--plugin",
        "custom-bank-policy",
        "--config",
        r#"{"action":"BLOCK"}"#,
        "--server",
        &url,
    ])
    .unwrap();
    let bad = mantle(&[
        "guardrail",
        "attach",
        id,
        "--plugin",
        "custom-bank-policy",
        "--config",
        r#"{"action":"SHRUG"}"#,
        "--server",
        &url,
    ]);
    assert!(bad.unwrap_err().to_string().contains("ValidationException"));

    mantle(&[
        "plugin",
        "remove",
        "custom-bank-policy@0.1.0",
        "--server",
        &url,
    ])
    .unwrap();
    assert!(
        !plugin_ids(&server)
            .iter()
            .any(|(id, _)| id.starts_with("custom-bank-policy"))
    );
    assert!(
        mantle(&[
            "plugin",
            "remove",
            "custom-bank-policy@0.1.0",
            "--server",
            &url
        ])
        .is_err()
    );
}

#[test]
fn plugin_new_writes_a_buildable_crate_layout() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("team-policy");
    let sdk = mantle_tests::repo_root().join("sdk");
    mantle(&[
        "plugin",
        "new",
        "guardrail",
        "team-policy",
        "--dir",
        target.to_str().unwrap(),
        "--sdk",
        sdk.to_str().unwrap(),
    ])
    .unwrap();
    let manifest = mantle_plugins::Manifest::load(&target.join("plugin.toml")).unwrap();
    assert_eq!(manifest.id(), "team-policy@0.1.0");
    // A new plugin targets the newest contract, and is fresh per call until it opts in.
    assert_eq!(manifest.wit, mantle_plugins::WitVersion::LATEST.as_str());
    assert_eq!(
        manifest.instance_reuse,
        mantle_plugins::InstanceReuse::Fresh
    );
    assert_eq!(
        manifest.component,
        "target/wasm32-wasip2/release/team_policy.wasm"
    );
    let cargo = std::fs::read_to_string(target.join("Cargo.toml")).unwrap();
    assert!(cargo.contains("crate-type = [\"cdylib\", \"rlib\"]") && cargo.contains("[workspace]"));
    assert!(
        std::fs::read_to_string(target.join("src/lib.rs"))
            .unwrap()
            .contains("export_guardrail!")
    );
    assert!(
        mantle(&[
            "plugin",
            "new",
            "guardrail",
            "team-policy",
            "--dir",
            target.to_str().unwrap()
        ])
        .is_err(),
        "never overwrites"
    );
    assert!(
        mantle(&[
            "plugin",
            "new",
            "guardrail",
            "Bad Name",
            "--dir",
            dir.path().join("x").to_str().unwrap()
        ])
        .is_err()
    );
}

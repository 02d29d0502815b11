//! `mantle plugin new guardrail NAME`: a plugin crate that builds with
//! `cargo build --target wasm32-wasip2 --release`, tests with `cargo test`, and installs with
//! `mantle plugin install .`.

use std::path::Path;

use anyhow::{Context, bail};

/// Writes a new guardrail plugin crate named `name` into `dir`.
pub fn new_guardrail(name: &str, dir: &Path, sdk: &Path) -> anyhow::Result<()> {
    if name.is_empty()
        || !name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        bail!("plugin name `{name}` must be made of a-z, 0-9 and -");
    }
    if dir.exists() && dir.read_dir()?.next().is_some() {
        bail!("{} already exists and is not empty", dir.display());
    }
    let sdk = crate::cli::absolute(sdk).context(
        "cannot find mantle-sdk; pass --sdk PATH to the sdk/ folder of a Mantle checkout",
    )?;
    let crate_name = name.replace('-', "_");
    std::fs::create_dir_all(dir.join("src"))?;
    let files = [
        ("Cargo.toml", cargo_toml(name, &sdk)),
        ("plugin.toml", manifest(name, &crate_name)),
        ("src/lib.rs", LIB_RS.to_owned()),
        (".gitignore", "/target\n".to_owned()),
    ];
    for (file, text) in files {
        std::fs::write(dir.join(file), text)
            .with_context(|| format!("cannot write {}", dir.join(file).display()))?;
    }
    Ok(())
}

fn cargo_toml(name: &str, sdk: &Path) -> String {
    format!(
        r#"[package]
name = "{name}"
version = "0.1.0"
edition = "2024"

[lib]
crate-type = ["cdylib", "rlib"]

[dependencies]
mantle-sdk = {{ path = "{sdk}" }}
serde = {{ version = "1", features = ["derive"] }}
serde_json = "1"

# A plugin is its own workspace, wherever it is created.
[workspace]

[profile.release]
opt-level = 3
lto = true
codegen-units = 1
strip = true
"#,
        sdk = sdk.display()
    )
}

fn manifest(name: &str, crate_name: &str) -> String {
    format!(
        r#"name = "{name}"
version = "0.1.0"
kind = "guardrail"
wit = "{wit}"
description = "A team guardrail policy"
component = "target/wasm32-wasip2/release/{crate_name}.wasm"
# Every call gets a fresh instance. If the policy keeps no per-request state in memory, reuse
# instances across calls (saves the instantiation per call):
# instance-reuse = "warm"

# Host imports this plugin may use; everything else is denied.
[capabilities]
log = false

[limits]
memory-mib = 32
timeout-ms = 200
output-kib = 256
"#,
        wit = mantle_plugins::WitVersion::LATEST
    )
}

const LIB_RS: &str = r#"//! A guardrail policy: blocks or masks the phrases listed in its configuration.
//!
//! Configuration (set with `mantle guardrail attach <id> --plugin <name> --config '…'`):
//! `{"phrases": ["project aurora"], "action": "BLOCK" | "ANONYMIZE"}`

use mantle_sdk::guardrail::{Action, AssessRequest, Assessment, Finding, Guest, PolicyKind};
use mantle_sdk::PluginError;
use serde::Deserialize;

#[derive(Deserialize)]
struct Config {
    phrases: Vec<String>,
    #[serde(default = "default_action")]
    action: String,
}

fn default_action() -> String {
    "BLOCK".to_owned()
}

struct Policy;

impl Guest for Policy {
    fn assess(request: AssessRequest) -> Result<Assessment, PluginError> {
        let config: Config = request.config()?;
        let action = match config.action.as_str() {
            "BLOCK" => Action::Block,
            "ANONYMIZE" => Action::Anonymize,
            other => return Err(PluginError::invalid_config(format!("action `{other}` is not BLOCK or ANONYMIZE"))),
        };
        let mut findings = Vec::new();
        for (index, block) in request.guarded_blocks() {
            let lower = block.text.to_lowercase();
            for phrase in &config.phrases {
                let needle = phrase.to_lowercase();
                if needle.is_empty() || lower.len() != block.text.len() {
                    continue;
                }
                for (start, _) in lower.match_indices(&needle) {
                    let matched = &block.text[start..start + needle.len()];
                    findings.push(
                        Finding::new(PolicyKind::SensitiveInformation, "REGEX", index, start, matched)
                            .with_name("confidential-phrase")
                            .with_attribute("regex", phrase.clone())
                            .with_action(action),
                    );
                }
            }
        }
        Ok(Assessment { findings })
    }
}

mantle_sdk::export_guardrail!(Policy);

#[cfg(test)]
mod tests {
    use super::*;
    use mantle_sdk::testkit;
    use serde_json::json;

    #[test]
    fn masks_configured_phrases() {
        let request = testkit::input(
            &["Status of Project Aurora?"],
            json!({ "phrases": ["project aurora"], "action": "ANONYMIZE" }),
        );
        let assessment = Policy::assess(request.clone()).unwrap();
        assert_eq!(assessment.findings.len(), 1);
        assert_eq!(
            testkit::anonymized(&request, &assessment.findings),
            ["Status of {confidential-phrase}?"]
        );
    }

    #[test]
    fn rejects_an_unknown_action() {
        let request = testkit::input(&[], json!({ "phrases": [], "action": "SHRUG" }));
        assert_eq!(Policy::assess(request).unwrap_err().code, "invalid-config");
    }
}
"#;

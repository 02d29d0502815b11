//! WIT versions that are real: frozen folders stay byte-identical, a plugin built against
//! 0.1.0 runs beside 0.2.0 ones, and a manifest that misstates its component's version is
//! refused.

use std::sync::Arc;

use mantle_plugins::plugin::guardrail_api::{Action, AssessRequest, Source, TextBlock};
use mantle_plugins::{LoadError, LoadedPlugin, WitVersion};
use mantle_tests::{fixture, repo_root};
use sha2::{Digest, Sha256};

use crate::{block, builtin, engine, load, services};

/// Every file of every released WIT folder has the checksum recorded when it was released, and
/// no file was added to one since.
#[test]
fn frozen_wit_folders_are_byte_identical() {
    let wit = repo_root().join("wit");
    let list = std::fs::read_to_string(wit.join("frozen.sha256")).unwrap();
    let mut listed = Vec::new();
    for line in list
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
    {
        let (sum, path) = line.split_once("  ").expect("`<sha256>  <path>` lines");
        let bytes = std::fs::read(wit.join(path)).unwrap_or_else(|e| panic!("{path}: {e}"));
        assert_eq!(
            hex::encode(Sha256::digest(&bytes)),
            sum,
            "{path} changed: a released WIT folder is frozen; put changes in a new version"
        );
        listed.push(path.to_owned());
    }
    for version in WitVersion::ALL {
        let folder = format!("mantle-plugin@{version}");
        let mut files: Vec<String> = std::fs::read_dir(wit.join(&folder))
            .unwrap_or_else(|e| panic!("{folder}: {e}"))
            .flatten()
            .map(|e| format!("{folder}/{}", e.file_name().to_string_lossy()))
            .collect();
        files.sort();
        for file in files {
            assert!(listed.contains(&file), "{file} is not in wit/frozen.sha256");
        }
    }
}

fn request(text: &str) -> AssessRequest {
    AssessRequest {
        source: Source::Input,
        content: vec![TextBlock {
            text: text.into(),
            qualifiers: vec![],
        }],
        config: r#"{"wordsConfig":[{"text":"forbidden"}]}"#.into(),
    }
}

#[test]
fn a_plugin_built_against_0_1_0_runs_beside_0_2_0_plugins() {
    let legacy = Arc::new(load(&fixture("legacy-guardrail")).unwrap());
    let current = Arc::new(load(&builtin("word-filter")).unwrap());
    assert_eq!(legacy.wit(), WitVersion::V0_1_0);
    assert_eq!(current.wit(), WitVersion::V0_2_0);
    block(async {
        let calls: Vec<_> = (0..8)
            .map(|_| {
                let (legacy, current) = (legacy.clone(), current.clone());
                tokio::spawn(async move {
                    let text = "a legacy and a forbidden word";
                    (
                        legacy.assess(&request(text)).await.unwrap(),
                        current.assess(&request(text)).await.unwrap(),
                    )
                })
            })
            .collect();
        for call in calls {
            let (old, new) = call.await.unwrap();
            // The 0.1.0 answer arrives in 0.2.0 types, span and action intact.
            let finding = &old.findings[0];
            assert_eq!((finding.span.start, finding.span.end), (2, 8));
            assert_eq!(finding.action, Action::Block);
            assert_eq!(finding.matched, "legacy");
            assert_eq!(new.findings[0].matched, "forbidden");
        }
        // Its 0.1.0 kv import reached the store: a call sees the count the previous one left.
        let count = async || {
            let assessment = legacy.assess(&request("legacy")).await.unwrap();
            let calls = &assessment.findings[0].attributes;
            calls
                .iter()
                .find(|(k, _)| k == "calls")
                .unwrap()
                .1
                .parse::<u32>()
                .unwrap()
        };
        let first = count().await;
        assert!(first >= 2, "{first}");
        assert_eq!(count().await, first + 1);
    });
}

/// Copies a plugin folder with its manifest's `wit = ...` line changed.
fn with_wit(dir: &std::path::Path, wit: &str) -> tempfile::TempDir {
    let copy = tempfile::tempdir().unwrap();
    std::fs::copy(dir.join("plugin.wasm"), copy.path().join("plugin.wasm")).unwrap();
    let manifest = std::fs::read_to_string(dir.join("plugin.toml")).unwrap();
    let manifest: String = manifest
        .lines()
        .map(|line| {
            if line.starts_with("wit =") {
                format!("wit = \"{wit}\"\n")
            } else {
                format!("{line}\n")
            }
        })
        .collect();
    std::fs::write(copy.path().join("plugin.toml"), manifest).unwrap();
    copy
}

#[test]
fn a_manifest_that_misstates_the_components_wit_version_is_refused() {
    for (dir, claimed, actual) in [
        (fixture("legacy-guardrail"), "0.2.0", "0.1.0"),
        (builtin("word-filter"), "0.1.0", "0.2.0"),
    ] {
        let copy = with_wit(&dir, claimed);
        let error = LoadedPlugin::load_dir(copy.path(), &engine(), &services()).unwrap_err();
        match &error {
            LoadError::WitMismatch {
                manifest,
                component,
            } => assert_eq!((manifest.as_str(), component.as_str()), (claimed, actual)),
            other => panic!("expected WitMismatch, got {other}"),
        }
        assert!(
            error.to_string().contains(&format!("wit = \"{claimed}\"")),
            "{error}"
        );
    }
}

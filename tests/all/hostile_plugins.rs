//! Hostile plugins, built from `plugins/fixtures/`: each fails its own call with a typed error,
//! and the runtime keeps serving other calls.

use mantle_plugins::plugin::guardrail_api::{AssessRequest, Source, TextBlock};
use mantle_plugins::{CallError, LoadError, LoadedPlugin};
use mantle_tests::fixture;

use crate::{builtin, load};

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

/// After a hostile call, a well-behaved plugin still answers.
fn still_serving() {
    let word = load(&builtin("word-filter")).unwrap();
    let assessment = word.assess(&request("a forbidden word")).unwrap();
    assert_eq!(assessment.findings.len(), 1);
}

fn assess(plugin: &LoadedPlugin) -> CallError {
    plugin.assess(&request("hello")).unwrap_err()
}

#[test]
fn an_infinite_loop_times_out() {
    let plugin = load(&fixture("infinite-loop")).unwrap();
    let started = std::time::Instant::now();
    let error = assess(&plugin);
    assert!(
        matches!(
            error,
            CallError::Timeout {
                timeout_ms: 200,
                ..
            }
        ),
        "{error}"
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    // The next call on the same plugin gets a fresh instance and times out the same way.
    assert!(matches!(assess(&plugin), CallError::Timeout { .. }));
    still_serving();
}

#[test]
fn a_gigabyte_allocation_hits_the_memory_limit() {
    let plugin = load(&fixture("alloc-1gib")).unwrap();
    let error = assess(&plugin);
    assert!(matches!(error, CallError::MemoryLimit { .. }), "{error}");
    still_serving();
}

#[test]
fn a_plugin_cannot_read_host_files() {
    let plugin = load(&fixture("read-host-file")).unwrap();
    match plugin.assess(&request("hello")) {
        // Either the plugin reports the failure, or it finds nothing: never the file.
        Ok(assessment) => {
            for finding in assessment.findings {
                assert!(
                    !finding.matched.contains("root:"),
                    "read {:?}",
                    finding.matched
                );
            }
        }
        Err(error) => assert!(!error.to_string().contains("root:"), "{error}"),
    }
    still_serving();
}

#[test]
fn a_panic_is_a_trap_with_its_message() {
    let plugin = load(&fixture("panic")).unwrap();
    let error = assess(&plugin);
    match &error {
        CallError::Trap { message, .. } => assert!(message.contains("panicked"), "{message}"),
        other => panic!("expected a trap, got {other}"),
    }
    still_serving();
}

#[test]
fn oversized_output_is_refused() {
    let plugin = load(&fixture("oversized-output")).unwrap();
    let error = assess(&plugin);
    assert!(
        matches!(
            error,
            CallError::OutputTooLarge { .. } | CallError::MemoryLimit { .. }
        ),
        "{error}"
    );
    still_serving();
}

#[test]
fn an_ungranted_import_fails_to_load_naming_the_capability() {
    let error = load(&fixture("ungranted-import")).unwrap_err();
    match &error {
        LoadError::CapabilityNotGranted { capability, import } => {
            assert_eq!(capability, "kv");
            assert!(import.starts_with("mantle:plugin/kv@"), "{import}");
        }
        other => panic!("expected CapabilityNotGranted, got {other}"),
    }
    assert!(error.to_string().contains("kv = true"), "{error}");
}

#[test]
fn hostile_calls_in_parallel_do_not_disturb_good_ones() {
    let looping = std::sync::Arc::new(load(&fixture("infinite-loop")).unwrap());
    let good = std::sync::Arc::new(load(&builtin("word-filter")).unwrap());
    std::thread::scope(|scope| {
        let bad = scope.spawn(|| assess(&looping));
        for _ in 0..50 {
            assert_eq!(
                good.assess(&request("forbidden")).unwrap().findings.len(),
                1
            );
        }
        assert!(matches!(bad.join().unwrap(), CallError::Timeout { .. }));
    });
}

//! Hostile plugins, built from `plugins/fixtures/`: each fails its own call with a typed error,
//! and the runtime keeps serving other calls.

use std::sync::Arc;
use std::time::{Duration, Instant};

use mantle_plugins::plugin::guardrail_api::{AssessRequest, Source, TextBlock};
use mantle_plugins::{CallError, LoadError, LoadedPlugin};
use mantle_tests::fixture;

use crate::{block, builtin, load, rt};

/// How far past its `timeout-ms` a call may still end: the deadline is checked at each 1 ms
/// epoch tick and by the runtime's timer, and this machine may be busy (tests run in parallel).
/// A host that let blocked host calls run on would end these calls after 30 s, not 0.2.
const MARGIN: Duration = Duration::from_millis(300);

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
    let assessment = block(word.assess(&request("a forbidden word"))).unwrap();
    assert_eq!(assessment.findings.len(), 1);
}

fn assess(plugin: &LoadedPlugin) -> CallError {
    block(plugin.assess(&request("hello"))).unwrap_err()
}

#[test]
fn an_infinite_loop_times_out() {
    let plugin = load(&fixture("infinite-loop")).unwrap();
    let started = Instant::now();
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
    assert!(started.elapsed() < Duration::from_secs(5));
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
    match block(plugin.assess(&request("hello"))) {
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
    let looping = Arc::new(load(&fixture("infinite-loop")).unwrap());
    let good = Arc::new(load(&builtin("word-filter")).unwrap());
    block(async {
        let bad = tokio::spawn({
            let looping = looping.clone();
            async move { looping.assess(&request("hello")).await.unwrap_err() }
        });
        for _ in 0..50 {
            let assessment = good.assess(&request("forbidden")).await.unwrap();
            assert_eq!(assessment.findings.len(), 1);
        }
        assert!(matches!(bad.await.unwrap(), CallError::Timeout { .. }));
    });
}

/// A plugin blocked in a host call (a 30 s sleep, a poll that is never ready) or flooding
/// stdout fails at its deadline, 64 calls at once, on a runtime with a couple of worker
/// threads — so no call holds a thread — while good calls keep succeeding beside them.
#[test]
fn blocked_and_flooding_plugins_fail_within_their_budget_at_concurrency_64() {
    let good = Arc::new(load(&builtin("word-filter")).unwrap());
    for name in ["sleep", "blocked-poll", "stdout-flood"] {
        let hostile = Arc::new(load(&fixture(name)).unwrap());
        let budget = Duration::from_millis(hostile.manifest().limits.timeout_ms);
        let wave = Instant::now();
        let bad: Vec<_> = (0..64)
            .map(|_| {
                let hostile = hostile.clone();
                rt().spawn(async move {
                    let started = Instant::now();
                    let error = hostile.assess(&request("hello")).await.unwrap_err();
                    (error, started.elapsed())
                })
            })
            .collect();
        let good_calls: Vec<_> = (0..64)
            .map(|_| {
                let good = good.clone();
                rt().spawn(async move { good.assess(&request("forbidden")).await })
            })
            .collect();
        block(async {
            for call in good_calls {
                let assessment = call.await.unwrap().unwrap();
                assert_eq!(assessment.findings.len(), 1, "{name}: a good call failed");
            }
            for call in bad {
                let (error, elapsed) = call.await.unwrap();
                assert!(
                    matches!(error, CallError::Timeout { timeout_ms, .. } if timeout_ms == budget.as_millis() as u64),
                    "{name}: {error}"
                );
                assert!(
                    elapsed <= budget + MARGIN,
                    "{name}: failed after {elapsed:?}, budget {budget:?}"
                );
            }
        });
        // The 64 ran side by side: the wave took about one budget, not 64 of them.
        assert!(
            wave.elapsed() <= budget + MARGIN * 2,
            "{name}: the wave of 64 took {:?}",
            wave.elapsed()
        );
    }
    still_serving();
}

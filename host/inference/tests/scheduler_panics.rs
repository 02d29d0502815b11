//! A panic anywhere in the scheduler fails the sequences it touched, and the engine goes on
//! serving. Panics are provoked with failpoints (compiled into this crate's tests only).

mod common;

use common::{greedy, model};
use mantle_inference::{EngineLimits, InferenceError};

fn limits() -> EngineLimits {
    EngineLimits {
        max_active: 4,
        queue_capacity: 8,
    }
}

#[tokio::test]
async fn a_panic_in_one_sequence_fails_only_that_sequence() {
    let scenario = fail::FailScenario::setup();
    let model = model(limits());
    let victim = greedy("This one panics while choosing a token", 16);
    let bystander = greedy("This one goes on", 16);
    let alone = model.generate(&bystander).unwrap().collect().await.unwrap();
    let victim_tokens = model.count_tokens(&victim).unwrap();
    assert_ne!(victim_tokens, model.count_tokens(&bystander).unwrap());

    fail::cfg("engine::advance", &format!("return({victim_tokens})")).unwrap();
    let failing = model.generate(&victim).unwrap();
    let running = model.generate(&bystander).unwrap();
    match failing.collect().await {
        Err(InferenceError::ModelFailed(message)) => assert!(message.contains("failed")),
        other => panic!("the victim should fail, got {other:?}"),
    }
    assert_eq!(running.collect().await.unwrap().text, alone.text);
    fail::remove("engine::advance");

    let after = model.generate(&bystander).unwrap().collect().await.unwrap();
    assert_eq!(after.text, alone.text);
    scenario.teardown();
}

#[tokio::test]
async fn a_panic_while_admitting_or_stepping_leaves_the_engine_serving() {
    let scenario = fail::FailScenario::setup();
    let model = model(limits());
    let request = greedy("Hello", 8);
    let expected = model.generate(&request).unwrap().collect().await.unwrap();

    for failpoint in ["engine::admit", "engine::step"] {
        fail::cfg(failpoint, "1*panic").unwrap();
        let failed = model.generate(&request).unwrap().collect().await;
        assert!(
            matches!(failed, Err(InferenceError::ModelFailed(_))),
            "{failpoint}: {failed:?}"
        );
        let served = model.generate(&request).unwrap().collect().await.unwrap();
        assert_eq!(served.text, expected.text, "after a panic at {failpoint}");
        fail::remove(failpoint);
    }
    scenario.teardown();
}

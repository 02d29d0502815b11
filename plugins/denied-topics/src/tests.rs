//! The policy's logic natively. Natively there is no model, so these tests embed with
//! `testkit::bag_of_words`: texts that share words are similar.
//! How well the real model separates topics is measured in `eval/guardrails/topics`.

use std::cell::Cell;

use mantle_sdk::guardrail::{Action, Assessment, Qualifier};
use mantle_sdk::testkit;
use serde_json::{Value, json};

use mantle_sdk::PluginError;

use crate::assess_with;

thread_local! {
    static EMBED_CALLS: Cell<usize> = const { Cell::new(0) };
}

fn bag_of_words(model: &str, texts: &[String]) -> Result<Vec<Vec<f32>>, PluginError> {
    EMBED_CALLS.with(|c| c.set(c.get() + 1));
    testkit::bag_of_words(model, texts)
}

fn config(extra: Value) -> Value {
    let mut topic = json!({
        "name": "Investment advice",
        "definition": "advice on which shares stocks or funds to buy",
        "examples": ["which shares should I buy", "is bitcoin a good investment"],
        "type": "DENY",
    });
    topic
        .as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    json!({"topicsConfig": [topic], "threshold": 0.7})
}

fn assess(request: mantle_sdk::guardrail::AssessRequest) -> Assessment {
    assess_with(&request, &bag_of_words).unwrap()
}

#[test]
fn an_on_topic_sentence_is_found_inside_a_longer_text() {
    let text = "The weather was lovely. Which shares should I buy with my bonus? See you soon.";
    let a = assess(testkit::input(&[text], config(json!({}))));
    assert_eq!(a.findings.len(), 1);
    let f = &a.findings[0];
    assert_eq!(f.name.as_deref(), Some("Investment advice"));
    assert_eq!(f.type_, "DENY");
    assert_eq!(f.action, Action::Block);
    assert_eq!(f.threshold, Some(f64::from(0.7f32)));
    assert!(f.score.unwrap() >= f.threshold.unwrap());
    // The span is the window that matched, and it contains the on-topic sentence.
    assert!(f.matched.contains("Which shares should I buy"));
    assert_eq!(
        &text[f.span.start as usize..f.span.end as usize],
        f.matched.as_str()
    );
}

#[test]
fn off_topic_texts_pass() {
    let a = assess(testkit::input(
        &["Please book a table for two at seven tonight."],
        config(json!({})),
    ));
    assert!(a.findings.is_empty());
}

#[test]
fn actions_and_enablement_are_per_direction() {
    let text = "which shares should I buy";
    let report_only = config(json!({"inputAction": "NONE"}));
    let a = assess(testkit::input(&[text], report_only.clone()));
    assert_eq!(a.findings[0].action, Action::None);
    let a = assess(testkit::output(&[text], report_only));
    assert_eq!(a.findings[0].action, Action::Block);

    let output_off = config(json!({"outputEnabled": false}));
    assert!(
        assess(testkit::output(&[text], output_off.clone()))
            .findings
            .is_empty()
    );
    assert_eq!(
        assess(testkit::input(&[text], output_off)).findings.len(),
        1
    );
}

#[test]
fn each_block_is_judged_on_its_own_and_grounding_sources_are_not_assessed() {
    let mut request = testkit::input(
        &[
            "is bitcoin a good investment",
            "nothing to see",
            "which shares should I buy",
        ],
        config(json!({})),
    );
    request.content[2].qualifiers = vec![Qualifier::GroundingSource];
    let a = assess(request);
    let blocks: Vec<u32> = a.findings.iter().map(|f| f.block).collect();
    assert_eq!(blocks, [0]);
}

#[test]
fn topics_are_embedded_once_per_configuration() {
    let config = json!({"topicsConfig": [{"name": "Cats", "definition": "cats and kittens"}],
                        "threshold": 0.9});
    let before = EMBED_CALLS.with(Cell::get);
    for _ in 0..3 {
        assess(testkit::input(&["a dog"], config.clone()));
    }
    // One call for the topics, then one per assessment for the texts.
    assert_eq!(EMBED_CALLS.with(Cell::get) - before, 1 + 3);
}

#[test]
fn bad_configurations_name_the_field() {
    let cases = [
        (json!({"topicsConfig": []}), "topicsConfig"),
        (
            json!({"topicsConfig": [{"name": "a", "definition": "b", "type": "ALLOW"}]}),
            "topicsConfig[0].type",
        ),
        (
            json!({"topicsConfig": [{"name": "a", "definition": "b", "inputAction": "MASK"}]}),
            "topicsConfig[0].inputAction",
        ),
        (
            json!({"topicsConfig": [{"name": "a", "definition": " "}]}),
            "topicsConfig[0].definition",
        ),
        (
            json!({"topicsConfig": [{"name": "a", "definition": "b"}], "threshold": 2.0}),
            "threshold",
        ),
    ];
    for (config, field) in cases {
        let error = assess_with(&testkit::input(&["x"], config), &bag_of_words).unwrap_err();
        assert_eq!(error.code, "invalid-config");
        assert!(error.message.contains(field), "{field}: {}", error.message);
    }
}

#[test]
fn natively_there_is_no_model_and_the_policy_says_so() {
    let request = testkit::input(
        &["x"],
        json!({"topicsConfig": [{"name": "n", "definition": "native"}]}),
    );
    let error = <crate::DeniedTopics as mantle_sdk::guardrail::Guest>::assess(request).unwrap_err();
    assert_eq!(error.code, "unavailable");
}

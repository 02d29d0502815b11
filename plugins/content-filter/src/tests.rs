//! The policy's logic natively. Natively there is no model, so these tests embed with
//! `testkit::bag_of_words`: a text that repeats an exemplar's words is near it. How well the real model classifies is measured in `eval/guardrails/content`.

use mantle_sdk::guardrail::{Action, Assessment};
use mantle_sdk::testkit;
use serde_json::{Value, json};

use mantle_sdk::testkit::bag_of_words;

use crate::{CATEGORIES, Level, assess_with};

/// The first harmful exemplar of `category` with `severity`, as the text to judge.
fn exemplar(category: &str, severity: &str) -> String {
    let json = CATEGORIES.iter().find(|(n, _)| *n == category).unwrap().1;
    let file: Value = serde_json::from_str(json).unwrap();
    file["harmful"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["severity"] == severity)
        .unwrap()["text"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn filter(kind: &str, input: &str, output: &str) -> Value {
    json!({"filtersConfig": [{"type": kind, "inputStrength": input, "outputStrength": output}]})
}

fn assess(request: mantle_sdk::guardrail::AssessRequest) -> Assessment {
    assess_with(&request, &bag_of_words).unwrap()
}

fn attribute<'a>(a: &'a Assessment, key: &str) -> &'a str {
    a.findings[0]
        .attributes
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
        .unwrap()
}

#[test]
fn strength_catches_confidence_as_bedrock_documents_it() {
    use Level::*;
    for (strength, caught) in [
        (None, vec![]),
        (Low, vec![High]),
        (Medium, vec![Medium, High]),
        (High, vec![Low, Medium, High]),
    ] {
        for confidence in [None, Low, Medium, High] {
            assert_eq!(
                strength.catches(confidence),
                caught.contains(&confidence),
                "{strength:?} strength, {confidence:?} confidence"
            );
        }
    }
}

#[test]
fn every_category_has_exemplars_of_each_severity_and_benign_ones() {
    for (name, json) in CATEGORIES {
        let file: Value = serde_json::from_str(json).unwrap();
        assert_eq!(file["category"], name);
        for severity in ["LOW", "MEDIUM", "HIGH"] {
            exemplar(name, severity);
        }
        assert!(!file["benign"].as_array().unwrap().is_empty(), "{name}");
    }
}

#[test]
fn a_text_like_a_high_exemplar_is_high_confidence_and_blocked_at_every_strength() {
    let text = exemplar("INSULTS", "HIGH");
    for strength in ["LOW", "MEDIUM", "HIGH"] {
        let a = assess(testkit::input(
            &[&text],
            filter("INSULTS", strength, "NONE"),
        ));
        assert_eq!(a.findings.len(), 1, "{strength}");
        assert_eq!(a.findings[0].type_, "INSULTS");
        assert_eq!(a.findings[0].action, Action::Block);
        assert_eq!(attribute(&a, "confidence"), "HIGH");
        assert_eq!(attribute(&a, "filterStrength"), strength);
    }
    // The output direction is off at strength NONE.
    let a = assess(testkit::output(&[&text], filter("INSULTS", "HIGH", "NONE")));
    assert!(a.findings.is_empty());
}

#[test]
fn confidence_is_capped_by_the_nearest_exemplars_severity() {
    let text = exemplar("VIOLENCE", "LOW");
    let a = assess(testkit::input(&[&text], filter("VIOLENCE", "HIGH", "HIGH")));
    assert_eq!(attribute(&a, "confidence"), "LOW");
    // A LOW strength acts only on HIGH confidence.
    let a = assess(testkit::input(&[&text], filter("VIOLENCE", "LOW", "LOW")));
    assert!(a.findings.is_empty());
}

#[test]
fn unrelated_texts_pass() {
    let a = assess(testkit::input(
        &["Quarterly revenue rose by four percent."],
        filter("HATE", "HIGH", "HIGH"),
    ));
    assert!(a.findings.is_empty());
}

#[test]
fn report_only_filters_report_without_blocking() {
    let text = exemplar("MISCONDUCT", "HIGH");
    let config = json!({"filtersConfig": [{"type": "MISCONDUCT", "inputStrength": "HIGH",
                                            "outputStrength": "HIGH", "inputAction": "NONE"}]});
    let a = assess(testkit::input(&[&text], config));
    assert_eq!(a.findings[0].action, Action::None);
}

#[test]
fn bad_configurations_name_the_field() {
    let cases = [
        (json!({"filtersConfig": []}), "filtersConfig"),
        (filter("SPAM", "HIGH", "HIGH"), "filtersConfig[0].type"),
        (
            filter("PROMPT_ATTACK", "HIGH", "LOW"),
            "filtersConfig[0].outputStrength",
        ),
        (
            json!({"filtersConfig": [{"type": "HATE", "inputStrength": "HIGH",
                                      "outputStrength": "HIGH", "outputAction": "MASK"}]}),
            "filtersConfig[0].outputAction",
        ),
        (
            json!({"filtersConfig": [{"type": "HATE", "inputStrength": "HIGH", "outputStrength": "HIGH"},
                                     {"type": "HATE", "inputStrength": "LOW", "outputStrength": "LOW"}]}),
            "filtersConfig[1].type",
        ),
    ];
    for (config, field) in cases {
        let error = assess_with(&testkit::input(&["x"], config), &bag_of_words).unwrap_err();
        assert_eq!(error.code, "invalid-config");
        assert!(error.message.contains(field), "{field}: {}", error.message);
    }
}

//! The scoring natively, with a bag-of-words embedding (natively there is no model): texts
//! that share words are similar. The real model's behaviour is tested through the host.

use mantle_sdk::guardrail::{Action, Assessment, Qualifier};
use mantle_sdk::testkit;
use serde_json::json;

use mantle_sdk::PluginError;

use crate::assess_with;

/// Bag of word stems (the scorer's own `content_words`), so "completed" meets "complete".
fn bag_of_words(_model: &str, texts: &[String]) -> Result<Vec<Vec<f32>>, PluginError> {
    Ok(texts
        .iter()
        .map(|text| {
            let mut v = vec![0.0f32; 128];
            for word in crate::content_words(text) {
                let h = word
                    .bytes()
                    .fold(7u32, |h, b| h.wrapping_mul(31).wrapping_add(u32::from(b)));
                v[(h % 128) as usize] += 1.0;
            }
            v
        })
        .collect())
}

const SOURCE: &str =
    "The Eiffel Tower is in Paris. It was completed in 1889 and is 330 metres tall.";
const QUERY: &str = "When was the Eiffel Tower completed?";

fn request(answer: &str) -> mantle_sdk::guardrail::AssessRequest {
    let mut request = testkit::output(
        &[SOURCE, QUERY, answer],
        json!({"filtersConfig": [{"type": "GROUNDING", "threshold": 0.6},
                                 {"type": "RELEVANCE", "threshold": 0.3}]}),
    );
    request.content[0].qualifiers = vec![Qualifier::GroundingSource];
    request.content[1].qualifiers = vec![Qualifier::Query];
    request
}

fn assess(answer: &str) -> Assessment {
    assess_with(&request(answer), &bag_of_words).unwrap()
}

fn by_type<'a>(a: &'a Assessment, kind: &str) -> &'a mantle_sdk::guardrail::Finding {
    a.findings.iter().find(|f| f.type_ == kind).unwrap()
}

#[test]
fn a_supported_answer_passes_both_filters_and_is_still_reported() {
    let a = assess("The Eiffel Tower was completed in 1889.");
    for kind in ["GROUNDING", "RELEVANCE"] {
        let f = by_type(&a, kind);
        assert_eq!(f.action, Action::None, "{kind}: {:?}", f.score);
        assert!(f.score.unwrap() >= f.threshold.unwrap());
        assert_eq!(f.block, 2);
    }
}

#[test]
fn a_changed_number_or_name_is_not_grounded() {
    let a = assess("The Eiffel Tower was completed in 1925 in Lyon.");
    let f = by_type(&a, "GROUNDING");
    assert_eq!(f.action, Action::Block, "{:?}", f.score);
    assert!(f.score.unwrap() < 0.6);
}

#[test]
fn an_off_topic_answer_is_not_relevant() {
    let a = assess("Bananas are rich in potassium.");
    assert_eq!(by_type(&a, "RELEVANCE").action, Action::Block);
    assert_eq!(by_type(&a, "GROUNDING").action, Action::Block);
}

#[test]
fn inputs_and_texts_without_a_source_are_not_scored() {
    let mut input = request("The Eiffel Tower was completed in 1889.");
    input.source = mantle_sdk::guardrail::Source::Input;
    assert!(
        assess_with(&input, &bag_of_words)
            .unwrap()
            .findings
            .is_empty()
    );

    let mut no_source = request("anything");
    no_source.content.remove(0);
    let a = assess_with(&no_source, &bag_of_words).unwrap();
    // Relevance still has its query; grounding has no source to be grounded in.
    assert_eq!(a.findings.len(), 1);
    assert_eq!(a.findings[0].type_, "RELEVANCE");
}

#[test]
fn bad_configurations_name_the_field() {
    for (config, field) in [
        (json!({"filtersConfig": []}), "filtersConfig"),
        (
            json!({"filtersConfig": [{"type": "TRUTH", "threshold": 0.5}]}),
            "filtersConfig[0].type",
        ),
        (
            json!({"filtersConfig": [{"type": "GROUNDING", "threshold": 1.5}]}),
            "filtersConfig[0].threshold",
        ),
        (
            json!({"filtersConfig": [{"type": "GROUNDING", "threshold": 0.5},
                                     {"type": "GROUNDING", "threshold": 0.6}]}),
            "filtersConfig[1].type",
        ),
    ] {
        let error = assess_with(&testkit::output(&["x"], config), &bag_of_words).unwrap_err();
        assert_eq!(error.code, "invalid-config");
        assert!(error.message.contains(field), "{field}: {}", error.message);
    }
}

use mantle_sdk::guardrail::{Action, Assessment, Guest, Qualifier};
use mantle_sdk::testkit;
use serde_json::{Value, json};

use crate::WordFilter;

fn input(text: &str, config: Value) -> Assessment {
    WordFilter::assess(testkit::input(&[text], config)).unwrap()
}

fn summary(a: &Assessment) -> Vec<(String, String, Action)> {
    a.findings
        .iter()
        .map(|f| (f.type_.clone(), f.matched.clone(), f.action))
        .collect()
}

#[test]
fn custom_words_match_whole_words_case_insensitively() {
    let config = json!({"wordsConfig": [{"text": "Falcon"}, {"text": "cat"}]});
    let text = "The FALCON has landed; concatenate cats, not the cat.";
    let a = input(text, config);
    assert_eq!(
        summary(&a),
        [
            ("CUSTOM".into(), "Falcon".into(), Action::Block),
            ("CUSTOM".into(), "cat".into(), Action::Block),
        ]
    );
    // `matched` is the configured text; the span is where it was found.
    let f = &a.findings[0];
    assert_eq!(&text[f.span.start as usize..f.span.end as usize], "FALCON");
    let f = &a.findings[1];
    assert_eq!(&text[f.span.start as usize..f.span.end as usize], "cat");
    assert_eq!(f.span.start as usize, text.rfind("cat").unwrap());
}

#[test]
fn phrases_match_across_whitespace() {
    let config = json!({"wordsConfig": [{"text": "project falcon"}]});
    let text = "about Project\n  Falcon and projectfalcon";
    let a = input(text, config);
    assert_eq!(a.findings.len(), 1);
    let f = &a.findings[0];
    assert_eq!(f.matched, "project falcon");
    assert_eq!(
        &text[f.span.start as usize..f.span.end as usize],
        "Project\n  Falcon"
    );
}

#[test]
fn actions_and_enabled_per_source() {
    let config = json!({"wordsConfig": [
        {"text": "alpha", "inputAction": "NONE", "outputAction": "BLOCK"},
        {"text": "beta", "inputEnabled": false},
        {"text": "gamma", "outputEnabled": false}
    ]});
    let text = "alpha beta gamma";
    let a = WordFilter::assess(testkit::input(&[text], config.clone())).unwrap();
    assert_eq!(
        summary(&a),
        [
            ("CUSTOM".into(), "alpha".into(), Action::None),
            ("CUSTOM".into(), "gamma".into(), Action::Block)
        ]
    );
    let a = WordFilter::assess(testkit::output(&[text], config)).unwrap();
    assert_eq!(
        summary(&a),
        [
            ("CUSTOM".into(), "alpha".into(), Action::Block),
            ("CUSTOM".into(), "beta".into(), Action::Block)
        ]
    );
}

#[test]
fn managed_profanity_list() {
    let config = json!({"managedWordListsConfig": [{"type": "PROFANITY"}]});
    let a = input(
        "What the hell, this is BULLSHIT and he's fucking around. Classic assessment.",
        config,
    );
    assert_eq!(
        summary(&a),
        [
            ("PROFANITY".into(), "BULLSHIT".into(), Action::Block),
            ("PROFANITY".into(), "fucking".into(), Action::Block),
        ]
    );
}

#[test]
fn profanity_phrases_win_over_the_words_inside() {
    let config = json!({"managedWordListsConfig": [{"type": "PROFANITY", "inputAction": "NONE"}]});
    let a = input("you son  of a bitch", config);
    assert_eq!(
        summary(&a),
        [("PROFANITY".into(), "son  of a bitch".into(), Action::None)]
    );
}

#[test]
fn custom_and_profanity_together() {
    let config = json!({
        "wordsConfig": [{"text": "shit"}],
        "managedWordListsConfig": [{"type": "PROFANITY", "outputEnabled": false}]
    });
    let a = input("oh shit", config.clone());
    let types: Vec<&str> = a.findings.iter().map(|f| f.type_.as_str()).collect();
    assert_eq!(types, ["CUSTOM", "PROFANITY"]);
    let a = WordFilter::assess(testkit::output(&["oh shit"], config)).unwrap();
    assert_eq!(a.findings.len(), 1);
}

#[test]
fn spans_are_byte_ranges_with_unicode_text() {
    let config = json!({"wordsConfig": [{"text": "ÉCOLE"}], "managedWordListsConfig": [{"type": "PROFANITY"}]});
    let text = "Grüße — l'école, merde, “crap”!";
    let a = input(text, config);
    let got: Vec<&str> = a
        .findings
        .iter()
        .map(|f| &text[f.span.start as usize..f.span.end as usize])
        .collect();
    assert_eq!(got, ["école", "crap"]);
}

#[test]
fn only_guarded_blocks_are_assessed() {
    let mut request = testkit::input(
        &["cat", "cat", "cat"],
        json!({"wordsConfig": [{"text": "cat"}]}),
    );
    request.content[0].qualifiers = vec![Qualifier::GroundingSource];
    request.content[2].qualifiers = vec![Qualifier::GuardContent];
    let a = WordFilter::assess(request).unwrap();
    let blocks: Vec<u32> = a.findings.iter().map(|f| f.block).collect();
    assert_eq!(blocks, [1, 2]);
}

#[test]
fn duplicate_words_are_one_finding() {
    let a = input(
        "cat",
        json!({"wordsConfig": [{"text": "cat"}, {"text": "cat"}]}),
    );
    assert_eq!(a.findings.len(), 1);
}

#[test]
fn invalid_configs() {
    let cases = [
        (
            json!({"wordsConfig": [{"text": "a"}, {"inputAction": "BLOCK"}]}),
            "wordsConfig[1].text",
        ),
        (
            json!({"wordsConfig": [{"text": "   "}]}),
            "wordsConfig[0].text",
        ),
        (
            json!({"wordsConfig": [{"text": "a", "inputAction": "ANONYMIZE"}]}),
            "wordsConfig[0].inputAction",
        ),
        (
            json!({"managedWordListsConfig": [{"type": "SLANG"}]}),
            "managedWordListsConfig[0].type",
        ),
        (
            json!({"managedWordListsConfig": [{"type": "PROFANITY", "outputAction": "X"}]}),
            "managedWordListsConfig[0].outputAction",
        ),
        (json!({"wordsConfig": "cat"}), "invalid configuration"),
    ];
    for (config, needle) in cases {
        let err = WordFilter::assess(testkit::input(&[], config.clone())).unwrap_err();
        assert_eq!(err.code, "invalid-config");
        assert!(err.message.contains(needle), "{config}: {}", err.message);
    }
}

#[test]
fn empty_config_and_empty_content() {
    assert!(input("fuck", json!({})).findings.is_empty());
    let a = WordFilter::assess(testkit::input(
        &[],
        json!({"managedWordListsConfig": [{"type": "PROFANITY"}]}),
    ))
    .unwrap();
    assert!(a.findings.is_empty());
}

/// The text the timing example (`examples/word_timing.rs`) measures has findings to report.
#[test]
fn finds_words_in_the_1kb_timing_text() {
    let sentence =
        "The quick brown fox jumps over the lazy dog while project falcon ships, damn it. ";
    let text: String = sentence.repeat(1024 / sentence.len() + 1)[..1024].to_owned();
    let config = json!({
        "wordsConfig": [{"text": "project falcon"}, {"text": "secret"}, {"text": "internal only"}],
        "managedWordListsConfig": [{"type": "PROFANITY"}]
    });
    let request = testkit::input(&[&text], config);
    assert!(!WordFilter::assess(request).unwrap().findings.is_empty());
}

#[test]
fn arbitrary_text_never_panics_and_spans_are_char_boundaries() {
    let pieces = [
        "a", "Z", "0", " ", "  ", "\n", "\t", "-", ".", "'", "_", "é", "ß", "İ", "ǅ", "東京", "—",
        "\u{301}", "😀", "fuck", "FUCK", "shit", "son of a", "bitch", "cat", "c++", "project",
        "falcon", "straße", "STRASSE",
    ];
    let config = json!({
        "wordsConfig": [{"text": "project falcon"}, {"text": "c++"}, {"text": "İstanbul"}, {"text": "straße"}],
        "managedWordListsConfig": [{"type": "PROFANITY"}]
    });
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    for _ in 0..3000 {
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let len = (next() % 40) as usize;
        let text: String = (0..len)
            .map(|_| pieces[(next() % pieces.len() as u64) as usize])
            .collect();
        let a = WordFilter::assess(testkit::input(&[&text], config.clone())).unwrap();
        for f in &a.findings {
            let (start, end) = (f.span.start as usize, f.span.end as usize);
            assert!(start < end && end <= text.len(), "{text:?}: {f:?}");
            assert!(
                text.is_char_boundary(start) && text.is_char_boundary(end),
                "{text:?}: {f:?}"
            );
            if f.type_ == "PROFANITY" {
                assert_eq!(&text[start..end], f.matched);
            }
        }
    }
}

#[test]
fn long_inputs_stay_linear() {
    let config = json!({
        "wordsConfig": [{"text": "a a a a b"}, {"text": "a"}],
        "managedWordListsConfig": [{"type": "PROFANITY"}]
    });
    for text in [
        "a ".repeat(300_000),
        "fuck ".repeat(100_000),
        "-".repeat(500_000),
        "東".repeat(200_000),
    ] {
        let started = std::time::Instant::now();
        WordFilter::assess(testkit::input(&[&text], config.clone())).unwrap();
        assert!(
            started.elapsed().as_secs_f64() < 5.0,
            "{:?}",
            started.elapsed()
        );
    }
}

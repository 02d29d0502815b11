//! The engine on a synthetic model, without a socket: continuous batching, cancellation, a
//! full queue, stop sequences and constrained calls.

mod common;

use std::time::{Duration, Instant};

use common::{CONTEXT, greedy, model};
use mantle_inference::{
    EngineLimits, GenerationEvent, InferenceError, ResponseFormat, StopReason, ToolChoice,
    ToolSpec, Tools,
};
use serde_json::json;

const PROMPTS: [&str; 4] = [
    "Hello there",
    "What is the capital of France?",
    "Count: 1 2 3",
    "A longer prompt, so that the batch mixes prefill lengths: one, two, three, four.",
];

fn limits(max_active: usize, queue_capacity: usize) -> EngineLimits {
    EngineLimits {
        max_active,
        queue_capacity,
    }
}

/// Waits until the engine holds no sequence, and returns how many steps it took since `from`.
async fn settle(model: &mantle_inference::TextModel, from: u64) -> u64 {
    let deadline = Instant::now() + Duration::from_secs(30);
    while model.engine.load().active > 0 || model.engine.load().waiting > 0 {
        assert!(Instant::now() < deadline, "the engine never went idle");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    model.engine.load().steps - from
}

#[tokio::test]
async fn batched_generations_match_single_runs() {
    let alone = model(limits(1, 16));
    let mut expected = Vec::new();
    for prompt in PROMPTS {
        let done = alone.generate(&greedy(prompt, 24)).unwrap().collect().await;
        expected.push(done.unwrap());
    }
    let batched = model(limits(8, 16));
    let generations: Vec<_> = PROMPTS
        .iter()
        .map(|p| batched.generate(&greedy(p, 24)).unwrap())
        .collect();
    let before = batched.engine.load().steps;
    let mut got = Vec::new();
    for generation in generations {
        got.push(generation.collect().await.unwrap());
    }
    for (got, expected) in got.iter().zip(&expected) {
        assert_eq!(got.text, expected.text);
        assert_eq!(got.output_tokens, expected.output_tokens);
        assert_eq!(got.input_tokens, expected.input_tokens);
    }
    // Sharing forward passes: far fewer steps than the sequences' tokens added up.
    let tokens: usize = got.iter().map(|c| c.output_tokens).sum();
    let steps = settle(&batched, before).await;
    assert!(
        (steps as usize) < tokens,
        "{steps} steps for {tokens} tokens: the sequences were not batched"
    );
}

#[tokio::test]
async fn dropping_a_generation_frees_its_sequence() {
    let model = model(limits(1, 4));
    let budget = (CONTEXT / 2) as i64;
    let before = model.engine.load().steps;
    let mut long = model.generate(&greedy("Go on forever", budget)).unwrap();
    assert!(matches!(
        long.next().await,
        Some(GenerationEvent::Text(_)) | Some(GenerationEvent::Done { .. })
    ));
    drop(long);
    let steps = settle(&model, before).await;
    assert!(
        steps < budget as u64 / 4,
        "the dropped sequence ran {steps} steps of its {budget}"
    );
    let next = model.generate(&greedy("Hello", 8)).unwrap().collect().await;
    assert_eq!(next.unwrap().output_tokens, 8);
}

#[tokio::test]
async fn a_full_queue_answers_busy() {
    let model = model(limits(1, 1));
    let mut running = model
        .generate(&greedy("Go on forever", (CONTEXT / 2) as i64))
        .unwrap();
    running.next().await.unwrap();
    let queued = model.generate(&greedy("Next", 4)).unwrap();
    match model.generate(&greedy("One too many", 4)) {
        Err(InferenceError::Busy { waiting }) => assert_eq!(waiting, 1),
        other => panic!("expected Busy, got {other:?}"),
    }
    drop(running);
    assert_eq!(queued.collect().await.unwrap().output_tokens, 4);
}

#[tokio::test]
async fn a_stop_sequence_ends_the_answer_before_it() {
    let model = model(limits(4, 8));
    let free = model
        .generate(&greedy("Tell me a story", 48))
        .unwrap()
        .collect()
        .await
        .unwrap();
    let chars: Vec<(usize, char)> = free.text.char_indices().collect();
    assert!(chars.len() > 20, "too short to cut: {:?}", free.text);
    let (from, to) = (chars[12].0, chars[15].0);
    let stop = free.text[from..to].to_owned();
    let first = free.text.find(&stop).unwrap();
    let mut request = greedy("Tell me a story", 48);
    request.params.stop_sequences = vec![stop.clone()];
    let cut = model.generate(&request).unwrap().collect().await.unwrap();
    assert_eq!(cut.stop_reason, StopReason::StopSequence);
    assert_eq!(cut.text, free.text[..first], "stop sequence {stop:?}");
    // Streamed, the stop sequence never shows, not even in part.
    let mut streamed = String::new();
    let mut generation = model.generate(&request).unwrap();
    while let Some(event) = generation.next().await {
        match event {
            GenerationEvent::Text(piece) => streamed.push_str(&piece),
            event if event.is_last() => break,
            _ => {}
        }
    }
    assert_eq!(streamed, cut.text);
}

fn lookup_tool() -> ToolSpec {
    ToolSpec {
        name: "lookup".into(),
        description: Some("Looks a code up".into()),
        input_schema: json!({
            "type": "object",
            "properties": {
                "code": { "type": "string", "enum": ["alpha", "beta", "gamma"] },
                "exact": { "type": "boolean" }
            },
            "required": ["code", "exact"],
            "additionalProperties": false
        }),
    }
}

#[tokio::test]
async fn forced_calls_follow_their_schema() {
    let model = model(limits(4, 8));
    let other = ToolSpec {
        name: "other".into(),
        description: None,
        input_schema: json!({ "type": "object", "properties": { "q": { "type": "string", "maxLength": 5 } }, "required": ["q"] }),
    };
    for choice in [ToolChoice::Tool("lookup".into()), ToolChoice::Any] {
        // A random model pads JSON with all the whitespace the grammar allows (32 bytes a
        // gap), so the budget covers every gap at its longest.
        let mut request = greedy("Look up alpha", 1024);
        request.tools = Some(Tools {
            specs: vec![lookup_tool(), other.clone()],
            choice: choice.clone(),
        });
        let done = model.generate(&request).unwrap().collect().await.unwrap();
        assert_eq!(
            done.stop_reason,
            StopReason::ToolUse,
            "{choice:?}: {done:?}"
        );
        let call = done.tool_use.expect("a call");
        match call.name.as_str() {
            "lookup" => {
                let code = call.input["code"].as_str().unwrap();
                assert!(["alpha", "beta", "gamma"].contains(&code), "{}", call.input);
                assert!(call.input["exact"].is_boolean());
                assert_eq!(call.input.as_object().unwrap().len(), 2);
            }
            "other" => {
                assert!(choice == ToolChoice::Any);
                assert!(call.input["q"].as_str().unwrap().len() <= 5);
            }
            name => panic!("a call of a tool that was not offered: {name}"),
        }
        assert!(call.tool_use_id.starts_with("tooluse_"));
    }
    let mut request = greedy("Describe a colour", 1024);
    request.response_format = Some(ResponseFormat::JsonSchema(json!({
        "type": "object",
        "properties": { "name": { "type": "string", "maxLength": 8 }, "warm": { "type": "boolean" } },
        "required": ["name", "warm"],
        "additionalProperties": false
    })));
    let done = model.generate(&request).unwrap().collect().await.unwrap();
    let value: serde_json::Value = serde_json::from_str(&done.text).unwrap();
    assert!(value["name"].as_str().unwrap().len() <= 8, "{value}");
    assert!(value["warm"].is_boolean());
}

#[tokio::test]
async fn a_streamed_call_arrives_in_fragments_that_add_up() {
    let model = model(limits(2, 4));
    let mut request = greedy("Look up beta", 1024);
    request.tools = Some(Tools {
        specs: vec![lookup_tool()],
        choice: ToolChoice::Tool("lookup".into()),
    });
    let mut generation = model.generate(&request).unwrap();
    let (mut name, mut fragments, mut input) = (None, String::new(), None);
    while let Some(event) = generation.next().await {
        match event {
            GenerationEvent::ToolUseStart { name: n } => name = Some(n),
            GenerationEvent::ToolUseDelta(piece) => fragments.push_str(&piece),
            GenerationEvent::ToolUseEnd { input: i } => input = Some(i),
            GenerationEvent::Text(text) => panic!("text in a forced call: {text:?}"),
            GenerationEvent::Done { stop_reason, .. } => {
                assert_eq!(stop_reason, StopReason::ToolUse);
                break;
            }
            GenerationEvent::Failed(message) => panic!("{message}"),
        }
    }
    assert_eq!(name.as_deref(), Some("lookup"));
    let parsed: serde_json::Value = serde_json::from_str(&fragments).unwrap();
    assert_eq!(Some(parsed), input);
}

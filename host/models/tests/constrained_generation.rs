//! Constrained decoding with the real SmolLM2: the vocabulary's bytes spell the text the
//! tokenizer encodes, and a schema-constrained greedy run yields a value of the schema.

mod common;

use std::sync::Arc;

use common::require;
use mantle_models::constrain::{Grammar, JsonMatcher, TokenConstraint, matches};
use mantle_models::{ChatMessage, LlamaModel, Sampler, model_dir};

#[test]
fn token_bytes_spell_encoded_text() {
    let model = LlamaModel::load(require(model_dir::smollm2_path())).unwrap();
    let tok = model.tokenizer();
    let bytes = tok.token_bytes();
    assert_eq!(bytes.len(), tok.vocab_size());
    let text = "Grüße, 東京! {\"n\": 42}\n\tdone";
    let spelled: Vec<u8> = tok
        .encode(text)
        .unwrap()
        .iter()
        .flat_map(|&id| bytes[id as usize].as_deref().unwrap().to_vec())
        .collect();
    assert_eq!(spelled, text.as_bytes());
    let im_end = tok.token_to_id("<|im_end|>").unwrap();
    assert!(
        bytes[im_end as usize].is_none(),
        "special tokens write nothing"
    );
}

#[test]
fn greedy_generation_under_a_schema_is_valid() {
    let model = LlamaModel::load(require(model_dir::smollm2_path())).unwrap();
    let schema = serde_json::json!({
        "type": "object",
        "properties": {
            "city": { "type": "string", "maxLength": 40 },
            "unit": { "enum": ["celsius", "fahrenheit"] },
            "days": { "type": "integer" }
        },
        "required": ["city", "unit"]
    });
    let grammar = Arc::new(Grammar::from_schema(&schema).unwrap());
    let constraint = TokenConstraint::new(model.tokenizer().token_bytes());
    let prompt = model
        .chat_template()
        .unwrap()
        .render(
            &[ChatMessage::new(
                "user",
                "Give the weather request for Paris in celsius as JSON.",
            )],
            true,
            None,
        )
        .unwrap();
    let mut cache = model.new_cache();
    let mut logits = model
        .forward(&model.tokenizer().encode(&prompt).unwrap(), &mut cache)
        .unwrap();
    let mut matcher = JsonMatcher::new(grammar.clone());
    let mut sampler = Sampler::greedy();
    let mut out = Vec::new();
    for _ in 0..96 {
        if matcher.is_complete() {
            break;
        }
        let id = constraint.choose(&logits, &mut sampler, &matcher).unwrap();
        let bytes = constraint.bytes(id).unwrap();
        assert!(matcher.advance(bytes));
        out.extend_from_slice(bytes);
        logits = model.forward(&[id], &mut cache).unwrap();
    }
    let text = String::from_utf8(out).unwrap();
    assert!(matcher.is_complete(), "incomplete after 96 tokens: {text}");
    let value: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert!(matches(&grammar, &value), "{text}");
    assert!(value["unit"] == "celsius" || value["unit"] == "fahrenheit");
    eprintln!("constrained output: {text}");
}

//! SmolLM2-135M-Instruct (Q4_1 GGUF) against the transformers float32 reference.

mod common;

use std::sync::OnceLock;

use common::{f32s, reference, require, u32s};
use mantle_models::sampler::argmax;
use mantle_models::{ChatMessage, LlamaModel, Sampler, model_dir};
use serde_json::Value;

fn model() -> &'static LlamaModel {
    static MODEL: OnceLock<LlamaModel> = OnceLock::new();
    MODEL.get_or_init(|| LlamaModel::load(require(model_dir::smollm2_path())).unwrap())
}

fn prompts() -> Vec<Value> {
    reference("smollm2_reference.json")["prompts"]
        .as_array()
        .unwrap()
        .clone()
}

#[test]
fn token_ids_match_for_every_prompt() {
    let tok = model().tokenizer();
    for p in prompts() {
        let text = p["text"].as_str().unwrap();
        let ids = tok.encode(text).unwrap();
        assert_eq!(ids, u32s(&p["token_ids"]), "prompt {}", p["name"]);
        assert_eq!(
            tok.decode(&ids, false).unwrap(),
            text,
            "round trip of {}",
            p["name"]
        );
    }
}

#[test]
fn chat_template_renders_reference_prompt() {
    let r = reference("smollm2_reference.json");
    let chat = prompts().into_iter().find(|p| p["kind"] == "chat").unwrap();
    let messages: Vec<ChatMessage> = serde_json::from_value(chat["input"].clone()).unwrap();
    let template = model().chat_template().expect("GGUF has a chat template");
    let text = template.render(&messages, true, None).unwrap();
    assert_eq!(text, chat["text"].as_str().unwrap());
    let tok = model().tokenizer();
    assert_eq!(
        tok.eos_token_id(),
        r["special_tokens"]["eos_token_id"]
            .as_u64()
            .map(|v| v as u32)
    );
    assert_eq!(
        tok.bos_token_id(),
        r["special_tokens"]["bos_token_id"]
            .as_u64()
            .map(|v| v as u32)
    );
}

#[test]
fn last_position_logits_match() {
    let m = model();
    for p in prompts() {
        let name = &p["name"];
        let logits = m
            .forward(&u32s(&p["token_ids"]), &mut m.new_cache())
            .unwrap();
        let top5 = u32s(&p["top5_ids"]);
        assert_eq!(argmax(&logits), top5[0], "top-1 of {name}");
        for (id, want) in top5.iter().zip(f32s(&p["top5_logits"])) {
            let got = logits[*id as usize];
            assert!(
                (got - want).abs() <= 0.05,
                "{name}: logit of {id} is {got}, reference {want}"
            );
        }
        if let Some(full) = p.get("full_logits_last") {
            let full = f32s(full);
            assert_eq!(full.len(), logits.len());
            let max_diff = full
                .iter()
                .zip(&logits)
                .map(|(a, b)| (a - b).abs())
                .fold(0.0, f32::max);
            eprintln!("{name}: max |Δlogit| over the vocabulary = {max_diff}");
            assert!(max_diff <= 0.05, "{name}: max |Δlogit| = {max_diff}");
        }
    }
}

#[test]
fn greedy_continuations_match() {
    let m = model();
    for p in prompts() {
        let got = m
            .generate(&u32s(&p["token_ids"]), 24, &mut Sampler::greedy(), &[])
            .unwrap();
        assert_eq!(
            got,
            u32s(&p["greedy_new_ids"]),
            "greedy continuation of {}",
            p["name"]
        );
    }
}

#[test]
fn dedicated_thread_pool_gives_the_same_logits() {
    let mut m = LlamaModel::load(require(model_dir::smollm2_path())).unwrap();
    let p = &prompts()[0];
    let ids = u32s(&p["token_ids"]);
    let global = m.forward(&ids, &mut m.new_cache()).unwrap();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap();
    m.set_thread_pool(std::sync::Arc::new(pool));
    let single = m.forward(&ids, &mut m.new_cache()).unwrap();
    assert_eq!(argmax(&single), argmax(&global));
    let diff = single
        .iter()
        .zip(&global)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f32::max);
    assert!(diff < 1e-4, "{diff}");
}

#[test]
fn batched_decode_matches_single_sequences() {
    let m = model();
    let ps = prompts();
    let (a, b) = (u32s(&ps[0]["token_ids"]), u32s(&ps[4]["token_ids"]));
    let (mut ca, mut cb) = (m.new_cache(), m.new_cache());
    let mut batch = [
        mantle_models::llama::SeqInput {
            tokens: &a,
            cache: &mut ca,
        },
        mantle_models::llama::SeqInput {
            tokens: &b,
            cache: &mut cb,
        },
    ];
    let batched = m.forward_batch(&mut batch).unwrap();
    let (na, nb) = (argmax(&batched[0]), argmax(&batched[1]));
    let mut batch = [
        mantle_models::llama::SeqInput {
            tokens: &[na],
            cache: &mut ca,
        },
        mantle_models::llama::SeqInput {
            tokens: &[nb],
            cache: &mut cb,
        },
    ];
    let step = m.forward_batch(&mut batch).unwrap();
    assert_eq!(argmax(&step[0]), u32s(&ps[0]["greedy_new_ids"])[1]);
    assert_eq!(argmax(&step[1]), u32s(&ps[4]["greedy_new_ids"])[1]);
    assert_eq!(ca.len(), a.len() + 1);
}

#[test]
fn streamed_text_equals_decoded_text() {
    let tok = model().tokenizer();
    for p in prompts() {
        let ids = u32s(&p["greedy_new_ids"]);
        let mut stream = mantle_models::TextStream::new(false);
        let mut text = String::new();
        for &id in &ids {
            if let Some(delta) = stream.push(tok, id).unwrap() {
                text.push_str(&delta);
            }
        }
        assert_eq!(text, tok.decode(&ids, false).unwrap(), "{}", p["name"]);
        assert_eq!(text, p["greedy_text"].as_str().unwrap(), "{}", p["name"]);
    }
}

/// The burn implementation of the same graph (f32 weights) agrees with the reference too.
#[test]
fn burn_graph_matches_reference() {
    let m = mantle_models::llama::BurnLlamaModel::load(
        require(model_dir::smollm2_path()),
        burn::prelude::Device::default(),
    )
    .unwrap();
    for p in prompts()
        .iter()
        .filter(|p| p.get("full_logits_last").is_some())
    {
        let name = &p["name"];
        let mut cache = m.new_cache();
        let logits = m.forward(&u32s(&p["token_ids"]), &mut cache).unwrap();
        let full = f32s(&p["full_logits_last"]);
        let max_diff = full
            .iter()
            .zip(&logits)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f32::max);
        eprintln!("burn {name}: max |Δlogit| = {max_diff}");
        assert!(max_diff <= 0.05, "burn {name}: max |Δlogit| = {max_diff}");
        // A few cached decode steps follow the greedy reference.
        let want = u32s(&p["greedy_new_ids"]);
        let mut next = argmax(&logits);
        for &w in &want[..4] {
            assert_eq!(next, w, "burn greedy step of {name}");
            next = argmax(&m.forward(&[next], &mut cache).unwrap());
        }
    }
}

//! A tiny random Llama in GGUF with a ChatML template and a printable-ASCII byte-level
//! vocabulary: small enough to load in milliseconds, real enough that the whole pipeline —
//! template, tokenizer, batched forward passes, sampling, constrained decoding — runs on it.

// Shared by several test binaries; each uses only part of it.
#![allow(dead_code, unreachable_pub)]

#[path = "../../../models/tests/common/gguf_writer.rs"]
mod gguf_writer;

use std::path::PathBuf;
use std::sync::OnceLock;

use gguf_writer::{Meta, Tensor, gguf};
use mantle_inference::{
    Catalog, Conversation, EngineLimits, GenerateRequest, InferenceParams, ModelInfo, ModelKind,
    TextModel,
};

pub const MODEL_ID: &str = "test.synthetic-llama-v1:0";
const DIM: usize = 64;
const FFN: usize = 128;
const HEADS: u32 = 4;
const KV_HEADS: u32 = 2;
const LAYERS: usize = 2;
pub const CONTEXT: usize = 4096;

const CHATML: &str = "{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}";

struct Rng(u64);

impl Rng {
    fn unit(&mut self) -> f32 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) as u32 as f32 / (1u64 << 30) as f32 - 1.0
    }
}

/// GPT-2's byte-level alphabet for the bytes this vocabulary has.
fn byte_token(byte: u8) -> String {
    match byte {
        b' ' => "\u{120}".into(),
        b'\n' => "\u{10A}".into(),
        _ => char::from(byte).to_string(),
    }
}

fn file() -> PathBuf {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(write_file).clone()
}

fn write_file() -> PathBuf {
    let mut tokens: Vec<String> = (0x20u8..0x7f).chain([b'\n']).map(byte_token).collect();
    let mut types = vec![1i32; tokens.len()];
    for special in ["<|im_start|>", "<|im_end|>"] {
        tokens.push(special.into());
        types.push(3);
    }
    let vocab = tokens.len();
    let eos = (vocab - 1) as u32;
    let mut rng = Rng(7);
    let mut matrix = |cols: usize, rows: usize| -> Vec<u8> {
        let scale = 1.0 / (cols as f32).sqrt();
        (0..cols * rows)
            .flat_map(|_| (rng.unit() * scale * 2.0).to_le_bytes())
            .collect()
    };
    let ones = |n: usize| -> Vec<u8> { (0..n).flat_map(|_| 1.0f32.to_le_bytes()).collect() };
    let kv = DIM / HEADS as usize * KV_HEADS as usize;
    let mut specs: Vec<(String, Vec<u64>, Vec<u8>)> = vec![
        (
            "token_embd.weight".into(),
            vec![DIM as u64, vocab as u64],
            matrix(DIM, vocab),
        ),
        (
            "output.weight".into(),
            vec![DIM as u64, vocab as u64],
            matrix(DIM, vocab),
        ),
        ("output_norm.weight".into(), vec![DIM as u64], ones(DIM)),
    ];
    for l in 0..LAYERS {
        for (name, cols, rows) in [
            ("attn_q", DIM, DIM),
            ("attn_k", DIM, kv),
            ("attn_v", DIM, kv),
            ("attn_output", DIM, DIM),
            ("ffn_gate", DIM, FFN),
            ("ffn_up", DIM, FFN),
            ("ffn_down", FFN, DIM),
        ] {
            specs.push((
                format!("blk.{l}.{name}.weight"),
                vec![cols as u64, rows as u64],
                matrix(cols, rows),
            ));
        }
        for norm in ["attn_norm", "ffn_norm"] {
            specs.push((
                format!("blk.{l}.{norm}.weight"),
                vec![DIM as u64],
                ones(DIM),
            ));
        }
    }
    let tensors: Vec<Tensor<'_>> = specs
        .iter()
        .map(|(name, dims, data)| Tensor {
            name,
            dims,
            ty: 0,
            data: data.clone(),
        })
        .collect();
    let bytes = gguf(
        &[
            ("general.architecture", Meta::Str("llama")),
            ("llama.embedding_length", Meta::U32(DIM as u32)),
            ("llama.feed_forward_length", Meta::U32(FFN as u32)),
            ("llama.block_count", Meta::U32(LAYERS as u32)),
            ("llama.attention.head_count", Meta::U32(HEADS)),
            ("llama.attention.head_count_kv", Meta::U32(KV_HEADS)),
            ("llama.context_length", Meta::U32(CONTEXT as u32)),
            ("tokenizer.ggml.model", Meta::Str("gpt2")),
            ("tokenizer.ggml.tokens", Meta::Strs(tokens)),
            ("tokenizer.ggml.token_type", Meta::I32s(types)),
            ("tokenizer.ggml.merges", Meta::Strs(Vec::new())),
            ("tokenizer.ggml.eos_token_id", Meta::U32(eos)),
            ("tokenizer.chat_template", Meta::Str(CHATML)),
        ],
        &tensors,
    );
    let dir = std::env::temp_dir().join(format!("mantle-inference-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("synthetic-chat.gguf");
    std::fs::write(&path, bytes).unwrap();
    path
}

/// The synthetic model behind its own engine.
pub fn model(limits: EngineLimits) -> TextModel {
    let mut catalog = Catalog::default();
    catalog
        .add_text_with(
            ModelInfo {
                id: MODEL_ID.into(),
                name: "synthetic".into(),
                provider: "tests".into(),
                kind: ModelKind::Text,
                path: file(),
            },
            limits,
        )
        .unwrap();
    catalog.text(MODEL_ID).unwrap().clone()
}

/// A greedy chat request for `text`.
pub fn greedy(text: &str, max_tokens: i64) -> GenerateRequest {
    let mut request = GenerateRequest::chat(Conversation::user(Some("You are a test."), text));
    request.params = InferenceParams {
        max_tokens: Some(max_tokens),
        temperature: Some(0.0),
        ..Default::default()
    };
    request
}

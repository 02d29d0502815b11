//! A tiny random Llama GGUF using every supported tensor encoding: the block-kernel CPU path
//! and the burn f32 graph must agree on it.

mod common;

use common::gguf_writer::{Meta, Tensor, gguf, write};
use half::{bf16, f16};
use mantle_models::llama::BurnLlamaModel;
use mantle_models::{LlamaModel, Sampler};

const DIM: usize = 256;
const FFN: usize = 512;
const HEADS: u32 = 4;
const KV_HEADS: u32 = 2;
const VOCAB: usize = 64;
const LAYERS: usize = 2;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u32 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) as u32
    }
    /// Uniform in [-1, 1).
    fn unit(&mut self) -> f32 {
        self.next() as f32 / (1u64 << 30) as f32 - 1.0
    }
    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}

/// Random weights of `rows x cols` in GGML type `ty`, with block scales sized so activations
/// stay O(1).
fn weights(rng: &mut Rng, ty: u32, cols: usize, rows: usize) -> Vec<u8> {
    let n = cols * rows;
    let scale = 1.0 / (cols as f32).sqrt();
    let h = |v: f32| f16::from_f32(v).to_le_bytes();
    match ty {
        0 => (0..n)
            .flat_map(|_| (rng.unit() * scale).to_le_bytes())
            .collect(),
        1 => (0..n).flat_map(|_| h(rng.unit() * scale)).collect(),
        30 => (0..n)
            .flat_map(|_| bf16::from_f32(rng.unit() * scale).to_le_bytes())
            .collect(),
        2 | 3 | 8 => {
            let (bytes, quant_max) = match ty {
                2 => (18, 8.0),
                3 => (20, 8.0),
                _ => (34, 127.0),
            };
            let mut out = Vec::new();
            for _ in 0..n / 32 {
                let mut b = rng.bytes(bytes);
                b[..2].copy_from_slice(&h(scale / quant_max));
                if ty == 3 {
                    b[2..4].copy_from_slice(&h(-scale));
                }
                out.extend(b);
            }
            out
        }
        12 => {
            let mut out = Vec::new();
            for _ in 0..n / 256 {
                let mut b = rng.bytes(144);
                b[..2].copy_from_slice(&h(scale / (15.0 * 32.0)));
                b[2..4].copy_from_slice(&h(scale / 32.0));
                out.extend(b);
            }
            out
        }
        14 => {
            let mut out = Vec::new();
            for _ in 0..n / 256 {
                let mut b = rng.bytes(210);
                b[208..210].copy_from_slice(&h(scale / (32.0 * 128.0)));
                out.extend(b);
            }
            out
        }
        _ => unreachable!(),
    }
}

fn ones(n: usize) -> Vec<u8> {
    (0..n)
        .flat_map(|i| (1.0f32 + 0.01 * (i % 7) as f32).to_le_bytes())
        .collect()
}

/// Written once per test binary: tests run in parallel and must not rewrite the file another
/// one is reading.
fn model_file() -> std::path::PathBuf {
    static PATH: std::sync::OnceLock<std::path::PathBuf> = std::sync::OnceLock::new();
    PATH.get_or_init(write_model_file).clone()
}

fn write_model_file() -> std::path::PathBuf {
    let mut rng = Rng(42);
    let kv = DIM / HEADS as usize * KV_HEADS as usize;
    let mut names = Vec::new();
    let mut specs: Vec<(String, Vec<u64>, u32, Vec<u8>)> = vec![
        (
            "token_embd.weight".into(),
            vec![DIM as u64, VOCAB as u64],
            8,
            weights(&mut rng, 8, DIM, VOCAB),
        ),
        (
            "output.weight".into(),
            vec![DIM as u64, VOCAB as u64],
            14,
            weights(&mut rng, 14, DIM, VOCAB),
        ),
        ("output_norm.weight".into(), vec![DIM as u64], 0, ones(DIM)),
    ];
    for l in 0..LAYERS {
        // Every encoding appears somewhere in each layer.
        let layer: [(&str, usize, usize, u32); 7] = [
            ("attn_q", DIM, DIM, 12),
            ("attn_k", DIM, kv, 2),
            ("attn_v", DIM, kv, 14),
            ("attn_output", DIM, DIM, 30),
            ("ffn_gate", DIM, FFN, 3),
            ("ffn_up", DIM, FFN, 1),
            ("ffn_down", FFN, DIM, if l == 0 { 0 } else { 8 }),
        ];
        for (name, cols, rows, ty) in layer {
            specs.push((
                format!("blk.{l}.{name}.weight"),
                vec![cols as u64, rows as u64],
                ty,
                weights(&mut rng, ty, cols, rows),
            ));
        }
        for norm in ["attn_norm", "ffn_norm"] {
            specs.push((
                format!("blk.{l}.{norm}.weight"),
                vec![DIM as u64],
                0,
                ones(DIM),
            ));
        }
    }
    names.extend(specs.iter().map(|s| s.0.clone()));
    let tensors: Vec<Tensor<'_>> = specs
        .iter()
        .map(|(name, dims, ty, data)| Tensor {
            name,
            dims,
            ty: *ty,
            data: data.clone(),
        })
        .collect();
    // Byte-level BPE over printable ASCII, no merges.
    let tokens: Vec<String> = (0..VOCAB)
        .map(|i| char::from(b'A' + i as u8).to_string())
        .collect();
    let file = gguf(
        &[
            ("general.architecture", Meta::Str("llama")),
            ("llama.embedding_length", Meta::U32(DIM as u32)),
            ("llama.feed_forward_length", Meta::U32(FFN as u32)),
            ("llama.block_count", Meta::U32(LAYERS as u32)),
            ("llama.attention.head_count", Meta::U32(HEADS)),
            ("llama.attention.head_count_kv", Meta::U32(KV_HEADS)),
            ("llama.context_length", Meta::U32(128)),
            ("tokenizer.ggml.model", Meta::Str("gpt2")),
            ("tokenizer.ggml.tokens", Meta::Strs(tokens)),
            ("tokenizer.ggml.merges", Meta::Strs(Vec::new())),
        ],
        &tensors,
    );
    write("synthetic-llama.gguf", &file)
}

#[test]
fn block_kernels_and_burn_graph_agree_on_every_encoding() {
    let path = model_file();
    let cpu = LlamaModel::load(&path).unwrap();
    let burn = BurnLlamaModel::load(&path, burn::prelude::Device::default()).unwrap();
    let prompt = cpu.tokenizer().encode("HELLOWORLD").unwrap();
    assert_eq!(prompt.len(), 10);
    let (mut c1, mut c2) = (cpu.new_cache(), burn.new_cache());
    let mut a = cpu.forward(&prompt, &mut c1).unwrap();
    let mut b = burn.forward(&prompt, &mut c2).unwrap();
    for step in 0..4 {
        let spread = a.iter().fold(0.0f32, |m, v| m.max(v.abs()));
        assert!(
            spread > 1e-3 && spread.is_finite(),
            "degenerate logits {spread}"
        );
        let diff = a
            .iter()
            .zip(&b)
            .map(|(x, y)| (x - y).abs())
            .fold(0.0, f32::max);
        eprintln!("step {step}: max |logit| {spread}, max |Δ| {diff}");
        assert!(
            diff < 1e-3 * spread.max(1.0),
            "step {step}: max |Δ| {diff} (scale {spread})"
        );
        let next = Sampler::greedy().sample(&a);
        a = cpu.forward(&[next], &mut c1).unwrap();
        b = burn.forward(&[next], &mut c2).unwrap();
    }
}

/// Prefill-sized chunks take the decoded-panel GEMM and blocked causal attention; they agree
/// with feeding the same tokens one at a time (per-row kernels), also when a chunk starts
/// after cached positions, and with the burn graph.
#[test]
fn long_chunks_agree_with_token_by_token() {
    let path = model_file();
    let cpu = LlamaModel::load(&path).unwrap();
    let burn = BurnLlamaModel::load(&path, burn::prelude::Device::default()).unwrap();
    let text: String = (0..70)
        .map(|i| char::from(b'A' + (i * 7 % 20) as u8))
        .collect();
    let prompt = cpu.tokenizer().encode(&text).unwrap();
    assert_eq!(prompt.len(), 70);
    let max_diff = |a: &[f32], b: &[f32]| {
        a.iter()
            .zip(b)
            .map(|(x, y)| (x - y).abs())
            .fold(0.0f32, f32::max)
    };
    let whole = cpu.forward(&prompt, &mut cpu.new_cache()).unwrap();
    let spread = whole.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    let tol = 1e-3 * spread.max(1.0);
    let mut cache = cpu.new_cache();
    cpu.forward(&prompt[..20], &mut cache).unwrap();
    let chunked = cpu.forward(&prompt[20..], &mut cache).unwrap();
    assert!(max_diff(&whole, &chunked) < tol, "chunked prefill");
    let mut cache = cpu.new_cache();
    let mut stepped = Vec::new();
    for &t in &prompt {
        stepped = cpu.forward(&[t], &mut cache).unwrap();
    }
    assert!(max_diff(&whole, &stepped) < tol, "token by token");
    let reference = burn.forward(&prompt, &mut burn.new_cache()).unwrap();
    assert!(max_diff(&whole, &reference) < tol, "burn graph");
}

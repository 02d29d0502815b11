//! `cargo xtask bench models`: the four figures for the default models, medians of 5.
//!
//! - decode tok/s: 128 new tokens after a short prompt, one sequence;
//! - prefill tok/s: a 512-token prompt;
//! - aggregate decode tok/s: 8 sequences decoding together (one `forward_batch` per step);
//! - MiniLM sentences/s: batches of 32 sentences of about 20 words.
//!
//! Each is printed beside the reference figures (llama.cpp 0.3.36 and
//! sentence-transformers, 2 threads, measured once on the machine kind the issue names) as a
//! ratio. `cargo xtask bench models` also measures those baselines just before this run when
//! the bench venv exists (see xtask/src/bench.rs) and passes them in `MANTLE_BENCH_*`; they are
//! printed as "measured now" rows — the ratios to quote. Set RAYON_NUM_THREADS=2 to match
//! them.

use std::time::Instant;

use mantle_models::{BertEmbedder, LlamaModel, Sampler, model_dir};

const RUNS: usize = 5;
/// llama.cpp with flash attention, this GGUF, 2 threads (the figures).
const LLAMA_CPP_DECODE: f64 = 108.0;
const LLAMA_CPP_PREFILL: f64 = 255.0;
/// sentence-transformers, all-MiniLM-L6-v2, 2 threads.
const SENTENCE_TRANSFORMERS: f64 = 211.0;

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

fn decode(model: &LlamaModel, prompt: &[u32], new_tokens: usize) -> f64 {
    let mut cache = model.new_cache();
    let mut sampler = Sampler::greedy();
    let mut logits = model.forward(prompt, &mut cache).unwrap();
    let started = Instant::now();
    for _ in 0..new_tokens {
        let next = sampler.sample(&logits);
        logits = model.forward(&[next], &mut cache).unwrap();
    }
    new_tokens as f64 / started.elapsed().as_secs_f64()
}

fn prefill(model: &LlamaModel, prompt: &[u32]) -> f64 {
    let mut cache = model.new_cache();
    let started = Instant::now();
    model.forward(prompt, &mut cache).unwrap();
    prompt.len() as f64 / started.elapsed().as_secs_f64()
}

/// One `forward_batch` over every sequence, then one greedy token for each.
fn batch_step(
    model: &LlamaModel,
    next: &mut [Vec<u32>],
    caches: &mut [mantle_models::KvCache],
    samplers: &mut [Sampler],
) {
    let logits = {
        let mut seqs: Vec<_> = next
            .iter()
            .zip(caches.iter_mut())
            .map(|(tokens, cache)| mantle_models::llama::SeqInput { tokens, cache })
            .collect();
        model.forward_batch(&mut seqs).unwrap()
    };
    for ((n, s), l) in next.iter_mut().zip(samplers.iter_mut()).zip(&logits) {
        *n = vec![s.sample(l)];
    }
}

fn batched_decode(model: &LlamaModel, prompts: &[Vec<u32>], new_tokens: usize) -> f64 {
    let mut caches: Vec<_> = prompts.iter().map(|_| model.new_cache()).collect();
    let mut next: Vec<Vec<u32>> = prompts.to_vec();
    let mut samplers: Vec<_> = prompts.iter().map(|_| Sampler::greedy()).collect();
    // The prefill step is outside the timed part.
    batch_step(model, &mut next, &mut caches, &mut samplers);
    let started = Instant::now();
    for _ in 0..new_tokens {
        batch_step(model, &mut next, &mut caches, &mut samplers);
    }
    (prompts.len() * new_tokens) as f64 / started.elapsed().as_secs_f64()
}

fn main() {
    let model = LlamaModel::load(model_dir::smollm2_path()).expect("run `cargo xtask setup` first");
    let tokenizer = model.tokenizer();
    let short = tokenizer
        .encode("Once upon a time, in a small village at the edge of a great forest,")
        .unwrap();
    let mut long = tokenizer
        .encode(&"The quick brown fox jumps over the lazy dog near the river bank. ".repeat(64))
        .unwrap();
    long.truncate(512);
    let prompts: Vec<Vec<u32>> = (0..8)
        .map(|i| {
            tokenizer
                .encode(&format!("Story {i}: once upon a time, a traveller found"))
                .unwrap()
        })
        .collect();
    let embedder =
        BertEmbedder::load(model_dir::minilm_dir()).expect("run `cargo xtask setup` first");
    let sentences: Vec<String> = (0..32)
        .map(|i| format!("Sentence number {i} talks about the weather, the office, the quarterly roadmap and a short walk in the park today."))
        .collect();
    let refs: Vec<&str> = sentences.iter().map(String::as_str).collect();

    decode(&model, &short, 16);
    let decode_rate = median((0..RUNS).map(|_| decode(&model, &short, 128)).collect());
    let prefill_rate = median((0..RUNS).map(|_| prefill(&model, &long)).collect());
    let batched_rate = median(
        (0..RUNS)
            .map(|_| batched_decode(&model, &prompts, 64))
            .collect(),
    );
    embedder.embed(&refs).unwrap();
    let embed_rate = median(
        (0..RUNS)
            .map(|_| {
                let started = Instant::now();
                embedder.embed(&refs).unwrap();
                refs.len() as f64 / started.elapsed().as_secs_f64()
            })
            .collect(),
    );

    let threads = rayon::current_num_threads();
    println!("\nmantle-models, {threads} threads, medians of {RUNS}:");
    println!(
        "{:<44} {:>10} {:>12} {:>8}",
        "", "mantle", "reference", "ratio"
    );
    let row = |name: &str, value: f64, reference: Option<f64>| match reference {
        Some(r) => println!("{name:<44} {value:>10.1} {r:>12.1} {:>8.2}", value / r),
        None => println!("{name:<44} {value:>10.1} {:>12} {:>8}", "-", "-"),
    };
    row(
        "decode tok/s (128 new, llama.cpp+FA)",
        decode_rate,
        Some(LLAMA_CPP_DECODE),
    );
    row(
        "prefill tok/s (512-token prompt, llama.cpp+FA)",
        prefill_rate,
        Some(LLAMA_CPP_PREFILL),
    );
    row("aggregate decode tok/s, 8 streams", batched_rate, None);
    row(
        "MiniLM sentences/s (batch 32, sentence-tr.)",
        embed_rate,
        Some(SENTENCE_TRANSFORMERS),
    );
    let measured = |key: &str| {
        std::env::var(format!("MANTLE_BENCH_{key}"))
            .ok()
            .and_then(|v| v.parse::<f64>().ok())
    };
    let side_by_side = [
        (
            "  decode vs llama.cpp measured now",
            decode_rate,
            "DECODE_TOK_S",
        ),
        (
            "  decode vs llama.cpp+FA measured now",
            decode_rate,
            "DECODE_TOK_S_FA",
        ),
        (
            "  prefill vs llama.cpp measured now",
            prefill_rate,
            "PREFILL_TOK_S",
        ),
        (
            "  prefill vs llama.cpp+FA measured now",
            prefill_rate,
            "PREFILL_TOK_S_FA",
        ),
        (
            "  MiniLM vs sentence-tr. measured now",
            embed_rate,
            "SENTENCES_PER_S",
        ),
    ];
    let mut shown = 0;
    for (name, value, key) in side_by_side {
        if let Some(baseline) = measured(key) {
            row(name, value, Some(baseline));
            shown += 1;
        }
    }
    if shown == 0 {
        println!("(no side-by-side baselines: run via cargo xtask with the bench venv)");
    }
}

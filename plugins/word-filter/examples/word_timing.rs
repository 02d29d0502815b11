//! Per-call cost of the word-filter policy on a 1 KiB text, natively.
//!
//! `cargo run --release --example word_timing -p mantle-plugin-word-filter`

use std::hint::black_box;
use std::time::Instant;

use mantle_plugin_word_filter::WordFilter;
use mantle_plugin_word_filter::matcher::Tokens;
use mantle_sdk::guardrail::Guest;
use serde_json::json;

fn per_call(iterations: u32, mut f: impl FnMut()) -> f64 {
    for _ in 0..iterations / 10 {
        f();
    }
    let started = Instant::now();
    for _ in 0..iterations {
        f();
    }
    started.elapsed().as_secs_f64() * 1e6 / f64::from(iterations)
}

fn main() {
    let sentence =
        "The quick brown fox jumps over the lazy dog while project falcon ships, damn it. ";
    let text: String = sentence.repeat(1024 / sentence.len() + 1)[..1024].to_owned();
    let config = json!({
        "wordsConfig": [{"text": "project falcon"}, {"text": "secret"}, {"text": "internal only"}],
        "managedWordListsConfig": [{"type": "PROFANITY"}]
    });
    let request = mantle_sdk::testkit::input(&[&text], config);
    let n = 20_000;
    println!("1 KiB of English, 3 custom words and the PROFANITY list (native, release):");
    println!(
        "  assess (incl. request clone):  {:6.2} µs",
        per_call(n, || {
            black_box(WordFilter::assess(black_box(request.clone())).unwrap());
        })
    );
    println!(
        "  tokenize:                      {:6.2} µs",
        per_call(n, || {
            black_box(Tokens::new(black_box(&text)));
        })
    );
}

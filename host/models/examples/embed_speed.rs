//! MiniLM sentences/s on the bench's batch, for quick A/B checks:
//! `cargo run -p mantle-models --example embed_speed` (RAYON_NUM_THREADS to vary threads).

use std::time::Instant;

use mantle_models::{BertEmbedder, model_dir};

fn main() {
    let embedder = BertEmbedder::load(model_dir::minilm_dir()).expect("run `cargo xtask setup`");
    let sentences: Vec<String> = (0..32)
        .map(|i| format!("Sentence number {i} talks about the weather, the office, the quarterly roadmap and a short walk in the park today."))
        .collect();
    let refs: Vec<&str> = sentences.iter().map(String::as_str).collect();
    embedder.embed(&refs).unwrap();
    let mut rates: Vec<f64> = (0..9)
        .map(|_| {
            let started = Instant::now();
            embedder.embed(&refs).unwrap();
            refs.len() as f64 / started.elapsed().as_secs_f64()
        })
        .collect();
    rates.sort_by(f64::total_cmp);
    println!(
        "{} threads: median {:.1} sentences/s (min {:.1}, max {:.1})",
        rayon::current_num_threads(),
        rates[4],
        rates[0],
        rates[8]
    );
}

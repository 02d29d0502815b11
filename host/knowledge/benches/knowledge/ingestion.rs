//! Ingestion throughput: text files in the embedded bucket root, read by an S3 ingestion job
//! (parse, the built-in fixed-size chunker plugin at Bedrock's default 300 tokens / 20%
//! overlap, MiniLM embeddings, the sled records, tantivy and the vector graph), in chunks/s —
//! beside the embedding model alone on the very chunk texts the job produced (what the
//! pipeline adds), and beside a Chroma + sentence-transformers pipeline on the same files and
//! chunk size when the bench venv has them (`xtask/bench/chroma_baseline.py`).
//!
//! The documents are generated (seeded) English-like prose: sentences of common words, so the
//! tokenizer sees ordinary text. `MANTLE_BENCH_DOCS` changes how many (default 100, ~4 chunks
//! each).

use std::path::Path;
use std::time::Instant;

use serde_json::json;

use super::Rng;
use super::common::{MINILM, finish, models, open_service};

/// The vocabulary of the generated documents.
const WORDS: &str = "the team keeps every backup for thirty days in a second region and checks \
    each restore before release engineers page when alerts fire at night service owners write \
    runbooks that explain how to recover from failures disk network database queue latency grows \
    under load so we scale out early policy requires reviews of access keys every quarter \
    customers expect answers within one hour support tickets are routed by product area holiday \
    requests need approval two weeks ahead office opens nine closes six visitors sign reception \
    badge required";

/// About `words` words of sentences of 8–20 words.
fn prose(rng: &mut Rng, words: usize) -> String {
    let vocabulary: Vec<&str> = WORDS.split_whitespace().collect();
    let mut text = String::new();
    let mut written = 0;
    while written < words {
        let length = 8 + (rng.next() % 13) as usize;
        for i in 0..length {
            let word = vocabulary[(rng.next() % vocabulary.len() as u64) as usize];
            if i == 0 {
                let mut chars = word.chars();
                if let Some(first) = chars.next() {
                    text.extend(first.to_uppercase());
                    text.push_str(chars.as_str());
                }
            } else {
                text.push(' ');
                text.push_str(word);
            }
        }
        text.push_str(". ");
        written += length;
    }
    text
}

pub(crate) fn run() {
    let docs: usize = std::env::var("MANTLE_BENCH_DOCS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100);
    let dir = tempfile::tempdir().unwrap();
    let bucket = dir.path().join("buckets/bench");
    std::fs::create_dir_all(&bucket).unwrap();
    std::fs::create_dir_all(dir.path().join("plugins")).unwrap();
    let mut rng = Rng(11);
    let mut bytes = 0;
    for i in 0..docs {
        let text = prose(&mut rng, 900);
        bytes += text.len();
        std::fs::write(bucket.join(format!("doc{i:04}.txt")), text).unwrap();
    }

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    // Jobs run as tasks on the runtime the service is called from.
    let _runtime = runtime.enter();
    let (knowledge, _) = open_service(dir.path());
    let kb = knowledge
        .create_knowledge_base(
            serde_json::from_value(json!({
                "name": "bench",
                "roleArn": "arn:aws:iam::000000000000:role/kb",
                "knowledgeBaseConfiguration": {"type": "VECTOR", "vectorKnowledgeBaseConfiguration": {"embeddingModelArn": MINILM}},
            }))
            .unwrap(),
        )
        .unwrap()
        .knowledge_base_id;
    let ds = knowledge
        .create_data_source(
            &kb,
            serde_json::from_value(json!({
                "name": "bench",
                "dataSourceConfiguration": {"type": "S3", "s3Configuration": {"bucketArn": "arn:aws:s3:::bench"}},
            }))
            .unwrap(),
        )
        .unwrap()
        .data_source_id;

    // One untimed embedding first: the model's weights are paged in and its threads started.
    let model = models().embedding(MINILM).unwrap().clone();
    model.embed_blocking(&["warm up".to_owned()]).unwrap();

    let started = Instant::now();
    let job = runtime.block_on(finish(&knowledge, &kb, &ds));
    let pipeline_s = started.elapsed().as_secs_f64();
    assert_eq!(
        job.statistics.number_of_new_documents_indexed, docs as u64,
        "{job:?}"
    );
    let texts = mantle_knowledge::bench::chunk_texts(&knowledge, &kb);
    let chunks = texts.len();

    // The model alone on the same texts, at its best batch size: the pipeline embeds each
    // document's chunks together (a few a call), a bulk embedder would send 32.
    let (raw_batch, raw_s) = [4, 8, 32]
        .into_iter()
        .map(|batch| {
            let started = Instant::now();
            for texts in texts.chunks(batch) {
                model.embed_blocking(texts).unwrap();
            }
            (batch, started.elapsed().as_secs_f64())
        })
        .min_by(|a, b| a.1.total_cmp(&b.1))
        .unwrap();

    let pipeline = chunks as f64 / pipeline_s;
    let raw = chunks as f64 / raw_s;
    println!(
        "\nknowledge-base ingestion: {docs} text files ({:.1} MB), {chunks} chunks (fixed-size, 300 tokens, 20% overlap), MiniLM",
        bytes as f64 / 1e6
    );
    println!("  mantle ingestion job:          {pipeline_s:.1} s, {pipeline:.1} chunks/s");
    println!(
        "  MiniLM alone, same chunks:     {raw_s:.1} s, {raw:.1} chunks/s (best of batches 4, 8, 32: {raw_batch})"
    );
    println!(
        "  pipeline overhead: {:.1}% (the job's time beyond embedding)",
        (raw / pipeline - 1.0) * 100.0
    );
    match chroma(&bucket) {
        Some(figures) => {
            let get = |key: &str| figures.iter().find(|(k, _)| k == key).map(|(_, v)| *v);
            if let (Some(seconds), Some(their_chunks)) = (get("seconds"), get("chunks")) {
                let theirs = their_chunks / seconds;
                println!(
                    "  chroma + sentence-transformers: {seconds:.1} s, {their_chunks:.0} chunks, {theirs:.1} chunks/s"
                );
                println!(
                    "  ratio mantle/chroma: {:.2}× chunks/s, {:.2}× wall time for the same files",
                    pipeline / theirs,
                    seconds / pipeline_s
                );
            }
        }
        None => println!("  chroma: not measured (see the line above)"),
    }
}

/// The Chroma + sentence-transformers pipeline on the files in `files`.
fn chroma(files: &Path) -> Option<Vec<(String, f64)>> {
    let model = mantle_models::model_dir::default_model_dir().join("all-minilm-l6-v2");
    super::baseline(
        "chroma",
        "chroma_baseline.py",
        &[files.as_os_str(), model.as_os_str()],
    )
}

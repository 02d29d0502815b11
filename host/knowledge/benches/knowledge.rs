//! `cargo xtask bench knowledge`: ingestion throughput (see `knowledge/ingestion.rs`), then
//! vector search over a knowledge base of 100,000 chunks of 384 dimensions (MiniLM's width):
//! recall@10 against exact search and per-query latency, side by side with faiss's HNSW on the
//! same vectors when the bench venv has it, and the restart cost of the saved graph.
//! `MANTLE_BENCH_ONLY=ingestion|vectors` runs one of the two.
//!
//! The corpus is synthetic but shaped like sentence embeddings: unit vectors drawn around
//! 2,000 topic centroids, so neighbours are close and topics overlap (uniform random vectors
//! would make every method look bad in the same way). Queries are fresh draws, not corpus
//! members. `MANTLE_BENCH_CHUNKS` changes the size.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use mantle_knowledge::bench::VectorIndex;

#[path = "../tests/common/mod.rs"]
mod common;
#[path = "knowledge/ingestion.rs"]
mod ingestion;

const DIMS: usize = 384;
const TOPICS: usize = 2_000;
const QUERIES: usize = 500;
const K: usize = 10;
const CHUNKS_PER_DOC: usize = 10;

/// splitmix64: a seeded, dependency-free generator so every run measures the same corpus.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn uniform(&mut self) -> f32 {
        ((self.next() >> 40) as f32 + 0.5) / (1u64 << 24) as f32
    }

    /// A standard normal draw (Box–Muller).
    fn normal(&mut self) -> f32 {
        let (u, v) = (self.uniform(), self.uniform());
        (-2.0 * u.ln()).sqrt() * (std::f32::consts::TAU * v).cos()
    }
}

fn unit(mut v: Vec<f32>) -> Vec<f32> {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    v.iter_mut().for_each(|x| *x /= norm);
    v
}

fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn write_f32(path: &Path, rows: &[Vec<f32>]) {
    let bytes: Vec<u8> = rows
        .iter()
        .flatten()
        .flat_map(|x| x.to_le_bytes())
        .collect();
    std::fs::write(path, bytes).unwrap();
}

fn main() {
    let only = std::env::var("MANTLE_BENCH_ONLY").ok();
    if only.as_deref() != Some("vectors") {
        ingestion::run();
    }
    if only.as_deref() != Some("ingestion") {
        vector_search();
    }
}

fn vector_search() {
    let chunks: usize = std::env::var("MANTLE_BENCH_CHUNKS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let mut rng = Rng(7);
    let centroids: Vec<Vec<f32>> = (0..TOPICS)
        .map(|_| unit((0..DIMS).map(|_| rng.normal()).collect()))
        .collect();
    // Noise of this size puts a vector at cosine ~0.7 to its centroid, about where a
    // sentence sits to its topic with MiniLM.
    let spread = 1.0 / (DIMS as f32).sqrt();
    let draw = |rng: &mut Rng| {
        let c = &centroids[(rng.next() % TOPICS as u64) as usize];
        unit(c.iter().map(|x| x + spread * rng.normal()).collect())
    };
    let vectors: Vec<Vec<f32>> = (0..chunks).map(|_| draw(&mut rng)).collect();
    let queries: Vec<Vec<f32>> = (0..QUERIES).map(|_| draw(&mut rng)).collect();

    // Exact neighbours, the recall reference (and the cost exact search would have).
    let started = Instant::now();
    let truth: Vec<Vec<u32>> = std::thread::scope(|scope| {
        let halves: Vec<_> = queries
            .chunks(QUERIES / 2)
            .map(|part| {
                let vectors = &vectors;
                scope.spawn(move || {
                    part.iter()
                        .map(|q| {
                            let mut scored: Vec<(f32, u32)> = vectors
                                .iter()
                                .enumerate()
                                .map(|(i, v)| (dot(q, v), i as u32))
                                .collect();
                            scored.select_nth_unstable_by(K, |a, b| b.0.total_cmp(&a.0));
                            let mut top: Vec<(f32, u32)> = scored[..K].to_vec();
                            top.sort_by(|a, b| b.0.total_cmp(&a.0));
                            top.into_iter().map(|(_, i)| i).collect()
                        })
                        .collect::<Vec<Vec<u32>>>()
                })
            })
            .collect();
        halves.into_iter().flat_map(|h| h.join().unwrap()).collect()
    });
    let exact_ms = started.elapsed().as_secs_f64() * 1e3 * 2.0 / QUERIES as f64;

    let dir = tempfile::tempdir().unwrap();
    // The graph built whole, as a start without a saved graph does (faiss's build is bulk
    // too, on the same two cores).
    let docs = || {
        vectors
            .chunks(CHUNKS_PER_DOC)
            .enumerate()
            .map(|(doc, part)| (doc, part.to_vec()))
    };
    let started = Instant::now();
    let (index, reused) = VectorIndex::reopen(&dir.path().join("index"), docs()).unwrap();
    let build_s = started.elapsed().as_secs_f64();
    assert_eq!((reused, index.len()), (0, chunks));

    // A restart: the saved graph loaded and reconciled with the records, against the build.
    let started = Instant::now();
    index.save().unwrap();
    let save_s = started.elapsed().as_secs_f64();
    drop(index);
    let started = Instant::now();
    let (index, reused) = VectorIndex::reopen(&dir.path().join("index"), docs()).unwrap();
    let reopen_s = started.elapsed().as_secs_f64();
    assert_eq!(reused, chunks.div_ceil(CHUNKS_PER_DOC));
    assert_eq!(index.len(), chunks);

    for q in queries.iter().take(20) {
        index.search(q, K);
    }
    let mut times = Vec::with_capacity(QUERIES);
    let mut recall = 0.0;
    for (q, truth) in queries.iter().zip(&truth) {
        let started = Instant::now();
        let found = index.search(q, K);
        times.push(started.elapsed().as_secs_f64() * 1e6);
        let found: Vec<u32> = found
            .into_iter()
            .map(|(doc, chunk)| (doc * CHUNKS_PER_DOC + chunk) as u32)
            .collect();
        recall += truth.iter().filter(|t| found.contains(t)).count() as f64 / K as f64;
    }
    recall /= QUERIES as f64;
    times.sort_by(f64::total_cmp);
    let (p50, p99) = (percentile(&times, 0.5), percentile(&times, 0.99));

    println!(
        "\nknowledge-base vector search: {chunks} chunks × {DIMS} dims, {QUERIES} queries, k={K}"
    );
    println!("  exact scan (reference, one thread): {exact_ms:.2} ms per query");
    println!(
        "  mantle (usearch HNSW, via the index):  build {build_s:.1} s, recall@{K} {recall:.4}, p50 {p50:.0} µs, p99 {p99:.0} µs"
    );
    println!(
        "  restart: graph saved in {save_s:.2} s, reopened with its records in {reopen_s:.2} s ({:.0}× faster than the build)",
        build_s / reopen_s
    );

    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    write_f32(&data.join("vectors.f32"), &vectors);
    write_f32(&data.join("queries.f32"), &queries);
    let truth_bytes: Vec<u8> = truth
        .iter()
        .flatten()
        .flat_map(|i| i.to_le_bytes())
        .collect();
    std::fs::write(data.join("truth.u32"), truth_bytes).unwrap();
    match faiss(&data) {
        Some(figures) => {
            let get = |key: &str| figures.iter().find(|(k, _)| k == key).map(|(_, v)| *v);
            // faiss at the cheapest efSearch that reaches Mantle's recall (or its best).
            let mut pick = None;
            for ef in [16, 32, 48, 64, 96, 128, 192, 256] {
                let (Some(r), Some(p50), Some(p99)) = (
                    get(&format!("ef{ef}_recall")),
                    get(&format!("ef{ef}_p50_us")),
                    get(&format!("ef{ef}_p99_us")),
                ) else {
                    continue;
                };
                pick = Some((ef, r, p50, p99));
                if r >= recall {
                    break;
                }
            }
            if let Some((ef, r, f50, f99)) = pick {
                println!(
                    "  faiss HNSW (M=16, efSearch={ef}):   build {:.1} s, recall@{K} {r:.4}, p50 {f50:.0} µs, p99 {f99:.0} µs",
                    get("build_s").unwrap_or(f64::NAN)
                );
                println!(
                    "  ratio faiss/mantle latency at matched recall: p50 {:.2}×, p99 {:.2}×",
                    f50 / p50,
                    f99 / p99
                );
            }
        }
        None => println!("  faiss: not measured (see the line above)"),
    }
}

/// Runs `xtask/bench/<script>` with `args` in the bench venv and answers its `key=value`
/// lines; `None` (with a line saying why) when there is no venv or the script fails.
fn baseline(what: &str, script: &str, args: &[&std::ffi::OsStr]) -> Option<Vec<(String, f64)>> {
    let Some(python) = std::env::var_os("MANTLE_BENCH_PYTHON").map(PathBuf::from) else {
        println!("  {what} baseline skipped: no bench venv (see xtask/src/bench.rs)");
        return None;
    };
    let script = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../xtask/bench")
        .join(script);
    let output = Command::new(&python).arg(script).args(args).output().ok()?;
    if !output.status.success() {
        println!(
            "  {what} baseline failed: {}",
            String::from_utf8_lossy(&output.stderr)
                .lines()
                .last()
                .unwrap_or("")
        );
        return None;
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    Some(
        stdout
            .lines()
            .filter_map(|l| l.split_once('='))
            .filter_map(|(k, v)| Some((k.trim().to_owned(), v.trim().parse().ok()?)))
            .collect(),
    )
}

/// The faiss baseline on the corpus written to `data`.
fn faiss(data: &Path) -> Option<Vec<(String, f64)>> {
    let (dims, k) = (DIMS.to_string(), K.to_string());
    baseline(
        "faiss",
        "faiss_baseline.py",
        &[data.as_os_str(), dims.as_ref(), k.as_ref()],
    )
}

//! Side-by-side baselines for `cargo xtask bench models`, measured on this machine just before
//! Mantle's figures when their tools are installed. Optional by design: CI never creates the
//! bench venv.
//!
//! The venv lives outside the repository:
//! `python3 -m venv ~/.cache/mantle/bench-venv`, then
//! `~/.cache/mantle/bench-venv/bin/pip install torch sentence-transformers llama-cpp-python
//! faiss-cpu numpy chromadb` (faiss and chromadb for `bench knowledge`)
//! (llama-cpp-python builds from source, ~25 minutes on 2 cores; on CPUs that advertise AMX
//! inside a VM, build it with `CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX2=ON -DGGML_FMA=ON
//! -DGGML_F16C=ON -DGGML_AVX512=ON"` — its AMX kernels crash where the tiles are not enabled).

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::util;

fn bench_venv() -> PathBuf {
    util::cache_dir().join("bench-venv")
}

/// The bench venv's Python, when the venv exists (with a line saying so when it does not).
pub(crate) fn python() -> Option<PathBuf> {
    let python = bench_venv().join("bin").join("python");
    if python.exists() {
        Some(python)
    } else {
        println!(
            "bench: no side-by-side baselines: no venv at {} (see xtask/src/bench.rs)",
            bench_venv().display()
        );
        None
    }
}

/// Runs `xtask/bench/<script>` with `args` in the bench venv and returns its trailing
/// `key=value` lines, or nothing (with a line saying why) when the venv is missing or the
/// script fails.
fn run_baseline(root: &Path, what: &str, script: &str, args: &[&Path]) -> Vec<(String, f64)> {
    let python = bench_venv().join("bin").join("python");
    if !python.exists() {
        println!(
            "bench: skipping the {what} side-by-side: no venv at {} (see xtask/src/bench.rs)",
            bench_venv().display()
        );
        return Vec::new();
    }
    util::step(&format!("{what} baseline (bench venv)"));
    let output = Command::new(&python)
        .arg(root.join("xtask").join("bench").join(script))
        .args(args)
        .output();
    let output = match output {
        Ok(o) if o.status.success() => o,
        Ok(o) => {
            println!(
                "bench: {what} baseline failed ({}): {}",
                o.status,
                String::from_utf8_lossy(&o.stderr)
                    .lines()
                    .last()
                    .unwrap_or("")
            );
            return Vec::new();
        }
        Err(e) => {
            println!("bench: cannot run {}: {e}", python.display());
            return Vec::new();
        }
    };
    let stdout = String::from_utf8_lossy(&output.stdout);
    print!("{stdout}");
    stdout
        .lines()
        .filter_map(|l| l.split_once('='))
        .filter_map(|(k, v)| Some((k.trim().to_owned(), v.trim().parse().ok()?)))
        .collect()
}

/// Environment for the throughput bench: every baseline figure measured now, as
/// `MANTLE_BENCH_<KEY>` (e.g. `MANTLE_BENCH_SENTENCES_PER_S`, `MANTLE_BENCH_DECODE_TOK_S_FA`).
pub(crate) fn baselines(root: &Path, model_dir: &Path) -> Vec<(String, String)> {
    let minilm = model_dir.join("all-minilm-l6-v2");
    let gguf = model_dir
        .join("smollm2-135m-instruct")
        .join("SmolLM2-135M-Instruct.Q4_1.gguf");
    let mut figures = run_baseline(
        root,
        "sentence-transformers",
        "minilm_baseline.py",
        &[&minilm],
    );
    figures.extend(run_baseline(
        root,
        "llama.cpp",
        "llama_cpp_baseline.py",
        &[&gguf],
    ));
    figures
        .into_iter()
        .map(|(k, v)| (format!("MANTLE_BENCH_{}", k.to_uppercase()), v.to_string()))
        .collect()
}

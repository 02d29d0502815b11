//! Side-by-side baselines for `cargo xtask bench models`, measured on this machine when their
//! tools are installed. Optional by design: CI never creates the bench venv.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::util;

/// Where the sentence-transformers baseline runs: a venv outside the repository, e.g.
/// `python3 -m venv ~/.cache/mantle/bench-venv && ~/.cache/mantle/bench-venv/bin/pip install
/// torch sentence-transformers`.
fn bench_venv() -> PathBuf {
    util::cache_dir().join("bench-venv")
}

/// Sentences/s of sentence-transformers on the bench's MiniLM batch (2 threads), or `None`
/// (with a line saying why) when the bench venv is missing or the script fails.
pub fn minilm_baseline(root: &Path, minilm_dir: &Path) -> Option<f64> {
    let python = bench_venv().join("bin").join("python");
    if !python.exists() {
        println!(
            "bench: skipping the sentence-transformers side-by-side: no venv at {} \
             (see xtask/bench/minilm_baseline.py)",
            bench_venv().display()
        );
        return None;
    }
    util::step("sentence-transformers baseline (bench venv)");
    let output = Command::new(&python)
        .arg(root.join("xtask").join("bench").join("minilm_baseline.py"))
        .arg(minilm_dir)
        .output();
    let output = match output {
        Ok(o) if o.status.success() => o,
        Ok(o) => {
            println!(
                "bench: sentence-transformers baseline failed ({}): {}",
                o.status,
                String::from_utf8_lossy(&o.stderr)
                    .lines()
                    .last()
                    .unwrap_or("")
            );
            return None;
        }
        Err(e) => {
            println!("bench: cannot run {}: {e}", python.display());
            return None;
        }
    };
    let stdout = String::from_utf8_lossy(&output.stdout);
    print!("{stdout}");
    stdout
        .lines()
        .find_map(|l| l.strip_prefix("sentences_per_s="))
        .and_then(|v| v.trim().parse().ok())
}

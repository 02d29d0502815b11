//! What one plugin call costs in process: `word-filter` on a 1 KiB text, with its instances
//! reused (`instance-reuse = "warm"`, as the built-ins run) and fresh per call (a team
//! plugin's default), p50 / p99 over 2000 calls after a warm-up.
//!
//! ```sh
//! cargo xtask build-plugins
//! cargo run --release -p mantle-plugins --example call_cost
//! ```

use std::sync::Arc;
use std::time::{Duration, Instant};

use mantle_plugins::plugin::guardrail_api::{AssessRequest, Source, TextBlock};
use mantle_plugins::{EngineConfig, HostServices, LoadedPlugin, Manifest, PluginEngine};

fn main() -> anyhow::Result<()> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let dir = std::fs::read_dir(root.join("plugins/dist"))?
        .flatten()
        .map(|e| e.path())
        .find(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("word-filter@"))
        })
        .ok_or_else(|| {
            anyhow::anyhow!("plugins/dist has no word-filter: run `cargo xtask build-plugins`")
        })?;
    let engine = Arc::new(PluginEngine::new(EngineConfig::default())?);
    let services = Arc::new(HostServices::default());
    let wasm = std::fs::read(dir.join("plugin.wasm"))?;
    let manifest = Manifest::load(&dir.join("plugin.toml"))?;
    let mut fresh_manifest = manifest.clone();
    fresh_manifest.instance_reuse = mantle_plugins::InstanceReuse::Fresh;
    let warm = LoadedPlugin::load(manifest, &wasm, &engine, &services)?;
    let fresh = LoadedPlugin::load(fresh_manifest, &wasm, &engine, &services)?;

    let mut text = String::new();
    while text.len() < 1024 {
        text.push_str("Our quarterly review covered the roadmap, hiring plans and a falcon. ");
    }
    text.truncate(1024);
    let request = AssessRequest {
        source: Source::Input,
        content: vec![TextBlock {
            text,
            qualifiers: vec![],
        }],
        config:
            r#"{"wordsConfig":[{"text":"falcon"}],"managedWordListsConfig":[{"type":"PROFANITY"}]}"#
                .into(),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    for (label, plugin) in [("warm", &warm), ("fresh", &fresh)] {
        let samples = runtime.block_on(async {
            for _ in 0..200 {
                plugin.assess(&request).await.unwrap();
            }
            let mut samples = Vec::with_capacity(2000);
            for _ in 0..2000 {
                let started = Instant::now();
                let assessment = plugin.assess(&request).await.unwrap();
                samples.push(started.elapsed());
                assert!(!assessment.findings.is_empty());
            }
            samples
        });
        let (p50, p99) = percentiles(samples);
        println!("word-filter 1 KiB, {label:>5} instance: p50 {p50:>6.1} µs  p99 {p99:>6.1} µs");
    }
    Ok(())
}

fn percentiles(mut samples: Vec<Duration>) -> (f64, f64) {
    samples.sort();
    let at = |q: f64| samples[((samples.len() - 1) as f64 * q) as usize].as_secs_f64() * 1e6;
    (at(0.5), at(0.99))
}

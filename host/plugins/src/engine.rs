//! The one `wasmtime::Engine` of the process: pooling allocator, epoch interruption driven by a
//! ticker thread, and a disk cache of precompiled components keyed by content hash.

use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use sha2::{Digest, Sha256};
use wasmtime::component::Component;
use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

use crate::error::LoadError;
use crate::manifest::MAX_MEMORY_MIB;

/// How often the epoch advances; a call's time budget is counted in these ticks.
pub const EPOCH_TICK: Duration = Duration::from_millis(1);

/// How the engine is built.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Where precompiled components are cached; `None` compiles in memory every time.
    pub cache_dir: Option<PathBuf>,
    /// Instances the pooling allocator keeps slots for (busy plus warm ones, across plugins).
    pub max_instances: u32,
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            cache_dir: None,
            max_instances: 512,
        }
    }
}

/// The process-wide engine.
#[derive(Debug)]
pub struct PluginEngine {
    engine: Engine,
    cache_dir: Option<PathBuf>,
    compat: String,
    ticker_stop: Arc<AtomicBool>,
}

impl PluginEngine {
    pub fn new(config: EngineConfig) -> anyhow::Result<Self> {
        let engine = match Engine::new(&wasmtime_config(Some(config.max_instances))) {
            Ok(engine) => engine,
            Err(error) => {
                // Pooling reserves address space up front; hosts that cap virtual memory refuse
                // it. Calls still work on demand, only slower to instantiate.
                tracing::warn!(%error, "pooling allocator unavailable, allocating on demand");
                Engine::new(&wasmtime_config(None)).map_err(|e| anyhow::anyhow!("{e:#}"))?
            }
        };
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        engine.precompile_compatibility_hash().hash(&mut hasher);
        let compat = format!("{:016x}", hasher.finish());

        let ticker_stop = Arc::new(AtomicBool::new(false));
        let stop = ticker_stop.clone();
        let ticking = engine.clone();
        std::thread::Builder::new()
            .name("mantle-epoch".into())
            .spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    std::thread::sleep(EPOCH_TICK);
                    ticking.increment_epoch();
                }
            })?;

        if let Some(dir) = &config.cache_dir {
            std::fs::create_dir_all(dir)?;
        }
        Ok(Self {
            engine,
            cache_dir: config.cache_dir,
            compat,
            ticker_stop,
        })
    }

    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Compiles a component, or loads its precompiled artifact from the cache.
    pub fn compile(&self, wasm: &[u8]) -> Result<Component, LoadError> {
        let digest = digest(wasm);
        let Some(dir) = &self.cache_dir else {
            return Component::new(&self.engine, wasm)
                .map_err(|e| LoadError::Compile(format!("{e:#}")));
        };
        let path = dir.join(format!("{digest}-{}.cwasm", self.compat));
        if path.exists() {
            match self.deserialize(&path) {
                Ok(component) => return Ok(component),
                Err(error) => {
                    tracing::warn!(path = %path.display(), %error, "discarding unusable cached component");
                    let _ = std::fs::remove_file(&path);
                }
            }
        }
        let bytes = self
            .engine
            .precompile_component(wasm)
            .map_err(|e| LoadError::Compile(format!("{e:#}")))?;
        // Write beside, then rename: a reader never maps a half-written artifact, and an
        // artifact already mapped by a live component is replaced, never overwritten in place.
        let tmp = dir.join(format!(
            ".{digest}-{}.{}.tmp",
            self.compat,
            std::process::id()
        ));
        let written = std::fs::write(&tmp, &bytes).and_then(|()| std::fs::rename(&tmp, &path));
        if let Err(error) = written {
            tracing::warn!(path = %path.display(), %error, "cannot cache compiled component");
            let _ = std::fs::remove_file(&tmp);
        }
        self.deserialize_bytes(&bytes)
    }

    #[allow(unsafe_code)]
    fn deserialize(&self, path: &Path) -> wasmtime::Result<Component> {
        // SAFETY: the file was produced by `precompile_component` of an engine with the same
        // compatibility hash (it is in the file name) and is only ever replaced by rename, so the
        // mapped bytes are a complete artifact from this code. The cache dir is the host's own.
        unsafe { Component::deserialize_file(&self.engine, path) }
    }

    #[allow(unsafe_code)]
    fn deserialize_bytes(&self, bytes: &[u8]) -> Result<Component, LoadError> {
        // SAFETY: `bytes` was just produced by this engine's `precompile_component`.
        unsafe { Component::deserialize(&self.engine, bytes) }
            .map_err(|e| LoadError::Compile(format!("{e:#}")))
    }
}

impl Drop for PluginEngine {
    fn drop(&mut self) {
        self.ticker_stop.store(true, Ordering::Relaxed);
    }
}

/// Hex SHA-256 of a component's bytes: its identity in caches and swaps.
pub fn digest(wasm: &[u8]) -> String {
    hex::encode(Sha256::digest(wasm))
}

fn wasmtime_config(pool_instances: Option<u32>) -> Config {
    let mut config = Config::new();
    config.wasm_component_model(true);
    config.epoch_interruption(true);
    config.max_wasm_stack(1 << 20);
    if let Some(instances) = pool_instances {
        let mut pool = PoolingAllocationConfig::default();
        pool.total_component_instances(instances);
        pool.total_core_instances(instances * 2);
        pool.total_memories(instances * 2);
        pool.total_tables(instances * 2);
        pool.total_stacks(instances);
        pool.max_memories_per_component(4);
        pool.max_memory_size(MAX_MEMORY_MIB as usize * 1024 * 1024);
        config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    }
    config
}

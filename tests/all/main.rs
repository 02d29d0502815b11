//! Mantle's integration tests, one binary with a module per topic (as wasmtime does).
//!
//! They use the real plugins built from `plugins/` (`cargo xtask build-plugins`), real servers
//! on random loopback ports, and the router directly through `tower::ServiceExt::oneshot`.

mod auth_router;
mod builtins;
mod capabilities;
mod cli;
mod flows_router;
mod guardrails_router;
mod hostile_plugins;
mod hot_swap;
mod knowledge_router;
mod plugin_worlds;
mod prompts_router;
mod registry;
mod server;
mod wit_versions;

use std::sync::{Arc, OnceLock};

use mantle_plugins::{EngineConfig, HostServices, LoadedPlugin, MemoryKv, PluginEngine};

/// One engine for the test process, as in the server.
pub fn engine() -> Arc<PluginEngine> {
    static ENGINE: OnceLock<Arc<PluginEngine>> = OnceLock::new();
    ENGINE
        .get_or_init(|| {
            let cache = mantle_tests::repo_root().join("plugins/dist-fixtures/.cache");
            Arc::new(
                PluginEngine::new(EngineConfig {
                    cache_dir: Some(cache),
                    ..Default::default()
                })
                .unwrap(),
            )
        })
        .clone()
}

pub fn services() -> Arc<HostServices> {
    Arc::new(HostServices {
        kv: Some(Arc::new(MemoryKv::default())),
        ..Default::default()
    })
}

/// The async runtime plugin calls run on, shared by the tests as a server's is by its requests.
pub fn rt() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .unwrap()
    })
}

/// Runs one plugin call (or any future) to completion on [`rt`].
pub fn block<F: Future>(future: F) -> F::Output {
    rt().block_on(future)
}

/// Loads a plugin folder (built-in or fixture).
pub fn load(dir: &std::path::Path) -> Result<LoadedPlugin, mantle_plugins::LoadError> {
    LoadedPlugin::load_dir(dir, &engine(), &services())
}

pub fn builtin(name: &str) -> std::path::PathBuf {
    let dist = mantle_tests::plugin_dist();
    std::fs::read_dir(&dist)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.split('@').next() == Some(name))
        })
        .unwrap_or_else(|| panic!("built-in plugin {name} not built"))
}

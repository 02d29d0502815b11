//! # mantle-plugins
//!
//! Mantle's WebAssembly plugin runtime: one [`PluginEngine`] for the process, [`Manifest`]s with
//! capability grants and limits, [`LoadedPlugin`]s called asynchronously under a wall-clock
//! deadline, bindings for every released WIT version, and a [`Registry`] addressed by
//! `name@version` with atomic swaps, fed by a watched directory and the admin API.
//!
//! ```no_run
//! use std::sync::Arc;
//! use mantle_plugins::{EngineConfig, HostServices, PluginEngine, Registry};
//!
//! let engine = Arc::new(PluginEngine::new(EngineConfig::default())?);
//! let registry = Registry::open(engine, Arc::new(HostServices::default()), "plugins".into())?;
//! let plugin = registry.resolve("word-filter")?;
//! println!("{} is a {} plugin", plugin.id(), plugin.manifest().kind);
//! # anyhow::Ok(())
//! ```

pub mod bindings;
pub mod capabilities;
pub mod engine;
pub mod error;
mod host_state;
pub mod manifest;
pub mod plugin;
pub mod registry;
pub mod services;
mod watch;

pub use bindings::WitVersion;
pub use engine::{EngineConfig, PluginEngine};
pub use error::{CallError, LoadError};
pub use manifest::{Capabilities, InstanceReuse, Kind, Limits, Manifest};
pub use plugin::{LoadedPlugin, block_on};
pub use registry::{Builtin, PluginInfo, PluginSource, Registry};
pub use services::{
    BoxFuture, Generation, GenerationParams, HostServices, KvError, KvQuota, KvStore, MemoryKv,
    ModelsService,
};

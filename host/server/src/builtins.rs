//! The built-in plugins, embedded at build time from `plugins/dist` (see `build.rs`).
//!
//! ```
//! // Each entry is a plugin.toml and its component; a build without `plugins/dist` has none.
//! for plugin in mantle_server::builtins::BUILTIN_PLUGINS {
//!     assert!(plugin.manifest.contains("name"));
//!     assert!(!plugin.wasm.is_empty());
//! }
//! ```

include!(concat!(env!("OUT_DIR"), "/builtin_plugins.rs"));

//! A small cache of compiled configurations.
//!
//! The host keeps warm instances of a plugin and calls them again and again, usually with the
//! same configuration string; a plugin whose configuration is costly to compile (regexes, word
//! tables) keeps the compiled form here instead of rebuilding it per call.
//!
//! ```
//! use mantle_sdk::ConfigCache;
//!
//! static COMPILED: ConfigCache<Vec<String>> = ConfigCache::new(8);
//!
//! let parse = |config: &str| mantle_sdk::parse_config::<Vec<String>>(config);
//! let first = COMPILED.get_or_parse(r#"["a", "b"]"#, parse).unwrap();
//! let again = COMPILED.get_or_parse(r#"["a", "b"]"#, parse).unwrap();
//! assert!(std::sync::Arc::ptr_eq(&first, &again));
//! ```

use std::sync::{Arc, Mutex};

use crate::PluginError;

/// The most recently used compiled configurations, newest last.
#[derive(Debug)]
pub struct ConfigCache<T> {
    entries: Mutex<Vec<(String, Arc<T>)>>,
    capacity: usize,
}

impl<T> ConfigCache<T> {
    /// An empty cache keeping at most `capacity` configurations.
    pub const fn new(capacity: usize) -> Self {
        Self {
            entries: Mutex::new(Vec::new()),
            capacity,
        }
    }

    /// The compiled form of `config`: cached, or made by `parse` (whose error is returned and
    /// not cached).
    pub fn get_or_parse(
        &self,
        config: &str,
        parse: impl FnOnce(&str) -> Result<T, PluginError>,
    ) -> Result<Arc<T>, PluginError> {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        // Almost always a hit on the last entry: one string comparison per call.
        if let Some(at) = entries.iter().rposition(|(c, _)| c == config) {
            let entry = entries.remove(at);
            let compiled = Arc::clone(&entry.1);
            entries.push(entry);
            return Ok(compiled);
        }
        let compiled = Arc::new(parse(config)?);
        if entries.len() >= self.capacity.max(1) {
            entries.remove(0);
        }
        entries.push((config.to_owned(), Arc::clone(&compiled)));
        Ok(compiled)
    }
}

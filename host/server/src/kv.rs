//! Plugins' `kv` import, backed by one sled tree with keys `<plugin>\0<key>`.

use std::sync::{Arc, Mutex};

use mantle_plugins::{KvError, KvQuota, KvStore};

/// The `kv` store lent to plugins.
#[derive(Debug, Clone)]
pub struct SledKv {
    tree: sled::Tree,
    /// Makes a set's quota check and its write one step: two racing sets cannot both pass a
    /// check that only one of them fits.
    writes: Arc<Mutex<()>>,
}

impl SledKv {
    pub fn new(store: &mantle_store::Store) -> Result<Self, mantle_store::StoreError> {
        Ok(Self {
            tree: store.tree("plugin_kv")?,
            writes: Arc::default(),
        })
    }
}

fn key(plugin: &str, key: &str) -> Vec<u8> {
    let mut full = Vec::with_capacity(plugin.len() + 1 + key.len());
    full.extend_from_slice(plugin.as_bytes());
    full.push(0);
    full.extend_from_slice(key.as_bytes());
    full
}

impl KvStore for SledKv {
    fn get(&self, plugin: &str, k: &str) -> Result<Option<Vec<u8>>, String> {
        self.tree
            .get(key(plugin, k))
            .map(|v| v.map(|v| v.to_vec()))
            .map_err(|e| e.to_string())
    }

    fn set(&self, plugin: &str, k: &str, value: &[u8], quota: KvQuota) -> Result<(), KvError> {
        let store_error = |e: sled::Error| KvError::Store(e.to_string());
        let _write = self.writes.lock().unwrap_or_else(|e| e.into_inner());
        let full = key(plugin, k);
        let skip = plugin.len() + 1;
        // The plugin's usage without this key, plus this entry. A scan is bounded by the
        // quota itself (kilobytes to a few megabytes), so no separate counter can drift.
        let (mut bytes, mut keys) = ((k.len() + value.len()) as u64, 1u64);
        for entry in self.tree.scan_prefix(key(plugin, "")) {
            let (existing, v) = entry.map_err(store_error)?;
            if existing.as_ref() != full.as_slice() {
                bytes += (existing.len() - skip + v.len()) as u64;
                keys += 1;
            }
        }
        if !quota.admits(bytes, keys) {
            return Err(KvError::QuotaExceeded(format!(
                "storing {k:?} would make {bytes} bytes in {keys} keys, over the plugin's quota \
                 of {} bytes in {} keys",
                quota.bytes, quota.keys
            )));
        }
        self.tree.insert(full, value).map(drop).map_err(store_error)
    }

    fn delete(&self, plugin: &str, k: &str) -> Result<(), String> {
        self.tree
            .remove(key(plugin, k))
            .map(drop)
            .map_err(|e| e.to_string())
    }

    fn list_keys(&self, plugin: &str, prefix: &str, limit: usize) -> Result<Vec<String>, String> {
        let start = key(plugin, prefix);
        let skip = plugin.len() + 1;
        self.tree
            .scan_prefix(&start)
            .keys()
            .take(limit)
            .map(|k| {
                k.map(|k| String::from_utf8_lossy(&k[skip..]).into_owned())
                    .map_err(|e| e.to_string())
            })
            .collect()
    }
}

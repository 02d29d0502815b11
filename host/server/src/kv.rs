//! Plugins' `kv` import, backed by one sled tree with keys `<plugin>\0<key>`.

use mantle_plugins::KvStore;

/// The `kv` store lent to plugins.
#[derive(Debug, Clone)]
pub struct SledKv {
    tree: sled::Tree,
}

impl SledKv {
    pub fn new(store: &mantle_store::Store) -> Result<Self, mantle_store::StoreError> {
        Ok(Self {
            tree: store.tree("plugin_kv")?,
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

    fn set(&self, plugin: &str, k: &str, value: &[u8]) -> Result<(), String> {
        self.tree
            .insert(key(plugin, k), value)
            .map(drop)
            .map_err(|e| e.to_string())
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

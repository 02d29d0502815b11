//! A key/value store private to the plugin (capability `kv`), kept across calls and restarts.
//!
//! In native tests the store is an in-memory map per test thread.
//!
//! ```
//! mantle_sdk::kv::set("seen", b"1").unwrap();
//! assert_eq!(mantle_sdk::kv::get("seen").unwrap(), Some(b"1".to_vec()));
//! ```

use crate::PluginError;

#[cfg(target_arch = "wasm32")]
use crate::bindings::host::mantle::plugin::kv as host;

/// The value stored under `key`.
pub fn get(key: &str) -> Result<Option<Vec<u8>>, PluginError> {
    #[cfg(target_arch = "wasm32")]
    return host::get(key);
    #[cfg(not(target_arch = "wasm32"))]
    return Ok(crate::testkit::with_kv(|kv| kv.get(key).cloned()));
}

/// Stores `value` under `key`.
pub fn set(key: &str, value: &[u8]) -> Result<(), PluginError> {
    #[cfg(target_arch = "wasm32")]
    return host::set(key, value);
    #[cfg(not(target_arch = "wasm32"))]
    {
        crate::testkit::with_kv(|kv| kv.insert(key.to_owned(), value.to_vec()));
        Ok(())
    }
}

/// Removes `key`.
pub fn delete(key: &str) -> Result<(), PluginError> {
    #[cfg(target_arch = "wasm32")]
    return host::delete(key);
    #[cfg(not(target_arch = "wasm32"))]
    {
        crate::testkit::with_kv(|kv| kv.remove(key));
        Ok(())
    }
}

/// Keys starting with `prefix`, in byte order, at most `limit`.
pub fn list_keys(prefix: &str, limit: u32) -> Result<Vec<String>, PluginError> {
    #[cfg(target_arch = "wasm32")]
    return host::list_keys(prefix, limit);
    #[cfg(not(target_arch = "wasm32"))]
    return Ok(crate::testkit::with_kv(|kv| {
        kv.range(prefix.to_owned()..)
            .take_while(|(k, _)| k.starts_with(prefix))
            .take(limit as usize)
            .map(|(k, _)| k.clone())
            .collect()
    }));
}

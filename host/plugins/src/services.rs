//! What the host lends to plugins through the `kv`, `models` and `knowledge` imports.
//!
//! The plugin runtime knows no storage engine or model: the server hands it implementations of
//! these traits, and a plugin reaches them only when its manifest grants the capability.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

/// A key/value store partitioned by plugin name.
pub trait KvStore: Send + Sync + std::fmt::Debug {
    fn get(&self, plugin: &str, key: &str) -> Result<Option<Vec<u8>>, String>;
    /// Stores `value` under `key` unless the plugin's keys plus values would then exceed
    /// `quota`; the check and the write are one step, so concurrent sets cannot overshoot.
    fn set(&self, plugin: &str, key: &str, value: &[u8], quota: KvQuota) -> Result<(), KvError>;
    fn delete(&self, plugin: &str, key: &str) -> Result<(), String>;
    fn list_keys(&self, plugin: &str, prefix: &str, limit: usize) -> Result<Vec<String>, String>;
}

/// How much one plugin may keep in its store (from `[limits]` in its manifest).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KvQuota {
    /// Bytes of keys plus values.
    pub bytes: u64,
    pub keys: u64,
}

impl KvQuota {
    /// Whether a store holding `bytes` in `keys` entries is within the quota.
    pub fn admits(&self, bytes: u64, keys: u64) -> bool {
        bytes <= self.bytes && keys <= self.keys
    }
}

/// Why a [`KvStore::set`] failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KvError {
    #[error("kv quota exceeded: {0}")]
    QuotaExceeded(String),
    #[error("{0}")]
    Store(String),
}

/// A boxed future, so the service traits stay object-safe.
pub type BoxFuture<T> = std::pin::Pin<Box<dyn Future<Output = T> + Send>>;

/// The host's models, as plugins see them. Model work is slow: the futures run it off the
/// async workers (or on the inference engine), and dropping one abandons the result.
pub trait ModelsService: Send + Sync + std::fmt::Debug {
    fn embed(&self, model_id: &str, texts: Vec<String>)
    -> BoxFuture<Result<Vec<Vec<f32>>, String>>;
    fn generate(
        &self,
        model_id: &str,
        messages: Vec<(String, String)>,
        params: GenerationParams,
    ) -> BoxFuture<Result<Generation, String>>;
    fn count_tokens(&self, model_id: &str, text: &str) -> Result<u32, String>;
}

/// How [`ModelsService::generate`] samples.
#[derive(Debug, Clone, PartialEq)]
pub struct GenerationParams {
    pub max_tokens: u32,
    pub temperature: Option<f32>,
    pub top_p: Option<f32>,
    pub stop_sequences: Vec<String>,
}

/// A model's answer to [`ModelsService::generate`].
#[derive(Debug, Clone, PartialEq)]
pub struct Generation {
    pub text: String,
    pub stop_reason: String,
    pub input_tokens: u32,
    pub output_tokens: u32,
}

/// Retrieval from knowledge bases, as plugins see it. A search embeds the query, so the future
/// runs it off the async workers; dropping it abandons the result.
pub trait KnowledgeService: Send + Sync + std::fmt::Debug {
    fn retrieve(
        &self,
        knowledge_base_id: &str,
        query: &str,
        max_results: u32,
    ) -> BoxFuture<Result<Vec<Retrieved>, String>>;
}

/// One retrieval result.
#[derive(Debug, Clone, PartialEq)]
pub struct Retrieved {
    pub text: String,
    pub score: f32,
    pub location: String,
    pub metadata: Vec<(String, String)>,
}

/// The services a host offers. A missing one answers its calls with an `unavailable` error.
#[derive(Debug, Clone, Default)]
pub struct HostServices {
    pub kv: Option<Arc<dyn KvStore>>,
    pub models: Option<Arc<dyn ModelsService>>,
    pub knowledge: Option<Arc<dyn KnowledgeService>>,
}

/// An in-memory [`KvStore`], for embedding the runtime without persistence and for tests.
#[derive(Debug, Default)]
pub struct MemoryKv {
    entries: Mutex<BTreeMap<(String, String), Vec<u8>>>,
}

impl KvStore for MemoryKv {
    fn get(&self, plugin: &str, key: &str) -> Result<Option<Vec<u8>>, String> {
        let entries = self.entries.lock().map_err(|e| e.to_string())?;
        Ok(entries.get(&(plugin.to_owned(), key.to_owned())).cloned())
    }

    fn set(&self, plugin: &str, key: &str, value: &[u8], quota: KvQuota) -> Result<(), KvError> {
        let mut entries = self
            .entries
            .lock()
            .map_err(|e| KvError::Store(e.to_string()))?;
        let (mut bytes, mut keys) = ((key.len() + value.len()) as u64, 1u64);
        for ((p, k), v) in entries.range((plugin.to_owned(), String::new())..) {
            if p != plugin {
                break;
            }
            if k != key {
                bytes += (k.len() + v.len()) as u64;
                keys += 1;
            }
        }
        if !quota.admits(bytes, keys) {
            return Err(KvError::QuotaExceeded(format!(
                "storing {key:?} would make {bytes} bytes in {keys} keys, over the plugin's \
                 quota of {} bytes in {} keys",
                quota.bytes, quota.keys
            )));
        }
        entries.insert((plugin.to_owned(), key.to_owned()), value.to_vec());
        Ok(())
    }

    fn delete(&self, plugin: &str, key: &str) -> Result<(), String> {
        let mut entries = self.entries.lock().map_err(|e| e.to_string())?;
        entries.remove(&(plugin.to_owned(), key.to_owned()));
        Ok(())
    }

    fn list_keys(&self, plugin: &str, prefix: &str, limit: usize) -> Result<Vec<String>, String> {
        let entries = self.entries.lock().map_err(|e| e.to_string())?;
        Ok(entries
            .range((plugin.to_owned(), prefix.to_owned())..)
            .take_while(|((p, k), _)| p == plugin && k.starts_with(prefix))
            .take(limit)
            .map(|((_, k), _)| k.clone())
            .collect())
    }
}

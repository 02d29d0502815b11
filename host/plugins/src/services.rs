//! What the host lends to plugins through the `kv`, `models` and `knowledge` imports.
//!
//! The plugin runtime knows no storage engine or model: the server hands it implementations of
//! these traits, and a plugin reaches them only when its manifest grants the capability.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

/// A key/value store partitioned by plugin name.
pub trait KvStore: Send + Sync + std::fmt::Debug {
    fn get(&self, plugin: &str, key: &str) -> Result<Option<Vec<u8>>, String>;
    fn set(&self, plugin: &str, key: &str, value: &[u8]) -> Result<(), String>;
    fn delete(&self, plugin: &str, key: &str) -> Result<(), String>;
    fn list_keys(&self, plugin: &str, prefix: &str, limit: usize) -> Result<Vec<String>, String>;
}

/// The host's models, as plugins see them.
pub trait ModelsService: Send + Sync + std::fmt::Debug {
    fn embed(&self, model_id: &str, texts: &[String]) -> Result<Vec<Vec<f32>>, String>;
    fn converse(
        &self,
        model_id: &str,
        messages: &[(String, String)],
        max_tokens: u32,
        temperature: f32,
    ) -> Result<Generation, String>;
}

/// A model's answer to [`ModelsService::converse`].
#[derive(Debug, Clone, PartialEq)]
pub struct Generation {
    pub text: String,
    pub stop_reason: String,
    pub input_tokens: u32,
    pub output_tokens: u32,
}

/// Retrieval from knowledge bases, as plugins see it.
pub trait KnowledgeService: Send + Sync + std::fmt::Debug {
    fn retrieve(
        &self,
        knowledge_base_id: &str,
        query: &str,
        max_results: u32,
    ) -> Result<Vec<Retrieved>, String>;
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

    fn set(&self, plugin: &str, key: &str, value: &[u8]) -> Result<(), String> {
        let mut entries = self.entries.lock().map_err(|e| e.to_string())?;
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

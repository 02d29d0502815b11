//! The data of one plugin `Store`: its WASI context (no files, no environment, no network), its
//! resource limiter, and the host imports it was granted.

use std::sync::Arc;

use wasmtime::ResourceLimiter;
use wasmtime::component::{HasSelf, Linker, ResourceTable};
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use crate::bindings::PluginError;
use crate::bindings::host::mantle::plugin::{knowledge, kv, log, models};
use crate::manifest::{Capabilities, Limits};
use crate::services::HostServices;

/// How much of a plugin's stderr (e.g. its panic message) is kept for the error it causes.
const STDERR_CAPACITY: usize = 8 * 1024;
/// Table growth cap; tables hold function references, not data.
const MAX_TABLE_ELEMENTS: usize = 100_000;

pub(crate) struct HostState {
    wasi: WasiCtx,
    table: ResourceTable,
    pub(crate) limiter: Limiter,
    pub(crate) stderr: MemoryOutputPipe,
    plugin_name: Arc<str>,
    plugin_id: Arc<str>,
    services: Arc<HostServices>,
}

impl HostState {
    pub(crate) fn new(
        plugin_name: Arc<str>,
        plugin_id: Arc<str>,
        limits: &Limits,
        services: Arc<HostServices>,
    ) -> Self {
        let stderr = MemoryOutputPipe::new(STDERR_CAPACITY);
        // Deliberately empty: no preopened directories, no environment, no arguments, no
        // sockets. stdout is discarded; stderr is kept to explain traps.
        let wasi = WasiCtx::builder().stderr(stderr.clone()).build();
        Self {
            wasi,
            table: ResourceTable::new(),
            limiter: Limiter {
                memory_bytes: limits.memory_bytes(),
                memory_denied: false,
            },
            stderr,
            plugin_name,
            plugin_id,
            services,
        }
    }

    /// What the plugin wrote to stderr, e.g. its panic message.
    pub(crate) fn stderr_text(&self) -> String {
        String::from_utf8_lossy(&self.stderr.contents())
            .trim()
            .to_owned()
    }
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

/// Caps linear memory and remembers that it said no, so a failed allocation is reported as the
/// memory limit rather than whatever trap the guest's allocator turned it into.
pub(crate) struct Limiter {
    memory_bytes: usize,
    pub(crate) memory_denied: bool,
}

impl ResourceLimiter for Limiter {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let allowed = desired <= self.memory_bytes && maximum.is_none_or(|max| desired <= max);
        if !allowed {
            self.memory_denied = true;
        }
        Ok(allowed)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= MAX_TABLE_ELEMENTS && maximum.is_none_or(|max| desired <= max))
    }
}

fn unavailable(what: &str) -> PluginError {
    PluginError {
        code: "unavailable".to_owned(),
        message: format!("this host has no {what} service"),
    }
}

fn host_error(message: String) -> PluginError {
    PluginError {
        code: "host-error".to_owned(),
        message,
    }
}

impl log::Host for HostState {
    fn log(&mut self, level: log::Level, message: String) {
        let plugin = &*self.plugin_id;
        match level {
            log::Level::Trace => tracing::trace!(target: "mantle::plugin", plugin, "{message}"),
            log::Level::Debug => tracing::debug!(target: "mantle::plugin", plugin, "{message}"),
            log::Level::Info => tracing::info!(target: "mantle::plugin", plugin, "{message}"),
            log::Level::Warn => tracing::warn!(target: "mantle::plugin", plugin, "{message}"),
            log::Level::Error => tracing::error!(target: "mantle::plugin", plugin, "{message}"),
        }
    }
}

impl kv::Host for HostState {
    fn get(&mut self, key: String) -> Result<Option<Vec<u8>>, PluginError> {
        let kv = self.services.kv.as_ref().ok_or_else(|| unavailable("kv"))?;
        kv.get(&self.plugin_name, &key).map_err(host_error)
    }

    fn set(&mut self, key: String, value: Vec<u8>) -> Result<(), PluginError> {
        let kv = self.services.kv.as_ref().ok_or_else(|| unavailable("kv"))?;
        kv.set(&self.plugin_name, &key, &value).map_err(host_error)
    }

    fn delete(&mut self, key: String) -> Result<(), PluginError> {
        let kv = self.services.kv.as_ref().ok_or_else(|| unavailable("kv"))?;
        kv.delete(&self.plugin_name, &key).map_err(host_error)
    }

    fn list_keys(&mut self, prefix: String, limit: u32) -> Result<Vec<String>, PluginError> {
        let kv = self.services.kv.as_ref().ok_or_else(|| unavailable("kv"))?;
        kv.list_keys(&self.plugin_name, &prefix, limit as usize)
            .map_err(host_error)
    }
}

impl models::Host for HostState {
    fn embed(
        &mut self,
        model_id: String,
        texts: Vec<String>,
    ) -> Result<Vec<Vec<f32>>, PluginError> {
        let models = self
            .services
            .models
            .as_ref()
            .ok_or_else(|| unavailable("models"))?;
        models.embed(&model_id, &texts).map_err(host_error)
    }

    fn converse(
        &mut self,
        model_id: String,
        messages: Vec<models::ChatMessage>,
        max_tokens: u32,
        temperature: f32,
    ) -> Result<models::Generation, PluginError> {
        let models = self
            .services
            .models
            .as_ref()
            .ok_or_else(|| unavailable("models"))?;
        let messages: Vec<(String, String)> =
            messages.into_iter().map(|m| (m.role, m.text)).collect();
        let generation = models
            .converse(&model_id, &messages, max_tokens, temperature)
            .map_err(host_error)?;
        Ok(models::Generation {
            text: generation.text,
            stop_reason: generation.stop_reason,
            input_tokens: generation.input_tokens,
            output_tokens: generation.output_tokens,
        })
    }
}

impl knowledge::Host for HostState {
    fn retrieve(
        &mut self,
        knowledge_base_id: String,
        query: String,
        max_results: u32,
    ) -> Result<Vec<knowledge::Retrieved>, PluginError> {
        let knowledge = self
            .services
            .knowledge
            .as_ref()
            .ok_or_else(|| unavailable("knowledge"))?;
        let results = knowledge
            .retrieve(&knowledge_base_id, &query, max_results)
            .map_err(host_error)?;
        Ok(results
            .into_iter()
            .map(|r| knowledge::Retrieved {
                text: r.text,
                score: r.score,
                location: r.location,
                metadata: r.metadata,
            })
            .collect())
    }
}

impl crate::bindings::host::mantle::plugin::types::Host for HostState {}

/// A linker with WASI (sandboxed by the empty context above) and exactly the granted imports.
pub(crate) fn linker(
    engine: &wasmtime::Engine,
    grants: &Capabilities,
) -> wasmtime::Result<Linker<HostState>> {
    let mut linker = Linker::new(engine);
    wasmtime_wasi::p2::add_to_linker_sync(&mut linker)?;
    crate::bindings::host::mantle::plugin::types::add_to_linker::<_, HasSelf<_>>(
        &mut linker,
        |s| s,
    )?;
    if grants.log {
        log::add_to_linker::<_, HasSelf<_>>(&mut linker, |s| s)?;
    }
    if grants.kv {
        kv::add_to_linker::<_, HasSelf<_>>(&mut linker, |s| s)?;
    }
    if grants.models {
        models::add_to_linker::<_, HasSelf<_>>(&mut linker, |s| s)?;
    }
    if grants.knowledge {
        knowledge::add_to_linker::<_, HasSelf<_>>(&mut linker, |s| s)?;
    }
    Ok(linker)
}

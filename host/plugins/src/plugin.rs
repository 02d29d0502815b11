//! A loaded plugin: its manifest, its compiled component pre-linked against exactly the granted
//! imports, and a small pool of warm instances.
//!
//! Each call takes a warm instance (or instantiates one), arms the time budget, and calls. A
//! call that fails in any way discards its instance — after a trap an instance is dead — and
//! only that call fails.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use wasmtime::Store;
use wasmtime::component::{Component, InstancePre};

use crate::bindings::{chunker, flow_node, guardrail, tool};
use crate::engine::{EPOCH_TICK, PluginEngine, digest};
use crate::error::{CallError, LoadError};
use crate::host_state::{HostState, linker};
use crate::manifest::{HostInterface, Kind, Manifest};
use crate::services::HostServices;

/// Warm instances kept per plugin version.
const MAX_IDLE: usize = 32;
/// Instances are recycled after this many calls, so no guest state grows without bound.
const MAX_USES: u32 = 10_000;

pub use crate::bindings::chunker::exports::mantle::plugin::chunking as chunker_api;
pub use crate::bindings::flow_node::exports::mantle::plugin::node as flow_node_api;
pub use crate::bindings::guardrail::exports::mantle::plugin::guardrail_policy as guardrail_api;
pub use crate::bindings::tool::exports::mantle::plugin::tools as tool_api;

enum WorldPre {
    Guardrail(guardrail::GuardrailPre<HostState>),
    Tool(tool::ToolPre<HostState>),
    Chunker(chunker::ChunkerPre<HostState>),
    FlowNode(flow_node::FlowNodePre<HostState>),
}

enum WorldInstance {
    Guardrail(guardrail::Guardrail),
    Tool(tool::Tool),
    Chunker(chunker::Chunker),
    FlowNode(flow_node::FlowNode),
}

struct Warm {
    store: Store<HostState>,
    instance: WorldInstance,
    uses: u32,
}

/// A plugin ready to be called.
pub struct LoadedPlugin {
    manifest: Manifest,
    id: Arc<str>,
    name: Arc<str>,
    digest: String,
    pre: WorldPre,
    engine: Arc<PluginEngine>,
    services: Arc<HostServices>,
    idle: Mutex<Vec<Warm>>,
    /// Registered once: a labelled metric looked up per call costs more than a small plugin.
    calls_ok: metrics::Counter,
    call_seconds: metrics::Histogram,
}

impl std::fmt::Debug for LoadedPlugin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoadedPlugin")
            .field("id", &self.id)
            .field("kind", &self.manifest.kind)
            .field("digest", &self.digest)
            .finish_non_exhaustive()
    }
}

impl LoadedPlugin {
    /// Loads the plugin whose `plugin.toml` is in `dir`.
    pub fn load_dir(
        dir: &Path,
        engine: &Arc<PluginEngine>,
        services: &Arc<HostServices>,
    ) -> Result<Self, LoadError> {
        let manifest = Manifest::load(&dir.join("plugin.toml"))?;
        let path = dir.join(&manifest.component);
        let wasm = std::fs::read(&path).map_err(|source| LoadError::Io { path, source })?;
        Self::load(manifest, &wasm, engine, services)
    }

    /// Compiles, checks and trial-instantiates a component under `manifest`.
    pub fn load(
        manifest: Manifest,
        wasm: &[u8],
        engine: &Arc<PluginEngine>,
        services: &Arc<HostServices>,
    ) -> Result<Self, LoadError> {
        let started = Instant::now();
        let component = engine.compile(wasm)?;
        check_imports(&component, engine.engine(), &manifest)?;
        let linker = linker(engine.engine(), &manifest.capabilities)
            .map_err(|e| LoadError::Instantiate(format!("{e:#}")))?;
        let instance_pre = linker
            .instantiate_pre(&component)
            .map_err(|e| LoadError::Instantiate(format!("{e:#}")))?;
        let pre = world_pre(manifest.kind, instance_pre).map_err(|e| LoadError::WrongWorld {
            kind: manifest.kind.to_string(),
            wit: manifest.wit.clone(),
            reason: format!("{e:#}"),
        })?;
        let id = manifest.id();
        let plugin = Self {
            calls_ok: metrics::counter!("mantle_plugin_calls_total", "plugin" => id.clone(), "outcome" => "ok"),
            call_seconds: metrics::histogram!("mantle_plugin_call_seconds", "plugin" => id.clone()),
            id: id.into(),
            name: manifest.name.as_str().into(),
            digest: digest(wasm),
            manifest,
            pre,
            engine: engine.clone(),
            services: services.clone(),
            idle: Mutex::new(Vec::new()),
        };
        // A trial instantiation before anyone can call it: a component that cannot start never
        // replaces one that can. The instance is kept warm for the first call.
        let warm = plugin
            .instantiate()
            .map_err(|e| LoadError::Instantiate(e.to_string()))?;
        plugin.release(warm);
        tracing::info!(plugin = %plugin.id, kind = %plugin.manifest.kind, digest = %&plugin.digest[..12],
            elapsed_ms = started.elapsed().as_millis() as u64, "plugin loaded");
        Ok(plugin)
    }

    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// `name@version`.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// SHA-256 of the component.
    pub fn digest(&self) -> &str {
        &self.digest
    }

    /// Runs a guardrail policy's `assess`.
    pub fn assess(
        &self,
        request: &guardrail_api::AssessRequest,
    ) -> Result<guardrail_api::Assessment, CallError> {
        let result = self.call(Kind::Guardrail, |store, instance| match instance {
            WorldInstance::Guardrail(g) => g
                .mantle_plugin_guardrail_policy()
                .call_assess(store, request),
            _ => unreachable!("kind checked before the call"),
        })?;
        let assessment = self.plugin_result(result)?;
        self.check_output(assessment_size(&assessment))?;
        Ok(assessment)
    }

    /// A tool plugin's tool specs.
    pub fn describe_tools(&self) -> Result<Vec<tool_api::ToolSpec>, CallError> {
        let specs = self.call(Kind::Tool, |store, instance| match instance {
            WorldInstance::Tool(t) => t.mantle_plugin_tools().call_describe(store),
            _ => unreachable!("kind checked before the call"),
        })?;
        self.check_output(
            specs
                .iter()
                .map(|s| s.name.len() + s.description.len() + s.input_schema.len())
                .sum(),
        )?;
        Ok(specs)
    }

    /// Invokes one of a tool plugin's tools.
    pub fn invoke_tool(
        &self,
        name: &str,
        input: &str,
        context: &tool_api::InvocationContext,
    ) -> Result<tool_api::ToolResult, CallError> {
        let result = self.call(Kind::Tool, |store, instance| match instance {
            WorldInstance::Tool(t) => t
                .mantle_plugin_tools()
                .call_invoke(store, name, input, context),
            _ => unreachable!("kind checked before the call"),
        })?;
        let result = self.plugin_result(result)?;
        self.check_output(result.body.len())?;
        Ok(result)
    }

    /// Splits a document with a chunker plugin.
    pub fn split(
        &self,
        document: &chunker_api::Document,
        config: &str,
    ) -> Result<Vec<chunker_api::Chunk>, CallError> {
        let result = self.call(Kind::Chunker, |store, instance| match instance {
            WorldInstance::Chunker(c) => c
                .mantle_plugin_chunking()
                .call_split(store, document, config),
            _ => unreachable!("kind checked before the call"),
        })?;
        let chunks = self.plugin_result(result)?;
        self.check_output(
            chunks
                .iter()
                .map(|c| c.text.len() + attributes_size(&c.metadata))
                .sum(),
        )?;
        Ok(chunks)
    }

    /// Runs a flow-node plugin.
    pub fn run_node(
        &self,
        inputs: &[flow_node_api::PortValue],
        config: &str,
    ) -> Result<Vec<flow_node_api::PortValue>, CallError> {
        let result = self.call(Kind::FlowNode, |store, instance| match instance {
            WorldInstance::FlowNode(n) => n.mantle_plugin_node().call_run(store, inputs, config),
            _ => unreachable!("kind checked before the call"),
        })?;
        let outputs = self.plugin_result(result)?;
        self.check_output(outputs.iter().map(|o| o.name.len() + o.value.len()).sum())?;
        Ok(outputs)
    }

    fn plugin_result<T>(
        &self,
        result: Result<T, crate::bindings::PluginError>,
    ) -> Result<T, CallError> {
        result.map_err(|e| {
            metrics::counter!("mantle_plugin_errors_total", "plugin" => self.id.to_string())
                .increment(1);
            CallError::Plugin {
                plugin: self.id.to_string(),
                code: e.code,
                message: e.message,
            }
        })
    }

    fn check_output(&self, bytes: usize) -> Result<(), CallError> {
        let limit = self.manifest.limits.output_bytes();
        if bytes > limit {
            metrics::counter!("mantle_plugin_failures_total", "plugin" => self.id.to_string(), "reason" => "output_too_large").increment(1);
            return Err(CallError::OutputTooLarge {
                plugin: self.id.to_string(),
                bytes,
                limit,
            });
        }
        Ok(())
    }

    fn call<R>(
        &self,
        kind: Kind,
        f: impl FnOnce(&mut Store<HostState>, &WorldInstance) -> wasmtime::Result<R>,
    ) -> Result<R, CallError> {
        if kind != self.manifest.kind {
            return Err(CallError::WrongKind {
                plugin: self.id.to_string(),
                expected: kind.to_string(),
                actual: self.manifest.kind.to_string(),
            });
        }
        let started = Instant::now();
        let mut warm = match self.take_idle() {
            Some(warm) => warm,
            None => self.instantiate()?,
        };
        warm.store.set_epoch_deadline(self.deadline_ticks());
        let outcome = f(&mut warm.store, &warm.instance);
        let elapsed = started.elapsed().as_secs_f64();
        self.call_seconds.record(elapsed);
        match outcome {
            Ok(value) => {
                self.calls_ok.increment(1);
                warm.uses += 1;
                self.release(warm);
                Ok(value)
            }
            Err(error) => {
                let error = self.classify(error, &warm.store);
                metrics::counter!("mantle_plugin_calls_total", "plugin" => self.id.to_string(), "outcome" => error.label()).increment(1);
                tracing::warn!(plugin = %self.id, %error, "plugin call failed; instance discarded");
                Err(error)
            }
        }
    }

    fn classify(&self, error: wasmtime::Error, store: &Store<HostState>) -> CallError {
        let plugin = self.id.to_string();
        if let Some(wasmtime::Trap::Interrupt) = error.downcast_ref::<wasmtime::Trap>() {
            metrics::counter!("mantle_plugin_timeouts_total", "plugin" => plugin.clone())
                .increment(1);
            return CallError::Timeout {
                plugin,
                timeout_ms: self.manifest.limits.timeout_ms,
            };
        }
        metrics::counter!("mantle_plugin_traps_total", "plugin" => plugin.clone()).increment(1);
        if store.data().limiter.memory_denied {
            return CallError::MemoryLimit {
                plugin,
                memory_mib: self.manifest.limits.memory_mib,
            };
        }
        let stderr = store.data().stderr_text();
        let mut message = format!("{error:#}");
        if !stderr.is_empty() {
            message = format!("{message}; stderr: {stderr}");
        }
        CallError::Trap { plugin, message }
    }

    /// The call's time budget in epoch ticks.
    fn deadline_ticks(&self) -> u64 {
        self.manifest
            .limits
            .timeout_ms
            .div_ceil(EPOCH_TICK.as_millis() as u64)
            .max(1)
    }

    fn take_idle(&self) -> Option<Warm> {
        self.idle.lock().unwrap_or_else(|e| e.into_inner()).pop()
    }

    fn release(&self, warm: Warm) {
        // An instance that wrote to stderr, or has served long enough, is retired rather than
        // reused: its stderr buffer would fill, and guest state should not live forever.
        if warm.uses >= MAX_USES || !warm.store.data().stderr.contents().is_empty() {
            return;
        }
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        if idle.len() < MAX_IDLE {
            idle.push(warm);
        }
    }

    fn instantiate(&self) -> Result<Warm, CallError> {
        let state = HostState::new(
            self.name.clone(),
            self.id.clone(),
            &self.manifest.limits,
            self.services.clone(),
        );
        let mut store = Store::new(self.engine.engine(), state);
        store.limiter(|state| &mut state.limiter);
        store.set_epoch_deadline(self.deadline_ticks());
        let instance = match &self.pre {
            WorldPre::Guardrail(pre) => pre.instantiate(&mut store).map(WorldInstance::Guardrail),
            WorldPre::Tool(pre) => pre.instantiate(&mut store).map(WorldInstance::Tool),
            WorldPre::Chunker(pre) => pre.instantiate(&mut store).map(WorldInstance::Chunker),
            WorldPre::FlowNode(pre) => pre.instantiate(&mut store).map(WorldInstance::FlowNode),
        };
        match instance {
            Ok(instance) => Ok(Warm {
                store,
                instance,
                uses: 0,
            }),
            Err(error) => {
                let error = self.classify(error, &store);
                Err(match error {
                    CallError::Trap { plugin, message } => {
                        CallError::Instantiate { plugin, message }
                    }
                    other => other,
                })
            }
        }
    }
}

fn world_pre(kind: Kind, pre: InstancePre<HostState>) -> wasmtime::Result<WorldPre> {
    Ok(match kind {
        Kind::Guardrail => WorldPre::Guardrail(guardrail::GuardrailPre::new(pre)?),
        Kind::Tool => WorldPre::Tool(tool::ToolPre::new(pre)?),
        Kind::Chunker => WorldPre::Chunker(chunker::ChunkerPre::new(pre)?),
        Kind::FlowNode => WorldPre::FlowNode(flow_node::FlowNodePre::new(pre)?),
    })
}

/// Refuses, with a message naming the capability, a component that imports a host interface
/// its manifest does not grant — before any linking error could say it less clearly.
fn check_imports(
    component: &Component,
    engine: &wasmtime::Engine,
    manifest: &Manifest,
) -> Result<(), LoadError> {
    for (name, _) in component.component_type().imports(engine) {
        if name.starts_with("wasi:") && !name.starts_with("wasi:http/") {
            continue;
        }
        let Some(rest) = name.strip_prefix("mantle:plugin/") else {
            return Err(LoadError::UnknownImport(name.to_owned()));
        };
        let interface = rest.split('@').next().unwrap_or(rest);
        if interface == "types" {
            continue;
        }
        let Some(host) = HostInterface::ALL.iter().find(|i| i.name() == interface) else {
            return Err(LoadError::UnknownImport(name.to_owned()));
        };
        if !manifest.capabilities.grants(*host) {
            return Err(LoadError::CapabilityNotGranted {
                import: name.to_owned(),
                capability: host.name().to_owned(),
            });
        }
    }
    Ok(())
}

fn attributes_size(attributes: &[(String, String)]) -> usize {
    attributes.iter().map(|(k, v)| k.len() + v.len()).sum()
}

fn assessment_size(assessment: &guardrail_api::Assessment) -> usize {
    assessment
        .findings
        .iter()
        .map(|f| {
            f.type_.len()
                + f.matched.len()
                + f.name.as_ref().map_or(0, String::len)
                + f.replacement.as_ref().map_or(0, String::len)
                + attributes_size(&f.attributes)
                + 64
        })
        .sum()
}

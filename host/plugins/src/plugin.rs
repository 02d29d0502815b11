//! A loaded plugin: its manifest, its compiled component pre-linked against exactly the granted
//! imports of the WIT version it was built for, and (when it opts in) a pool of warm instances.
//!
//! Every call runs under one wall-clock deadline, `[limits] timeout-ms`, that covers all of it:
//! instantiation, guest code, and every host call it makes (a WASI sleep or poll, a model call,
//! an HTTP request). Guest code is called with `call_async` and yields to the executor at each
//! epoch tick, so it shares the async workers without holding a thread; host calls are async
//! too, so a plugin blocked in one holds nothing but its future. At the deadline the future is
//! dropped, which cancels whatever the plugin was doing, and only that call fails.
//!
//! A call that fails in any way discards its instance — after a trap an instance is dead.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use wasmtime::component::{Component, InstancePre};
use wasmtime::{Store, UpdateDeadline};

use crate::bindings::{PluginError, WitVersion, latest, since_v0_1_0 as v1};
use crate::capabilities::InstanceContext;
use crate::engine::{PluginEngine, digest};
use crate::error::{CallError, LoadError};
use crate::host_state::{HostState, linker};
use crate::manifest::{InstanceReuse, Kind, Manifest};
use crate::services::HostServices;

/// Warm instances kept per plugin version.
const MAX_IDLE: usize = 32;
/// Instances are recycled after this many calls, so no guest state grows without bound.
const MAX_USES: u32 = 10_000;

pub use latest::chunker::exports::mantle::plugin::chunking as chunker_api;
pub use latest::flow_node::exports::mantle::plugin::node as flow_node_api;
pub use latest::guardrail::exports::mantle::plugin::guardrail_policy as guardrail_api;
pub use latest::tool::exports::mantle::plugin::tools as tool_api;

enum WorldPre {
    Guardrail1(v1::guardrail::GuardrailPre<HostState>),
    Guardrail(latest::guardrail::GuardrailPre<HostState>),
    Tool1(v1::tool::ToolPre<HostState>),
    Tool(latest::tool::ToolPre<HostState>),
    Chunker1(v1::chunker::ChunkerPre<HostState>),
    Chunker(latest::chunker::ChunkerPre<HostState>),
    FlowNode1(v1::flow_node::FlowNodePre<HostState>),
    FlowNode(latest::flow_node::FlowNodePre<HostState>),
}

enum WorldInstance {
    Guardrail1(v1::guardrail::Guardrail),
    Guardrail(latest::guardrail::Guardrail),
    Tool1(v1::tool::Tool),
    Tool(latest::tool::Tool),
    Chunker1(v1::chunker::Chunker),
    Chunker(latest::chunker::Chunker),
    FlowNode1(v1::flow_node::FlowNode),
    FlowNode(latest::flow_node::FlowNode),
}

struct Warm {
    store: Store<HostState>,
    instance: WorldInstance,
    uses: u32,
}

/// A plugin ready to be called.
pub struct LoadedPlugin {
    manifest: Manifest,
    wit: WitVersion,
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
            .field("wit", &self.wit)
            .field("digest", &self.digest)
            .finish_non_exhaustive()
    }
}

impl LoadedPlugin {
    /// Loads the plugin whose `plugin.toml` is in `dir`. See [`LoadedPlugin::load`].
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
    ///
    /// This blocks (compiling takes milliseconds to seconds): call it from synchronous code, a
    /// `spawn_blocking` task, or a multi-threaded runtime's worker (it steps aside with
    /// `block_in_place`), not from a current-thread runtime.
    pub fn load(
        manifest: Manifest,
        wasm: &[u8],
        engine: &Arc<PluginEngine>,
        services: &Arc<HostServices>,
    ) -> Result<Self, LoadError> {
        let started = Instant::now();
        let component = engine.compile(wasm)?;
        let wrong_world = |reason: String| LoadError::WrongWorld {
            kind: manifest.kind.to_string(),
            wit: manifest.wit.clone(),
            reason,
        };
        let wit = WitVersion::of_component(&component, engine.engine()).map_err(wrong_world)?;
        if wit.as_str() != manifest.wit {
            return Err(LoadError::WitMismatch {
                manifest: manifest.wit.clone(),
                component: wit.to_string(),
            });
        }
        check_imports(&component, engine.engine(), &manifest, wit)?;
        let linker = linker(engine.engine(), &manifest, wit)
            .map_err(|e| LoadError::Instantiate(format!("{e:#}")))?;
        let instance_pre = linker
            .instantiate_pre(&component)
            .map_err(|e| LoadError::Instantiate(format!("{e:#}")))?;
        let pre = world_pre(manifest.kind, wit, instance_pre)
            .map_err(|e| wrong_world(format!("{e:#}")))?;
        let id = manifest.id();
        let plugin = Self {
            calls_ok: metrics::counter!("mantle_plugin_calls_total", "plugin" => id.clone(), "outcome" => "ok"),
            call_seconds: metrics::histogram!("mantle_plugin_call_seconds", "plugin" => id.clone()),
            id: id.into(),
            name: manifest.name.as_str().into(),
            digest: digest(wasm),
            wit,
            manifest,
            pre,
            engine: engine.clone(),
            services: services.clone(),
            idle: Mutex::new(Vec::new()),
        };
        // A trial instantiation, under the call budget, before anyone can call it: a component
        // that cannot start never replaces one that can.
        let deadline = plugin.deadline();
        let trial = block_on(async {
            tokio::time::timeout_at(deadline.into(), plugin.instantiate(deadline)).await
        });
        match trial {
            Ok(Ok(warm)) => plugin.release(warm),
            Ok(Err(error)) => return Err(LoadError::Instantiate(error.to_string())),
            Err(_) => return Err(LoadError::Instantiate(plugin.timed_out().to_string())),
        }
        tracing::info!(plugin = %plugin.id, kind = %plugin.manifest.kind, wit = %wit,
            digest = %&plugin.digest[..12], elapsed_ms = started.elapsed().as_millis() as u64,
            "plugin loaded");
        Ok(plugin)
    }

    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// The WIT version the component was built against (read from the component itself).
    pub fn wit(&self) -> WitVersion {
        self.wit
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
    pub async fn assess(
        &self,
        request: &guardrail_api::AssessRequest,
    ) -> Result<guardrail_api::Assessment, CallError> {
        let deadline = self.deadline();
        let result = self
            .guarded(Kind::Guardrail, deadline, async {
                let mut warm = self.take(deadline).await?;
                let store = &mut warm.store;
                let outcome = match &warm.instance {
                    WorldInstance::Guardrail(g) => {
                        g.mantle_plugin_guardrail_policy()
                            .call_assess(store, request)
                            .await
                    }
                    WorldInstance::Guardrail1(g) => g
                        .mantle_plugin_guardrail_policy()
                        .call_assess(store, &request.into())
                        .await
                        .map(|r| r.map(Into::into)),
                    _ => unreachable!("kind checked before the call"),
                };
                self.settle(warm, outcome)
            })
            .await?;
        let assessment = self.plugin_result(result)?;
        self.check_output(assessment_size(&assessment))?;
        Ok(assessment)
    }

    /// A tool plugin's tool specs.
    pub async fn describe_tools(&self) -> Result<Vec<tool_api::ToolSpec>, CallError> {
        let deadline = self.deadline();
        let specs = self
            .guarded(Kind::Tool, deadline, async {
                let mut warm = self.take(deadline).await?;
                let store = &mut warm.store;
                let outcome = match &warm.instance {
                    WorldInstance::Tool(t) => t.mantle_plugin_tools().call_describe(store).await,
                    WorldInstance::Tool1(t) => t
                        .mantle_plugin_tools()
                        .call_describe(store)
                        .await
                        .map(|specs| specs.into_iter().map(Into::into).collect()),
                    _ => unreachable!("kind checked before the call"),
                };
                self.settle(warm, outcome)
            })
            .await?;
        self.check_output(
            specs
                .iter()
                .map(|s| s.name.len() + s.description.len() + s.input_schema.len())
                .sum(),
        )?;
        Ok(specs)
    }

    /// Invokes one of a tool plugin's tools.
    pub async fn invoke_tool(
        &self,
        name: &str,
        input: &str,
        context: &tool_api::InvocationContext,
    ) -> Result<tool_api::ToolResult, CallError> {
        let deadline = self.deadline();
        let result = self
            .guarded(Kind::Tool, deadline, async {
                let mut warm = self.take(deadline).await?;
                let store = &mut warm.store;
                let outcome = match &warm.instance {
                    WorldInstance::Tool(t) => {
                        t.mantle_plugin_tools()
                            .call_invoke(store, name, input, context)
                            .await
                    }
                    WorldInstance::Tool1(t) => t
                        .mantle_plugin_tools()
                        .call_invoke(store, name, input, &context.into())
                        .await
                        .map(|r| r.map(Into::into)),
                    _ => unreachable!("kind checked before the call"),
                };
                self.settle(warm, outcome)
            })
            .await?;
        let result = self.plugin_result(result)?;
        self.check_output(result.body.len())?;
        Ok(result)
    }

    /// Splits a document with a chunker plugin.
    pub async fn split(
        &self,
        document: &chunker_api::Document,
        config: &str,
    ) -> Result<Vec<chunker_api::Chunk>, CallError> {
        let deadline = self.deadline();
        let result = self
            .guarded(Kind::Chunker, deadline, async {
                let mut warm = self.take(deadline).await?;
                let store = &mut warm.store;
                let outcome = match &warm.instance {
                    WorldInstance::Chunker(c) => {
                        c.mantle_plugin_chunking()
                            .call_split(store, document, config)
                            .await
                    }
                    WorldInstance::Chunker1(c) => c
                        .mantle_plugin_chunking()
                        .call_split(store, &document.into(), config)
                        .await
                        .map(|r| r.map(|chunks| chunks.into_iter().map(Into::into).collect())),
                    _ => unreachable!("kind checked before the call"),
                };
                self.settle(warm, outcome)
            })
            .await?;
        let chunks = self.plugin_result(result)?;
        self.check_output(
            chunks
                .iter()
                .map(|c| c.text.len() + attributes_size(&c.metadata))
                .sum(),
        )?;
        Ok(chunks)
    }

    /// Runs a flow-node plugin. Each output's value must be JSON of its declared type.
    pub async fn run_node(
        &self,
        inputs: &[flow_node_api::PortValue],
        config: &str,
    ) -> Result<Vec<flow_node_api::PortValue>, CallError> {
        let deadline = self.deadline();
        let result = self
            .guarded(Kind::FlowNode, deadline, async {
                let mut warm = self.take(deadline).await?;
                let store = &mut warm.store;
                let outcome = match &warm.instance {
                    WorldInstance::FlowNode(n) => {
                        n.mantle_plugin_node().call_run(store, inputs, config).await
                    }
                    WorldInstance::FlowNode1(n) => {
                        let old: Vec<v1::flow_node::exports::mantle::plugin::node::PortValue> =
                            inputs.iter().map(Into::into).collect();
                        n.mantle_plugin_node()
                            .call_run(store, &old, config)
                            .await
                            .map(|r| r.map(|out| out.into_iter().map(Into::into).collect()))
                    }
                    _ => unreachable!("kind checked before the call"),
                };
                self.settle(warm, outcome)
            })
            .await?;
        let outputs = self.plugin_result(result)?;
        self.check_output(outputs.iter().map(|o| o.name.len() + o.value.len()).sum())?;
        for output in &outputs {
            check_port(output).map_err(|message| CallError::InvalidOutput {
                plugin: self.id.to_string(),
                message,
            })?;
        }
        Ok(outputs)
    }

    fn plugin_result<T>(&self, result: Result<T, PluginError>) -> Result<T, CallError> {
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

    /// Runs one call's `work` under the deadline, with its metrics.
    async fn guarded<R>(
        &self,
        kind: Kind,
        deadline: Instant,
        work: impl Future<Output = Result<R, CallError>>,
    ) -> Result<R, CallError> {
        if kind != self.manifest.kind {
            return Err(CallError::WrongKind {
                plugin: self.id.to_string(),
                expected: kind.to_string(),
                actual: self.manifest.kind.to_string(),
            });
        }
        let started = Instant::now();
        // Dropping `work` at the deadline cancels it wherever it is: in guest code (between
        // two epoch yields) or in a host call. Its instance goes with it.
        let result = match tokio::time::timeout_at(deadline.into(), work).await {
            Ok(result) => result,
            Err(_) => Err(self.timed_out()),
        };
        self.call_seconds.record(started.elapsed().as_secs_f64());
        match &result {
            Ok(_) => self.calls_ok.increment(1),
            Err(error) => {
                metrics::counter!("mantle_plugin_calls_total", "plugin" => self.id.to_string(), "outcome" => error.label()).increment(1);
                tracing::warn!(plugin = %self.id, %error, "plugin call failed; instance discarded");
            }
        }
        result
    }

    /// Returns a call's instance to the pool, or turns its failure into a [`CallError`].
    fn settle<R>(&self, mut warm: Warm, outcome: wasmtime::Result<R>) -> Result<R, CallError> {
        match outcome {
            Ok(value) => {
                warm.uses += 1;
                self.release(warm);
                Ok(value)
            }
            Err(error) => Err(self.classify(error, &warm.store)),
        }
    }

    fn timed_out(&self) -> CallError {
        metrics::counter!("mantle_plugin_timeouts_total", "plugin" => self.id.to_string())
            .increment(1);
        CallError::Timeout {
            plugin: self.id.to_string(),
            timeout_ms: self.manifest.limits.timeout_ms,
        }
    }

    fn classify(&self, error: wasmtime::Error, store: &Store<HostState>) -> CallError {
        if let Some(wasmtime::Trap::Interrupt) = error.downcast_ref::<wasmtime::Trap>() {
            return self.timed_out();
        }
        let plugin = self.id.to_string();
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

    /// When a call starting now must be over.
    fn deadline(&self) -> Instant {
        Instant::now() + Duration::from_millis(self.manifest.limits.timeout_ms)
    }

    /// An instance for one call, armed with its deadline.
    async fn take(&self, deadline: Instant) -> Result<Warm, CallError> {
        let idle = self.idle.lock().unwrap_or_else(|e| e.into_inner()).pop();
        let mut warm = match idle {
            Some(warm) => warm,
            None => self.instantiate(deadline).await?,
        };
        arm(&mut warm.store, deadline);
        Ok(warm)
    }

    fn release(&self, warm: Warm) {
        // Only plugins that opted in are reused. An instance that wrote to stderr, or has
        // served long enough, is retired: its stderr buffer would fill, and guest state
        // should not live forever.
        if self.manifest.instance_reuse != InstanceReuse::Warm
            || warm.uses >= MAX_USES
            || !warm.store.data().stderr.contents().is_empty()
        {
            return;
        }
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        if idle.len() < MAX_IDLE {
            idle.push(warm);
        }
    }

    async fn instantiate(&self, deadline: Instant) -> Result<Warm, CallError> {
        let context = InstanceContext {
            name: &self.name,
            id: &self.id,
            limits: &self.manifest.limits,
            services: &self.services,
        };
        let state = HostState::new(&self.manifest, &context);
        let mut store = Store::new(self.engine.engine(), state);
        store.limiter(|state| &mut state.limiter);
        arm(&mut store, deadline);
        let instance = match &self.pre {
            WorldPre::Guardrail1(pre) => pre
                .instantiate_async(&mut store)
                .await
                .map(WorldInstance::Guardrail1),
            WorldPre::Guardrail(pre) => pre
                .instantiate_async(&mut store)
                .await
                .map(WorldInstance::Guardrail),
            WorldPre::Tool1(pre) => pre
                .instantiate_async(&mut store)
                .await
                .map(WorldInstance::Tool1),
            WorldPre::Tool(pre) => pre
                .instantiate_async(&mut store)
                .await
                .map(WorldInstance::Tool),
            WorldPre::Chunker1(pre) => pre
                .instantiate_async(&mut store)
                .await
                .map(WorldInstance::Chunker1),
            WorldPre::Chunker(pre) => pre
                .instantiate_async(&mut store)
                .await
                .map(WorldInstance::Chunker),
            WorldPre::FlowNode1(pre) => pre
                .instantiate_async(&mut store)
                .await
                .map(WorldInstance::FlowNode1),
            WorldPre::FlowNode(pre) => pre
                .instantiate_async(&mut store)
                .await
                .map(WorldInstance::FlowNode),
        };
        match instance {
            Ok(instance) => Ok(Warm {
                store,
                instance,
                uses: 0,
            }),
            Err(error) => Err(match self.classify(error, &store) {
                CallError::Trap { plugin, message } => CallError::Instantiate { plugin, message },
                other => other,
            }),
        }
    }
}

/// Arms a store for one call: at each epoch tick the guest yields to the executor (so the
/// call's timeout can fire and other tasks run), and past the deadline it is interrupted.
fn arm(store: &mut Store<HostState>, deadline: Instant) {
    store.epoch_deadline_callback(move |_| {
        Ok(if Instant::now() >= deadline {
            UpdateDeadline::Interrupt
        } else {
            UpdateDeadline::Yield(1)
        })
    });
    store.set_epoch_deadline(1);
}

/// Runs a future (a plugin call, say) to completion from synchronous code: a plain thread, a
/// `spawn_blocking` task, or a multi-threaded runtime's worker (which steps aside with
/// `block_in_place`). Not from a current-thread runtime's task, which it cannot step off.
///
/// ```no_run
/// # fn example(plugin: &mantle_plugins::LoadedPlugin, request: &mantle_plugins::plugin::guardrail_api::AssessRequest) {
/// let assessment = mantle_plugins::block_on(plugin.assess(request));
/// # }
/// ```
pub fn block_on<F: Future>(future: F) -> F::Output {
    match tokio::runtime::Handle::try_current() {
        Ok(handle) => tokio::task::block_in_place(|| handle.block_on(future)),
        Err(_) => wasmtime_wasi::runtime::in_tokio(future),
    }
}

fn world_pre(
    kind: Kind,
    wit: WitVersion,
    pre: InstancePre<HostState>,
) -> wasmtime::Result<WorldPre> {
    Ok(match (kind, wit) {
        (Kind::Guardrail, WitVersion::V0_1_0) => {
            WorldPre::Guardrail1(v1::guardrail::GuardrailPre::new(pre)?)
        }
        (Kind::Guardrail, WitVersion::V0_2_0) => {
            WorldPre::Guardrail(latest::guardrail::GuardrailPre::new(pre)?)
        }
        (Kind::Tool, WitVersion::V0_1_0) => WorldPre::Tool1(v1::tool::ToolPre::new(pre)?),
        (Kind::Tool, WitVersion::V0_2_0) => WorldPre::Tool(latest::tool::ToolPre::new(pre)?),
        (Kind::Chunker, WitVersion::V0_1_0) => {
            WorldPre::Chunker1(v1::chunker::ChunkerPre::new(pre)?)
        }
        (Kind::Chunker, WitVersion::V0_2_0) => {
            WorldPre::Chunker(latest::chunker::ChunkerPre::new(pre)?)
        }
        (Kind::FlowNode, WitVersion::V0_1_0) => {
            WorldPre::FlowNode1(v1::flow_node::FlowNodePre::new(pre)?)
        }
        (Kind::FlowNode, WitVersion::V0_2_0) => {
            WorldPre::FlowNode(latest::flow_node::FlowNodePre::new(pre)?)
        }
    })
}

/// Refuses, with a message naming the capability, a component that imports a host interface
/// its manifest does not grant — before any linking error could say it less clearly.
fn check_imports(
    component: &Component,
    engine: &wasmtime::Engine,
    manifest: &Manifest,
    wit: WitVersion,
) -> Result<(), LoadError> {
    for (name, _) in component.component_type().imports(engine) {
        // WASI is linked with an empty context; wasi:http is a capability like any other.
        if name.starts_with("wasi:") && !name.starts_with("wasi:http/") {
            continue;
        }
        if let Some(rest) = name.strip_prefix("mantle:plugin/") {
            let (interface, version) = rest.split_once('@').unwrap_or((rest, ""));
            // One component, one contract: imports of another version have no bindings here.
            if version != wit.as_str() {
                return Err(LoadError::UnknownImport(name.to_owned()));
            }
            if interface == "types" {
                continue;
            }
        }
        match manifest.capabilities.provider_of(name) {
            None => return Err(LoadError::UnknownImport(name.to_owned())),
            Some((capability, false)) => {
                return Err(LoadError::CapabilityNotGranted {
                    import: name.to_owned(),
                    capability: capability.to_owned(),
                });
            }
            Some((_, true)) => {}
        }
    }
    Ok(())
}

/// Whether a port's value is JSON of its declared type.
fn check_port(port: &flow_node_api::PortValue) -> Result<(), String> {
    use flow_node_api::PortType;
    let value: serde_json::Value = serde_json::from_str(&port.value)
        .map_err(|e| format!("output `{}` is not JSON: {e}", port.name))?;
    let matches = match port.type_ {
        PortType::String => value.is_string(),
        PortType::Number => value.is_number(),
        PortType::Boolean => value.is_boolean(),
        PortType::Object => value.is_object(),
        PortType::Array => value.is_array(),
    };
    if matches {
        Ok(())
    } else {
        Err(format!(
            "output `{}` is declared {:?} but is {value}",
            port.name, port.type_
        ))
    }
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

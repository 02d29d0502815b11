//! The data of one plugin `Store`: its WASI context (no files, no environment, no sockets), its
//! resource limiter, and the state of each capability it was granted.

use wasmtime::ResourceLimiter;
use wasmtime::component::{Linker, ResourceTable};
use wasmtime_wasi::p2::pipe::{MemoryOutputPipe, SinkOutputStream};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use crate::bindings::WitVersion;
use crate::capabilities::{InstanceContext, States};
use crate::manifest::Manifest;

/// How much of a plugin's stderr (e.g. its panic message) is kept for the error it causes.
/// Past it, writes fail: a plugin flooding stderr cannot grow the host's memory.
const STDERR_CAPACITY: usize = 8 * 1024;
/// Table growth cap; tables hold function references, not data.
const MAX_TABLE_ELEMENTS: usize = 100_000;

pub(crate) struct HostState {
    wasi: WasiCtx,
    pub(crate) table: ResourceTable,
    pub(crate) limiter: Limiter,
    pub(crate) stderr: MemoryOutputPipe,
    pub(crate) caps: States,
}

impl HostState {
    pub(crate) fn new(manifest: &Manifest, context: &InstanceContext<'_>) -> Self {
        let stderr = MemoryOutputPipe::new(STDERR_CAPACITY);
        // Deliberately empty: no preopened directories, no environment, no arguments, no
        // sockets. stdout is discarded as it is written (a flood costs time, never memory);
        // stderr is kept, up to its cap, to explain traps.
        let wasi = WasiCtx::builder()
            .stdout(SinkOutputStream)
            .stderr(stderr.clone())
            .build();
        Self {
            wasi,
            table: ResourceTable::new(),
            limiter: Limiter {
                memory_bytes: manifest.limits.memory_bytes(),
                memory_denied: false,
            },
            stderr,
            caps: manifest.capabilities.states(context),
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

/// A linker with async WASI (sandboxed by the empty context above), the `types` instance of
/// the component's WIT version, and exactly the granted capabilities.
pub(crate) fn linker(
    engine: &wasmtime::Engine,
    manifest: &Manifest,
    wit: WitVersion,
) -> wasmtime::Result<Linker<HostState>> {
    let mut linker = Linker::new(engine);
    wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
    // `types` has no functions, only the records every world shares; a component that uses
    // them imports the (empty) instance under its own version.
    linker.instance(&format!("mantle:plugin/types@{wit}"))?;
    manifest.capabilities.link(&mut linker, wit)?;
    Ok(linker)
}

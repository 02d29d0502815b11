//! `log = true`: structured logs into the host's log stream, tagged with the plugin's id.

use std::sync::Arc;

use wasmtime::component::{HasSelf, Linker};

use super::{Capability, InstanceContext, is_mantle_interface};
use crate::bindings::WitVersion;
use crate::bindings::latest::host::mantle::plugin::log as latest;
use crate::bindings::since_v0_1_0::host::mantle::plugin::log as v1;
use crate::host_state::HostState;

pub(crate) struct Log;

pub(crate) struct LogState {
    plugin_id: Arc<str>,
}

impl Capability for Log {
    const NAME: &'static str = "log";
    type Grant = bool;
    type State = LogState;

    fn granted(grant: &bool) -> bool {
        *grant
    }

    fn provides(import: &str) -> bool {
        is_mantle_interface(import, "log")
    }

    fn link(linker: &mut Linker<HostState>, wit: WitVersion) -> wasmtime::Result<()> {
        match wit {
            WitVersion::V0_1_0 => {
                v1::add_to_linker::<_, HasSelf<LogState>>(linker, |s| &mut s.caps.log)
            }
            WitVersion::V0_2_0 => {
                latest::add_to_linker::<_, HasSelf<LogState>>(linker, |s| &mut s.caps.log)
            }
        }
    }

    fn state(_: &bool, context: &InstanceContext<'_>) -> LogState {
        LogState {
            plugin_id: context.id.clone(),
        }
    }
}

impl latest::Host for LogState {
    async fn log(&mut self, level: latest::Level, message: String) {
        let plugin = &*self.plugin_id;
        match level {
            latest::Level::Trace => tracing::trace!(target: "mantle::plugin", plugin, "{message}"),
            latest::Level::Debug => tracing::debug!(target: "mantle::plugin", plugin, "{message}"),
            latest::Level::Info => tracing::info!(target: "mantle::plugin", plugin, "{message}"),
            latest::Level::Warn => tracing::warn!(target: "mantle::plugin", plugin, "{message}"),
            latest::Level::Error => tracing::error!(target: "mantle::plugin", plugin, "{message}"),
        }
    }
}

impl v1::Host for LogState {
    async fn log(&mut self, level: v1::Level, message: String) {
        latest::Host::log(self, level.into(), message).await;
    }
}

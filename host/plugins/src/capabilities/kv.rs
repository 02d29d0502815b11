//! `kv = true`: a key/value store private to the plugin, under the quota of its `[limits]`
//! (`kv-kib`, `kv-keys`).

use std::sync::Arc;

use wasmtime::component::{HasSelf, Linker};

use super::{Capability, InstanceContext, is_mantle_interface};
use crate::bindings::PluginError;
use crate::bindings::WitVersion;
use crate::bindings::latest::host::mantle::plugin::kv as latest;
use crate::bindings::since_v0_1_0::host::mantle::plugin::kv as v1;
use crate::host_state::HostState;
use crate::services::{KvError, KvQuota, KvStore};

pub(crate) struct Kv;

pub(crate) struct KvState {
    plugin_name: Arc<str>,
    store: Option<Arc<dyn KvStore>>,
    quota: KvQuota,
}

impl Capability for Kv {
    const NAME: &'static str = "kv";
    type Grant = bool;
    type State = KvState;

    fn granted(grant: &bool) -> bool {
        *grant
    }

    fn provides(import: &str) -> bool {
        is_mantle_interface(import, "kv")
    }

    fn link(linker: &mut Linker<HostState>, wit: WitVersion) -> wasmtime::Result<()> {
        match wit {
            WitVersion::V0_1_0 => v1::add_to_linker::<_, HasSelf<KvState>>(linker, |s| &mut s.caps.kv),
            WitVersion::V0_2_0 => {
                latest::add_to_linker::<_, HasSelf<KvState>>(linker, |s| &mut s.caps.kv)
            }
        }
    }

    fn state(_: &bool, context: &InstanceContext<'_>) -> KvState {
        KvState {
            plugin_name: context.name.clone(),
            store: context.services.kv.clone(),
            quota: context.limits.kv_quota(),
        }
    }
}

impl KvState {
    fn store(&self) -> Result<&dyn KvStore, PluginError> {
        self.store.as_deref().ok_or_else(|| super::unavailable("kv"))
    }
}

impl latest::Host for KvState {
    async fn get(&mut self, key: String) -> Result<Option<Vec<u8>>, PluginError> {
        self.store()?
            .get(&self.plugin_name, &key)
            .map_err(super::host_error)
    }

    async fn set(&mut self, key: String, value: Vec<u8>) -> Result<(), PluginError> {
        match self.store()?.set(&self.plugin_name, &key, &value, self.quota) {
            Ok(()) => Ok(()),
            Err(KvError::QuotaExceeded(message)) => {
                metrics::counter!("mantle_plugin_kv_quota_exceeded_total", "plugin" => self.plugin_name.to_string())
                    .increment(1);
                Err(PluginError {
                    code: "quota-exceeded".to_owned(),
                    message,
                })
            }
            Err(KvError::Store(message)) => Err(super::host_error(message)),
        }
    }

    async fn delete(&mut self, key: String) -> Result<(), PluginError> {
        self.store()?
            .delete(&self.plugin_name, &key)
            .map_err(super::host_error)
    }

    async fn list_keys(&mut self, prefix: String, limit: u32) -> Result<Vec<String>, PluginError> {
        self.store()?
            .list_keys(&self.plugin_name, &prefix, limit as usize)
            .map_err(super::host_error)
    }
}

/// 0.1.0's `kv` has the same shape; it gains the quota like every other version.
impl v1::Host for KvState {
    async fn get(&mut self, key: String) -> Result<Option<Vec<u8>>, PluginError> {
        latest::Host::get(self, key).await
    }

    async fn set(&mut self, key: String, value: Vec<u8>) -> Result<(), PluginError> {
        latest::Host::set(self, key, value).await
    }

    async fn delete(&mut self, key: String) -> Result<(), PluginError> {
        latest::Host::delete(self, key).await
    }

    async fn list_keys(&mut self, prefix: String, limit: u32) -> Result<Vec<String>, PluginError> {
        latest::Host::list_keys(self, prefix, limit).await
    }
}

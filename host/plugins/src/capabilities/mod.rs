//! Host capabilities, one module each, in the style of Spin's "factors".
//!
//! A capability owns everything about itself: how a manifest grants it (its `Grant`, spelled
//! under `[capabilities]`), which component imports it provides, how it is linked into a
//! plugin's `Linker` for each WIT version, and its per-instance state in the `Store`. The list
//! at the bottom of this file is the only other place that names it, so adding one (say,
//! outbound sockets) is a new module plus one line there.

use serde::{Deserialize, Serialize};
use wasmtime::component::Linker;

use crate::bindings::WitVersion;
use crate::host_state::HostState;
use crate::manifest::Limits;
use crate::services::HostServices;

/// What a capability needs to build its per-instance state.
pub(crate) struct InstanceContext<'a> {
    /// The plugin's name: partitions per-plugin resources such as its `kv` store.
    pub name: &'a std::sync::Arc<str>,
    /// `name@version`: labels logs and metrics.
    pub id: &'a std::sync::Arc<str>,
    pub limits: &'a Limits,
    pub services: &'a std::sync::Arc<HostServices>,
}

/// One host capability.
pub(crate) trait Capability {
    /// Its key under `[capabilities]` in `plugin.toml`.
    const NAME: &'static str;
    /// How a manifest grants it: `bool` for a plain switch, a table for one with settings.
    type Grant: Serialize
        + for<'de> Deserialize<'de>
        + Default
        + Clone
        + PartialEq
        + std::fmt::Debug;
    /// Its share of a `Store`'s data.
    type State: Send + 'static;

    fn granted(grant: &Self::Grant) -> bool;

    /// Checks the grant's settings; the message names the field.
    fn validate(_grant: &Self::Grant) -> Result<(), String> {
        Ok(())
    }

    /// Whether a component import (e.g. `mantle:plugin/kv@0.2.0`) is one of this capability's.
    fn provides(import: &str) -> bool;

    /// Adds the capability's host functions for a component built against `wit`.
    fn link(linker: &mut Linker<HostState>, wit: WitVersion) -> wasmtime::Result<()>;

    fn state(grant: &Self::Grant, context: &InstanceContext<'_>) -> Self::State;
}

/// Whether `import` is the `mantle:plugin` interface `interface` (any version).
pub(crate) fn is_mantle_interface(import: &str, interface: &str) -> bool {
    import
        .strip_prefix("mantle:plugin/")
        .and_then(|rest| rest.split('@').next())
        == Some(interface)
}

macro_rules! capabilities {
    ($($name:ident: $module:ident::$ty:ident($grant:ty)),* $(,)?) => {
        $(pub mod $module;)*

        /// Host capabilities granted to the plugin (`[capabilities]`). Everything is denied
        /// unless listed.
        #[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
        #[serde(rename_all = "kebab-case", deny_unknown_fields)]
        pub struct Capabilities {
            $(
                #[serde(default)]
                pub $name: $grant,
            )*
        }

        /// Every capability's per-instance state, held by the `Store`.
        pub(crate) struct States {
            $(pub(crate) $name: <$module::$ty as Capability>::State,)*
        }

        impl Capabilities {
            /// Every capability's name, granted or not.
            pub const ALL: &'static [&'static str] = &[$(<$module::$ty as Capability>::NAME),*];

            /// The names of the granted capabilities.
            pub fn granted(&self) -> Vec<&'static str> {
                let mut names = Vec::new();
                $(
                    if <$module::$ty as Capability>::granted(&self.$name) {
                        names.push(<$module::$ty as Capability>::NAME);
                    }
                )*
                names
            }

            /// The capability providing a component import, and whether it is granted; `None`
            /// for an import no capability provides.
            pub fn provider_of(&self, import: &str) -> Option<(&'static str, bool)> {
                $(
                    if <$module::$ty as Capability>::provides(import) {
                        return Some((
                            <$module::$ty as Capability>::NAME,
                            <$module::$ty as Capability>::granted(&self.$name),
                        ));
                    }
                )*
                None
            }

            pub(crate) fn validate(&self) -> Result<(), String> {
                $(
                    <$module::$ty as Capability>::validate(&self.$name).map_err(|e| {
                        format!("capabilities.{}: {e}", <$module::$ty as Capability>::NAME)
                    })?;
                )*
                Ok(())
            }

            /// Links exactly the granted capabilities.
            pub(crate) fn link(
                &self,
                linker: &mut Linker<HostState>,
                wit: WitVersion,
            ) -> wasmtime::Result<()> {
                $(
                    if <$module::$ty as Capability>::granted(&self.$name) {
                        <$module::$ty as Capability>::link(linker, wit)?;
                    }
                )*
                Ok(())
            }

            pub(crate) fn states(&self, context: &InstanceContext<'_>) -> States {
                States {
                    $($name: <$module::$ty as Capability>::state(&self.$name, context),)*
                }
            }
        }
    };
}

// The manifest key, the module, and how a manifest spells the grant.
capabilities! {
    log: log::Log(bool),
    kv: kv::Kv(bool),
    models: models::Models(bool),
    knowledge: knowledge::Knowledge(bool),
    http: http::Http(Option<http::HttpGrant>),
}

/// The error for a call to a service this host was built without.
pub(crate) fn unavailable(what: &str) -> crate::bindings::PluginError {
    crate::bindings::PluginError {
        code: "unavailable".to_owned(),
        message: format!("this host has no {what} service"),
    }
}

/// A service's own failure, passed on to the plugin.
pub(crate) fn host_error(message: String) -> crate::bindings::PluginError {
    crate::bindings::PluginError {
        code: "host-error".to_owned(),
        message,
    }
}

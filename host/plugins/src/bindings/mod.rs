//! Host-side bindings, one module per released WIT version (as Zed keeps `since_v0_1_0`,
//! `since_v0_2_0`, …): a plugin built against any of them keeps loading. The host works in the
//! newest version's types ([`latest`]); [`convert`] is the one place older types are turned into
//! them and back.
//!
//! Every import is async on the host (a model call or an HTTP request waits without holding a
//! thread) and every export is called with `call_async`, so a call's deadline covers both.

#![allow(
    missing_docs,
    missing_debug_implementations,
    unused_qualifications,
    clippy::all
)]

pub mod convert;

/// Bindings of one export world of one version, reusing that version's host imports.
macro_rules! world {
    ($module:ident, $world:literal, $path:literal, $types:ident, $imports:ident) => {
        pub mod $module {
            wasmtime::component::bindgen!({
                path: $path,
                world: $world,
                exports: { default: async },
                with: {
                    "mantle:plugin/types": crate::bindings::$types::host::mantle::plugin::types,
                    "mantle:plugin/log": crate::bindings::$imports::host::mantle::plugin::log,
                    "mantle:plugin/kv": crate::bindings::$imports::host::mantle::plugin::kv,
                    "mantle:plugin/models": crate::bindings::$imports::host::mantle::plugin::models,
                    "mantle:plugin/knowledge": crate::bindings::$imports::host::mantle::plugin::knowledge,
                },
            });
        }
    };
}

/// `mantle:plugin@0.2.0`, the newest version.
pub mod since_v0_2_0 {
    pub mod host {
        wasmtime::component::bindgen!({
            path: "../../wit/mantle-plugin@0.2.0",
            world: "host-imports",
            imports: { default: async },
        });
    }

    world!(
        guardrail,
        "guardrail",
        "../../wit/mantle-plugin@0.2.0",
        since_v0_2_0,
        since_v0_2_0
    );
    world!(
        tool,
        "tool",
        "../../wit/mantle-plugin@0.2.0",
        since_v0_2_0,
        since_v0_2_0
    );
    world!(
        chunker,
        "chunker",
        "../../wit/mantle-plugin@0.2.0",
        since_v0_2_0,
        since_v0_2_0
    );
    world!(
        flow_node,
        "flow-node",
        "../../wit/mantle-plugin@0.2.0",
        since_v0_2_0,
        since_v0_2_0
    );
}

/// `mantle:plugin@0.1.0`, frozen. Its `types` interface is identical to 0.2.0's, so it is
/// generated once (as 0.2.0's) and a `PluginError` is one type in both.
pub mod since_v0_1_0 {
    pub mod host {
        wasmtime::component::bindgen!({
            path: "../../wit/mantle-plugin@0.1.0",
            world: "host-imports",
            imports: { default: async },
            with: {
                "mantle:plugin/types": crate::bindings::since_v0_2_0::host::mantle::plugin::types,
            },
        });
    }

    world!(
        guardrail,
        "guardrail",
        "../../wit/mantle-plugin@0.1.0",
        since_v0_2_0,
        since_v0_1_0
    );
    world!(
        tool,
        "tool",
        "../../wit/mantle-plugin@0.1.0",
        since_v0_2_0,
        since_v0_1_0
    );
    world!(
        chunker,
        "chunker",
        "../../wit/mantle-plugin@0.1.0",
        since_v0_2_0,
        since_v0_1_0
    );
    world!(
        flow_node,
        "flow-node",
        "../../wit/mantle-plugin@0.1.0",
        since_v0_2_0,
        since_v0_1_0
    );
}

/// The newest version: the types the host and its callers work in.
pub use since_v0_2_0 as latest;

pub use latest::host::mantle::plugin::types::{PluginError, Span};

/// A released version of the WIT package. Only ever grows: a released version is never dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum WitVersion {
    V0_1_0,
    V0_2_0,
}

impl WitVersion {
    /// Every version this host links, oldest first.
    pub const ALL: [WitVersion; 2] = [Self::V0_1_0, Self::V0_2_0];
    /// The version `mantle plugin new` and the SDK target.
    pub const LATEST: WitVersion = Self::V0_2_0;

    pub fn as_str(self) -> &'static str {
        match self {
            Self::V0_1_0 => "0.1.0",
            Self::V0_2_0 => "0.2.0",
        }
    }

    pub fn parse(version: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == version)
    }

    /// The version a component was built against, read from the `mantle:plugin/…@x.y.z`
    /// interfaces it exports (every world exports exactly one).
    pub fn of_component(
        component: &wasmtime::component::Component,
        engine: &wasmtime::Engine,
    ) -> Result<Self, String> {
        let ty = component.component_type();
        let mut names = ty
            .exports(engine)
            .map(|(name, _)| name)
            .chain(ty.imports(engine).map(|(name, _)| name))
            .filter_map(|name| name.strip_prefix("mantle:plugin/"));
        let Some(name) = names.next() else {
            return Err("it exports no mantle:plugin interface".to_owned());
        };
        let version = name.split_once('@').map_or("", |(_, v)| v);
        Self::parse(version).ok_or_else(|| {
            format!("it was built against mantle:plugin@{version}, which this host does not know")
        })
    }
}

impl std::fmt::Display for WitVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

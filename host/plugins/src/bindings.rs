//! Host-side bindings of `wit/mantle-plugin@0.1.0`: the host imports once, and one module per
//! world reusing them, so a `PluginError` is one type whichever world returned it.

#![allow(
    missing_docs,
    missing_debug_implementations,
    unused_qualifications,
    clippy::all
)]

pub mod host {
    wasmtime::component::bindgen!({
        path: "../../wit/mantle-plugin@0.1.0",
        world: "host-imports",
    });
}

/// Bindings of one export world, reusing the host imports generated above.
macro_rules! world {
    ($module:ident, $world:literal) => {
        pub mod $module {
            wasmtime::component::bindgen!({
                path: "../../wit/mantle-plugin@0.1.0",
                world: $world,
                with: {
                    "mantle:plugin/types": crate::bindings::host::mantle::plugin::types,
                    "mantle:plugin/log": crate::bindings::host::mantle::plugin::log,
                    "mantle:plugin/kv": crate::bindings::host::mantle::plugin::kv,
                    "mantle:plugin/models": crate::bindings::host::mantle::plugin::models,
                    "mantle:plugin/knowledge": crate::bindings::host::mantle::plugin::knowledge,
                },
            });
        }
    };
}

world!(guardrail, "guardrail");
world!(tool, "tool");
world!(chunker, "chunker");
world!(flow_node, "flow-node");

pub use host::mantle::plugin::types::{PluginError, Span};

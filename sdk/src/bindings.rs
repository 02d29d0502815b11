//! Guest bindings generated from `wit/mantle-plugin@0.2.0`.
//!
//! The host imports are generated once (in [`host`]) and every world reuses them through
//! `with`, so a `PluginError` or a `log` call is the same type in every world.

#![allow(
    unsafe_code,
    missing_docs,
    missing_debug_implementations,
    clippy::all,
    unused_qualifications
)]

/// The host's imports: `log`, `kv`, `models`, `knowledge`.
pub mod host {
    wit_bindgen::generate!({
        path: "../wit/mantle-plugin@0.2.0",
        world: "host-imports",
    });
}

/// Bindings of one export world, reusing [`host`]'s imports; its export macro is wrapped by
/// the crate-root `export_*!` macros.
macro_rules! world {
    ($(#[$doc:meta])* $module:ident, $world:literal, $bindings:literal) => {
        $(#[$doc])*
        pub mod $module {
            wit_bindgen::generate!({
                path: "../wit/mantle-plugin@0.2.0",
                world: $world,
                with: {
                    "mantle:plugin/types@0.2.0": crate::bindings::host::mantle::plugin::types,
                    "mantle:plugin/log@0.2.0": crate::bindings::host::mantle::plugin::log,
                    "mantle:plugin/kv@0.2.0": crate::bindings::host::mantle::plugin::kv,
                    "mantle:plugin/models@0.2.0": crate::bindings::host::mantle::plugin::models,
                    "mantle:plugin/knowledge@0.2.0": crate::bindings::host::mantle::plugin::knowledge,
                },
                pub_export_macro: true,
                export_macro_name: "export",
                default_bindings_module: $bindings,
            });
        }
    };
}

world!(
    /// The `guardrail` world.
    guardrail, "guardrail", "mantle_sdk::bindings::guardrail"
);
world!(
    /// The `tool` world.
    tool, "tool", "mantle_sdk::bindings::tool"
);
world!(
    /// The `chunker` world.
    chunker, "chunker", "mantle_sdk::bindings::chunker"
);
world!(
    /// The `flow-node` world.
    flow_node, "flow-node", "mantle_sdk::bindings::flow_node"
);

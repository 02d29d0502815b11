//! Guest bindings generated from `wit/mantle-plugin@0.1.0`.
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
        path: "../wit/mantle-plugin@0.1.0",
        world: "host-imports",
    });
}

/// The `guardrail` world.
pub mod guardrail {
    wit_bindgen::generate!({
        path: "../wit/mantle-plugin@0.1.0",
        world: "guardrail",
        with: {
            "mantle:plugin/types@0.1.0": crate::bindings::host::mantle::plugin::types,
            "mantle:plugin/log@0.1.0": crate::bindings::host::mantle::plugin::log,
            "mantle:plugin/kv@0.1.0": crate::bindings::host::mantle::plugin::kv,
            "mantle:plugin/models@0.1.0": crate::bindings::host::mantle::plugin::models,
            "mantle:plugin/knowledge@0.1.0": crate::bindings::host::mantle::plugin::knowledge,
        },
        pub_export_macro: true,
        export_macro_name: "export",
        default_bindings_module: "mantle_sdk::bindings::guardrail",
    });
}

/// The `tool` world.
pub mod tool {
    wit_bindgen::generate!({
        path: "../wit/mantle-plugin@0.1.0",
        world: "tool",
        with: {
            "mantle:plugin/types@0.1.0": crate::bindings::host::mantle::plugin::types,
            "mantle:plugin/log@0.1.0": crate::bindings::host::mantle::plugin::log,
            "mantle:plugin/kv@0.1.0": crate::bindings::host::mantle::plugin::kv,
            "mantle:plugin/models@0.1.0": crate::bindings::host::mantle::plugin::models,
            "mantle:plugin/knowledge@0.1.0": crate::bindings::host::mantle::plugin::knowledge,
        },
        pub_export_macro: true,
        export_macro_name: "export",
        default_bindings_module: "mantle_sdk::bindings::tool",
    });
}

/// The `chunker` world.
pub mod chunker {
    wit_bindgen::generate!({
        path: "../wit/mantle-plugin@0.1.0",
        world: "chunker",
        with: {
            "mantle:plugin/types@0.1.0": crate::bindings::host::mantle::plugin::types,
            "mantle:plugin/log@0.1.0": crate::bindings::host::mantle::plugin::log,
            "mantle:plugin/kv@0.1.0": crate::bindings::host::mantle::plugin::kv,
            "mantle:plugin/models@0.1.0": crate::bindings::host::mantle::plugin::models,
            "mantle:plugin/knowledge@0.1.0": crate::bindings::host::mantle::plugin::knowledge,
        },
        pub_export_macro: true,
        export_macro_name: "export",
        default_bindings_module: "mantle_sdk::bindings::chunker",
    });
}

/// The `flow-node` world.
pub mod flow_node {
    wit_bindgen::generate!({
        path: "../wit/mantle-plugin@0.1.0",
        world: "flow-node",
        with: {
            "mantle:plugin/types@0.1.0": crate::bindings::host::mantle::plugin::types,
            "mantle:plugin/log@0.1.0": crate::bindings::host::mantle::plugin::log,
            "mantle:plugin/kv@0.1.0": crate::bindings::host::mantle::plugin::kv,
            "mantle:plugin/models@0.1.0": crate::bindings::host::mantle::plugin::models,
            "mantle:plugin/knowledge@0.1.0": crate::bindings::host::mantle::plugin::knowledge,
        },
        pub_export_macro: true,
        export_macro_name: "export",
        default_bindings_module: "mantle_sdk::bindings::flow_node",
    });
}

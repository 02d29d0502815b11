//! # mantle-sdk
//!
//! Everything a Mantle plugin author depends on: the guest bindings of the
//! `mantle:plugin@0.2.0` WIT package, one export macro per world, typed helpers, and a native
//! test kit so plugin logic is unit-tested with plain `cargo test`.
//!
//! A guardrail policy that blocks the word "forbidden":
//!
//! ```
//! use mantle_sdk::guardrail::{Action, AssessRequest, Assessment, Finding, Guest, PolicyKind};
//! use mantle_sdk::PluginError;
//!
//! struct NoForbidden;
//!
//! impl Guest for NoForbidden {
//!     fn assess(request: AssessRequest) -> Result<Assessment, PluginError> {
//!         let mut findings = Vec::new();
//!         for (index, block) in request.guarded_blocks() {
//!             if let Some(start) = block.text.find("forbidden") {
//!                 findings.push(
//!                     Finding::new(PolicyKind::Word, "CUSTOM", index, start, "forbidden")
//!                         .with_action(Action::Block),
//!                 );
//!             }
//!         }
//!         Ok(Assessment { findings })
//!     }
//! }
//!
//! // In the plugin crate (built with `cargo build --target wasm32-wasip2`):
//! // mantle_sdk::export_guardrail!(NoForbidden);
//!
//! // And tested natively:
//! use mantle_sdk::testkit;
//! let request = testkit::input(&["this is forbidden"], serde_json::json!({}));
//! let assessment = NoForbidden::assess(request).unwrap();
//! assert_eq!(assessment.findings[0].action, Action::Block);
//! ```
//!
//! Build a plugin with `cargo build --target wasm32-wasip2 --release`; the `.wasm` it writes is
//! already a component. Beside it goes a `plugin.toml` manifest (see the tutorial in `docs/`).

pub mod bindings;
pub mod chunker;
mod config_cache;
pub mod flow_node;
pub mod guardrail;
pub mod knowledge;
pub mod kv;
pub mod log;
pub mod models;
pub mod testkit;
pub mod text;
pub mod tokens;
pub mod tool;

pub use bindings::host::mantle::plugin::types::{PluginError, Span};
pub use config_cache::ConfigCache;

/// Defines one world's export macro: the component exports on `wasm32`, and nothing elsewhere,
/// so a plugin crate also builds natively for `cargo test` (a native `cdylib` cannot carry the
/// component model's export names).
macro_rules! export_macro {
    ($(#[$doc:meta])* $name:ident, $world:ident) => {
        $(#[$doc])*
        #[macro_export]
        macro_rules! $name {
            ($ty:ident) => {
                #[cfg(target_arch = "wasm32")]
                $crate::bindings::$world::export!($ty with_types_in $crate::bindings::$world);
            };
        }
    };
}

export_macro!(
    /// Exports a [`guardrail::Guest`] implementation as the component's `guardrail` world:
    /// `mantle_sdk::export_guardrail!(MyPolicy);`
    export_guardrail,
    guardrail
);
export_macro!(
    /// Exports a [`tool::Guest`] implementation as the component's `tool` world.
    export_tool,
    tool
);
export_macro!(
    /// Exports a [`chunker::Guest`] implementation as the component's `chunker` world.
    export_chunker,
    chunker
);
export_macro!(
    /// Exports a [`flow_node::Guest`] implementation as the component's `flow-node` world.
    export_flow_node,
    flow_node
);

/// The WIT package version this SDK's bindings were generated from.
pub const WIT_VERSION: &str = "0.2.0";

impl PluginError {
    /// A plugin error with a machine-readable `code` and a message.
    ///
    /// ```
    /// let error = mantle_sdk::PluginError::new("invalid-config", "missing field `words`");
    /// assert_eq!(error.code, "invalid-config");
    /// ```
    pub fn new(code: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            code: code.into(),
            message: message.into(),
        }
    }

    /// The error for a configuration that does not parse.
    pub fn invalid_config(message: impl std::fmt::Display) -> Self {
        Self::new(
            "invalid-config",
            format!("invalid configuration: {message}"),
        )
    }
}

impl Span {
    /// The span of `len` bytes starting at `start`.
    ///
    /// ```
    /// let span = mantle_sdk::Span::at(3, 4);
    /// assert_eq!((span.start, span.end), (3, 7));
    /// ```
    pub fn at(start: usize, len: usize) -> Self {
        Self {
            start: start as u32,
            end: (start + len) as u32,
        }
    }
}

/// Parses a plugin's JSON configuration into `T`, with an `invalid-config` error naming the problem.
///
/// ```
/// #[derive(serde::Deserialize)]
/// struct Config { words: Vec<String> }
/// let config: Config = mantle_sdk::parse_config(r#"{"words": ["a"]}"#).unwrap();
/// assert_eq!(config.words, ["a"]);
/// assert!(mantle_sdk::parse_config::<Config>("{}").is_err());
/// ```
pub fn parse_config<T: serde::de::DeserializeOwned>(config: &str) -> Result<T, PluginError> {
    let config = if config.trim().is_empty() {
        "{}"
    } else {
        config
    };
    serde_json::from_str(config).map_err(PluginError::invalid_config)
}

//! What can go wrong loading a plugin, and calling one.

use std::path::PathBuf;

/// A plugin could not be loaded (or installed). The registry keeps serving what it had.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("invalid plugin.toml: {0}")]
    Manifest(String),
    #[error("plugin targets WIT mantle:plugin@{wanted}; this host supports {supported}")]
    UnsupportedWit { wanted: String, supported: String },
    #[error(
        "plugin.toml says wit = \"{manifest}\" but the component was built against \
         mantle:plugin@{component}"
    )]
    WitMismatch { manifest: String, component: String },
    #[error("not a valid WebAssembly component: {0}")]
    Compile(String),
    #[error(
        "plugin imports `{import}` but its manifest does not grant capability `{capability}` \
         (add `{capability} = true` under [capabilities])"
    )]
    CapabilityNotGranted { import: String, capability: String },
    #[error("plugin imports `{0}`, which this host does not provide")]
    UnknownImport(String),
    #[error("component does not implement the `{kind}` world of mantle:plugin@{wit}: {reason}")]
    WrongWorld {
        kind: String,
        wit: String,
        reason: String,
    },
    #[error("trial instantiation failed: {0}")]
    Instantiate(String),
    #[error("plugin {0} is already installed")]
    AlreadyInstalled(String),
}

/// A call into a plugin failed. Only that call fails: the host and other calls carry on.
#[derive(Debug, Clone, thiserror::Error)]
pub enum CallError {
    #[error("plugin {plugin} returned an error ({code}): {message}")]
    Plugin {
        plugin: String,
        code: String,
        message: String,
    },
    #[error("plugin {plugin} trapped: {message}")]
    Trap { plugin: String, message: String },
    #[error("plugin {plugin} exceeded its time budget of {timeout_ms} ms")]
    Timeout { plugin: String, timeout_ms: u64 },
    #[error("plugin {plugin} exceeded its memory limit of {memory_mib} MiB")]
    MemoryLimit { plugin: String, memory_mib: u32 },
    #[error("plugin {plugin} returned {bytes} bytes, over its output limit of {limit} bytes")]
    OutputTooLarge {
        plugin: String,
        bytes: usize,
        limit: usize,
    },
    #[error("plugin {plugin} returned an invalid output: {message}")]
    InvalidOutput { plugin: String, message: String },
    #[error("plugin {0} is not installed")]
    NotFound(String),
    #[error("plugin {0} is disabled")]
    Disabled(String),
    #[error("plugin {plugin} is a {actual} plugin, not a {expected}")]
    WrongKind {
        plugin: String,
        expected: String,
        actual: String,
    },
    #[error("plugin {plugin} could not be instantiated: {message}")]
    Instantiate { plugin: String, message: String },
}

impl CallError {
    /// A short label for metrics.
    pub fn label(&self) -> &'static str {
        match self {
            CallError::Plugin { .. } => "plugin_error",
            CallError::Trap { .. } => "trap",
            CallError::Timeout { .. } => "timeout",
            CallError::MemoryLimit { .. } => "memory_limit",
            CallError::OutputTooLarge { .. } => "output_too_large",
            CallError::InvalidOutput { .. } => "invalid_output",
            CallError::NotFound(_) => "not_found",
            CallError::Disabled(_) => "disabled",
            CallError::WrongKind { .. } => "wrong_kind",
            CallError::Instantiate { .. } => "instantiate",
        }
    }
}

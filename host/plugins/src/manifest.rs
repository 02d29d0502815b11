//! `plugin.toml`: what a plugin is, which host capabilities it is granted, and its limits.
//!
//! ```toml
//! name = "word-filter"
//! version = "0.1.0"
//! kind = "guardrail"
//! wit = "0.1.0"
//! description = "Blocks configured words and a managed profanity list"
//!
//! [capabilities]
//! log = true
//!
//! [limits]
//! memory-mib = 32
//! timeout-ms = 500
//! output-kib = 256
//! ```

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::LoadError;

/// The WIT package versions this host can load, oldest first. A released version is never
/// removed from this list: a plugin built against it keeps loading.
pub const SUPPORTED_WIT_VERSIONS: &[&str] = &["0.1.0"];

/// Upper bounds an operator's manifest cannot raise.
pub const MAX_MEMORY_MIB: u32 = 1024;
pub const MAX_TIMEOUT_MS: u64 = 60_000;
pub const MAX_OUTPUT_KIB: u32 = 64 * 1024;

/// A parsed and validated `plugin.toml`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Manifest {
    pub name: String,
    pub version: semver::Version,
    pub kind: Kind,
    /// The WIT package version the component was built against.
    pub wit: String,
    #[serde(default)]
    pub description: String,
    /// The component file, relative to the manifest. Defaults to `plugin.wasm`.
    #[serde(default = "default_component")]
    pub component: String,
    #[serde(default)]
    pub capabilities: Capabilities,
    #[serde(default)]
    pub limits: Limits,
    /// JSON Schema of the plugin's configuration, as a JSON string.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_schema: Option<String>,
}

fn default_component() -> String {
    "plugin.wasm".to_owned()
}

/// The world a component implements.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    Guardrail,
    Tool,
    Chunker,
    FlowNode,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Guardrail => "guardrail",
            Kind::Tool => "tool",
            Kind::Chunker => "chunker",
            Kind::FlowNode => "flow-node",
        }
    }
}

impl std::fmt::Display for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Host imports granted to the plugin. Everything is denied unless listed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Capabilities {
    #[serde(default)]
    pub log: bool,
    #[serde(default)]
    pub kv: bool,
    #[serde(default)]
    pub models: bool,
    #[serde(default)]
    pub knowledge: bool,
}

impl Capabilities {
    /// Whether the host interface `name` (e.g. `kv`) is granted.
    pub fn grants(&self, interface: HostInterface) -> bool {
        match interface {
            HostInterface::Log => self.log,
            HostInterface::Kv => self.kv,
            HostInterface::Models => self.models,
            HostInterface::Knowledge => self.knowledge,
        }
    }
}

/// The host interfaces of the WIT package a plugin may import.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostInterface {
    Log,
    Kv,
    Models,
    Knowledge,
}

impl HostInterface {
    pub const ALL: [HostInterface; 4] = [Self::Log, Self::Kv, Self::Models, Self::Knowledge];

    pub fn name(self) -> &'static str {
        match self {
            Self::Log => "log",
            Self::Kv => "kv",
            Self::Models => "models",
            Self::Knowledge => "knowledge",
        }
    }
}

/// Resource limits for one call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Limits {
    /// Linear memory the component may grow to.
    #[serde(default = "Limits::default_memory_mib")]
    pub memory_mib: u32,
    /// Wall-clock budget of one call.
    #[serde(default = "Limits::default_timeout_ms")]
    pub timeout_ms: u64,
    /// Size of the value a call may return.
    #[serde(default = "Limits::default_output_kib")]
    pub output_kib: u32,
}

impl Limits {
    fn default_memory_mib() -> u32 {
        64
    }
    fn default_timeout_ms() -> u64 {
        1_000
    }
    fn default_output_kib() -> u32 {
        1_024
    }

    pub fn memory_bytes(&self) -> usize {
        self.memory_mib as usize * 1024 * 1024
    }

    pub fn output_bytes(&self) -> usize {
        self.output_kib as usize * 1024
    }
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            memory_mib: Self::default_memory_mib(),
            timeout_ms: Self::default_timeout_ms(),
            output_kib: Self::default_output_kib(),
        }
    }
}

impl Manifest {
    /// Reads and validates the manifest at `path`.
    pub fn load(path: &Path) -> Result<Self, LoadError> {
        let text = std::fs::read_to_string(path).map_err(|source| LoadError::Io {
            path: path.to_owned(),
            source,
        })?;
        Self::parse(&text)
    }

    /// Parses and validates manifest text.
    pub fn parse(text: &str) -> Result<Self, LoadError> {
        let manifest: Manifest =
            toml::from_str(text).map_err(|e| LoadError::Manifest(e.message().to_owned()))?;
        manifest.validate()?;
        Ok(manifest)
    }

    fn validate(&self) -> Result<(), LoadError> {
        let bad = |message: String| Err(LoadError::Manifest(message));
        if self.name.is_empty()
            || self.name.len() > 64
            || !self
                .name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        {
            return bad(format!(
                "name `{}` must be 1-64 characters of a-z, 0-9 and -",
                self.name
            ));
        }
        if !SUPPORTED_WIT_VERSIONS.contains(&self.wit.as_str()) {
            return Err(LoadError::UnsupportedWit {
                wanted: self.wit.clone(),
                supported: SUPPORTED_WIT_VERSIONS.join(", "),
            });
        }
        if self.component.contains("..") || self.component.starts_with('/') {
            return bad(format!(
                "component `{}` must be a file beside the manifest",
                self.component
            ));
        }
        let l = &self.limits;
        if l.memory_mib == 0 || l.memory_mib > MAX_MEMORY_MIB {
            return bad(format!("limits.memory-mib must be 1..={MAX_MEMORY_MIB}"));
        }
        if l.timeout_ms == 0 || l.timeout_ms > MAX_TIMEOUT_MS {
            return bad(format!("limits.timeout-ms must be 1..={MAX_TIMEOUT_MS}"));
        }
        if l.output_kib == 0 || l.output_kib > MAX_OUTPUT_KIB {
            return bad(format!("limits.output-kib must be 1..={MAX_OUTPUT_KIB}"));
        }
        if let Some(schema) = &self.config_schema
            && let Err(e) = serde_json::from_str::<serde_json::Value>(schema)
        {
            return bad(format!("config-schema is not JSON: {e}"));
        }
        Ok(())
    }

    /// `name@version`, the registry key.
    pub fn id(&self) -> String {
        format!("{}@{}", self.name, self.version)
    }

    /// Serialises the manifest back to TOML.
    pub fn to_toml(&self) -> String {
        toml::to_string(self).expect("a manifest always serialises")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_full_manifest_with_defaults() {
        let m = Manifest::parse(
            "name = \"word-filter\"\nversion = \"0.1.0\"\nkind = \"guardrail\"\nwit = \"0.1.0\"\n\
             [capabilities]\nlog = true\n[limits]\nmemory-mib = 32\n",
        )
        .unwrap();
        assert_eq!(m.id(), "word-filter@0.1.0");
        assert!(m.capabilities.log && !m.capabilities.kv);
        assert_eq!(m.limits.memory_mib, 32);
        assert_eq!(m.limits.timeout_ms, 1_000);
        assert_eq!(m.component, "plugin.wasm");
        assert_eq!(Manifest::parse(&m.to_toml()).unwrap(), m);
    }

    #[test]
    fn rejects_bad_manifests_with_a_message_naming_the_problem() {
        let base = "version = \"0.1.0\"\nkind = \"guardrail\"\n";
        let cases = [
            (
                format!("name = \"Bad Name\"\n{base}wit = \"0.1.0\""),
                "name",
            ),
            (format!("name = \"a\"\n{base}wit = \"9.0.0\""), "9.0.0"),
            (
                format!("name = \"a\"\n{base}wit = \"0.1.0\"\n[capabilities]\nfs = true"),
                "fs",
            ),
            (
                format!("name = \"a\"\n{base}wit = \"0.1.0\"\n[limits]\nmemory-mib = 0"),
                "memory-mib",
            ),
            (
                "name = \"a\"\nversion = \"x\"\nkind = \"guardrail\"\nwit = \"0.1.0\"".to_owned(),
                "version",
            ),
            (
                format!("name = \"a\"\n{base}wit = \"0.1.0\"\ncomponent = \"../x.wasm\""),
                "component",
            ),
        ];
        for (text, needle) in cases {
            let error = Manifest::parse(&text).unwrap_err().to_string();
            assert!(error.contains(needle), "{error:?} should mention {needle}");
        }
    }
}

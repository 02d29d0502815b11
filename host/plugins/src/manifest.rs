//! `plugin.toml`: what a plugin is, which host capabilities it is granted, and its limits.
//!
//! ```toml
//! name = "word-filter"
//! version = "0.1.0"
//! kind = "guardrail"
//! wit = "0.2.0"
//! description = "Blocks configured words and a managed profanity list"
//! instance-reuse = "warm"   # default "fresh": a new instance per call
//!
//! [capabilities]
//! log = true
//! kv = true
//!
//! [capabilities.http]       # outbound wasi:http, only to these hosts
//! allow = ["api.example.com", "127.0.0.1:8089"]
//! methods = ["GET", "POST"]
//! timeout-ms = 2000
//! max-response-kib = 256
//!
//! [limits]
//! memory-mib = 32
//! timeout-ms = 500          # wall clock, covering everything the call does
//! output-kib = 256
//! kv-kib = 1024             # the kv store's quota: bytes of keys plus values
//! kv-keys = 10000
//! ```

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::bindings::WitVersion;
pub use crate::capabilities::Capabilities;
use crate::error::LoadError;

/// The WIT package versions this host can load, oldest first. A released version is never
/// removed from this list: a plugin built against it keeps loading.
pub const SUPPORTED_WIT_VERSIONS: &[&str] = &["0.1.0", "0.2.0"];

/// Upper bounds an operator's manifest cannot raise.
pub const MAX_MEMORY_MIB: u32 = 1024;
pub const MAX_TIMEOUT_MS: u64 = 60_000;
pub const MAX_OUTPUT_KIB: u32 = 64 * 1024;
pub const MAX_KV_KIB: u64 = 1024 * 1024;
pub const MAX_KV_KEYS: u64 = 1_000_000;

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
    /// Whether instances serve more than one call.
    #[serde(default)]
    pub instance_reuse: InstanceReuse,
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

/// Whether a plugin's instances serve more than one call.
///
/// `fresh` (the default, for a team's plugin) gives every call a new instance, so nothing a call
/// leaves in the guest's memory is seen by the next. `warm` keeps instances for reuse, which
/// saves the instantiation (a few microseconds with the pooling allocator) on every call: for
/// plugins whose authors vouch they keep no per-request state, like the built-ins. A failed call
/// never returns its instance either way.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum InstanceReuse {
    #[default]
    Fresh,
    Warm,
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
    /// The plugin's `kv` store: bytes of keys plus values, in KiB.
    #[serde(default = "Limits::default_kv_kib")]
    pub kv_kib: u64,
    /// The plugin's `kv` store: number of keys.
    #[serde(default = "Limits::default_kv_keys")]
    pub kv_keys: u64,
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
    fn default_kv_kib() -> u64 {
        1_024
    }
    fn default_kv_keys() -> u64 {
        10_000
    }

    pub fn kv_quota(&self) -> crate::services::KvQuota {
        crate::services::KvQuota {
            bytes: self.kv_kib * 1024,
            keys: self.kv_keys,
        }
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
            kv_kib: Self::default_kv_kib(),
            kv_keys: Self::default_kv_keys(),
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
        if WitVersion::parse(&self.wit).is_none() {
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
        if l.kv_kib == 0 || l.kv_kib > MAX_KV_KIB {
            return bad(format!("limits.kv-kib must be 1..={MAX_KV_KIB}"));
        }
        if l.kv_keys == 0 || l.kv_keys > MAX_KV_KEYS {
            return bad(format!("limits.kv-keys must be 1..={MAX_KV_KEYS}"));
        }
        self.capabilities.validate().map_err(LoadError::Manifest)?;
        if let Some(schema) = &self.config_schema
            && let Err(e) = serde_json::from_str::<serde_json::Value>(schema)
        {
            return bad(format!("config-schema is not JSON: {e}"));
        }
        Ok(())
    }

    /// The WIT version the manifest names (validated at parse).
    pub fn wit_version(&self) -> WitVersion {
        WitVersion::parse(&self.wit).unwrap_or(WitVersion::LATEST)
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
    fn parses_http_grants_quotas_and_instance_reuse() {
        let m = Manifest::parse(
            "name = \"t\"\nversion = \"0.1.0\"\nkind = \"tool\"\nwit = \"0.2.0\"\n\
             instance-reuse = \"warm\"\n\
             [capabilities.http]\nallow = [\"api.example.com\", \"127.0.0.1:8089\"]\n\
             [limits]\nkv-kib = 4\nkv-keys = 2\n",
        )
        .unwrap();
        assert_eq!(m.instance_reuse, InstanceReuse::Warm);
        assert_eq!(m.capabilities.granted(), ["http"]);
        let http = m.capabilities.http.as_ref().unwrap();
        assert!(http.permits("GET", "API.example.com", 443));
        assert!(http.permits("POST", "127.0.0.1", 8089));
        assert!(!http.permits("GET", "127.0.0.1", 8090));
        assert!(!http.permits("DELETE", "api.example.com", 443));
        assert_eq!(m.limits.kv_quota().bytes, 4096);
        assert_eq!(Manifest::parse(&m.to_toml()).unwrap(), m);
        // A team's plugin is fresh per call unless it opts in.
        let plain = Manifest::parse(
            "name = \"t\"\nversion = \"0.1.0\"\nkind = \"tool\"\nwit = \"0.2.0\"\n",
        )
        .unwrap();
        assert_eq!(plain.instance_reuse, InstanceReuse::Fresh);
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
            (
                format!("name = \"a\"\n{base}wit = \"0.2.0\"\n[capabilities.http]\nallow = []"),
                "capabilities.http",
            ),
            (
                format!(
                    "name = \"a\"\n{base}wit = \"0.2.0\"\n[capabilities.http]\nallow = [\"*.x\"]"
                ),
                "*.x",
            ),
            (
                format!("name = \"a\"\n{base}wit = \"0.2.0\"\n[limits]\nkv-kib = 0"),
                "kv-kib",
            ),
            (
                format!("name = \"a\"\n{base}wit = \"0.2.0\"\ninstance-reuse = \"always\""),
                "always",
            ),
        ];
        for (text, needle) in cases {
            let error = Manifest::parse(&text).unwrap_err().to_string();
            assert!(error.contains(needle), "{error:?} should mention {needle}");
        }
    }
}

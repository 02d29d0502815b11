//! Server settings: command-line flags and environment over an optional TOML file over defaults.
//!
//! ```toml
//! listen = "127.0.0.1:8080"
//! data-dir = "/var/lib/mantle"
//! plugins-dir = "/var/lib/mantle/plugins"   # default: <data-dir>/plugins
//! model-dir = "/var/lib/mantle/models"       # default: $MANTLE_MODEL_DIR or ~/.cache/mantle/models
//! region = "us-east-1"
//! account = "000000000000"
//! max-body-bytes = 2097152
//!
//! # Bedrock ids that unchanged applications send, mapped to served models. An id starting with
//! # a geography (`us.`, `eu.`, `apac.`, `global.` …) is an inference profile.
//! [model-aliases]
//! "anthropic.claude-3-haiku-20240307-v1:0" = "hf.smollm2-135m-instruct-v1:0"
//! "us.anthropic.claude-3-haiku-20240307-v1:0" = "hf.smollm2-135m-instruct-v1:0"
//! "amazon.titan-embed-text-v2:0" = "hf.all-minilm-l6-v2-v1:0"
//! ```

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// The region and account that ARNs are minted in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub region: String,
    pub account: String,
}

impl Default for Identity {
    fn default() -> Self {
        Self {
            region: "us-east-1".into(),
            account: "000000000000".into(),
        }
    }
}

/// Everything the server needs to start.
#[derive(Debug, Clone)]
pub struct Settings {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    pub plugins_dir: PathBuf,
    /// Where the default models are (see `cargo xtask setup`).
    pub model_dir: PathBuf,
    pub identity: Identity,
    pub max_body_bytes: usize,
    /// Watch the plugins directory and reload on change.
    pub watch_plugins: bool,
    /// Bedrock model / inference-profile id → served model id.
    pub model_aliases: BTreeMap<String, String>,
}

impl Settings {
    /// Settings with defaults under `data_dir`.
    pub fn new(listen: SocketAddr, data_dir: PathBuf) -> Self {
        Self {
            listen,
            plugins_dir: data_dir.join("plugins"),
            model_dir: mantle_models::model_dir::default_model_dir(),
            data_dir,
            identity: Identity::default(),
            max_body_bytes: 2 * 1024 * 1024,
            watch_plugins: true,
            model_aliases: BTreeMap::new(),
        }
    }

    /// Applies a TOML settings file over these settings.
    pub fn merge_file(mut self, path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))?;
        let file: FileSettings = toml::from_str(&text)
            .map_err(|e| anyhow::anyhow!("invalid settings file {}: {e}", path.display()))?;
        if let Some(listen) = file.listen {
            self.listen = listen;
        }
        if let Some(data_dir) = file.data_dir {
            self.plugins_dir = data_dir.join("plugins");
            self.data_dir = data_dir;
        }
        if let Some(plugins_dir) = file.plugins_dir {
            self.plugins_dir = plugins_dir;
        }
        if let Some(model_dir) = file.model_dir {
            self.model_dir = model_dir;
        }
        if let Some(region) = file.region {
            self.identity.region = region;
        }
        if let Some(account) = file.account {
            self.identity.account = account;
        }
        if let Some(max) = file.max_body_bytes {
            self.max_body_bytes = max;
        }
        if let Some(watch) = file.watch_plugins {
            self.watch_plugins = watch;
        }
        for (alias, target) in file.model_aliases {
            if alias.is_empty() || target.is_empty() || alias.contains('/') {
                anyhow::bail!(
                    "invalid settings file {}: model-aliases entry {alias:?} = {target:?}: both ids must be non-empty and the alias has no `/`",
                    path.display()
                );
            }
            self.model_aliases.insert(alias, target);
        }
        Ok(self)
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
struct FileSettings {
    listen: Option<SocketAddr>,
    data_dir: Option<PathBuf>,
    plugins_dir: Option<PathBuf>,
    model_dir: Option<PathBuf>,
    region: Option<String>,
    account: Option<String>,
    max_body_bytes: Option<usize>,
    watch_plugins: Option<bool>,
    #[serde(default)]
    model_aliases: BTreeMap<String, String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn from_file(text: &str) -> anyhow::Result<Settings> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("mantle.toml");
        std::fs::write(&path, text).unwrap();
        Settings::new("127.0.0.1:0".parse().unwrap(), dir.path().to_owned()).merge_file(&path)
    }

    #[test]
    fn model_aliases_map_bedrock_ids_to_served_models() {
        let settings = from_file(
            "[model-aliases]\n\"anthropic.claude-3-haiku-20240307-v1:0\" = \"hf.smollm2-135m-instruct-v1:0\"\n",
        )
        .unwrap();
        assert_eq!(
            settings.model_aliases["anthropic.claude-3-haiku-20240307-v1:0"],
            "hf.smollm2-135m-instruct-v1:0"
        );
        assert!(from_file("").unwrap().model_aliases.is_empty());
    }

    #[test]
    fn a_bad_alias_is_refused_with_its_name() {
        let error = from_file("[model-aliases]\n\"a/b\" = \"hf.smollm2-135m-instruct-v1:0\"\n")
            .unwrap_err()
            .to_string();
        assert!(error.contains("a/b"), "{error}");
        let error = from_file("[model-aliases]\n\"x\" = 3\n")
            .unwrap_err()
            .to_string();
        assert!(error.contains("expected a string"), "{error}");
    }
}

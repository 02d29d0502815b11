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
//! # WEB data sources may crawl loopback, private and link-local addresses (an intranet). Off
//! # by default: whoever may create a data source could otherwise read the server's network.
//! crawl-private-networks = false
//! # Authentication: "auto" (off on a loopback listen address, required on any other), "required"
//! # or "off" (which a non-loopback address accepts only with `--insecure-no-auth`). Keys live in
//! # the store, their secrets sealed with <data-dir>/access.key.
//! auth = "auto"
//!
//! # Bedrock ids that unchanged applications send, mapped to served models. An id starting with
//! # a geography (`us.`, `eu.`, `apac.`, `global.` …) is an inference profile.
//! [model-aliases]
//! "anthropic.claude-3-haiku-20240307-v1:0" = "hf.smollm2-135m-instruct-v1:0"
//! "us.anthropic.claude-3-haiku-20240307-v1:0" = "hf.smollm2-135m-instruct-v1:0"
//! "amazon.titan-embed-text-v2:0" = "hf.all-minilm-l6-v2-v1:0"
//!
//! # Knowledge-base S3 data sources read this S3-compatible service instead of the embedded
//! # bucket root (<data-dir>/buckets/NAME/). The key defaults to $AWS_ACCESS_KEY_ID,
//! # $AWS_SECRET_ACCESS_KEY and $AWS_SESSION_TOKEN; with none, requests go unsigned.
//! [s3]
//! endpoint = "http://127.0.0.1:9000"
//! region = "us-east-1"                      # default: the server's region
//! access-key-id = "…"
//! secret-access-key = "…"
//! virtual-hosted-style = false              # default: path-style (BUCKET in the path)
//! ```

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use mantle_knowledge::S3Endpoint;
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

/// Whether requests must be signed (SigV4) or carry an API key.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum AuthMode {
    /// Off on a loopback listen address, required on any other.
    #[default]
    Auto,
    Required,
    Off,
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
    /// Whether WEB data sources may crawl addresses that are not public.
    pub crawl_private_networks: bool,
    /// The S3-compatible service knowledge-base `s3://` URIs are read from; without one, the
    /// embedded bucket root under the data dir.
    pub s3: Option<S3Endpoint>,
    pub auth: AuthMode,
    /// The operator's own choice to serve a non-loopback address without authentication.
    pub insecure_no_auth: bool,
    /// The admin key to hold (`MANTLE_ADMIN_KEY`); without one, a stored key is kept or, with
    /// auth on and none stored, one is made and printed once.
    pub admin_key: Option<String>,
}

impl Settings {
    /// Whether this server checks credentials, from the mode and the listen address; an error
    /// when the settings would serve a network address without authentication by accident.
    pub fn auth_enabled(&self) -> anyhow::Result<bool> {
        let loopback = self.listen.ip().is_loopback();
        if self.insecure_no_auth {
            if self.auth == AuthMode::Required {
                anyhow::bail!("--insecure-no-auth contradicts auth = required");
            }
            return Ok(false);
        }
        match self.auth {
            AuthMode::Required => Ok(true),
            AuthMode::Auto => Ok(!loopback),
            AuthMode::Off if loopback => Ok(false),
            AuthMode::Off => anyhow::bail!(
                "{} is not a loopback address: serving it with auth off needs --insecure-no-auth",
                self.listen
            ),
        }
    }

    /// Settings with defaults under `data_dir`.
    pub fn new(listen: SocketAddr, data_dir: PathBuf) -> Self {
        Self {
            listen,
            plugins_dir: data_dir.join("plugins"),
            model_dir: mantle_models::model_dir::default_model_dir(),
            s3: None,
            crawl_private_networks: false,
            data_dir,
            identity: Identity::default(),
            max_body_bytes: 2 * 1024 * 1024,
            watch_plugins: true,
            model_aliases: BTreeMap::new(),
            auth: AuthMode::Auto,
            insecure_no_auth: false,
            admin_key: None,
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
        if let Some(auth) = file.auth {
            self.auth = auth;
        }
        if let Some(private) = file.crawl_private_networks {
            self.crawl_private_networks = private;
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
        if let Some(s3) = file.s3 {
            let endpoint = s3.endpoint(&self.identity.region, |name| {
                std::env::var(name).ok().filter(|value| !value.is_empty())
            });
            self.s3 = Some(endpoint.map_err(|e| {
                anyhow::anyhow!("invalid settings file {}: [s3] {e}", path.display())
            })?);
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
    crawl_private_networks: Option<bool>,
    auth: Option<AuthMode>,
    #[serde(default)]
    model_aliases: BTreeMap<String, String>,
    s3: Option<S3Settings>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
struct S3Settings {
    endpoint: url::Url,
    region: Option<String>,
    access_key_id: Option<String>,
    secret_access_key: Option<String>,
    session_token: Option<String>,
    #[serde(default)]
    virtual_hosted_style: bool,
}

impl S3Settings {
    /// The endpoint, its key from the file or else from the environment (`env`).
    fn endpoint(
        self,
        server_region: &str,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<S3Endpoint, String> {
        if !matches!(self.endpoint.scheme(), "http" | "https") {
            return Err(format!(
                "endpoint {} must be an http:// or https:// URL",
                self.endpoint
            ));
        }
        let mut endpoint = S3Endpoint::new(
            self.endpoint.as_str().trim_end_matches('/'),
            self.region.unwrap_or_else(|| server_region.to_owned()),
        );
        endpoint.virtual_hosted_style = self.virtual_hosted_style;
        let (id, secret, token) = match (self.access_key_id, self.secret_access_key) {
            (Some(id), Some(secret)) => (Some(id), Some(secret), self.session_token),
            (Some(_), None) | (None, Some(_)) => {
                return Err(
                    "access-key-id and secret-access-key are given together or not at all".into(),
                );
            }
            // A token alone would be paired with whatever key the environment holds.
            (None, None) if self.session_token.is_some() => {
                return Err("session-token needs access-key-id and secret-access-key".into());
            }
            (None, None) => (
                env("AWS_ACCESS_KEY_ID"),
                env("AWS_SECRET_ACCESS_KEY"),
                env("AWS_SESSION_TOKEN"),
            ),
        };
        if let (Some(id), Some(secret)) = (id, secret) {
            endpoint = endpoint.with_credentials(id, secret, token);
        }
        Ok(endpoint)
    }
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

    fn s3_settings(text: &str) -> S3Settings {
        #[derive(Deserialize)]
        struct File {
            s3: S3Settings,
        }
        toml::from_str::<File>(text).unwrap().s3
    }

    #[test]
    fn an_s3_endpoint_takes_its_key_from_the_file_or_the_environment() {
        let env = |name: &str| match name {
            "AWS_ACCESS_KEY_ID" => Some("ENVKEY".to_owned()),
            "AWS_SECRET_ACCESS_KEY" => Some("envsecret".to_owned()),
            _ => None,
        };
        let from_env = s3_settings("[s3]\nendpoint = \"http://127.0.0.1:9000/\"\n")
            .endpoint("eu-west-1", env)
            .unwrap();
        assert_eq!(from_env.endpoint, "http://127.0.0.1:9000");
        assert_eq!(from_env.region, "eu-west-1");
        assert!(!from_env.virtual_hosted_style);
        let key = from_env.credentials.unwrap();
        assert_eq!(
            (key.access_key_id.as_str(), key.session_token),
            ("ENVKEY", None)
        );

        let from_file = s3_settings(
            "[s3]\nendpoint = \"https://s3.example.com\"\nregion = \"us-west-2\"\naccess-key-id = \"FILEKEY\"\nsecret-access-key = \"s\"\nvirtual-hosted-style = true\n",
        )
        .endpoint("eu-west-1", env)
        .unwrap();
        assert_eq!(from_file.region, "us-west-2");
        assert!(from_file.virtual_hosted_style);
        assert_eq!(from_file.credentials.unwrap().access_key_id, "FILEKEY");

        let anonymous = s3_settings("[s3]\nendpoint = \"http://127.0.0.1:9000\"\n")
            .endpoint("us-east-1", |_| None)
            .unwrap();
        assert!(anonymous.credentials.is_none());
    }

    #[test]
    fn a_bad_s3_table_is_refused_naming_what_is_wrong() {
        let error = from_file("[s3]\nendpoint = \"ftp://files.example.com\"\n")
            .unwrap_err()
            .to_string();
        assert!(error.contains("[s3] endpoint ftp://"), "{error}");
        let error =
            from_file("[s3]\nendpoint = \"http://127.0.0.1:9000\"\naccess-key-id = \"A\"\n")
                .unwrap_err()
                .to_string();
        assert!(error.contains("secret-access-key"), "{error}");
        let error =
            from_file("[s3]\nendpoint = \"http://127.0.0.1:9000\"\nsession-token = \"T\"\n")
                .unwrap_err()
                .to_string();
        assert!(error.contains("session-token needs"), "{error}");
        let error = from_file("[s3]\nendpoint = \"not a url\"\n")
            .unwrap_err()
            .to_string();
        assert!(error.contains("endpoint"), "{error}");
        let error = from_file("[s3]\nendpont = \"http://127.0.0.1:9000\"\n")
            .unwrap_err()
            .to_string();
        assert!(error.contains("endpont"), "{error}");
        assert!(from_file("").unwrap().s3.is_none());
    }
}

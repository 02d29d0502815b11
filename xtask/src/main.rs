//! `cargo xtask …`: Mantle's developer commands.
//!
//! - `cargo xtask setup` — wasm target, built-in plugins, default models, Python venv for client tests
//! - `cargo xtask up` — setup, then start the server on 127.0.0.1:8080 with the defaults
//! - `cargo xtask test` — setup, then every test: Rust (host, SDK, plugins) and real clients
//! - `cargo xtask build-plugins` — build the wasm plugins into `plugins/dist*`
//! - `cargo xtask bench guardrails|models|knowledge` — benchmarks (figures with their baselines)
//! - `cargo xtask eval-guardrails [--sweep]` — precision / recall of the model-backed guardrail policies
//! - `cargo xtask test-wgpu` — the burn-graph model tests on burn's wgpu backend (needs a GPU or
//!   a software Vulkan such as Mesa's lavapipe; not part of `test`: a clean wgpu build costs
//!   ~30 CPU-minutes)

mod bench;
mod models;
mod plugins;
mod python;
mod util;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "xtask")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Install what the project needs (idempotent).
    Setup,
    /// Set up, then serve on 127.0.0.1:8080 with the embedded defaults.
    Up {
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: String,
        #[arg(long, default_value = "data")]
        data_dir: String,
    },
    /// Set up, then run every test.
    Test,
    /// Build the wasm plugins and fixtures.
    BuildPlugins,
    /// Run benchmarks: `guardrails`, `models`, `knowledge`, `flows` or `gateway`.
    Bench {
        #[arg(default_value = "guardrails")]
        suite: String,
    },
    /// Run the burn-graph model tests (Llama and BERT against the references) on wgpu.
    TestWgpu,
    /// Print the model-backed guardrail policies' precision / recall table (arguments go to
    /// `eval/guardrails/evaluate.py`, e.g. `--sweep`).
    EvalGuardrails {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let root = util::repo_root();
    match cli.command {
        Command::Setup => setup(&root),
        Command::Up { listen, data_dir } => {
            setup(&root)?;
            util::step("building mantle");
            util::cargo(&root, &["build", "-p", "mantle-server", "--bin", "mantle"])?;
            let data_dir = root.join(data_dir);
            plugins::retire_builtin_copies(&root, &data_dir.join("plugins"))?;
            util::step(&format!("starting mantle on {listen} (Ctrl-C to stop)"));
            util::run(
                std::process::Command::new(util::target_dir().join("debug/mantle"))
                    .args(["serve", "--listen", &listen, "--data-dir"])
                    .arg(&data_dir),
            )
        }
        Command::Test => {
            setup(&root)?;
            util::step("Rust tests: host, SDK, integration");
            util::cargo(&root, &["test", "--workspace"])?;
            util::step("Rust tests: plugins (native)");
            plugins::test_native(&root)?;
            util::step("building mantle for client tests");
            util::cargo(&root, &["build", "-p", "mantle-server", "--bin", "mantle"])?;
            util::step("client tests: boto3 against a real server");
            python::pytest(&root)?;
            util::step("guardrail policy evaluation (reports, does not gate)");
            python::evaluate_guardrails(&root, &[])
        }
        Command::EvalGuardrails { args } => {
            setup(&root)?;
            util::cargo(&root, &["build", "-p", "mantle-server", "--bin", "mantle"])?;
            python::evaluate_guardrails(&root, &args)
        }
        Command::BuildPlugins => plugins::build(&root),
        Command::TestWgpu => {
            util::step("default models");
            models::fetch(&models::default_model_dir())?;
            util::step("burn-graph tests on wgpu (its own target dir: the feature rebuilds burn)");
            // With the `wgpu` feature, burn's default device is the wgpu one, so the tests that
            // run the burn graphs on `Device::default()` run on the GPU.
            util::cargo_with_env(
                &root,
                &[
                    "test",
                    "-p",
                    "mantle-models",
                    "--features",
                    "wgpu",
                    "--test",
                    "smollm2_reference",
                    "--test",
                    "minilm_reference",
                    "--test",
                    "synthetic_llama",
                    "--",
                    "burn",
                ],
                &[(
                    "CARGO_TARGET_DIR",
                    util::cache_dir().join("target-wgpu").display().to_string(),
                )],
            )
        }
        Command::Bench { suite } => match suite.as_str() {
            "guardrails" => {
                setup(&root)?;
                util::cargo(
                    &root,
                    &["bench", "-p", "mantle-tests", "--bench", "guardrails"],
                )
            }
            "models" => {
                util::step("default models");
                let model_dir = models::default_model_dir();
                models::fetch(&model_dir)?;
                // Measured just before Mantle's figures, handed to the bench for the ratios.
                let env = bench::baselines(&root, &model_dir);
                let env: Vec<(&str, String)> =
                    env.iter().map(|(k, v)| (k.as_str(), v.clone())).collect();
                // The dev profile already builds the model code at opt-level 3 without debug
                // assertions; a release build would recompile every dependency for nothing.
                util::cargo_with_env(
                    &root,
                    &[
                        "bench",
                        "-p",
                        "mantle-models",
                        "--bench",
                        "throughput",
                        "--profile",
                        "dev",
                    ],
                    &env,
                )
            }
            "knowledge" => {
                // The bench runs the faiss side-by-side itself, on the corpus it generates.
                let env: Vec<(&str, String)> = bench::python()
                    .map(|p| ("MANTLE_BENCH_PYTHON", p.display().to_string()))
                    .into_iter()
                    .collect();
                util::cargo_with_env(
                    &root,
                    &[
                        "bench",
                        "-p",
                        "mantle-knowledge",
                        "--bench",
                        "knowledge",
                        "--profile",
                        "dev",
                    ],
                    &env,
                )?;
                // Retrieve as a client sees it, on a real server.
                util::cargo_with_env(
                    &root,
                    &[
                        "bench",
                        "-p",
                        "mantle-server",
                        "--bench",
                        "retrieve",
                        "--profile",
                        "dev",
                    ],
                    &env,
                )
            }
            suite @ ("flows" | "gateway") => {
                setup(&root)?;
                // The dev profile's optimised crates are what the client tests' server runs.
                util::cargo(
                    &root,
                    &[
                        "bench",
                        "-p",
                        "mantle-tests",
                        "--bench",
                        suite,
                        "--profile",
                        "dev",
                    ],
                )
            }
            other => anyhow::bail!(
                "unknown bench suite `{other}` (known: guardrails, models, knowledge, flows, gateway)"
            ),
        },
    }
}

fn setup(root: &std::path::Path) -> anyhow::Result<()> {
    util::step("wasm32-wasip2 target");
    util::run(std::process::Command::new("rustup").args(["target", "add", "wasm32-wasip2"]))?;
    plugins::build(root)?;
    util::step("default models");
    models::fetch(&models::default_model_dir())?;
    python::venv(root)?;
    Ok(())
}

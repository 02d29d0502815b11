//! The Python venv for real-client tests (boto3, pytest), and running them.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::util;

const REQUIREMENTS: &str = "tests/python/requirements.txt";

fn venv_dir(root: &Path) -> PathBuf {
    root.join(".venv")
}

fn python(root: &Path) -> PathBuf {
    venv_dir(root).join("bin/python")
}

/// Creates `.venv` and installs the pinned client packages (idempotent: skipped when the
/// requirements have not changed since the last install).
pub(crate) fn venv(root: &Path) -> anyhow::Result<()> {
    util::step("Python venv for client tests");
    let requirements = std::fs::read_to_string(root.join(REQUIREMENTS))?;
    let stamp = venv_dir(root).join(".requirements");
    if python(root).exists()
        && std::fs::read_to_string(&stamp).ok().as_deref() == Some(&requirements)
    {
        return Ok(());
    }
    let system_python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
    util::run(
        Command::new(system_python)
            .args(["-m", "venv"])
            .arg(venv_dir(root)),
    )?;
    util::run(
        Command::new(python(root))
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "-r",
            ])
            .arg(root.join(REQUIREMENTS)),
    )?;
    std::fs::write(stamp, requirements)?;
    Ok(())
}

/// Runs the client tests against the `mantle` binary just built.
pub(crate) fn pytest(root: &Path) -> anyhow::Result<()> {
    util::run(
        Command::new(python(root))
            .current_dir(root)
            .env("MANTLE_BIN", util::target_dir().join("debug/mantle"))
            .env("MANTLE_PLUGIN_DIST", root.join("plugins/dist"))
            .env("MANTLE_FIXTURE_DIST", root.join("plugins/dist-fixtures"))
            .args(["-m", "pytest", "-q", "tests/python"]),
    )
}

/// Runs the guardrail policies' evaluation (`eval/guardrails/evaluate.py`) against a real
/// server and prints its table. It reports figures; it fails only if the run itself fails.
pub(crate) fn evaluate_guardrails(root: &Path, args: &[String]) -> anyhow::Result<()> {
    util::run(
        Command::new(python(root))
            .current_dir(root)
            .env("MANTLE_BIN", util::target_dir().join("debug/mantle"))
            .arg("eval/guardrails/evaluate.py")
            .args(args),
    )
}

//! Paths and process helpers.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};

/// The repository root (the parent of `xtask/`).
pub(crate) fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives in the repository")
        .to_path_buf()
}

/// Mantle's cache folder, shared by clones: `$MANTLE_CACHE` or `~/.cache/mantle`.
pub(crate) fn cache_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("MANTLE_CACHE") {
        return PathBuf::from(dir);
    }
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("."));
    home.join(".cache").join("mantle")
}

/// The host build's target dir: `$CARGO_TARGET_DIR`, else one in the cache shared by clones.
pub(crate) fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| cache_dir().join("target"))
}

pub(crate) fn step(message: &str) {
    eprintln!("\x1b[1m==> {message}\x1b[0m");
}

/// Runs a command, failing if it fails.
pub(crate) fn run(command: &mut Command) -> anyhow::Result<()> {
    let status = command
        .status()
        .with_context(|| format!("cannot start {command:?}"))?;
    if !status.success() {
        bail!("{command:?} failed with {status}");
    }
    Ok(())
}

/// Runs cargo in `dir` with the shared target dir.
pub(crate) fn cargo(dir: &Path, args: &[&str]) -> anyhow::Result<()> {
    cargo_with_env(dir, args, &[])
}

/// `cargo` with extra environment variables for the command.
pub(crate) fn cargo_with_env(
    dir: &Path,
    args: &[&str],
    env: &[(&str, String)],
) -> anyhow::Result<()> {
    run(
        Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
            .current_dir(dir)
            .env("CARGO_TARGET_DIR", target_dir())
            .envs(env.iter().map(|(k, v)| (k, v)))
            .args(args),
    )
}

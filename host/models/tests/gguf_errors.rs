//! Loading refuses what it cannot run with typed errors, using small synthetic GGUF files.

use mantle_models::gguf::GgufFile;
use mantle_models::{LlamaModel, ModelError};

/// Minimal GGUF v3 writer: string metadata plus tensors given as (name, dims, type id, bytes).
fn gguf(meta: &[(&str, &str)], tensors: &[(&str, &[u64], u32, Vec<u8>)]) -> Vec<u8> {
    fn string(out: &mut Vec<u8>, s: &str) {
        out.extend((s.len() as u64).to_le_bytes());
        out.extend(s.as_bytes());
    }
    let mut out = b"GGUF".to_vec();
    out.extend(3u32.to_le_bytes());
    out.extend((tensors.len() as u64).to_le_bytes());
    out.extend((meta.len() as u64).to_le_bytes());
    for (k, v) in meta {
        string(&mut out, k);
        out.extend(8u32.to_le_bytes());
        string(&mut out, v);
    }
    let mut offset = 0u64;
    for (name, dims, ty, data) in tensors {
        string(&mut out, name);
        out.extend((dims.len() as u32).to_le_bytes());
        for d in *dims {
            out.extend(d.to_le_bytes());
        }
        out.extend(ty.to_le_bytes());
        out.extend(offset.to_le_bytes());
        offset += (data.len() as u64).div_ceil(32) * 32;
    }
    while !out.len().is_multiple_of(32) {
        out.push(0);
    }
    for (_, _, _, data) in tensors {
        out.extend(data);
        while !out.len().is_multiple_of(32) {
            out.push(0);
        }
    }
    out
}

fn write(name: &str, bytes: &[u8]) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("mantle-models-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

#[test]
fn unsupported_architecture_is_an_error() {
    let path = write("gpt2.gguf", &gguf(&[("general.architecture", "gpt2")], &[]));
    match LlamaModel::load(&path) {
        Err(ModelError::UnsupportedArchitecture(a)) => assert_eq!(a, "gpt2"),
        other => panic!("expected UnsupportedArchitecture, got {other:?}"),
    }
}

#[test]
fn unsupported_tensor_type_is_an_error() {
    // Type 6 is Q5_0: 22-byte blocks of 32.
    let path = write(
        "q5.gguf",
        &gguf(
            &[("general.architecture", "llama")],
            &[("blk.0.attn_q.weight", &[32, 1], 6, vec![0; 22])],
        ),
    );
    match GgufFile::open(&path) {
        Err(ModelError::UnsupportedTensorType { name, .. }) => {
            assert_eq!(name, "blk.0.attn_q.weight")
        }
        other => panic!("expected UnsupportedTensorType, got {other:?}"),
    }
}

#[test]
fn truncated_and_foreign_files_are_errors() {
    let full = gguf(
        &[("general.architecture", "llama")],
        &[("t", &[32], 0, vec![0; 128])],
    );
    for cut in [3, 10, 30, full.len() - 1] {
        let path = write(&format!("cut{cut}.gguf"), &full[..cut]);
        assert!(
            matches!(GgufFile::open(&path), Err(ModelError::Gguf(_))),
            "truncated at {cut} must be a GGUF error"
        );
    }
    let path = write("not.gguf", b"PK\x03\x04 definitely a zip");
    assert!(matches!(GgufFile::open(&path), Err(ModelError::Gguf(_))));
    let path = write("ok.gguf", &full);
    let f = GgufFile::open(&path).unwrap();
    assert_eq!(f.get_str("general.architecture").unwrap(), "llama");
    assert_eq!(f.tensor("t").unwrap().to_f32(), vec![0.0; 32]);
}

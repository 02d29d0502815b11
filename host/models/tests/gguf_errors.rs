//! Loading refuses what it cannot run with typed errors, using small synthetic GGUF files.

mod common;

use common::gguf_writer::{Meta, Tensor, gguf, write};
use mantle_models::gguf::GgufFile;
use mantle_models::{LlamaModel, ModelError};

#[test]
fn unsupported_architecture_is_an_error() {
    let path = write(
        "gpt2.gguf",
        &gguf(&[("general.architecture", Meta::Str("gpt2"))], &[]),
    );
    match LlamaModel::load(&path) {
        Err(ModelError::UnsupportedArchitecture(a)) => assert_eq!(a, "gpt2"),
        other => panic!("expected UnsupportedArchitecture, got {other:?}"),
    }
}

#[test]
fn unsupported_tensor_type_is_an_error() {
    // Type 6 is Q5_0: 22-byte blocks of 32.
    let t = Tensor {
        name: "blk.0.attn_q.weight",
        dims: &[32, 1],
        ty: 6,
        data: vec![0; 22],
    };
    let path = write(
        "q5.gguf",
        &gguf(&[("general.architecture", Meta::Str("llama"))], &[t]),
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
    let t = Tensor {
        name: "t",
        dims: &[32],
        ty: 0,
        data: vec![0; 128],
    };
    let full = gguf(&[("general.architecture", Meta::Str("llama"))], &[t]);
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

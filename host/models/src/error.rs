use std::path::PathBuf;

use crate::quant::GgmlType;

/// Everything that can go wrong while loading or running a model.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("malformed GGUF: {0}")]
    Gguf(String),
    #[error("unsupported model architecture `{0}` (supported: llama)")]
    UnsupportedArchitecture(String),
    #[error(
        "tensor `{name}` has type {ty}, which is not supported (supported: F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q4_K, Q6_K)"
    )]
    UnsupportedTensorType { name: String, ty: String },
    #[error("missing tensor `{0}`")]
    MissingTensor(String),
    #[error("tensor `{name}` has shape {actual:?}, expected {expected:?}")]
    TensorShape {
        name: String,
        expected: Vec<usize>,
        actual: Vec<usize>,
    },
    #[error("tensor `{name}` is {ty:?}, which cannot be used here")]
    TensorTypeMismatch { name: String, ty: GgmlType },
    #[error("missing or invalid metadata `{0}`")]
    Metadata(String),
    #[error("tokenizer: {0}")]
    Tokenizer(String),
    #[error("chat template: {0}")]
    ChatTemplate(String),
    #[error("safetensors: {0}")]
    Safetensors(String),
    #[error("invalid model config: {0}")]
    Config(String),
    #[error("invalid input: {0}")]
    Input(String),
}

pub type Result<T, E = ModelError> = std::result::Result<T, E>;

impl ModelError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io {
            path: path.into(),
            source,
        }
    }
}

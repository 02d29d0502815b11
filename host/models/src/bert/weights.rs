use std::fs::File;
use std::path::Path;

use half::{bf16, f16};
use safetensors::{Dtype, SafeTensors};

use crate::error::{ModelError, Result};

/// Tensors of a safetensors file decoded to f32, looked up by their PyTorch names (with or
/// without a leading `bert.`).
pub(super) struct Weights<'a> {
    st: SafeTensors<'a>,
    prefix: &'static str,
}

pub(super) fn map(path: &Path) -> Result<memmap2::Mmap> {
    let file = File::open(path).map_err(|e| ModelError::io(path, e))?;
    #[allow(unsafe_code)]
    // SAFETY: read-only mapping of a model file that is not modified while loaded; the data is
    // copied into tensors before the mapping is dropped.
    let mmap = unsafe { memmap2::Mmap::map(&file) }.map_err(|e| ModelError::io(path, e))?;
    Ok(mmap)
}

impl<'a> Weights<'a> {
    pub(super) fn new(bytes: &'a [u8]) -> Result<Self> {
        let st =
            SafeTensors::deserialize(bytes).map_err(|e| ModelError::Safetensors(e.to_string()))?;
        let prefix = if st.names().iter().any(|n| n.starts_with("bert.")) {
            "bert."
        } else {
            ""
        };
        Ok(Self { st, prefix })
    }

    /// A tensor as f32 with its shape, checked against `shape`.
    pub(super) fn get(&self, name: &str, shape: &[usize]) -> Result<Vec<f32>> {
        let full = format!("{}{name}", self.prefix);
        let view = self
            .st
            .tensor(&full)
            .map_err(|_| ModelError::MissingTensor(full.clone()))?;
        if view.shape() != shape {
            return Err(ModelError::TensorShape {
                name: full,
                expected: shape.to_vec(),
                actual: view.shape().to_vec(),
            });
        }
        let d = view.data();
        Ok(match view.dtype() {
            Dtype::F32 => d
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect(),
            Dtype::F16 => d
                .chunks_exact(2)
                .map(|b| f16::from_le_bytes([b[0], b[1]]).to_f32())
                .collect(),
            Dtype::BF16 => d
                .chunks_exact(2)
                .map(|b| bf16::from_le_bytes([b[0], b[1]]).to_f32())
                .collect(),
            other => {
                return Err(ModelError::UnsupportedTensorType {
                    name: full,
                    ty: format!("{other:?}"),
                });
            }
        })
    }

    /// A PyTorch `Linear` weight (`[out, in]`) transposed to `[in, out]` for `x · W`.
    pub(super) fn linear_t(&self, name: &str, out: usize, inp: usize) -> Result<Vec<f32>> {
        let w = self.get(name, &[out, inp])?;
        let mut t = vec![0.0f32; w.len()];
        for o in 0..out {
            for i in 0..inp {
                t[i * out + o] = w[o * inp + i];
            }
        }
        Ok(t)
    }
}

impl Weights<'_> {
    /// A `[rows, width]` table whose row count comes from the file (vocabularies).
    pub(super) fn get_any_rows(&self, name: &str, width: usize) -> Result<Vec<f32>> {
        let full = format!("{}{name}", self.prefix);
        let rows = self
            .st
            .tensor(&full)
            .map_err(|_| ModelError::MissingTensor(full.clone()))?
            .shape()
            .first()
            .copied()
            .unwrap_or(0);
        self.get(name, &[rows, width])
    }
}

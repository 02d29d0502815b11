//! GGML block encodings: decoding to f32 and dot products straight on the encoded blocks.

mod codec;
mod dot;
mod matmul;

pub use codec::{dequantize, dequantize_block};
pub use dot::dot_row;
pub(crate) use dot::{strided_dots, strided_weighted_sum};
pub use matmul::{matmul, matmul_many, matmul_many_into};

use crate::error::{ModelError, Result};

/// Tensor encodings this crate can read. The discriminants are GGML's type ids.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GgmlType {
    F32 = 0,
    F16 = 1,
    Q4_0 = 2,
    Q4_1 = 3,
    Q8_0 = 8,
    Q4K = 12,
    Q6K = 14,
    BF16 = 30,
}

pub(crate) const QK: usize = 32;
pub(crate) const QK_K: usize = 256;

impl GgmlType {
    pub fn from_id(id: u32) -> Option<Self> {
        Some(match id {
            0 => Self::F32,
            1 => Self::F16,
            2 => Self::Q4_0,
            3 => Self::Q4_1,
            8 => Self::Q8_0,
            12 => Self::Q4K,
            14 => Self::Q6K,
            30 => Self::BF16,
            _ => return None,
        })
    }

    /// Elements per block.
    pub fn block_size(self) -> usize {
        match self {
            Self::F32 | Self::F16 | Self::BF16 => 1,
            Self::Q4_0 | Self::Q4_1 | Self::Q8_0 => QK,
            Self::Q4K | Self::Q6K => QK_K,
        }
    }

    /// Bytes per block.
    pub fn block_bytes(self) -> usize {
        match self {
            Self::F32 => 4,
            Self::F16 | Self::BF16 => 2,
            Self::Q4_0 => 2 + QK / 2,
            Self::Q4_1 => 4 + QK / 2,
            Self::Q8_0 => 2 + QK,
            Self::Q4K => 2 + 2 + 12 + QK_K / 2,
            Self::Q6K => QK_K / 2 + QK_K / 4 + QK_K / 16 + 2,
        }
    }

    /// Encoded size of `n` elements (`n` must be a multiple of the block size).
    pub fn bytes_for(self, n: usize) -> usize {
        n / self.block_size() * self.block_bytes()
    }
}

/// A tensor kept in its GGML encoding. `dims` are GGUF-ordered: `dims[0]` is the contiguous
/// row length, so a 2-D weight with dims `[in, out]` is `out` rows of `in` elements.
#[derive(Debug, Clone)]
pub struct QuantTensor {
    name: String,
    ty: GgmlType,
    dims: Vec<usize>,
    data: Vec<u8>,
}

impl QuantTensor {
    pub fn new(name: &str, ty: GgmlType, dims: Vec<usize>, data: Vec<u8>) -> Result<Self> {
        let n: usize = dims.iter().product();
        let row = dims.first().copied().unwrap_or(1);
        if !row.is_multiple_of(ty.block_size()) || data.len() != ty.bytes_for(n) {
            return Err(ModelError::Gguf(format!(
                "tensor `{name}`: {} bytes do not hold {dims:?} elements of {ty:?}",
                data.len()
            )));
        }
        Ok(Self {
            name: name.to_owned(),
            ty,
            dims,
            data,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn ty(&self) -> GgmlType {
        self.ty
    }

    pub fn dims(&self) -> &[usize] {
        &self.dims
    }

    pub fn data(&self) -> &[u8] {
        &self.data
    }

    /// Elements per row (the contiguous dimension).
    pub fn row_len(&self) -> usize {
        self.dims.first().copied().unwrap_or(1)
    }

    pub fn n_rows(&self) -> usize {
        self.dims.iter().skip(1).product()
    }

    pub fn row_bytes(&self) -> usize {
        self.ty.bytes_for(self.row_len())
    }

    pub fn row(&self, r: usize) -> &[u8] {
        let rb = self.row_bytes();
        &self.data[r * rb..(r + 1) * rb]
    }

    /// Decodes one row into `out` (length `row_len`).
    pub fn dequantize_row(&self, r: usize, out: &mut [f32]) {
        dequantize(self.ty, self.row(r), out);
    }

    /// Decodes the whole tensor.
    pub fn to_f32(&self) -> Vec<f32> {
        let mut out = vec![0.0; self.dims.iter().product()];
        dequantize(self.ty, &self.data, &mut out);
        out
    }

    /// Checks the tensor is a `[cols, rows]` matrix (GGUF order).
    pub fn expect_dims(&self, expected: &[usize]) -> Result<()> {
        if self.dims != expected {
            return Err(ModelError::TensorShape {
                name: self.name.clone(),
                expected: expected.to_vec(),
                actual: self.dims.clone(),
            });
        }
        Ok(())
    }
}

//! GGUF container: metadata key/values and tensor descriptors over a memory-mapped file.
//!
//! Format: <https://github.com/ggml-org/ggml/blob/master/docs/gguf.md>. Only version 2 and 3
//! (64-bit counts) are read; version 1 files predate every model we care about.

mod reader;

use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};

use memmap2::Mmap;

use crate::error::{ModelError, Result};
use crate::quant::{GgmlType, QuantTensor};
use reader::Reader;

/// A metadata value as stored in the file.
#[derive(Debug, Clone, PartialEq)]
pub enum MetadataValue {
    U8(u8),
    I8(i8),
    U16(u16),
    I16(i16),
    U32(u32),
    I32(i32),
    U64(u64),
    I64(i64),
    F32(f32),
    F64(f64),
    Bool(bool),
    String(String),
    Array(Vec<MetadataValue>),
}

impl MetadataValue {
    pub fn as_u64(&self) -> Option<u64> {
        match *self {
            Self::U8(v) => Some(v.into()),
            Self::U16(v) => Some(v.into()),
            Self::U32(v) => Some(v.into()),
            Self::U64(v) => Some(v),
            Self::I8(v) => u64::try_from(v).ok(),
            Self::I16(v) => u64::try_from(v).ok(),
            Self::I32(v) => u64::try_from(v).ok(),
            Self::I64(v) => u64::try_from(v).ok(),
            _ => None,
        }
    }

    pub fn as_f64(&self) -> Option<f64> {
        match *self {
            Self::F32(v) => Some(v.into()),
            Self::F64(v) => Some(v),
            _ => self.as_u64().map(|v| v as f64),
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Self::String(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match *self {
            Self::Bool(b) => Some(b),
            _ => None,
        }
    }

    pub fn as_array(&self) -> Option<&[MetadataValue]> {
        match self {
            Self::Array(a) => Some(a),
            _ => None,
        }
    }
}

/// Where a tensor lives in the file and how it is encoded.
#[derive(Debug, Clone)]
pub struct TensorInfo {
    pub name: String,
    /// Dimensions as GGUF lists them: innermost (contiguous, "input") first.
    pub dims: Vec<usize>,
    pub ty: GgmlType,
    /// Byte offset from the start of the tensor data section.
    pub offset: usize,
}

impl TensorInfo {
    pub fn n_elements(&self) -> usize {
        self.dims.iter().product()
    }
}

/// An opened GGUF file. Tensor data stays in the page cache; nothing is copied until asked.
#[derive(Debug)]
pub struct GgufFile {
    path: PathBuf,
    mmap: Mmap,
    version: u32,
    metadata: BTreeMap<String, MetadataValue>,
    tensors: Vec<TensorInfo>,
    data_offset: usize,
}

const MAGIC: &[u8; 4] = b"GGUF";
const DEFAULT_ALIGNMENT: usize = 32;

impl GgufFile {
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref().to_path_buf();
        let file = File::open(&path).map_err(|e| ModelError::io(&path, e))?;
        let mmap = map(&file).map_err(|e| ModelError::io(&path, e))?;
        let mut r = Reader::new(&mmap);
        if r.bytes(4)? != MAGIC {
            return Err(ModelError::Gguf(format!(
                "{}: not a GGUF file",
                path.display()
            )));
        }
        let version = r.u32()?;
        if !(2..=3).contains(&version) {
            return Err(ModelError::Gguf(format!(
                "unsupported GGUF version {version}"
            )));
        }
        let n_tensors = r.count()?;
        let n_kv = r.count()?;
        let mut metadata = BTreeMap::new();
        for _ in 0..n_kv {
            let key = r.string()?;
            let ty = r.u32()?;
            let value = r.value(ty)?;
            metadata.insert(key, value);
        }
        let mut tensors = Vec::with_capacity(n_tensors);
        for _ in 0..n_tensors {
            let name = r.string()?;
            let n_dims = r.u32()? as usize;
            if n_dims > 4 {
                return Err(ModelError::Gguf(format!(
                    "tensor `{name}` has {n_dims} dimensions"
                )));
            }
            let dims = (0..n_dims)
                .map(|_| r.u64().map(|d| d as usize))
                .collect::<Result<Vec<_>>>()?;
            let ty_id = r.u32()?;
            let ty = GgmlType::from_id(ty_id).ok_or_else(|| ModelError::UnsupportedTensorType {
                name: name.clone(),
                ty: format!("ggml type id {ty_id}"),
            })?;
            let offset = r.u64()? as usize;
            tensors.push(TensorInfo {
                name,
                dims,
                ty,
                offset,
            });
        }
        let alignment = metadata
            .get("general.alignment")
            .and_then(MetadataValue::as_u64)
            .map_or(DEFAULT_ALIGNMENT, |a| a as usize);
        if alignment == 0 {
            return Err(ModelError::Gguf("general.alignment is 0".into()));
        }
        let data_offset = r.position().div_ceil(alignment) * alignment;
        let gguf = Self {
            path,
            mmap,
            version,
            metadata,
            tensors,
            data_offset,
        };
        for t in &gguf.tensors {
            gguf.check_bounds(t)?;
        }
        Ok(gguf)
    }

    fn check_bounds(&self, t: &TensorInfo) -> Result<()> {
        let n = t.n_elements();
        if !n.is_multiple_of(t.ty.block_size())
            || t.dims
                .first()
                .is_some_and(|d| !d.is_multiple_of(t.ty.block_size()))
        {
            return Err(ModelError::Gguf(format!(
                "tensor `{}`: row length {:?} is not a multiple of the {:?} block size",
                t.name, t.dims, t.ty
            )));
        }
        let end = self.data_offset + t.offset + t.ty.bytes_for(n);
        if end > self.mmap.len() {
            return Err(ModelError::Gguf(format!(
                "tensor `{}` runs past the end of the file",
                t.name
            )));
        }
        Ok(())
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn version(&self) -> u32 {
        self.version
    }

    pub fn metadata(&self) -> &BTreeMap<String, MetadataValue> {
        &self.metadata
    }

    pub fn get(&self, key: &str) -> Option<&MetadataValue> {
        self.metadata.get(key)
    }

    pub fn get_u64(&self, key: &str) -> Result<u64> {
        self.get(key)
            .and_then(MetadataValue::as_u64)
            .ok_or_else(|| ModelError::Metadata(key.into()))
    }

    pub fn get_usize(&self, key: &str) -> Result<usize> {
        self.get_u64(key).map(|v| v as usize)
    }

    pub fn get_f64(&self, key: &str) -> Result<f64> {
        self.get(key)
            .and_then(MetadataValue::as_f64)
            .ok_or_else(|| ModelError::Metadata(key.into()))
    }

    pub fn get_str(&self, key: &str) -> Result<&str> {
        self.get(key)
            .and_then(MetadataValue::as_str)
            .ok_or_else(|| ModelError::Metadata(key.into()))
    }

    pub fn get_array(&self, key: &str) -> Result<&[MetadataValue]> {
        self.get(key)
            .and_then(MetadataValue::as_array)
            .ok_or_else(|| ModelError::Metadata(key.into()))
    }

    pub fn tensors(&self) -> &[TensorInfo] {
        &self.tensors
    }

    pub fn tensor_info(&self, name: &str) -> Result<&TensorInfo> {
        self.tensors
            .iter()
            .find(|t| t.name == name)
            .ok_or_else(|| ModelError::MissingTensor(name.into()))
    }

    /// The raw encoded bytes of a tensor.
    pub fn tensor_bytes(&self, info: &TensorInfo) -> &[u8] {
        let start = self.data_offset + info.offset;
        &self.mmap[start..start + info.ty.bytes_for(info.n_elements())]
    }

    /// Copies a tensor out of the file, kept in its on-disk encoding.
    pub fn tensor(&self, name: &str) -> Result<QuantTensor> {
        let info = self.tensor_info(name)?;
        QuantTensor::new(
            name,
            info.ty,
            info.dims.clone(),
            self.tensor_bytes(info).to_vec(),
        )
    }
}

#[allow(unsafe_code)]
fn map(file: &File) -> std::io::Result<Mmap> {
    // SAFETY: the mapping is read-only and model files are not rewritten while a server runs;
    // if one were truncated underneath us the process could fault, which is the accepted
    // trade-off of memory-mapping weights (llama.cpp and safetensors do the same).
    unsafe { Mmap::map(file) }
}

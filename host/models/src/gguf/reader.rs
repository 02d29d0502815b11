use super::MetadataValue;
use crate::error::{ModelError, Result};

/// Little-endian cursor over the GGUF header; every read is bounds-checked so a truncated or
/// hostile file is an error, not a panic.
pub(super) struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

/// Arrays nest in theory; real files never go deeper than one level.
const MAX_ARRAY_DEPTH: usize = 4;

impl<'a> Reader<'a> {
    pub(super) fn new(buf: &'a [u8]) -> Self {
        Self { buf, pos: 0 }
    }

    pub(super) fn position(&self) -> usize {
        self.pos
    }

    pub(super) fn bytes(&mut self, n: usize) -> Result<&'a [u8]> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&e| e <= self.buf.len())
            .ok_or_else(|| ModelError::Gguf(format!("truncated header at byte {}", self.pos)))?;
        let s = &self.buf[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N]> {
        Ok(self.bytes(N)?.try_into().expect("length checked"))
    }

    pub(super) fn u32(&mut self) -> Result<u32> {
        self.array().map(u32::from_le_bytes)
    }

    pub(super) fn u64(&mut self) -> Result<u64> {
        self.array().map(u64::from_le_bytes)
    }

    /// A count of following items; capped by the bytes left so a bogus count cannot make us
    /// allocate gigabytes up front.
    pub(super) fn count(&mut self) -> Result<usize> {
        let n = self.u64()?;
        if n > (self.buf.len() - self.pos) as u64 {
            return Err(ModelError::Gguf(format!("implausible count {n}")));
        }
        Ok(n as usize)
    }

    pub(super) fn string(&mut self) -> Result<String> {
        let n = self.count()?;
        let b = self.bytes(n)?;
        // Some converters wrote invalid UTF-8 into token lists; keep going with replacements.
        Ok(String::from_utf8_lossy(b).into_owned())
    }

    pub(super) fn value(&mut self, ty: u32) -> Result<MetadataValue> {
        self.value_at_depth(ty, 0)
    }

    fn value_at_depth(&mut self, ty: u32, depth: usize) -> Result<MetadataValue> {
        use MetadataValue as V;
        Ok(match ty {
            0 => V::U8(self.array::<1>()?[0]),
            1 => V::I8(i8::from_le_bytes(self.array()?)),
            2 => V::U16(u16::from_le_bytes(self.array()?)),
            3 => V::I16(i16::from_le_bytes(self.array()?)),
            4 => V::U32(self.u32()?),
            5 => V::I32(i32::from_le_bytes(self.array()?)),
            6 => V::F32(f32::from_le_bytes(self.array()?)),
            7 => V::Bool(self.array::<1>()?[0] != 0),
            8 => V::String(self.string()?),
            9 => {
                if depth >= MAX_ARRAY_DEPTH {
                    return Err(ModelError::Gguf("metadata arrays nested too deeply".into()));
                }
                let elem_ty = self.u32()?;
                let n = self.count()?;
                let mut items = Vec::with_capacity(n);
                for _ in 0..n {
                    items.push(self.value_at_depth(elem_ty, depth + 1)?);
                }
                V::Array(items)
            }
            10 => V::U64(self.u64()?),
            11 => V::I64(i64::from_le_bytes(self.array()?)),
            12 => V::F64(f64::from_le_bytes(self.array()?)),
            other => return Err(ModelError::Gguf(format!("unknown metadata type {other}"))),
        })
    }
}

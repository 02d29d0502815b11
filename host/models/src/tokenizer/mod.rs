//! Text <-> token ids. Both kinds of model go through the `tokenizers` crate: GGUF files carry a
//! GPT-2 style byte-level BPE in their metadata (built in `gguf_bpe`), BERT-family models ship a
//! `tokenizer.json`.

mod gguf_bpe;
mod gguf_spm;
mod stream;
mod token_bytes;

pub use stream::TextStream;

use token_bytes::PieceEncoding;

use std::path::Path;

use crate::error::{ModelError, Result};
use crate::gguf::GgufFile;

/// An encoded text: ids plus the attention mask (all ones unless the tokenizer pads).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Encoded {
    pub ids: Vec<u32>,
    pub attention_mask: Vec<u32>,
}

#[derive(Debug, Clone)]
pub struct Tokenizer {
    inner: tokenizers::Tokenizer,
    bos_token_id: Option<u32>,
    eos_token_id: Option<u32>,
    add_bos: bool,
    pieces: PieceEncoding,
}

fn tok_err(e: impl std::fmt::Display) -> ModelError {
    ModelError::Tokenizer(e.to_string())
}

impl Tokenizer {
    /// The tokenizer described by a GGUF file's `tokenizer.ggml.*` metadata.
    pub fn from_gguf(gguf: &GgufFile) -> Result<Self> {
        let inner = gguf_bpe::build(gguf)?;
        let pieces = match gguf.get_str("tokenizer.ggml.model")? {
            "llama" => PieceEncoding::SentencePiece,
            _ => PieceEncoding::ByteLevel,
        };
        let id = |key: &str| gguf.get(key).and_then(|v| v.as_u64()).map(|v| v as u32);
        Ok(Self {
            inner,
            bos_token_id: id("tokenizer.ggml.bos_token_id"),
            eos_token_id: id("tokenizer.ggml.eos_token_id"),
            add_bos: gguf
                .get("tokenizer.ggml.add_bos_token")
                .and_then(|v| v.as_bool())
                .unwrap_or(false),
            pieces,
        })
    }

    /// A Hugging Face `tokenizer.json`.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let inner = tokenizers::Tokenizer::from_file(path)
            .map_err(|e| ModelError::Tokenizer(format!("{}: {e}", path.display())))?;
        Ok(Self {
            inner,
            bos_token_id: None,
            eos_token_id: None,
            add_bos: false,
            pieces: PieceEncoding::Plain,
        })
    }

    /// Token ids of `text` as a prompt: special-token strings in it (e.g. `<|im_start|>` from a
    /// rendered chat template) map to their ids, and BOS is prepended only if the model asks.
    pub fn encode(&self, text: &str) -> Result<Vec<u32>> {
        let enc = self.inner.encode(text, false).map_err(tok_err)?;
        let mut ids = Vec::with_capacity(enc.len() + 1);
        if self.add_bos
            && let Some(bos) = self.bos_token_id
        {
            ids.push(bos);
        }
        ids.extend_from_slice(enc.get_ids());
        Ok(ids)
    }

    /// Encodes with the tokenizer's own post-processing (BERT's `[CLS] … [SEP]`, padding,
    /// truncation as configured in `tokenizer.json`).
    pub fn encode_for_model(&self, text: &str) -> Result<Encoded> {
        let enc = self.inner.encode(text, true).map_err(tok_err)?;
        Ok(Encoded {
            ids: enc.get_ids().to_vec(),
            attention_mask: enc.get_attention_mask().to_vec(),
        })
    }

    pub fn decode(&self, ids: &[u32], skip_special_tokens: bool) -> Result<String> {
        self.inner.decode(ids, skip_special_tokens).map_err(tok_err)
    }

    pub fn token_to_id(&self, token: &str) -> Option<u32> {
        self.inner.token_to_id(token)
    }

    pub fn id_to_token(&self, id: u32) -> Option<String> {
        self.inner.id_to_token(id)
    }

    pub fn vocab_size(&self) -> usize {
        self.inner.get_vocab_size(true)
    }

    pub fn bos_token_id(&self) -> Option<u32> {
        self.bos_token_id
    }

    pub fn eos_token_id(&self) -> Option<u32> {
        self.eos_token_id
    }

    /// The bytes each token id writes (`None` for special tokens), indexed by id. Built on
    /// each call: callers that constrain decoding keep it.
    pub fn token_bytes(&self) -> Vec<Option<Box<[u8]>>> {
        token_bytes::token_bytes(&self.inner, self.pieces)
    }

    /// Adjusts the underlying tokenizer (padding, truncation).
    pub(crate) fn configure(
        &mut self,
        f: impl FnOnce(&mut tokenizers::Tokenizer) -> Result<()>,
    ) -> Result<()> {
        f(&mut self.inner)
    }

    /// The underlying `tokenizers` tokenizer, e.g. for incremental decoding.
    pub fn inner(&self) -> &tokenizers::Tokenizer {
        &self.inner
    }
}

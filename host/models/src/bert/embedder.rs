use std::path::Path;

use burn::prelude::Device;
use tokenizers::{PaddingParams, TruncationParams};

use super::burn_encoder::BurnEncoder;
use super::config::{BertConfig, PoolingConfig, SentenceBertConfig, read_json};
use super::encoder::Encoder;
use super::weights::{Weights, map};
use crate::error::{ModelError, Result};
use crate::tokenizer::{Encoded, Tokenizer};

/// Texts encoded together; bounds the `[batch, len, len]` attention buffers.
const MAX_BATCH: usize = 32;

/// Sentence embeddings from a sentence-transformers BERT folder (`config.json`,
/// `model.safetensors`, `tokenizer.json`, optional `1_Pooling/config.json` and
/// `sentence_bert_config.json`).
#[derive(Debug)]
pub struct BertEmbedder {
    config: BertConfig,
    tokenizer: Tokenizer,
    /// The same tokenizer without truncation: a text's token count must not stop at the
    /// model's input length (chunkers size their chunks with it).
    counting: Tokenizer,
    engine: Engine,
}

/// Where the encoder runs.
#[derive(Debug)]
enum Engine {
    /// Mantle's own CPU kernels: packed GEMMs over unpadded tokens (the default).
    Native(Encoder),
    /// A burn graph on padded batches, on any burn device (GPUs with the `wgpu` feature).
    Burn(Box<BurnEncoder>),
}

impl BertEmbedder {
    /// Loads for the CPU, on Mantle's own kernels.
    pub fn load(dir: impl AsRef<Path>) -> Result<Self> {
        Self::load_with(dir.as_ref(), None)
    }

    /// Loads as a burn graph on `device` (a GPU with the `wgpu` feature; on the CPU `flex`
    /// backend it is several times slower than [`BertEmbedder::load`]).
    pub fn load_on(dir: impl AsRef<Path>, device: Device) -> Result<Self> {
        Self::load_with(dir.as_ref(), Some(device))
    }

    fn load_with(dir: &Path, device: Option<Device>) -> Result<Self> {
        let config = BertConfig::from_file(&dir.join("config.json"))?;
        let pooling = dir.join("1_Pooling").join("config.json");
        if pooling.exists() {
            let p: PoolingConfig = read_json(&pooling)?;
            if !p.pooling_mode_mean_tokens || p.pooling_mode_cls_token {
                return Err(ModelError::Config("only mean pooling is supported".into()));
            }
        }
        let st_config = dir.join("sentence_bert_config.json");
        let max_len = if st_config.exists() {
            read_json::<SentenceBertConfig>(&st_config)?.max_seq_length
        } else {
            config.max_position_embeddings
        }
        .min(config.max_position_embeddings);

        let mut tokenizer = Tokenizer::from_file(dir.join("tokenizer.json"))?;
        let mut counting = tokenizer.clone();
        counting.configure(|t| {
            t.with_padding(None::<PaddingParams>);
            t.with_truncation(None)
                .map(|_| ())
                .map_err(|e| ModelError::Tokenizer(e.to_string()))
        })?;
        // The shipped tokenizer pads every input to a fixed length; pad per batch instead and
        // truncate where sentence-transformers does.
        tokenizer.configure(|t| {
            t.with_padding(None::<PaddingParams>);
            t.with_truncation(Some(TruncationParams {
                max_length: max_len,
                ..TruncationParams::default()
            }))
            .map(|_| ())
            .map_err(|e| ModelError::Tokenizer(e.to_string()))
        })?;

        let mmap = map(&dir.join("model.safetensors"))?;
        let ws = Weights::new(&mmap)?;
        let engine = match device {
            None => Engine::Native(Encoder::load(&ws, &config)?),
            Some(device) => Engine::Burn(Box::new(BurnEncoder::load(&ws, &config, device)?)),
        };
        Ok(Self {
            config,
            tokenizer,
            counting,
            engine,
        })
    }

    pub fn config(&self) -> &BertConfig {
        &self.config
    }

    pub fn tokenizer(&self) -> &Tokenizer {
        &self.tokenizer
    }

    /// How many tokens `text` is, special tokens excluded and without the truncation at the
    /// model's input length that [`BertEmbedder::embed`] applies.
    pub fn count_tokens(&self, text: &str) -> Result<usize> {
        self.counting.encode(text).map(|ids| ids.len())
    }

    /// Embedding width.
    pub fn dim(&self) -> usize {
        self.config.hidden_size
    }

    /// Unit-length embeddings, one per text, computed as one padded batch.
    pub fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
        let encs = texts
            .iter()
            .map(|t| self.tokenizer.encode_for_model(t))
            .collect::<Result<Vec<_>>>()?;
        // Batches of similar lengths waste little on padding; results go back in input order.
        let mut order: Vec<usize> = (0..encs.len()).collect();
        order.sort_by_key(|&i| encs[i].ids.len());
        let mut out = vec![Vec::new(); encs.len()];
        for chunk in order.chunks(MAX_BATCH) {
            let batch: Vec<&Encoded> = chunk.iter().map(|&i| &encs[i]).collect();
            for (&i, v) in chunk.iter().zip(self.embed_batch(&batch)?) {
                out[i] = v;
            }
        }
        Ok(out)
    }

    fn embed_batch(&self, encs: &[&Encoded]) -> Result<Vec<Vec<f32>>> {
        let ids: Vec<&[u32]> = encs.iter().map(|e| e.ids.as_slice()).collect();
        let pooled = match &self.engine {
            Engine::Native(encoder) => encoder.pooled(&ids)?,
            Engine::Burn(encoder) => encoder.pooled(&ids)?,
        };
        Ok(pooled
            .into_iter()
            .map(|v| {
                let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-12);
                v.iter().map(|x| x / norm).collect()
            })
            .collect())
    }
}

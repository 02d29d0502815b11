use std::path::Path;

use burn::prelude::*;
use burn::tensor::activation::{gelu, softmax};
use tokenizers::{PaddingParams, TruncationParams};

use super::config::{BertConfig, PoolingConfig, SentenceBertConfig, read_json};
use super::weights::{Weights, map};
use crate::error::{ModelError, Result};
use crate::tokenizer::{Encoded, Tokenizer};

/// Texts encoded together; bounds the `[batch, len, len]` attention buffers.
const MAX_BATCH: usize = 32;

#[derive(Debug)]
struct Linear {
    /// `[in, out]`.
    w: Tensor<2>,
    /// `[1, out]`, broadcast over rows.
    b: Tensor<2>,
}

impl Linear {
    fn load(ws: &Weights<'_>, name: &str, out: usize, inp: usize, device: &Device) -> Result<Self> {
        let w = ws.linear_t(&format!("{name}.weight"), out, inp)?;
        let b = ws.get(&format!("{name}.bias"), &[out])?;
        Ok(Self {
            w: Tensor::from_data(TensorData::new(w, [inp, out]), device),
            b: Tensor::from_data(TensorData::new(b, [1, out]), device),
        })
    }

    fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        x.matmul(self.w.clone()) + self.b.clone()
    }
}

#[derive(Debug)]
struct LayerNorm {
    gamma: Tensor<2>,
    beta: Tensor<2>,
    eps: f64,
}

impl LayerNorm {
    fn load(ws: &Weights<'_>, name: &str, dim: usize, eps: f64, device: &Device) -> Result<Self> {
        let g = ws.get(&format!("{name}.weight"), &[dim])?;
        let b = ws.get(&format!("{name}.bias"), &[dim])?;
        Ok(Self {
            gamma: Tensor::from_data(TensorData::new(g, [1, dim]), device),
            beta: Tensor::from_data(TensorData::new(b, [1, dim]), device),
            eps,
        })
    }

    fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        let (var, mean) = x.clone().var_mean_bias(1);
        (x - mean) / var.add_scalar(self.eps).sqrt() * self.gamma.clone() + self.beta.clone()
    }
}

#[derive(Debug)]
struct EncoderLayer {
    q: Linear,
    k: Linear,
    v: Linear,
    attn_out: Linear,
    attn_norm: LayerNorm,
    inter: Linear,
    out: Linear,
    out_norm: LayerNorm,
}

/// Sentence embeddings from a sentence-transformers BERT folder (`config.json`,
/// `model.safetensors`, `tokenizer.json`, optional `1_Pooling/config.json` and
/// `sentence_bert_config.json`).
#[derive(Debug)]
pub struct BertEmbedder {
    config: BertConfig,
    tokenizer: Tokenizer,
    device: Device,
    word: Tensor<2>,
    position: Tensor<2>,
    token_type: Tensor<2>,
    emb_norm: LayerNorm,
    layers: Vec<EncoderLayer>,
}

impl BertEmbedder {
    /// Loads onto burn's default device (the CPU `flex` backend unless a GPU backend is built).
    pub fn load(dir: impl AsRef<Path>) -> Result<Self> {
        Self::load_on(dir, Device::default())
    }

    pub fn load_on(dir: impl AsRef<Path>, device: Device) -> Result<Self> {
        let dir = dir.as_ref();
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
        let (h, f) = (config.hidden_size, config.intermediate_size);
        let eps = config.layer_norm_eps;
        let d = &device;
        let word = ws.get_any_rows("embeddings.word_embeddings.weight", h)?;
        let vocab = word.len() / h;
        let tensor2 =
            |v: Vec<f32>, rows: usize| Tensor::<2>::from_data(TensorData::new(v, [rows, h]), d);
        let layers = (0..config.num_hidden_layers)
            .map(|i| {
                let n = |s: &str| format!("encoder.layer.{i}.{s}");
                Ok(EncoderLayer {
                    q: Linear::load(&ws, &n("attention.self.query"), h, h, d)?,
                    k: Linear::load(&ws, &n("attention.self.key"), h, h, d)?,
                    v: Linear::load(&ws, &n("attention.self.value"), h, h, d)?,
                    attn_out: Linear::load(&ws, &n("attention.output.dense"), h, h, d)?,
                    attn_norm: LayerNorm::load(&ws, &n("attention.output.LayerNorm"), h, eps, d)?,
                    inter: Linear::load(&ws, &n("intermediate.dense"), f, h, d)?,
                    out: Linear::load(&ws, &n("output.dense"), h, f, d)?,
                    out_norm: LayerNorm::load(&ws, &n("output.LayerNorm"), h, eps, d)?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let position = ws.get(
            "embeddings.position_embeddings.weight",
            &[config.max_position_embeddings, h],
        )?;
        let token_type = ws.get_any_rows("embeddings.token_type_embeddings.weight", h)?;
        if token_type.len() < h || word.is_empty() {
            return Err(ModelError::Config("empty embedding table".into()));
        }
        Ok(Self {
            word: tensor2(word, vocab),
            position: tensor2(position, config.max_position_embeddings),
            token_type: tensor2(token_type[..h].to_vec(), 1),
            emb_norm: LayerNorm::load(&ws, "embeddings.LayerNorm", h, eps, d)?,
            layers,
            tokenizer,
            config,
            device,
        })
    }

    pub fn config(&self) -> &BertConfig {
        &self.config
    }

    pub fn tokenizer(&self) -> &Tokenizer {
        &self.tokenizer
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
        let b = encs.len();
        let l = encs.iter().map(|e| e.ids.len()).max().unwrap_or(1).max(1);
        let (h, nh) = (self.config.hidden_size, self.config.num_attention_heads);
        let hd = h / nh;
        let d = &self.device;

        let mut ids = vec![0i64; b * l];
        let mut mask = vec![0.0f32; b * l];
        for (i, e) in encs.iter().enumerate() {
            for (j, (&id, &m)) in e.ids.iter().zip(&e.attention_mask).enumerate() {
                ids[i * l + j] = i64::from(id);
                mask[i * l + j] = m as f32;
            }
        }
        let positions: Vec<i64> = (0..b).flat_map(|_| 0..l as i64).collect();
        let ids = Tensor::<1, Int>::from_data(TensorData::new(ids, [b * l]), d);
        let positions = Tensor::<1, Int>::from_data(TensorData::new(positions, [b * l]), d);
        let x = self.word.clone().select(0, ids)
            + self.position.clone().select(0, positions)
            + self.token_type.clone();
        let mut x = self.emb_norm.forward(x);

        // Padded keys get the most negative float, as transformers' extended attention mask.
        let additive: Vec<f32> = mask
            .iter()
            .map(|&m| if m > 0.0 { 0.0 } else { f32::MIN })
            .collect();
        let additive = Tensor::<4>::from_data(TensorData::new(additive, [b, 1, 1, l]), d);
        let scale = 1.0 / (hd as f64).sqrt();
        let heads = |t: Tensor<2>| t.reshape([b, l, nh, hd]).swap_dims(1, 2);
        for layer in &self.layers {
            let q = heads(layer.q.forward(x.clone()));
            let k = heads(layer.k.forward(x.clone()));
            let v = heads(layer.v.forward(x.clone()));
            let scores = q.matmul(k.swap_dims(2, 3)).mul_scalar(scale) + additive.clone();
            let ctx = softmax(scores, 3)
                .matmul(v)
                .swap_dims(1, 2)
                .reshape([b * l, h]);
            x = layer.attn_norm.forward(layer.attn_out.forward(ctx) + x);
            let inter = gelu(layer.inter.forward(x.clone()));
            x = layer.out_norm.forward(layer.out.forward(inter) + x);
        }

        let mask_t = Tensor::<3>::from_data(TensorData::new(mask, [b, l, 1]), d);
        let summed = (x.reshape([b, l, h]) * mask_t.clone()).sum_dim(1);
        let counts = mask_t.sum_dim(1).clamp_min(1e-9);
        let pooled = (summed / counts).into_data();
        let pooled = pooled
            .as_slice::<f32>()
            .map_err(|e| ModelError::Input(format!("unexpected tensor data: {e:?}")))?;
        Ok(pooled
            .chunks_exact(h)
            .map(|v| {
                let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-12);
                v.iter().map(|x| x / norm).collect()
            })
            .collect())
    }
}

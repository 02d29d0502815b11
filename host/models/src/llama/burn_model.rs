//! The Llama graph on burn tensors, with weights expanded to f32 on the chosen device.
//!
//! The default CPU path (`LlamaModel`) multiplies on the quantized blocks and is several times
//! faster at decode; this one exists for burn's GPU backends (`wgpu` feature), where expanded
//! f32 weights are the natural layout, and as an independent implementation of the same graph.

use std::path::Path;

use burn::nn::{RotaryEncoding, RotaryEncodingConfig};
use burn::prelude::*;
use burn::tensor::activation::{silu, softmax};

use super::LlamaConfig;
use crate::error::{ModelError, Result};
use crate::gguf::GgufFile;
use crate::quant::QuantTensor;

#[derive(Debug)]
struct BurnLayer {
    attn_norm: Tensor<2>,
    wq: Tensor<2>,
    wk: Tensor<2>,
    wv: Tensor<2>,
    wo: Tensor<2>,
    ffn_norm: Tensor<2>,
    gate: Tensor<2>,
    up: Tensor<2>,
    down: Tensor<2>,
}

/// Keys and values of one sequence as `[1, kv_heads, positions, head_dim]` tensors per layer.
#[derive(Debug, Clone)]
pub struct BurnKvCache {
    k: Vec<Option<Tensor<4>>>,
    v: Vec<Option<Tensor<4>>>,
    len: usize,
}

impl BurnKvCache {
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

#[derive(Debug)]
pub struct BurnLlamaModel {
    config: LlamaConfig,
    device: Device,
    embed: Tensor<2>,
    /// `[dim, vocab]`.
    output: Tensor<2>,
    output_norm: Tensor<2>,
    layers: Vec<BurnLayer>,
    rope: RotaryEncoding,
}

/// A GGUF `[in, out]` weight as a `[in, out]` tensor, ready for `x · W`.
fn linear(
    gguf: &GgufFile,
    name: &str,
    inp: usize,
    out: usize,
    device: &Device,
) -> Result<Tensor<2>> {
    let t = gguf.tensor(name)?;
    t.expect_dims(&[inp, out])?;
    Ok(Tensor::from_data(
        TensorData::new(transpose(&t.to_f32(), out, inp), [inp, out]),
        device,
    ))
}

/// Row-major `[rows, cols]` to `[cols, rows]`.
fn transpose(w: &[f32], rows: usize, cols: usize) -> Vec<f32> {
    let mut t = vec![0.0f32; w.len()];
    for r in 0..rows {
        for c in 0..cols {
            t[c * rows + r] = w[r * cols + c];
        }
    }
    t
}

fn norm(gguf: &GgufFile, name: &str, dim: usize, device: &Device) -> Result<Tensor<2>> {
    let t = gguf.tensor(name)?;
    t.expect_dims(&[dim])?;
    Ok(Tensor::from_data(
        TensorData::new(t.to_f32(), [1, dim]),
        device,
    ))
}

impl BurnLlamaModel {
    pub fn load(path: impl AsRef<Path>, device: Device) -> Result<Self> {
        Self::from_gguf(&GgufFile::open(path)?, device)
    }

    pub fn from_gguf(gguf: &GgufFile, device: Device) -> Result<Self> {
        let c = LlamaConfig::from_gguf(gguf)?;
        let d = &device;
        let embd: QuantTensor = gguf.tensor("token_embd.weight")?;
        embd.expect_dims(&[c.dim, c.vocab_size])?;
        let embd = embd.to_f32();
        let output = if gguf.tensor_info("output.weight").is_ok() {
            linear(gguf, "output.weight", c.dim, c.vocab_size, d)?
        } else {
            let t = transpose(&embd, c.vocab_size, c.dim);
            Tensor::from_data(TensorData::new(t, [c.dim, c.vocab_size]), d)
        };
        let embed = Tensor::<2>::from_data(TensorData::new(embd, [c.vocab_size, c.dim]), d);
        let kv = c.kv_dim();
        let layers = (0..c.n_layers)
            .map(|i| {
                let n = |s: &str| format!("blk.{i}.{s}.weight");
                Ok(BurnLayer {
                    attn_norm: norm(gguf, &n("attn_norm"), c.dim, d)?,
                    wq: linear(gguf, &n("attn_q"), c.dim, c.dim, d)?,
                    wk: linear(gguf, &n("attn_k"), c.dim, kv, d)?,
                    wv: linear(gguf, &n("attn_v"), c.dim, kv, d)?,
                    wo: linear(gguf, &n("attn_output"), c.dim, c.dim, d)?,
                    ffn_norm: norm(gguf, &n("ffn_norm"), c.dim, d)?,
                    gate: linear(gguf, &n("ffn_gate"), c.dim, c.ffn_dim, d)?,
                    up: linear(gguf, &n("ffn_up"), c.dim, c.ffn_dim, d)?,
                    down: linear(gguf, &n("ffn_down"), c.ffn_dim, c.dim, d)?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        if c.rope_dim != c.head_dim
            || c.rope_scale != 1.0
            || gguf.tensor_info("rope_freqs.weight").is_ok()
        {
            return Err(ModelError::Config(
                "partial or scaled rotary embeddings need the CPU path (LlamaModel)".into(),
            ));
        }
        // GGUF stores Q/K permuted for adjacent-pair rotation, which is what burn rotates.
        let rope = RotaryEncodingConfig::new(c.context_length, c.head_dim)
            .with_theta(c.rope_theta)
            .init(d);
        Ok(Self {
            output_norm: norm(gguf, "output_norm.weight", c.dim, d)?,
            config: c,
            embed,
            output,
            layers,
            rope,
            device,
        })
    }

    pub fn config(&self) -> &LlamaConfig {
        &self.config
    }

    pub fn new_cache(&self) -> BurnKvCache {
        BurnKvCache {
            k: vec![None; self.config.n_layers],
            v: vec![None; self.config.n_layers],
            len: 0,
        }
    }

    fn rms_norm(&self, x: Tensor<2>, w: &Tensor<2>) -> Tensor<2> {
        let inv = x
            .clone()
            .square()
            .mean_dim(1)
            .add_scalar(self.config.rms_eps)
            .sqrt()
            .recip();
        x * inv * w.clone()
    }

    /// Runs `tokens` after the cached positions; returns the last position's logits.
    pub fn forward(&self, tokens: &[u32], cache: &mut BurnKvCache) -> Result<Vec<f32>> {
        let c = &self.config;
        if tokens.is_empty() || tokens.iter().any(|&t| t as usize >= c.vocab_size) {
            return Err(ModelError::Input(
                "empty input or token id outside vocabulary".into(),
            ));
        }
        if cache.len + tokens.len() > c.context_length {
            return Err(ModelError::Input("context length exceeded".into()));
        }
        let (t, start) = (tokens.len(), cache.len);
        let (nh, nkv, hd) = (c.n_heads, c.n_kv_heads, c.head_dim);
        let d = &self.device;
        let ids: Vec<i64> = tokens.iter().map(|&t| i64::from(t)).collect();
        let mut x = self
            .embed
            .clone()
            .select(0, Tensor::<1, Int>::from_data(TensorData::new(ids, [t]), d));
        let total = start + t;
        let mask = (t > 1).then(|| {
            let m: Vec<f32> = (0..t)
                .flat_map(|i| {
                    (0..total).map(move |j| {
                        if j > start + i {
                            f32::NEG_INFINITY
                        } else {
                            0.0
                        }
                    })
                })
                .collect();
            Tensor::<4>::from_data(TensorData::new(m, [1, 1, t, total]), d)
        });
        let scale = 1.0 / (hd as f64).sqrt();
        for (li, l) in self.layers.iter().enumerate() {
            let h = self.rms_norm(x.clone(), &l.attn_norm);
            let split = |y: Tensor<2>, heads: usize| y.reshape([1, t, heads, hd]).swap_dims(1, 2);
            let q = self
                .rope
                .apply(split(h.clone().matmul(l.wq.clone()), nh), start);
            let k = self
                .rope
                .apply(split(h.clone().matmul(l.wk.clone()), nkv), start);
            let v = split(h.matmul(l.wv.clone()), nkv);
            let k = match cache.k[li].take() {
                Some(prev) => Tensor::cat(vec![prev, k], 2),
                None => k,
            };
            let v = match cache.v[li].take() {
                Some(prev) => Tensor::cat(vec![prev, v], 2),
                None => v,
            };
            cache.k[li] = Some(k.clone());
            cache.v[li] = Some(v.clone());
            let group = nh / nkv;
            let expand = |y: Tensor<4>| {
                y.reshape([1, nkv, 1, total, hd])
                    .repeat_dim(2, group)
                    .reshape([1, nh, total, hd])
            };
            let mut scores = q.matmul(expand(k).swap_dims(2, 3)).mul_scalar(scale);
            if let Some(m) = &mask {
                scores = scores + m.clone();
            }
            let ctx = softmax(scores, 3)
                .matmul(expand(v))
                .swap_dims(1, 2)
                .reshape([t, nh * hd]);
            x = x + ctx.matmul(l.wo.clone());
            let h = self.rms_norm(x.clone(), &l.ffn_norm);
            let ff = silu(h.clone().matmul(l.gate.clone())) * h.matmul(l.up.clone());
            x = x + ff.matmul(l.down.clone());
        }
        cache.len = total;
        let last = self.rms_norm(x.narrow(0, t - 1, 1), &self.output_norm);
        let logits = last.matmul(self.output.clone()).into_data();
        logits
            .as_slice::<f32>()
            .map(<[f32]>::to_vec)
            .map_err(|e| ModelError::Input(format!("unexpected tensor data: {e:?}")))
    }
}

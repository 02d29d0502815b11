//! The BERT encoder as a burn graph on padded batches: the path for burn's GPU backends
//! (`wgpu` feature) and a cross-check of the native encoder.

use burn::prelude::*;
use burn::tensor::activation::{gelu, softmax};

use super::config::BertConfig;
use super::weights::Weights;
use crate::error::{ModelError, Result};

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

#[derive(Debug)]
pub(super) struct BurnEncoder {
    config: BertConfig,
    device: Device,
    word: Tensor<2>,
    position: Tensor<2>,
    token_type: Tensor<2>,
    emb_norm: LayerNorm,
    layers: Vec<EncoderLayer>,
}

impl BurnEncoder {
    pub(super) fn load(ws: &Weights<'_>, config: &BertConfig, device: Device) -> Result<Self> {
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
                    q: Linear::load(ws, &n("attention.self.query"), h, h, d)?,
                    k: Linear::load(ws, &n("attention.self.key"), h, h, d)?,
                    v: Linear::load(ws, &n("attention.self.value"), h, h, d)?,
                    attn_out: Linear::load(ws, &n("attention.output.dense"), h, h, d)?,
                    attn_norm: LayerNorm::load(ws, &n("attention.output.LayerNorm"), h, eps, d)?,
                    inter: Linear::load(ws, &n("intermediate.dense"), f, h, d)?,
                    out: Linear::load(ws, &n("output.dense"), h, f, d)?,
                    out_norm: LayerNorm::load(ws, &n("output.LayerNorm"), h, eps, d)?,
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
            emb_norm: LayerNorm::load(ws, "embeddings.LayerNorm", h, eps, d)?,
            layers,
            config: config.clone(),
            device,
        })
    }

    /// Mean-pooled (not yet normalised) final hidden states of one padded batch.
    pub(super) fn pooled(&self, texts: &[&[u32]]) -> Result<Vec<Vec<f32>>> {
        let b = texts.len();
        let l = texts.iter().map(|e| e.len()).max().unwrap_or(1).max(1);
        let (h, nh) = (self.config.hidden_size, self.config.num_attention_heads);
        let hd = h / nh;
        let d = &self.device;

        let mut ids = vec![0i64; b * l];
        let mut mask = vec![0.0f32; b * l];
        for (i, e) in texts.iter().enumerate() {
            for (j, &id) in e.iter().enumerate() {
                ids[i * l + j] = i64::from(id);
                mask[i * l + j] = 1.0;
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
        Ok(pooled.chunks_exact(h).map(<[f32]>::to_vec).collect())
    }
}

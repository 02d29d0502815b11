//! The BERT encoder on Mantle's own kernels (the default CPU path).
//!
//! Every text's tokens are stacked into one `[tokens, hidden]` matrix, so the dense layers are
//! single GEMMs over real tokens only: nothing is padded. Attention runs per text, per head, over
//! that text's own rows. Biases, GELU, residuals and LayerNorm are applied to each block of rows
//! as the GEMM finishes it, while it is still in cache.

use rayon::prelude::*;

use super::config::BertConfig;
use super::weights::Weights;
use crate::error::{ModelError, Result};
use crate::gemm::{self, Fused, PackedB, PackedRef, pack_kn_into, pack_rows_into, packed_len};
use crate::vmath::{layer_norm_rows, softmax_scaled};

#[derive(Debug)]
struct Dense {
    w: PackedB,
    b: Vec<f32>,
}

impl Dense {
    /// Loads a PyTorch `Linear` (`[out, in]` rows).
    fn load(ws: &Weights<'_>, names: &[String], inp: usize, outs: usize) -> Result<Self> {
        let mut rows = Vec::with_capacity(names.len() * outs * inp);
        let mut b = Vec::with_capacity(names.len() * outs);
        for name in names {
            rows.extend(ws.get(&format!("{name}.weight"), &[outs, inp])?);
            b.extend(ws.get(&format!("{name}.bias"), &[outs])?);
        }
        Ok(Self {
            w: PackedB::from_rows(&rows, b.len(), inp),
            b,
        })
    }

    /// `out = act(x · W + b)`, GELU when `gelu`.
    fn forward(&self, x: &[f32], out: &mut [f32], gelu: bool) {
        let k = self.w.k();
        let fused = Fused {
            bias: Some(&self.b),
            gelu,
        };
        gemm::par_gemm(
            x,
            k,
            x.len() / k,
            self.w.as_ref(),
            out,
            false,
            fused,
            |_, _| {},
        );
    }

    /// `x = norm(x + h · W + b)`: the residual is accumulated into `x` in place.
    fn forward_residual_norm(&self, h: &[f32], x: &mut [f32], norm: &Norm) {
        let k = self.w.k();
        let fused = Fused {
            bias: Some(&self.b),
            gelu: false,
        };
        gemm::par_gemm(
            h,
            k,
            h.len() / k,
            self.w.as_ref(),
            x,
            true,
            fused,
            |_, rows| norm.apply(rows),
        );
    }
}

#[derive(Debug)]
struct Norm {
    gamma: Vec<f32>,
    beta: Vec<f32>,
    eps: f32,
}

impl Norm {
    fn load(ws: &Weights<'_>, name: &str, dim: usize, eps: f64) -> Result<Self> {
        Ok(Self {
            gamma: ws.get(&format!("{name}.weight"), &[dim])?,
            beta: ws.get(&format!("{name}.bias"), &[dim])?,
            eps: eps as f32,
        })
    }

    fn apply(&self, rows: &mut [f32]) {
        layer_norm_rows(rows, &self.gamma, &self.beta, self.eps);
    }
}

#[derive(Debug)]
struct Layer {
    /// Q, K and V fused: one `[tokens, 3 * hidden]` product.
    qkv: Dense,
    attn_out: Dense,
    attn_norm: Norm,
    inter: Dense,
    out: Dense,
    out_norm: Norm,
}

#[derive(Debug)]
pub(super) struct Encoder {
    hidden: usize,
    heads: usize,
    word: Vec<f32>,
    position: Vec<f32>,
    max_positions: usize,
    token_type: Vec<f32>,
    emb_norm: Norm,
    layers: Vec<Layer>,
}

impl Encoder {
    pub(super) fn load(ws: &Weights<'_>, config: &BertConfig) -> Result<Self> {
        let (h, f) = (config.hidden_size, config.intermediate_size);
        let eps = config.layer_norm_eps;
        let word = ws.get_any_rows("embeddings.word_embeddings.weight", h)?;
        let token_type = ws.get_any_rows("embeddings.token_type_embeddings.weight", h)?;
        if token_type.len() < h || word.is_empty() {
            return Err(ModelError::Config("empty embedding table".into()));
        }
        let layers = (0..config.num_hidden_layers)
            .map(|i| {
                let n = |s: &str| format!("encoder.layer.{i}.{s}");
                let qkv = ["query", "key", "value"].map(|p| n(&format!("attention.self.{p}")));
                Ok(Layer {
                    qkv: Dense::load(ws, &qkv, h, h)?,
                    attn_out: Dense::load(ws, &[n("attention.output.dense")], h, h)?,
                    attn_norm: Norm::load(ws, &n("attention.output.LayerNorm"), h, eps)?,
                    inter: Dense::load(ws, &[n("intermediate.dense")], h, f)?,
                    out: Dense::load(ws, &[n("output.dense")], f, h)?,
                    out_norm: Norm::load(ws, &n("output.LayerNorm"), h, eps)?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Self {
            hidden: h,
            heads: config.num_attention_heads,
            position: ws.get(
                "embeddings.position_embeddings.weight",
                &[config.max_position_embeddings, h],
            )?,
            max_positions: config.max_position_embeddings,
            word,
            token_type: token_type[..h].to_vec(),
            emb_norm: Norm::load(ws, "embeddings.LayerNorm", h, eps)?,
            layers,
        })
    }

    /// Mean-pooled (not yet normalised) final hidden states, one per text.
    pub(super) fn pooled(&self, texts: &[&[u32]]) -> Result<Vec<Vec<f32>>> {
        let h = self.hidden;
        let vocab = self.word.len() / h;
        // Row ranges of each text in the stacked matrix.
        let mut spans = Vec::with_capacity(texts.len());
        let mut total = 0;
        for ids in texts {
            if ids.len() > self.max_positions {
                return Err(ModelError::Input(format!(
                    "{} tokens exceed {} positions",
                    ids.len(),
                    self.max_positions
                )));
            }
            if let Some(&bad) = ids.iter().find(|&&id| id as usize >= vocab) {
                return Err(ModelError::Input(format!(
                    "token id {bad} outside vocabulary"
                )));
            }
            spans.push(total..total + ids.len());
            total += ids.len();
        }

        let mut x = vec![0.0f32; total * h];
        for (ids, span) in texts.iter().zip(&spans) {
            let rows = x[span.start * h..span.end * h].chunks_exact_mut(h);
            for (pos, (row, &id)) in rows.zip(ids.iter()).enumerate() {
                let word = &self.word[id as usize * h..(id as usize + 1) * h];
                let position = &self.position[pos * h..(pos + 1) * h];
                for (((v, a), b), c) in row.iter_mut().zip(word).zip(position).zip(&self.token_type)
                {
                    *v = a + b + c;
                }
            }
        }
        self.emb_norm.apply(&mut x);

        let f = self.layers.first().map_or(0, |l| l.inter.w.n());
        let mut qkv = vec![0.0f32; total * 3 * h];
        let mut ctx = vec![0.0f32; total * h];
        let mut inter = vec![0.0f32; total * f];
        for layer in &self.layers {
            layer.qkv.forward(&x, &mut qkv, false);
            self.attention(&qkv, &spans, &mut ctx);
            layer
                .attn_out
                .forward_residual_norm(&ctx, &mut x, &layer.attn_norm);
            layer.inter.forward(&x, &mut inter, true);
            layer
                .out
                .forward_residual_norm(&inter, &mut x, &layer.out_norm);
        }

        Ok(spans
            .iter()
            .map(|span| {
                let mut sum = vec![0.0f32; h];
                for row in x[span.start * h..span.end * h].chunks_exact(h) {
                    for (s, v) in sum.iter_mut().zip(row) {
                        *s += v;
                    }
                }
                let inv = 1.0 / span.len().max(1) as f32;
                sum.iter_mut().for_each(|s| *s *= inv);
                sum
            })
            .collect())
    }

    /// Self-attention of each text over its own tokens; texts run in parallel, heads in turn.
    fn attention(&self, qkv: &[f32], spans: &[std::ops::Range<usize>], ctx: &mut [f32]) {
        let h = self.hidden;
        let hd = h / self.heads;
        let scale = 1.0 / (hd as f32).sqrt();
        // Each text owns its rows of `ctx`.
        let mut parts = Vec::with_capacity(spans.len());
        let mut rest = ctx;
        for span in spans {
            let (part, tail) = rest.split_at_mut(span.len() * h);
            parts.push((span.start, part));
            rest = tail;
        }
        parts.into_par_iter().for_each(|(start, out)| {
            let len = out.len() / h;
            if len == 0 {
                return;
            }
            let rows = &qkv[start * 3 * h..(start + len) * 3 * h];
            let mut keys = vec![0.0f32; packed_len(hd, len)];
            let mut values = vec![0.0f32; packed_len(len, hd)];
            let mut scores = vec![0.0f32; len * len];
            for head in 0..self.heads {
                let (q, k, v) = (head * hd, h + head * hd, 2 * h + head * hd);
                // scores = Q Kᵀ, then softmax per query row.
                pack_rows_into(&rows[k..], 3 * h, len, hd, &mut keys);
                let kt = PackedRef::new(&keys, hd, len);
                gemm::gemm(&rows[q..], 3 * h, len, kt, &mut scores, len, false);
                for row in scores.chunks_exact_mut(len) {
                    softmax_scaled(row, scale);
                }
                // ctx[:, head] = P V, written straight into this head's columns.
                pack_kn_into(&rows[v..], 3 * h, len, hd, &mut values);
                let vp = PackedRef::new(&values, len, hd);
                gemm::gemm(&scores, len, len, vp, &mut out[head * hd..], h, false);
            }
        });
    }
}

use std::path::Path;
use std::sync::Arc;

use rayon::prelude::*;

use super::attention::{BLOCKED_FROM, causal_blocked};
use super::ops::{
    add_assign, inv_freqs, rms_norm, rms_norm_into, rope, rope_angles, silu_mul, softmax,
};
use super::{KvCache, LlamaConfig};
use crate::chat_template::ChatTemplate;
use crate::error::{ModelError, Result};
use crate::gguf::GgufFile;
use crate::quant::{
    GgmlType, QuantTensor, matmul, matmul_many_into, strided_dots, strided_weighted_sum,
};
use crate::sampler::Sampler;
use crate::tokenizer::Tokenizer;

#[derive(Debug)]
struct Layer {
    attn_norm: Vec<f32>,
    wq: QuantTensor,
    wk: QuantTensor,
    wv: QuantTensor,
    wo: QuantTensor,
    ffn_norm: Vec<f32>,
    gate: QuantTensor,
    up: QuantTensor,
    down: QuantTensor,
}

/// A Llama-family model loaded from GGUF, weights kept in their block encoding.
#[derive(Debug)]
pub struct LlamaModel {
    config: LlamaConfig,
    token_embd: QuantTensor,
    /// `None` when the output projection is tied to `token_embd`.
    output: Option<QuantTensor>,
    output_norm: Vec<f32>,
    layers: Vec<Layer>,
    /// Rotary frequencies per pair of head features.
    inv_freqs: Vec<f32>,
    tokenizer: Tokenizer,
    chat_template: Option<ChatTemplate>,
    /// Where the kernels run; rayon's global pool when `None`.
    pool: Option<Arc<rayon::ThreadPool>>,
}

/// New tokens for one sequence and that sequence's cache.
#[derive(Debug)]
pub struct SeqInput<'a> {
    pub tokens: &'a [u32],
    pub cache: &'a mut KvCache,
}

fn vector(gguf: &GgufFile, name: &str, len: usize) -> Result<Vec<f32>> {
    let t = gguf.tensor(name)?;
    t.expect_dims(&[len])?;
    Ok(t.to_f32())
}

fn matrix(gguf: &GgufFile, name: &str, cols: usize, rows: usize) -> Result<QuantTensor> {
    let t = gguf.tensor(name)?;
    t.expect_dims(&[cols, rows])?;
    Ok(t)
}

impl LlamaModel {
    /// Loads weights, tokenizer and chat template from a GGUF file.
    pub fn load(path: impl AsRef<Path>) -> Result<Self> {
        let gguf = GgufFile::open(path)?;
        Self::from_gguf(&gguf)
    }

    pub fn from_gguf(gguf: &GgufFile) -> Result<Self> {
        let c = LlamaConfig::from_gguf(gguf)?;
        let token_embd = matrix(gguf, "token_embd.weight", c.dim, c.vocab_size)?;
        let output = match gguf.tensor_info("output.weight") {
            Ok(_) => Some(matrix(gguf, "output.weight", c.dim, c.vocab_size)?),
            Err(_) => None,
        };
        let kv = c.kv_dim();
        let layers = (0..c.n_layers)
            .map(|i| {
                let n = |s: &str| format!("blk.{i}.{s}.weight");
                Ok(Layer {
                    attn_norm: vector(gguf, &n("attn_norm"), c.dim)?,
                    wq: matrix(gguf, &n("attn_q"), c.dim, c.dim)?,
                    wk: matrix(gguf, &n("attn_k"), c.dim, kv)?,
                    wv: matrix(gguf, &n("attn_v"), c.dim, kv)?,
                    wo: matrix(gguf, &n("attn_output"), c.dim, c.dim)?,
                    ffn_norm: vector(gguf, &n("ffn_norm"), c.dim)?,
                    gate: matrix(gguf, &n("ffn_gate"), c.dim, c.ffn_dim)?,
                    up: matrix(gguf, &n("ffn_up"), c.dim, c.ffn_dim)?,
                    down: matrix(gguf, &n("ffn_down"), c.ffn_dim, c.dim)?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let factors = match gguf.tensor_info("rope_freqs.weight") {
            Ok(_) => Some(vector(gguf, "rope_freqs.weight", c.rope_dim / 2)?),
            Err(_) => None,
        };
        let inv_freqs = inv_freqs(c.rope_dim, c.rope_theta, factors.as_deref());
        let tokenizer = Tokenizer::from_gguf(gguf)?;
        let chat_template = match gguf.get("tokenizer.chat_template") {
            Some(_) => Some(ChatTemplate::from_gguf(gguf)?),
            None => None,
        };
        Ok(Self {
            output_norm: vector(gguf, "output_norm.weight", c.dim)?,
            config: c,
            token_embd,
            output,
            layers,
            inv_freqs,
            tokenizer,
            chat_template,
            pool: None,
        })
    }

    /// Runs this model's kernels on `pool` (e.g. to keep inference off the cores serving
    /// requests) instead of rayon's global pool.
    pub fn set_thread_pool(&mut self, pool: Arc<rayon::ThreadPool>) {
        self.pool = Some(pool);
    }

    pub fn config(&self) -> &LlamaConfig {
        &self.config
    }

    pub fn tokenizer(&self) -> &Tokenizer {
        &self.tokenizer
    }

    pub fn chat_template(&self) -> Option<&ChatTemplate> {
        self.chat_template.as_ref()
    }

    /// An empty cache sized for this model.
    pub fn new_cache(&self) -> KvCache {
        KvCache::new(&self.config)
    }

    /// Runs `tokens` after what `cache` holds and returns the logits at the last position.
    pub fn forward(&self, tokens: &[u32], cache: &mut KvCache) -> Result<Vec<f32>> {
        let mut seqs = [SeqInput { tokens, cache }];
        Ok(self.forward_batch(&mut seqs)?.pop().expect("one sequence"))
    }

    /// Runs several sequences together (prefill chunks and/or single decode tokens): weight
    /// products are shared across all their rows, attention is per sequence. Returns each
    /// sequence's logits at its last new position.
    pub fn forward_batch(&self, seqs: &mut [SeqInput<'_>]) -> Result<Vec<Vec<f32>>> {
        // Run the whole pass on a pool thread: each of the ~200 parallel products per token
        // then forks from inside the pool instead of parking and waking the caller's thread.
        match &self.pool {
            Some(pool) => pool.install(|| self.forward_batch_in_pool(seqs)),
            None => rayon::scope(|_| self.forward_batch_in_pool(seqs)),
        }
    }

    fn forward_batch_in_pool(&self, seqs: &mut [SeqInput<'_>]) -> Result<Vec<Vec<f32>>> {
        let c = &self.config;
        if seqs.iter().any(|s| s.tokens.is_empty()) {
            return Err(ModelError::Input("empty token list".into()));
        }
        for s in seqs.iter() {
            if s.cache.k.len() != c.n_layers || s.cache.kv_dim != c.kv_dim() {
                return Err(ModelError::Input(
                    "KV cache belongs to another model".into(),
                ));
            }
            if s.cache.len() + s.tokens.len() > c.context_length {
                return Err(ModelError::Input(format!(
                    "{} positions exceed the context length {}",
                    s.cache.len() + s.tokens.len(),
                    c.context_length
                )));
            }
            if let Some(&bad) = s.tokens.iter().find(|&&t| t as usize >= c.vocab_size) {
                return Err(ModelError::Input(format!(
                    "token id {bad} outside vocabulary"
                )));
            }
        }
        // (sequence, position) of every row.
        let rows: Vec<(usize, usize)> = seqs
            .iter()
            .enumerate()
            .flat_map(|(si, s)| (0..s.tokens.len()).map(move |i| (si, s.cache.len() + i)))
            .collect();
        let n = rows.len();
        let (dim, kv_dim, hd) = (c.dim, c.kv_dim(), c.head_dim);

        let mut x = vec![0.0f32; n * dim];
        for (row, &tok) in x
            .chunks_exact_mut(dim)
            .zip(seqs.iter().flat_map(|s| s.tokens))
        {
            self.token_embd.dequantize_row(tok as usize, row);
        }

        let angles: Vec<Vec<(f32, f32)>> = rows
            .iter()
            .map(|&(_, pos)| rope_angles(&self.inv_freqs, pos as f32 / c.rope_scale))
            .collect();
        // Buffers reused by every layer: a long prompt's are megabytes, and fresh ones per
        // layer would be paged in (and zeroed) again each time.
        let mut h = vec![0.0f32; n * dim];
        let (mut q, mut k, mut v) = (
            vec![0.0f32; n * dim],
            vec![0.0f32; n * kv_dim],
            vec![0.0f32; n * kv_dim],
        );
        let mut attn = vec![0.0f32; n * dim];
        let mut proj = vec![0.0f32; n * dim];
        let (mut g, mut u) = (vec![0.0f32; n * c.ffn_dim], vec![0.0f32; n * c.ffn_dim]);
        for (li, layer) in self.layers.iter().enumerate() {
            rms_norm_into(&x, &layer.attn_norm, c.rms_eps, &mut h);
            let qkv = [&layer.wq, &layer.wk, &layer.wv];
            matmul_many_into(&qkv, &h, n, &mut [&mut q, &mut k, &mut v]);
            for (r, angles) in angles.iter().enumerate() {
                rope(&mut q[r * dim..(r + 1) * dim], hd, angles);
                rope(&mut k[r * kv_dim..(r + 1) * kv_dim], hd, angles);
            }
            for (r, &(si, _)) in rows.iter().enumerate() {
                let cache = &mut *seqs[si].cache;
                cache.k[li].extend_from_slice(&k[r * kv_dim..(r + 1) * kv_dim]);
                cache.v[li].extend_from_slice(&v[r * kv_dim..(r + 1) * kv_dim]);
            }
            self.attention(li, &q, &rows, seqs, &mut attn);
            matmul_many_into(&[&layer.wo], &attn, n, &mut [&mut proj]);
            add_assign(&mut x, &proj);

            rms_norm_into(&x, &layer.ffn_norm, c.rms_eps, &mut h);
            matmul_many_into(&[&layer.gate, &layer.up], &h, n, &mut [&mut g, &mut u]);
            silu_mul(&mut g, &u);
            matmul_many_into(&[&layer.down], &g, n, &mut [&mut proj]);
            add_assign(&mut x, &proj);
        }
        for s in seqs.iter_mut() {
            s.cache.advance(s.tokens.len());
        }

        // Only each sequence's last row needs logits.
        let mut last = Vec::with_capacity(seqs.len() * dim);
        let mut end = 0;
        for s in seqs.iter() {
            end += s.tokens.len();
            last.extend_from_slice(&x[(end - 1) * dim..end * dim]);
        }
        let last = rms_norm(&last, &self.output_norm, c.rms_eps);
        let out = self.output.as_ref().unwrap_or(&self.token_embd);
        let logits = matmul(out, &last, seqs.len());
        Ok(logits
            .chunks_exact(c.vocab_size)
            .map(<[f32]>::to_vec)
            .collect())
    }

    /// Causal attention of every row over its own sequence's cache (which already holds the
    /// rows' keys and values), into `out` (every element is written).
    fn attention(
        &self,
        li: usize,
        q: &[f32],
        rows: &[(usize, usize)],
        seqs: &[SeqInput<'_>],
        out: &mut [f32],
    ) {
        let c = &self.config;
        let (dim, kv_dim, hd) = (c.dim, c.kv_dim(), c.head_dim);
        let group = c.n_heads / c.n_kv_heads;
        let scale = 1.0 / (hd as f32).sqrt();
        // Long chunks (prefill) go blocked; the rest (decode steps) row by row below.
        let blocked: Vec<bool> = seqs
            .iter()
            .map(|s| s.tokens.len() >= BLOCKED_FROM)
            .collect();
        let mut start = 0;
        for (s, &b) in seqs.iter().zip(&blocked) {
            let span = start * dim..(start + s.tokens.len()) * dim;
            if b {
                let (k, v) = (&s.cache.k[li], &s.cache.v[li]);
                causal_blocked(c, &q[span.clone()], k, v, s.cache.len(), &mut out[span]);
            }
            start += s.tokens.len();
        }
        out.par_chunks_mut(hd).enumerate().for_each(|(i, o)| {
            let (r, head) = (i / c.n_heads, i % c.n_heads);
            let (si, pos) = rows[r];
            if blocked[si] {
                return;
            }
            let kvh = head / group;
            let keys = &seqs[si].cache.k[li];
            let values = &seqs[si].cache.v[li];
            let qh = &q[r * dim + head * hd..r * dim + (head + 1) * hd];
            let mut scores = vec![0.0f32; pos + 1];
            strided_dots(qh, keys, kvh * hd, kv_dim, scale, &mut scores);
            softmax(&mut scores);
            strided_weighted_sum(&scores, values, kvh * hd, kv_dim, o);
        });
    }

    /// Prefills `prompt` into a fresh cache and generates up to `max_new_tokens`, stopping after
    /// any of `stop_ids` (which is included in the result).
    pub fn generate(
        &self,
        prompt: &[u32],
        max_new_tokens: usize,
        sampler: &mut Sampler,
        stop_ids: &[u32],
    ) -> Result<Vec<u32>> {
        let mut cache = self.new_cache();
        let mut out = Vec::with_capacity(max_new_tokens);
        if max_new_tokens == 0 {
            return Ok(out);
        }
        let mut logits = self.forward(prompt, &mut cache)?;
        loop {
            let next = sampler.sample(&logits);
            out.push(next);
            if out.len() >= max_new_tokens || stop_ids.contains(&next) {
                return Ok(out);
            }
            logits = self.forward(&[next], &mut cache)?;
        }
    }

    /// Distinct weight encodings, in order of first use, for diagnostics.
    pub fn weight_types(&self) -> Vec<GgmlType> {
        let mut tys = Vec::new();
        let all = self
            .layers
            .iter()
            .flat_map(|l| [&l.wq, &l.wk, &l.wv, &l.wo, &l.gate, &l.up, &l.down])
            .chain([&self.token_embd])
            .chain(self.output.as_ref());
        for ty in all.map(QuantTensor::ty) {
            if !tys.contains(&ty) {
                tys.push(ty);
            }
        }
        tys
    }
}

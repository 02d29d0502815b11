use crate::error::{ModelError, Result};
use crate::gguf::GgufFile;

/// Hyper-parameters read from GGUF metadata (`<arch>.*` keys).
#[derive(Debug, Clone, PartialEq)]
pub struct LlamaConfig {
    pub architecture: String,
    pub dim: usize,
    pub n_layers: usize,
    pub n_heads: usize,
    pub n_kv_heads: usize,
    pub head_dim: usize,
    pub ffn_dim: usize,
    pub vocab_size: usize,
    pub context_length: usize,
    pub rope_theta: f32,
    pub rope_dim: usize,
    /// Linear RoPE scaling: positions are divided by this (1 without scaling).
    pub rope_scale: f32,
    pub rms_eps: f32,
}

/// GGUF architectures that are the Llama graph under another name.
const LLAMA_LIKE: &[&str] = &["llama", "mistral"];

impl LlamaConfig {
    pub fn from_gguf(gguf: &GgufFile) -> Result<Self> {
        let arch = gguf.get_str("general.architecture")?.to_owned();
        if !LLAMA_LIKE.contains(&arch.as_str()) {
            return Err(ModelError::UnsupportedArchitecture(arch));
        }
        let key = |k: &str| format!("{arch}.{k}");
        let dim = gguf.get_usize(&key("embedding_length"))?;
        let n_heads = gguf.get_usize(&key("attention.head_count"))?;
        let n_kv_heads = gguf
            .get_usize(&key("attention.head_count_kv"))
            .unwrap_or(n_heads);
        if n_heads == 0
            || n_kv_heads == 0
            || !dim.is_multiple_of(n_heads)
            || !n_heads.is_multiple_of(n_kv_heads)
        {
            return Err(ModelError::Config(format!(
                "{n_heads} heads / {n_kv_heads} KV heads do not divide dimension {dim}"
            )));
        }
        let head_dim = dim / n_heads;
        let vocab_size = gguf
            .tensor_info("token_embd.weight")?
            .dims
            .get(1)
            .copied()
            .unwrap_or(0);
        let rope_dim = gguf
            .get_usize(&key("rope.dimension_count"))
            .unwrap_or(head_dim);
        if rope_dim > head_dim || !rope_dim.is_multiple_of(2) {
            return Err(ModelError::Config(format!(
                "rope dimension {rope_dim} (head {head_dim})"
            )));
        }
        Ok(Self {
            dim,
            n_layers: gguf.get_usize(&key("block_count"))?,
            n_heads,
            n_kv_heads,
            head_dim,
            ffn_dim: gguf.get_usize(&key("feed_forward_length"))?,
            vocab_size,
            context_length: gguf.get_usize(&key("context_length")).unwrap_or(2048),
            rope_theta: gguf.get_f64(&key("rope.freq_base")).unwrap_or(10_000.0) as f32,
            rope_dim,
            rope_scale: rope_scale(gguf, &key)?,
            rms_eps: gguf
                .get_f64(&key("attention.layer_norm_rms_epsilon"))
                .unwrap_or(1e-5) as f32,
            architecture: arch,
        })
    }

    pub fn kv_dim(&self) -> usize {
        self.n_kv_heads * self.head_dim
    }
}

/// `<arch>.rope.scaling.*`: none and linear are supported; YaRN and friends are refused rather
/// than silently producing wrong positions.
fn rope_scale(gguf: &GgufFile, key: &dyn Fn(&str) -> String) -> Result<f32> {
    let kind = gguf.get(&key("rope.scaling.type")).and_then(|v| v.as_str());
    let factor = gguf.get_f64(&key("rope.scaling.factor")).unwrap_or(1.0) as f32;
    match kind {
        None | Some("none") => Ok(1.0),
        Some("linear") if factor > 0.0 => Ok(factor),
        Some(other) => Err(ModelError::Config(format!(
            "RoPE scaling `{other}` (factor {factor}) is not supported"
        ))),
    }
}

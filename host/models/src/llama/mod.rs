//! Llama-family decoder (Llama 2/3, SmolLM, Mistral-style GQA): RMSNorm, RoPE, grouped-query
//! attention over a per-sequence KV cache, SwiGLU, optionally tied embeddings.

mod attention;
mod burn_model;
mod cache;
mod config;
mod model;
mod ops;

pub use burn_model::{BurnKvCache, BurnLlamaModel};
pub use cache::KvCache;
pub use config::LlamaConfig;
pub use model::{LlamaModel, SeqInput};

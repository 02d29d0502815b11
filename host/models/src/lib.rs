//! Mantle's model runtime: loads GGUF (Llama family) and safetensors (BERT family) models and
//! runs them on the CPU.
//!
//! Generation keeps weights in their GGUF block encoding and multiplies directly on the blocks
//! (decode is memory-bound); long prompts decode weight panels to f32 and run the packed GEMM
//! in [`gemm`] (prefill is compute-bound). Activations stay f32 so outputs track the float
//! reference. [`BertEmbedder`] runs its encoder on the same GEMM over unpadded tokens.
//! [`llama::BurnLlamaModel`] and [`BertEmbedder::load_on`] run the same graphs on burn tensors
//! (for the `wgpu` feature).
//!
//! ```no_run
//! use mantle_models::{ChatMessage, LlamaModel, Sampler, SamplingParams, TextStream, model_dir};
//!
//! let model = LlamaModel::load(model_dir::smollm2_path())?;
//! let template = model.chat_template().expect("the GGUF ships one");
//! let prompt = template.render(&[ChatMessage::new("user", "Hi!")], true, None)?;
//! let ids = model.tokenizer().encode(&prompt)?;
//! let eos = model.tokenizer().eos_token_id().into_iter().collect::<Vec<_>>();
//!
//! // Step by step, as a server streams: one KV cache per sequence.
//! let mut cache = model.new_cache();
//! let mut sampler = Sampler::new(SamplingParams { temperature: 0.7, top_p: 0.9, top_k: 40, seed: Some(1) });
//! let mut stream = TextStream::new(true);
//! let mut logits = model.forward(&ids, &mut cache)?;
//! for _ in 0..64 {
//!     let next = sampler.sample(&logits);
//!     if eos.contains(&next) {
//!         break;
//!     }
//!     if let Some(text) = stream.push(model.tokenizer(), next)? {
//!         print!("{text}");
//!     }
//!     logits = model.forward(&[next], &mut cache)?;
//! }
//!
//! let embedder = mantle_models::BertEmbedder::load(model_dir::minilm_dir())?;
//! let vectors = embedder.embed(&["a sentence", "another one"])?;
//! # Ok::<(), mantle_models::ModelError>(())
//! ```

pub mod bert;
pub mod chat_template;
pub mod constrain;
pub mod error;
pub mod gemm;
pub mod gguf;
pub mod llama;
pub mod model_dir;
pub mod quant;
pub mod sampler;
pub mod tokenizer;
pub mod vmath;

pub use bert::BertEmbedder;
pub use chat_template::{ChatMessage, ChatTemplate};
pub use error::{ModelError, Result};
pub use llama::{KvCache, LlamaConfig, LlamaModel};
pub use sampler::{Sampler, SamplingParams};
pub use tokenizer::{TextStream, Tokenizer};

#[cfg(test)]
mod tests {
    /// The server shares loaded models across request tasks.
    #[test]
    fn models_are_shareable_across_threads() {
        fn shareable<T: Send + Sync>() {}
        shareable::<crate::LlamaModel>();
        shareable::<crate::BertEmbedder>();
        shareable::<crate::llama::BurnLlamaModel>();
        shareable::<crate::Tokenizer>();
        shareable::<crate::ChatTemplate>();
        shareable::<crate::KvCache>();
    }
}

//! Mantle's model runtime: loads GGUF (Llama family) and safetensors (BERT family) models and
//! runs them on the CPU.
//!
//! Generation keeps weights in their GGUF block encoding and multiplies directly on the blocks
//! (decode is memory-bound); activations stay f32 so outputs track the float reference.

pub mod bert;
pub mod chat_template;
pub mod error;
pub mod gguf;
pub mod llama;
pub mod model_dir;
pub mod quant;
pub mod sampler;
pub mod tokenizer;

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

//! BERT-family sentence embedder (all-MiniLM-L6-v2 and kin): encoder, mean pooling over the
//! tokens, L2 normalisation — what sentence-transformers computes. The encoder runs on
//! Mantle's own GEMM kernels by default, or as a burn graph for GPU backends.

mod burn_encoder;
mod config;
mod embedder;
mod encoder;
mod weights;

pub use config::BertConfig;
pub use embedder::BertEmbedder;

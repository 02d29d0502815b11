//! BERT-family sentence embedder (all-MiniLM-L6-v2 and kin): encoder on burn, mean pooling over
//! the attention mask, L2 normalisation — what sentence-transformers computes.

mod config;
mod embedder;
mod weights;

pub use config::BertConfig;
pub use embedder::BertEmbedder;

//! Inference: the served models, their generation engines, and the logic of Converse,
//! InvokeModel, CountTokens and the OpenAI-compatible surface (the HTTP adapters are in `api`).

pub mod catalog;
pub mod converse;
pub mod engine;
pub mod tools;

pub use catalog::Catalog;

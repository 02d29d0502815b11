//! # mantle-inference
//!
//! The inference service: the models a server runs ([`Catalog`]), one continuously batching
//! engine per text model, tool use and structured output constrained token by token, and one
//! typed pipeline that every surface shares — Converse, ConverseStream, InvokeModel, the OpenAI
//! API, and the services that call models themselves (agents, knowledge bases, flows, plugins).
//! No HTTP: the server maps each wire to these types.
//!
//! - [`TextModel::generate`]: a [`GenerateRequest`] in, a [`Generation`] (a stream of
//!   [`GenerationEvent`]s, or [`Generation::collect`] for the whole [`Completion`]) out.
//! - [`EmbeddingModel::embed`]: texts in, [`Embeddings`] out.
//! - [`TextModel::count_tokens`], [`EmbeddingModel::count_tokens`].
//! - Errors are [`InferenceError`]s; one about a part of the request names it as a [`Field`].
//!
//! ```no_run
//! # async fn example() -> Result<(), mantle_inference::InferenceError> {
//! use mantle_inference::{Catalog, Conversation, GenerateRequest, InferenceParams};
//! let catalog = Catalog::load_defaults(&mantle_models::model_dir::default_model_dir());
//! let model = catalog.text("hf.smollm2-135m-instruct-v1:0")?;
//! let mut request = GenerateRequest::chat(Conversation::user(
//!     Some("Answer in one sentence."),
//!     "What is the capital of France?",
//! ));
//! request.params = InferenceParams { max_tokens: Some(32), temperature: Some(0.0), ..Default::default() };
//! let completion = model.generate(&request)?.collect().await?;
//! assert!(completion.text.contains("Paris"));
//! let vectors = catalog.embedding("hf.all-minilm-l6-v2-v1:0")?.embed(vec!["hello".into()]).await?;
//! assert_eq!(vectors.vectors[0].len(), 384);
//! # Ok(()) }
//! ```

pub mod catalog;
pub mod engine;
pub mod error;
pub mod generation;
#[cfg(feature = "plugins")]
pub mod plugin_models;
pub mod prepare;
pub mod request;
pub mod tools;

pub use catalog::{
    Catalog, EmbeddingModel, EngineLimits, MINILM_ID, ModelInfo, ModelKind, SMOLLM2_ID, Served,
    TextModel,
};
pub use engine::{EngineLoad, GenerationEvent, GenerationParams, StopReason};
pub use error::{Field, InferenceError};
pub use generation::{Completion, Embeddings, Generation, ToolCall};
pub use prepare::Prepared;
pub use request::{
    Content, Conversation, GenerateRequest, InferenceParams, MAX_STOP_SEQUENCES, Prompt,
    ResponseFormat, Role, SamplingDefaults, ToolChoice, ToolResultPart, ToolSpec, Tools, Turn,
};

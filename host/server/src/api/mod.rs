//! HTTP handlers, one module per API family; each handler is a thin adapter over a domain
//! service. Paths follow ../shared/BEDROCK_API.md.

pub mod admin;
pub mod apply_guardrail;
pub mod converse;
pub mod count_tokens;
pub mod foundation_models;
pub mod guardrails;
pub mod invoke_model;
pub mod openai;
pub mod ops;
pub mod stream;

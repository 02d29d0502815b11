//! Guardrails: Bedrock's control plane (create, get, list, update, delete, versions) and
//! ApplyGuardrail, where every policy is a WebAssembly plugin.
//!
//! The service owns the logic and is called by the HTTP layer (`api::guardrails`) and by
//! benchmarks and tests directly, without a socket.

pub mod apply;
pub mod config;
pub mod record;
pub mod service;

pub use service::{BUILTIN_SENSITIVE_INFORMATION, BUILTIN_WORD_FILTER, Guardrails};

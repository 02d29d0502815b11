//! # mantle-server
//!
//! Mantle's HTTP server: Bedrock's wire APIs, the admin API, `/health` and `/metrics`, over
//! domain services that own the logic (`mantle-guardrails`, …). The `mantle` binary is in
//! `main.rs`; `docs/architecture.md` describes how a service's routes, wire types and errors
//! are laid out here.

pub(crate) mod api;
pub mod app;
pub mod auth;
pub mod builtins;
pub mod cli;
pub mod error;
pub mod eventstream;
pub mod extract;
pub mod kv;
pub mod plugin_knowledge;
pub mod serve;
pub mod settings;
pub mod state;
pub mod telemetry;
pub mod template;

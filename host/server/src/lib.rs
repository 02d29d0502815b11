//! # mantle-server
//!
//! Mantle's HTTP server: Bedrock's wire APIs (guardrails so far), the admin API, `/health` and
//! `/metrics`, over domain services that own the logic. The `mantle` binary is in `main.rs`.

pub mod api;
pub mod app;
pub mod builtins;
pub mod cli;
pub mod error;
pub mod eventstream;
pub mod extract;
pub mod guardrails;
pub mod inference;
pub mod kv;
pub mod serve;
pub mod settings;
pub mod state;
pub mod telemetry;
pub mod template;
pub mod time;

//! Flows: definitions, their validation, versions and aliases, and the engine that runs them.

pub mod definition;
pub mod engine;
pub mod execution;
pub mod expression;
pub mod input;
pub mod output;
mod record;
mod service;
pub mod validate;

pub use definition::FlowDefinition;
pub use engine::{FlowEvent, FlowRun, InvokeFlowInput};
pub use service::{FlowServices, Flows};

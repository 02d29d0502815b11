//! # mantle-flows
//!
//! Bedrock Prompt management and Flows as a Rust service: prompts as versioned resources
//! (records in sled) that run as models, and flows (definitions, validation, versions,
//! aliases) run by the flow engine.
//!
//! No HTTP here: operations take typed inputs, answer typed outputs that serialize as
//! Bedrock's response shapes and fail with a [`FlowsError`]. `mantle-server` routes HTTP to
//! them; Converse calls [`Prompts::render`] when its `modelId` is a prompt ARN.
//!
//! ```no_run
//! # fn example(prompts: mantle_flows::Prompts) -> Result<(), mantle_flows::FlowsError> {
//! use mantle_flows::prompt::input::CreatePromptInput;
//! let input: CreatePromptInput = serde_json::from_value(serde_json::json!({
//!     "name": "song",
//!     "variants": [{"name": "v1", "templateType": "TEXT", "modelId": "hf.smollm2-135m-instruct-v1:0",
//!         "templateConfiguration": {"text": {"text": "Write a {{genre}} song.",
//!             "inputVariables": [{"name": "genre"}]}}}],
//! })).unwrap();
//! let prompt = prompts.create(input)?;
//! println!("{} is {}", prompt.name, prompt.arn);
//! # Ok(()) }
//! ```

mod error;
pub mod flow;
mod ids;
pub mod prompt;
mod token;

pub use error::FlowsError;
pub use flow::{FlowServices, Flows};
pub use ids::{FlowAliasId, FlowAliasIdentifier, FlowId, PromptId, PromptIdentifier, Version};
pub use prompt::{PromptVariableValue, Prompts, RenderedPrompt};

/// One page of a List operation: `maxResults` (1..1000, at most `cap` served) items after the
/// offset a `nextToken` carries.
pub(crate) fn page<T>(
    items: Vec<T>,
    max_results: Option<u32>,
    cap: u32,
    next_token: Option<&str>,
) -> Result<(Vec<T>, Option<String>), FlowsError> {
    if let Some(max) = max_results
        && !(1..=1000).contains(&max)
    {
        return Err(FlowsError::invalid(
            "maxResults",
            "Member must have value between 1 and 1000",
        ));
    }
    let max = max_results.unwrap_or(cap).min(cap) as usize;
    mantle_store::page(items, max, next_token).ok_or_else(|| {
        FlowsError::invalid(
            "nextToken",
            "the pagination token is not one this server issued",
        )
    })
}

//! The `tool` world: implement [`Guest`] and export it with [`export_tool!`](crate::export_tool).
//!
//! ```
//! use mantle_sdk::tool::{ContentType, Guest, InvocationContext, ToolResult, ToolSpec};
//! struct Echo;
//! impl Guest for Echo {
//!     fn describe() -> Vec<ToolSpec> {
//!         vec![ToolSpec::new("echo", "Returns its input", r#"{"type":"object"}"#)]
//!     }
//!     fn invoke(_: String, input: String, _: InvocationContext) -> Result<ToolResult, mantle_sdk::PluginError> {
//!         Ok(ToolResult::json(input))
//!     }
//! }
//! assert_eq!(Echo::describe()[0].name, "echo");
//! ```

pub use crate::PluginError;
pub use crate::bindings::tool::exports::mantle::plugin::tools::{
    ContentType, Guest, InvocationContext, ToolResult, ToolSpec,
};

impl ToolSpec {
    /// A tool named `name` whose input follows the JSON schema `input_schema`.
    pub fn new(
        name: impl Into<String>,
        description: impl Into<String>,
        input_schema: impl Into<String>,
    ) -> Self {
        Self {
            name: name.into(),
            description: description.into(),
            input_schema: input_schema.into(),
        }
    }
}

impl ToolResult {
    /// A successful JSON result.
    pub fn json(body: impl Into<String>) -> Self {
        Self {
            content_type: ContentType::Json,
            body: body.into(),
            is_error: false,
        }
    }

    /// A successful text result.
    pub fn text(body: impl Into<String>) -> Self {
        Self {
            content_type: ContentType::Text,
            body: body.into(),
            is_error: false,
        }
    }

    /// A failure the model should see (Bedrock's `status: error`).
    pub fn error(message: impl Into<String>) -> Self {
        Self {
            content_type: ContentType::Text,
            body: message.into(),
            is_error: true,
        }
    }
}

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

impl InvocationContext {
    /// A context for session `session_id` with no agent and no attributes, e.g. for tests.
    ///
    /// ```
    /// let context = mantle_sdk::tool::InvocationContext::session("s-1")
    ///     .with_session_attribute("tenant", "acme");
    /// assert_eq!(context.session_attribute("tenant"), Some("acme"));
    /// ```
    pub fn session(session_id: impl Into<String>) -> Self {
        Self {
            session_id: session_id.into(),
            agent_id: None,
            agent_name: None,
            agent_alias_id: None,
            action_group: None,
            session_attributes: Vec::new(),
            prompt_session_attributes: Vec::new(),
            input_text: None,
        }
    }

    /// Adds a session attribute.
    pub fn with_session_attribute(
        mut self,
        key: impl Into<String>,
        value: impl Into<String>,
    ) -> Self {
        self.session_attributes.push((key.into(), value.into()));
        self
    }

    /// The session attribute `key`; a prompt-session attribute of that name wins, as in
    /// Bedrock Agents.
    pub fn session_attribute(&self, key: &str) -> Option<&str> {
        fn find<'a>(list: &'a [(String, String)], key: &str) -> Option<&'a str> {
            list.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
        }
        find(&self.prompt_session_attributes, key).or_else(|| find(&self.session_attributes, key))
    }
}

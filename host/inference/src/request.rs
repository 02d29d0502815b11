//! A generation request, typed: what every surface (Converse, InvokeModel, the OpenAI API, and
//! next agents, knowledge bases and flows) turns its wire body into.

use serde_json::Value;

/// What to generate from, and how.
#[derive(Debug, Clone, PartialEq)]
pub struct GenerateRequest {
    pub prompt: Prompt,
    /// Tools the model may call.
    pub tools: Option<Tools>,
    /// A JSON answer instead of free text.
    pub response_format: Option<ResponseFormat>,
    pub params: InferenceParams,
}

impl GenerateRequest {
    /// A chat request with no tools, no answer format and default parameters.
    pub fn chat(conversation: Conversation) -> Self {
        Self {
            prompt: Prompt::Chat(conversation),
            tools: None,
            response_format: None,
            params: InferenceParams::default(),
        }
    }
}

/// The input: a conversation rendered with the model's chat template, or a raw prompt fed
/// verbatim (InvokeModel's native bodies carry their own formatting).
#[derive(Debug, Clone, PartialEq)]
pub enum Prompt {
    Chat(Conversation),
    Raw(String),
}

/// System instructions and the turns so far.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Conversation {
    pub system: Vec<String>,
    pub turns: Vec<Turn>,
}

impl Conversation {
    /// One user turn of text, optionally under a system prompt.
    pub fn user(system: Option<&str>, text: impl Into<String>) -> Self {
        Self {
            system: system.map(str::to_owned).into_iter().collect(),
            turns: vec![Turn {
                role: Role::User,
                content: vec![Content::Text(text.into())],
            }],
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Turn {
    pub role: Role,
    pub content: Vec<Content>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    User,
    Assistant,
}

impl Role {
    /// The role's name in chat templates.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::User => "user",
            Self::Assistant => "assistant",
        }
    }
}

/// One block of a turn.
#[derive(Debug, Clone, PartialEq)]
pub enum Content {
    Text(String),
    /// A document's extracted text (user turns only), under the name the caller gave it.
    Document {
        name: String,
        text: String,
    },
    /// A call the assistant made (assistant turns only).
    ToolUse {
        id: String,
        name: String,
        input: Value,
    },
    /// What a call returned (user turns only).
    ToolResult {
        id: String,
        content: Vec<ToolResultPart>,
        is_error: bool,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub enum ToolResultPart {
    Text(String),
    Json(Value),
}

/// The tools offered to the model and which it must use.
#[derive(Debug, Clone, PartialEq)]
pub struct Tools {
    pub specs: Vec<ToolSpec>,
    pub choice: ToolChoice,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ToolSpec {
    pub name: String,
    pub description: Option<String>,
    /// A JSON Schema of type object.
    pub input_schema: Value,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ToolChoice {
    /// Text or a call, as the model decides.
    Auto,
    /// A call of some tool.
    Any,
    /// A call of this tool.
    Tool(String),
    /// No call: the tools are not offered (OpenAI's `none`).
    None,
}

/// A JSON answer.
#[derive(Debug, Clone, PartialEq)]
pub enum ResponseFormat {
    /// Valid for this JSON Schema.
    JsonSchema(Value),
    /// Any JSON object.
    JsonObject,
}

/// Sampling and length. `None` takes the surface's default from [`SamplingDefaults`].
#[derive(Debug, Clone, PartialEq)]
pub struct InferenceParams {
    pub max_tokens: Option<i64>,
    pub temperature: Option<f64>,
    pub top_p: Option<f64>,
    pub top_k: Option<u64>,
    pub seed: Option<u64>,
    pub stop_sequences: Vec<String>,
    pub defaults: SamplingDefaults,
}

impl Default for InferenceParams {
    fn default() -> Self {
        Self {
            max_tokens: None,
            temperature: None,
            top_p: None,
            top_k: None,
            seed: None,
            stop_sequences: Vec::new(),
            defaults: SamplingDefaults::CONVERSE,
        }
    }
}

/// The defaults and ranges of one surface: each documents its own (Converse's temperature is
/// 0–1 with 0.7 by default, OpenAI's 0–2, Llama's native body defaults to 0.5).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SamplingDefaults {
    pub max_tokens: usize,
    pub temperature: f64,
    pub max_temperature: f64,
    pub top_p: f64,
}

impl SamplingDefaults {
    /// Converse and ConverseStream (and services that call the model themselves).
    pub const CONVERSE: Self = Self {
        max_tokens: 512,
        temperature: 0.7,
        max_temperature: 1.0,
        top_p: 0.9,
    };
    /// InvokeModel's Llama-style body.
    pub const LLAMA_BODY: Self = Self {
        max_tokens: 512,
        temperature: 0.5,
        max_temperature: 1.0,
        top_p: 0.9,
    };
    /// OpenAI's chat completions.
    pub const OPENAI: Self = Self {
        max_tokens: 512,
        temperature: 0.7,
        max_temperature: 2.0,
        top_p: 1.0,
    };
}

/// The most stop sequences a request may carry.
pub const MAX_STOP_SEQUENCES: usize = 4;

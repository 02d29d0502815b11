//! What can go wrong in inference, typed; the server turns it into each wire's error shape.

use crate::catalog::ModelKind;

/// A part of a [`GenerateRequest`](crate::GenerateRequest) (or an embedding request) that a
/// validation error is about. Each wire names it its own way (Converse's
/// `inferenceConfig.maxTokens` is OpenAI's `max_tokens`), so the error carries the part, and the
/// API layer spells it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Field {
    MaxTokens,
    Temperature,
    TopP,
    TopK,
    StopSequences,
    /// One stop sequence.
    StopSequence(usize),
    /// The conversation as a whole.
    Messages,
    /// One turn's content list.
    Content {
        turn: usize,
    },
    /// One content block of a turn.
    Block {
        turn: usize,
        block: usize,
    },
    /// A tool call's name in an earlier assistant turn.
    ToolUseName {
        turn: usize,
        block: usize,
    },
    /// The tool list as a whole.
    Tools,
    /// One tool's name.
    ToolName {
        tool: usize,
    },
    /// A keyword of one tool's input schema; `path` is the keyword's path in the schema
    /// (`properties.city.type`), empty for the schema itself.
    ToolSchema {
        tool: usize,
        path: String,
    },
    /// The tool named by a forced tool choice.
    ToolChoiceName,
    /// The requested answer format as a whole.
    ResponseFormat,
    /// A keyword of the answer's JSON schema (as in [`Field::ToolSchema`]).
    ResponseSchema {
        path: String,
    },
    /// The raw prompt of a completion request.
    Prompt,
    /// One text of an embedding request.
    EmbeddingInput(usize),
    /// The texts of an embedding request as a whole.
    EmbeddingInputs,
}

/// An inference failure.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum InferenceError {
    /// One part of the request is wrong; `constraint` says how, in AWS's words.
    #[error("{field:?}: {constraint}")]
    InvalidField { field: Field, constraint: String },
    /// The request is wrong as a whole (a conversation that cannot be rendered, a prompt
    /// longer than the context window).
    #[error("{0}")]
    Invalid(String),
    /// No served model has this id.
    #[error("The provided model identifier is invalid: {model_id}")]
    UnknownModel {
        model_id: String,
        /// The ids that are served, for the message.
        served: Vec<String>,
    },
    /// One of the default models, whose files are not installed here.
    #[error("Model {model_id} is not installed here (run `mantle models pull`).")]
    NotInstalled { model_id: String },
    /// The model exists but does not do this (embedding a text model, chatting with an
    /// embedding model).
    #[error("Model {model_id} is {} model; it does not support this operation.", kind_article(*actual))]
    WrongKind { model_id: String, actual: ModelKind },
    /// The model's queue is full: retry later.
    #[error("the model's queue is full ({waiting} requests waiting); try again shortly")]
    Busy { waiting: usize },
    /// The model's engine is not running.
    #[error("the model's engine has stopped")]
    Stopped,
    /// The model failed while generating or embedding.
    #[error("{0}")]
    ModelFailed(String),
}

fn kind_article(kind: ModelKind) -> &'static str {
    match kind {
        ModelKind::Text => "a text",
        ModelKind::Embedding => "an embedding",
    }
}

impl InferenceError {
    pub(crate) fn field(field: Field, constraint: impl Into<String>) -> Self {
        Self::InvalidField {
            field,
            constraint: constraint.into(),
        }
    }
}

//! Prompt management: prompts as versioned resources, and rendering one for a model call.

pub mod config;
pub mod input;
pub mod output;
mod record;
mod service;
mod template;

pub use config::{
    ChatTemplate, ContentBlock, InferenceConfiguration, Message, PromptVariant, Role, SystemBlock,
    TemplateConfiguration, TemplateType, TextInference, TextTemplate, Tool, ToolChoice,
    ToolConfiguration, ToolSpec,
};
pub use service::Prompts;
pub(crate) use service::{check_description, check_tags};
pub(crate) use template::{NAME_PATTERN, check_variant, is_name};
pub use template::{PromptVariableValue, RenderedMessage, RenderedPrompt, placeholders, render};

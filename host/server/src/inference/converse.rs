//! Converse and ConverseStream: Bedrock's messages in, the model's chat template and engine in
//! between, Bedrock's message, stop reason and usage out.

use std::time::Instant;

use mantle_models::{ChatMessage, SamplingParams};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::sync::mpsc::UnboundedReceiver;

use super::catalog::TextModel;
use super::engine::{GenerationEvent, GenerationParams, StopReason, SubmitError};
use super::tools::{self, OutputMode, ToolConfig};
use crate::error::{AwsError, ErrorCode};

/// `maxTokens` when the request sets none.
const DEFAULT_MAX_TOKENS: usize = 512;
const MAX_STOP_SEQUENCES: usize = 4;

/// Converse's (and ConverseStream's) body.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ConverseRequest {
    #[serde(default)]
    pub messages: Vec<Message>,
    #[serde(default)]
    pub system: Vec<SystemBlock>,
    #[serde(default)]
    pub inference_config: Option<InferenceConfig>,
    #[serde(default)]
    pub tool_config: Option<ToolConfig>,
    #[serde(default)]
    pub output_config: Option<OutputConfig>,
    #[serde(default)]
    pub guardrail_config: Option<GuardrailConfig>,
    #[serde(default)]
    pub additional_model_request_fields: Option<Value>,
    #[serde(default)]
    pub additional_model_response_field_paths: Option<Vec<String>>,
    #[serde(default)]
    pub prompt_variables: Option<Value>,
    #[serde(default)]
    pub request_metadata: Option<Value>,
    #[serde(default)]
    pub performance_config: Option<Value>,
    /// One tier serves everything here.
    #[serde(default)]
    pub service_tier: Option<Value>,
}

/// `outputConfig`: structured output.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OutputConfig {
    #[serde(default)]
    pub text_format: Option<OutputFormat>,
    /// Reasoning effort: this model does not reason before answering.
    #[serde(default)]
    pub effort: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OutputFormat {
    #[serde(rename = "type")]
    pub kind: OutputFormatType,
    pub structure: OutputFormatStructure,
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutputFormatType {
    JsonSchema,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum OutputFormatStructure {
    JsonSchema(JsonSchemaDefinition),
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct JsonSchemaDefinition {
    /// The schema, as a JSON string.
    pub schema: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    User,
    Assistant,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Message {
    pub role: Role,
    pub content: Vec<ContentBlock>,
}

/// A content block: a union, exactly one member.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ContentBlock {
    Text(String),
    Image(Value),
    Document(Value),
    Video(Value),
    ToolUse(ToolUseBlock),
    ToolResult(ToolResultBlock),
    GuardContent(Value),
    CachePoint(Value),
    ReasoningContent(Value),
    CitationsContent(Value),
    SearchResult(Value),
}

/// A call the assistant made in an earlier turn.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ToolUseBlock {
    pub tool_use_id: String,
    pub name: String,
    pub input: Value,
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
}

/// What a call returned, sent back in a user turn.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ToolResultBlock {
    pub tool_use_id: String,
    pub content: Vec<ToolResultContent>,
    #[serde(default)]
    pub status: Option<ToolResultStatus>,
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ToolResultContent {
    Text(String),
    Json(Value),
    Image(Value),
    Document(Value),
    Video(Value),
    SearchResult(Value),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ToolResultStatus {
    Success,
    Error,
}

impl ToolResultBlock {
    /// The result as the model reads it.
    fn render(&self, field: &str) -> Result<String, AwsError> {
        let mut parts = Vec::new();
        for (i, content) in self.content.iter().enumerate() {
            match content {
                ToolResultContent::Text(text) => parts.push(text.clone()),
                ToolResultContent::Json(value) => parts.push(value.to_string()),
                _ => {
                    return Err(AwsError::invalid_field(
                        &format!("{field}.toolResult.content.{i}"),
                        "This model accepts text and json tool results only.",
                    ));
                }
            }
        }
        let mut text = parts.join("\n");
        if self.status == Some(ToolResultStatus::Error) {
            text = format!("Error: {text}");
        }
        Ok(tools::render_result(&text))
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum SystemBlock {
    Text(String),
    GuardContent(Value),
    CachePoint(Value),
}

/// `guardrailConfig`: a guardrail checks the input before generation and the output after.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GuardrailConfig {
    pub guardrail_identifier: String,
    pub guardrail_version: String,
    #[serde(default)]
    pub trace: Option<GuardrailTrace>,
    /// ConverseStream only: `sync` holds each chunk until it is checked, `async` checks behind
    /// the stream.
    #[serde(default)]
    pub stream_processing_mode: Option<StreamProcessingMode>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GuardrailTrace {
    Enabled,
    Disabled,
    EnabledFull,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StreamProcessingMode {
    Sync,
    Async,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct InferenceConfig {
    pub max_tokens: Option<i64>,
    pub temperature: Option<f64>,
    pub top_p: Option<f64>,
    #[serde(default)]
    pub stop_sequences: Vec<String>,
}

/// A request checked and rendered, ready for the engine.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub prompt: Vec<u32>,
    pub params: GenerationParams,
}

/// A tool call the model made.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolCall {
    pub tool_use_id: String,
    pub name: String,
    pub input: Value,
}

impl ConverseRequest {
    /// Validates the request against `model` and renders its prompt.
    pub fn prepare(&self, model: &TextModel) -> Result<Prepared, AwsError> {
        let output = self.output_mode()?;
        let messages = self.chat_messages(&output)?;
        let mut params = self.generation_params(model)?;
        let prompt = render_prompt_with(model, &messages, &tools::forced_prefix(&output))?;
        params.output = output;
        Ok(Prepared { prompt, params })
    }

    /// What `toolConfig` and `outputConfig` ask of the answer.
    fn output_mode(&self) -> Result<OutputMode, AwsError> {
        let tools = self
            .tool_config
            .as_ref()
            .map(ToolConfig::compile)
            .transpose()?;
        let json = match self
            .output_config
            .as_ref()
            .and_then(|c| c.text_format.as_ref())
        {
            None => None,
            Some(OutputFormat {
                structure: OutputFormatStructure::JsonSchema(definition),
                ..
            }) => {
                let field = "outputConfig.textFormat.structure.jsonSchema.schema";
                let schema: Value = serde_json::from_str(&definition.schema).map_err(|e| {
                    AwsError::invalid_field(field, format!("is not valid JSON: {e}"))
                })?;
                Some((tools::compile_schema(field, &schema)?, schema))
            }
        };
        Ok(match (tools, json) {
            (None, None) => OutputMode::Text,
            (Some(mode), None) => mode,
            (None, Some((grammar, _))) => OutputMode::Json(grammar),
            // A forced call is the whole answer: there is no text to format.
            (Some(mode @ (OutputMode::Tool(..) | OutputMode::ToolsRequired(_))), Some(_)) => mode,
            (Some(_), Some(_)) => {
                return Err(AwsError::invalid_field(
                    "outputConfig.textFormat",
                    "cannot be combined with toolChoice auto on this model; force a tool or drop one of them",
                ));
            }
        })
    }

    /// The texts a guardrail assesses as input: the `guardContent` blocks if there are any,
    /// else the text of every message.
    pub fn guarded_input(&self) -> Vec<String> {
        let guard: Vec<String> = self
            .messages
            .iter()
            .flat_map(|m| &m.content)
            .filter_map(|block| match block {
                ContentBlock::GuardContent(content) => guard_text(content).map(str::to_owned),
                _ => None,
            })
            .chain(self.system.iter().filter_map(|block| match block {
                SystemBlock::GuardContent(content) => guard_text(content).map(str::to_owned),
                _ => None,
            }))
            .collect();
        if !guard.is_empty() {
            return guard;
        }
        self.messages
            .iter()
            .flat_map(|m| &m.content)
            .filter_map(|block| match block {
                ContentBlock::Text(text) => Some(text.clone()),
                _ => None,
            })
            .collect()
    }

    fn chat_messages(&self, output: &OutputMode) -> Result<Vec<ChatMessage>, AwsError> {
        if self.messages.is_empty() {
            return Err(AwsError::invalid_field(
                "messages",
                "Member must have length greater than or equal to 1",
            ));
        }
        let mut out = Vec::new();
        let mut system: Vec<String> = self
            .system
            .iter()
            .filter_map(|block| match block {
                SystemBlock::Text(text) => Some(text.clone()),
                SystemBlock::GuardContent(content) => guard_text(content).map(str::to_owned),
                SystemBlock::CachePoint(_) => None,
            })
            .collect();
        match output {
            OutputMode::Text => {}
            OutputMode::ToolsAuto(set)
            | OutputMode::ToolsRequired(set)
            | OutputMode::Tool(set, _) => {
                system.push(set.instructions());
            }
            OutputMode::Json(_) => {
                if let Some(format) = self
                    .output_config
                    .as_ref()
                    .and_then(|c| c.text_format.as_ref())
                {
                    let OutputFormatStructure::JsonSchema(definition) = &format.structure;
                    system.push(format!(
                        "Answer with JSON only, matching this JSON Schema: {}",
                        definition.schema
                    ));
                }
            }
        }
        let has_tools = self.tool_config.is_some();
        if !system.is_empty() {
            out.push(ChatMessage::new("system", system.join("\n")));
        }
        for (index, message) in self.messages.iter().enumerate() {
            let expected = if index % 2 == 0 {
                Role::User
            } else {
                Role::Assistant
            };
            if message.role != expected {
                return Err(AwsError::validation(if index == 0 {
                    "A conversation must start with a user message. Try again with a conversation that starts with a user message.".to_owned()
                } else {
                    format!(
                        "messages.{index}.role: A conversation must alternate between user and assistant roles. Make sure the conversation alternates between user and assistant roles and try again."
                    )
                }));
            }
            if message.content.is_empty() {
                return Err(AwsError::invalid_field(
                    &format!("messages.{index}.content"),
                    "Member must have length greater than or equal to 1",
                ));
            }
            let mut texts: Vec<String> = Vec::new();
            for (block_index, block) in message.content.iter().enumerate() {
                let field = format!("messages.{index}.content.{block_index}");
                if matches!(
                    block,
                    ContentBlock::ToolUse(_) | ContentBlock::ToolResult(_)
                ) && !has_tools
                {
                    return Err(AwsError::validation(
                        "The toolConfig field must be defined when using toolUse and toolResult content blocks.",
                    ));
                }
                match block {
                    ContentBlock::Text(text) => texts.push(text.clone()),
                    ContentBlock::GuardContent(content) => {
                        texts.extend(guard_text(content).map(str::to_owned))
                    }
                    ContentBlock::ToolUse(call) => {
                        if message.role != Role::Assistant {
                            return Err(AwsError::invalid_field(
                                &format!("{field}.toolUse"),
                                "toolUse blocks belong in assistant messages",
                            ));
                        }
                        tools::check_tool_name(&format!("{field}.toolUse.name"), &call.name)?;
                        texts.push(tools::render_call(&call.name, &call.input));
                    }
                    ContentBlock::ToolResult(result) => {
                        if message.role != Role::User {
                            return Err(AwsError::invalid_field(
                                &format!("{field}.toolResult"),
                                "toolResult blocks belong in user messages",
                            ));
                        }
                        let previous = index.checked_sub(1).map(|i| &self.messages[i]);
                        let called = previous.is_some_and(|m| {
                            m.content.iter().any(|b| {
                                matches!(b, ContentBlock::ToolUse(c) if c.tool_use_id == result.tool_use_id)
                            })
                        });
                        if !called {
                            return Err(AwsError::invalid_field(
                                &format!("{field}.toolResult.toolUseId"),
                                format!(
                                    "`{}` does not match a toolUse block of the previous assistant message",
                                    result.tool_use_id
                                ),
                            ));
                        }
                        texts.push(result.render(&field)?);
                    }
                    ContentBlock::CachePoint(_) | ContentBlock::ReasoningContent(_) => {}
                    ContentBlock::Image(_) | ContentBlock::Document(_) | ContentBlock::Video(_) => {
                        return Err(AwsError::invalid_field(
                            &field,
                            "This model doesn't support this content block type (text only).",
                        ));
                    }
                    _ => {
                        return Err(AwsError::invalid_field(
                            &field,
                            "This model doesn't support this content block type (text and tools only).",
                        ));
                    }
                }
            }
            let role = match message.role {
                Role::User => "user",
                Role::Assistant => "assistant",
            };
            out.push(ChatMessage::new(role, texts.join("\n")));
        }
        if self.messages.last().map(|m| m.role) != Some(Role::User) {
            return Err(AwsError::validation(
                "The last message of a conversation must be a user message.",
            ));
        }
        Ok(out)
    }

    fn generation_params(&self, model: &TextModel) -> Result<GenerationParams, AwsError> {
        let config = self.inference_config.clone().unwrap_or_default();
        let context = model.model.config().context_length;
        let max_tokens = match config.max_tokens {
            None => DEFAULT_MAX_TOKENS,
            Some(n) if n < 1 => {
                return Err(AwsError::invalid_field(
                    "inferenceConfig.maxTokens",
                    "Member must have value greater than or equal to 1",
                ));
            }
            Some(n) if n as usize > context => {
                return Err(AwsError::invalid_field(
                    "inferenceConfig.maxTokens",
                    format!("Member must have value less than or equal to {context}"),
                ));
            }
            Some(n) => n as usize,
        };
        let temperature = unit_interval("inferenceConfig.temperature", config.temperature, 0.7)?;
        let top_p = unit_interval("inferenceConfig.topP", config.top_p, 0.9)?;
        if config.stop_sequences.len() > MAX_STOP_SEQUENCES {
            return Err(AwsError::invalid_field(
                "inferenceConfig.stopSequences",
                format!("Member must have length less than or equal to {MAX_STOP_SEQUENCES}"),
            ));
        }
        if let Some(i) = config.stop_sequences.iter().position(String::is_empty) {
            return Err(AwsError::invalid_field(
                &format!("inferenceConfig.stopSequences.{i}"),
                "Member must have length greater than or equal to 1",
            ));
        }
        let (top_k, seed) = additional_fields(self.additional_model_request_fields.as_ref())?;
        Ok(GenerationParams {
            max_tokens,
            sampling: SamplingParams {
                temperature: temperature as f32,
                top_p: top_p as f32,
                top_k,
                seed,
            },
            stop_sequences: config.stop_sequences,
            output: OutputMode::Text,
        })
    }
}

fn guard_text(content: &Value) -> Option<&str> {
    content.get("text")?.get("text")?.as_str()
}

/// `value` if it lies in [0, 1], `default` if absent, else a ValidationException naming `field`.
pub fn unit_interval(field: &str, value: Option<f64>, default: f64) -> Result<f64, AwsError> {
    match value {
        None => Ok(default),
        Some(v) if (0.0..=1.0).contains(&v) => Ok(v),
        Some(_) => Err(AwsError::invalid_field(
            field,
            "Member must have value between 0 and 1",
        )),
    }
}

/// `additionalModelRequestFields` this model understands: `top_k` and `seed`.
pub fn additional_fields(fields: Option<&Value>) -> Result<(usize, Option<u64>), AwsError> {
    let Some(fields) = fields else {
        return Ok((0, None));
    };
    let Some(map) = fields.as_object() else {
        return Err(AwsError::invalid_field(
            "additionalModelRequestFields",
            "must be a JSON object",
        ));
    };
    let mut top_k = 0;
    let mut seed = None;
    for (key, value) in map {
        match key.as_str() {
            "top_k" => {
                top_k = value.as_u64().filter(|k| *k <= 1000).ok_or_else(|| {
                    AwsError::invalid_field(
                        "additionalModelRequestFields.top_k",
                        "must be an integer between 0 and 1000",
                    )
                })? as usize;
            }
            "seed" => {
                seed = Some(value.as_u64().ok_or_else(|| {
                    AwsError::invalid_field(
                        "additionalModelRequestFields.seed",
                        "must be a non-negative integer",
                    )
                })?);
            }
            other => {
                return Err(AwsError::invalid_field(
                    &format!("additionalModelRequestFields.{other}"),
                    "this model accepts top_k and seed only",
                ));
            }
        }
    }
    Ok((top_k, seed))
}

/// Renders `messages` with the model's chat template and tokenizes the prompt, refusing one
/// that leaves no room to answer in the context window.
pub fn render_prompt(model: &TextModel, messages: &[ChatMessage]) -> Result<Vec<u32>, AwsError> {
    render_prompt_with(model, messages, "")
}

/// [`render_prompt`], with `answer_prefix` written after the generation prompt as the start of
/// the assistant's answer.
pub fn render_prompt_with(
    model: &TextModel,
    messages: &[ChatMessage],
    answer_prefix: &str,
) -> Result<Vec<u32>, AwsError> {
    let mut text = match model.model.chat_template() {
        Some(template) => template
            .render(messages, true, None)
            .map_err(|e| AwsError::internal(format!("chat template failed: {e}")))?,
        None => messages
            .iter()
            .map(|m| m.content.clone())
            .collect::<Vec<_>>()
            .join("\n"),
    };
    text.push_str(answer_prefix);
    tokenize_prompt(model, &text)
}

/// Tokenizes a raw prompt, refusing one that does not fit the context window.
pub fn tokenize_prompt(model: &TextModel, text: &str) -> Result<Vec<u32>, AwsError> {
    let ids = model
        .model
        .tokenizer()
        .encode(text)
        .map_err(|e| AwsError::internal(format!("tokenizer failed: {e}")))?;
    let context = model.model.config().context_length;
    if ids.len() + 1 >= context {
        return Err(AwsError::validation(format!(
            "Input is too long for requested model: the prompt is {} tokens and the context window {context}.",
            ids.len()
        )));
    }
    Ok(ids)
}

/// Queues a generation; a full queue is a ThrottlingException (retried by the SDKs).
pub fn start(
    model: &TextModel,
    prepared: Prepared,
) -> Result<UnboundedReceiver<GenerationEvent>, AwsError> {
    let (events, receiver) = tokio::sync::mpsc::unbounded_channel();
    model
        .engine
        .submit(prepared.prompt, prepared.params, events)
        .map_err(|e| match e {
            SubmitError::QueueFull(_) => AwsError::new(ErrorCode::Throttling, e.to_string()),
            SubmitError::Stopped => AwsError::new(ErrorCode::ServiceUnavailable, e.to_string()),
        })?;
    Ok(receiver)
}

/// A finished generation.
#[derive(Debug, Clone)]
pub struct Completion {
    pub text: String,
    pub tool_use: Option<ToolCall>,
    pub stop_reason: StopReason,
    pub input_tokens: usize,
    pub output_tokens: usize,
}

/// Waits for a whole generation.
pub async fn collect(
    mut events: UnboundedReceiver<GenerationEvent>,
) -> Result<Completion, AwsError> {
    let mut text = String::new();
    let mut call: Option<(String, Option<Value>)> = None;
    while let Some(event) = events.recv().await {
        match event {
            GenerationEvent::Text(piece) => text.push_str(&piece),
            GenerationEvent::ToolUseStart { name } => call = Some((name, None)),
            GenerationEvent::ToolUseDelta(_) => {}
            GenerationEvent::ToolUseEnd { input } => {
                if let Some((_, slot)) = &mut call {
                    *slot = Some(input);
                }
            }
            GenerationEvent::Done {
                stop_reason,
                input_tokens,
                output_tokens,
            } => {
                // An unfinished call (the token budget ran out) is not a call.
                let tool_use = call.and_then(|(name, input)| {
                    Some(ToolCall {
                        tool_use_id: tools::new_tool_use_id(),
                        name,
                        input: input?,
                    })
                });
                return Ok(Completion {
                    text,
                    tool_use,
                    stop_reason,
                    input_tokens,
                    output_tokens,
                });
            }
            GenerationEvent::Failed(message) => {
                return Err(AwsError::new(ErrorCode::ModelError, message));
            }
        }
    }
    Err(AwsError::new(
        ErrorCode::ModelError,
        "generation ended without a result",
    ))
}

/// Converse's response body.
pub fn converse_response(completion: &Completion, started: Instant) -> Value {
    let mut content = Vec::new();
    if completion.tool_use.is_none() || !completion.text.trim().is_empty() {
        content.push(json!({ "text": completion.text }));
    }
    if let Some(call) = &completion.tool_use {
        content.push(json!({ "toolUse": {
            "toolUseId": call.tool_use_id, "name": call.name, "input": call.input,
        } }));
    }
    json!({
        "output": { "message": { "role": "assistant", "content": content } },
        "stopReason": completion.stop_reason.as_str(),
        "usage": usage(completion.input_tokens, completion.output_tokens),
        "metrics": { "latencyMs": started.elapsed().as_millis() as u64 },
    })
}

/// What a guardrail made of a Converse call.
#[derive(Debug, Clone, Default)]
pub struct GuardrailOutcome {
    pub input_assessment: Option<Value>,
    /// One per checked chunk (a stream is checked in chunks).
    pub output_assessments: Vec<Value>,
}

impl GuardrailOutcome {
    /// Bedrock's `trace.guardrail` for this call.
    pub fn trace(&self, guardrail_id: &str) -> Value {
        let mut guardrail = serde_json::Map::new();
        if let Some(input) = &self.input_assessment {
            guardrail.insert("inputAssessment".into(), json!({ guardrail_id: input }));
        }
        if !self.output_assessments.is_empty() {
            guardrail.insert(
                "outputAssessments".into(),
                json!({ guardrail_id: self.output_assessments }),
            );
        }
        json!({ "guardrail": guardrail })
    }
}

pub fn usage(input: usize, output: usize) -> Value {
    json!({ "inputTokens": input, "outputTokens": output, "totalTokens": input + output })
}

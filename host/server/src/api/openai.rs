//! The OpenAI-compatible surface: `POST /v1/chat/completions` (streamed as server-sent events
//! with `stream: true`), `POST /v1/embeddings`, `GET /v1/models`. Errors use OpenAI's shape.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use mantle_models::constrain::Grammar;
use mantle_models::{ChatMessage, SamplingParams};
use serde::Deserialize;
use serde_json::{Value, json};

use super::blocking;
use super::stream::{channel_body, forward_events};
use crate::error::{AwsError, ErrorCode};
use crate::extract::parse_json;
use crate::inference::catalog::{ModelKind, Served};
use crate::inference::converse::{self, Prepared};
use crate::inference::engine::{GenerationEvent, GenerationParams, StopReason};
use crate::inference::tools::{self, OutputMode, Tool, ToolSet};
use crate::state::AppState;

/// An error in OpenAI's shape: `{"error": {"message", "type", "param", "code"}}`.
#[derive(Debug)]
pub struct OpenAiError(AwsError);

impl From<AwsError> for OpenAiError {
    fn from(error: AwsError) -> Self {
        Self(error)
    }
}

impl IntoResponse for OpenAiError {
    fn into_response(self) -> Response {
        let (status, kind) = match self.0.code {
            // OpenAI answers an unknown model with 404, where Bedrock says 400.
            ErrorCode::Validation
                if self.0.message == crate::inference::catalog::INVALID_MODEL_ID =>
            {
                (StatusCode::NOT_FOUND, "not_found_error")
            }
            ErrorCode::Validation => (StatusCode::BAD_REQUEST, "invalid_request_error"),
            ErrorCode::ResourceNotFound => (StatusCode::NOT_FOUND, "not_found_error"),
            ErrorCode::Throttling => (StatusCode::TOO_MANY_REQUESTS, "rate_limit_error"),
            _ => (StatusCode::INTERNAL_SERVER_ERROR, "server_error"),
        };
        let param = self.0.fields.first().map(|f| f.name.clone());
        (
            status,
            Json(json!({ "error": { "message": self.0.message, "type": kind, "param": param, "code": null } })),
        )
            .into_response()
    }
}

#[derive(Debug, Deserialize)]
struct ChatRequest {
    model: String,
    messages: Vec<ChatMessageIn>,
    #[serde(default)]
    max_tokens: Option<i64>,
    #[serde(default)]
    max_completion_tokens: Option<i64>,
    #[serde(default)]
    temperature: Option<f64>,
    #[serde(default)]
    top_p: Option<f64>,
    #[serde(default)]
    stop: Option<Stop>,
    #[serde(default)]
    stream: bool,
    #[serde(default)]
    seed: Option<u64>,
    #[serde(default)]
    n: Option<u32>,
    #[serde(default)]
    tools: Option<Vec<FunctionTool>>,
    #[serde(default)]
    tool_choice: Option<ToolChoiceIn>,
    #[serde(default)]
    response_format: Option<ResponseFormat>,
}

#[derive(Debug, Deserialize)]
struct FunctionTool {
    #[serde(rename = "type")]
    kind: String,
    function: FunctionSpec,
}

#[derive(Debug, Deserialize)]
struct FunctionSpec {
    name: String,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    parameters: Option<Value>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum ToolChoiceIn {
    Mode(String),
    Function { function: FunctionName },
}

#[derive(Debug, Deserialize)]
struct FunctionName {
    name: String,
}

#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum ResponseFormat {
    Text,
    JsonObject,
    JsonSchema { json_schema: JsonSchemaFormat },
}

#[derive(Debug, Deserialize)]
struct JsonSchemaFormat {
    #[serde(default)]
    schema: Option<Value>,
}

#[derive(Debug, Deserialize)]
struct ChatMessageIn {
    role: String,
    #[serde(default)]
    content: Option<Content>,
    #[serde(default)]
    tool_calls: Vec<ToolCallIn>,
}

#[derive(Debug, Deserialize)]
struct ToolCallIn {
    function: ToolCallFunction,
}

#[derive(Debug, Deserialize)]
struct ToolCallFunction {
    name: String,
    arguments: String,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Content {
    Text(String),
    Parts(Vec<Part>),
}

#[derive(Debug, Deserialize)]
struct Part {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    text: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Stop {
    One(String),
    Many(Vec<String>),
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

fn finish_reason(reason: StopReason) -> &'static str {
    match reason {
        StopReason::EndTurn | StopReason::StopSequence | StopReason::MalformedToolUse => "stop",
        StopReason::MaxTokens | StopReason::ContextWindowExceeded => "length",
        StopReason::GuardrailIntervened => "content_filter",
        StopReason::ToolUse => "tool_calls",
    }
}

/// `tools`, `tool_choice` and `response_format` as an output mode.
fn output_mode(request: &ChatRequest) -> Result<OutputMode, AwsError> {
    let mut tools: Vec<Tool> = Vec::new();
    for (i, tool) in request.tools.iter().flatten().enumerate() {
        if tool.kind != "function" {
            return Err(AwsError::invalid_field(
                &format!("tools[{i}].type"),
                "only `function` tools are supported",
            ));
        }
        // No parameters means a function that takes none.
        let parameters = tool.function.parameters.clone().unwrap_or_else(
            || json!({ "type": "object", "properties": {}, "additionalProperties": false }),
        );
        let tool = Tool::new(
            &format!("tools[{i}].function.name"),
            &format!("tools[{i}].function.parameters"),
            &tool.function.name,
            tool.function.description.clone(),
            &parameters,
        )?;
        if tools.iter().any(|t| t.name == tool.name) {
            return Err(AwsError::invalid_field(
                &format!("tools[{i}].function.name"),
                format!("the function name `{}` is used twice", tool.name),
            ));
        }
        tools.push(tool);
    }
    let set = (!tools.is_empty()).then(|| Arc::new(ToolSet::new(tools)));
    let needs_tools =
        || AwsError::invalid_field("tool_choice", "is only allowed when tools are specified");
    let tool_mode = match (&request.tool_choice, set) {
        (None, None) => None,
        (None, Some(set)) => Some(OutputMode::ToolsAuto(set)),
        (Some(ToolChoiceIn::Mode(mode)), set) => match (mode.as_str(), set) {
            ("none", _) => None,
            ("auto", Some(set)) => Some(OutputMode::ToolsAuto(set)),
            ("required", Some(set)) => Some(OutputMode::ToolsRequired(set)),
            ("auto" | "required", None) => return Err(needs_tools()),
            (other, _) => {
                return Err(AwsError::invalid_field(
                    "tool_choice",
                    format!("`{other}` is not one of none, auto, required"),
                ));
            }
        },
        (Some(ToolChoiceIn::Function { function }), Some(set)) => {
            let index = set.index_of(&function.name).ok_or_else(|| {
                AwsError::invalid_field(
                    "tool_choice.function.name",
                    format!("`{}` is not one of the functions in tools", function.name),
                )
            })?;
            Some(OutputMode::Tool(set, index))
        }
        (Some(ToolChoiceIn::Function { .. }), None) => return Err(needs_tools()),
    };
    let json = match &request.response_format {
        None | Some(ResponseFormat::Text) => None,
        Some(ResponseFormat::JsonObject) => Some(Arc::new(Grammar::any_object())),
        Some(ResponseFormat::JsonSchema { json_schema }) => {
            let schema = json_schema.schema.clone().unwrap_or_else(|| json!({}));
            Some(tools::compile_schema(
                "response_format.json_schema.schema",
                &schema,
            )?)
        }
    };
    Ok(match (tool_mode, json) {
        (None, None) => OutputMode::Text,
        (None, Some(grammar)) => OutputMode::Json(grammar),
        (Some(OutputMode::ToolsAuto(_)), Some(_)) => {
            return Err(AwsError::invalid_field(
                "response_format",
                "cannot be combined with tool_choice auto on this model; require a tool or drop one of them",
            ));
        }
        (Some(mode), _) => mode,
    })
}

/// The text of a message's content (text parts only).
fn content_text(content: Option<&Content>, index: usize) -> Result<String, AwsError> {
    Ok(match content {
        None => String::new(),
        Some(Content::Text(text)) => text.clone(),
        Some(Content::Parts(parts)) => {
            let mut texts = Vec::new();
            for part in parts {
                match (part.kind.as_str(), &part.text) {
                    ("text", Some(text)) => texts.push(text.clone()),
                    _ => {
                        return Err(AwsError::invalid_field(
                            &format!("messages[{index}].content"),
                            format!("content part `{}` is not supported (text only)", part.kind),
                        ));
                    }
                }
            }
            texts.join("\n")
        }
    })
}

fn chat_messages(request: &ChatRequest, output: &OutputMode) -> Result<Vec<ChatMessage>, AwsError> {
    if request.messages.is_empty() {
        return Err(AwsError::invalid_field(
            "messages",
            "must contain at least one message",
        ));
    }
    let mut messages: Vec<ChatMessage> = Vec::new();
    for (index, message) in request.messages.iter().enumerate() {
        let mut text = content_text(message.content.as_ref(), index)?;
        let role = match message.role.as_str() {
            "system" | "developer" => "system",
            "user" => "user",
            "assistant" => {
                for (j, call) in message.tool_calls.iter().enumerate() {
                    let input: Value =
                        serde_json::from_str(&call.function.arguments).map_err(|e| {
                            AwsError::invalid_field(
                                &format!("messages[{index}].tool_calls[{j}].function.arguments"),
                                format!("is not valid JSON: {e}"),
                            )
                        })?;
                    if !text.is_empty() {
                        text.push('\n');
                    }
                    text.push_str(&tools::render_call(&call.function.name, &input));
                }
                "assistant"
            }
            // Results go back to the model in a user turn, as Converse's toolResult does.
            "tool" => {
                let result = tools::render_result(&text);
                // Consecutive results go back together, in one user turn.
                let after_tool = index > 0 && request.messages[index - 1].role == "tool";
                match messages.last_mut() {
                    Some(last) if after_tool => {
                        last.content.push('\n');
                        last.content.push_str(&result);
                        continue;
                    }
                    _ => {
                        text = result;
                        "user"
                    }
                }
            }
            other => {
                return Err(AwsError::invalid_field(
                    &format!("messages[{index}].role"),
                    format!("role `{other}` is not supported"),
                ));
            }
        };
        messages.push(ChatMessage::new(role, text));
    }
    let instructions = match output {
        OutputMode::ToolsAuto(set) | OutputMode::ToolsRequired(set) | OutputMode::Tool(set, _) => {
            Some(set.instructions())
        }
        OutputMode::Json(_) => Some(match &request.response_format {
            Some(ResponseFormat::JsonSchema { json_schema }) => format!(
                "Answer with JSON only, matching this JSON Schema: {}",
                json_schema.schema.clone().unwrap_or_else(|| json!({}))
            ),
            _ => "Answer with a JSON object only.".to_owned(),
        }),
        OutputMode::Text => None,
    };
    if let Some(instructions) = instructions {
        match messages.first_mut() {
            Some(first) if first.role == "system" => {
                first.content.push_str("\n\n");
                first.content.push_str(&instructions);
            }
            _ => messages.insert(0, ChatMessage::new("system", instructions)),
        }
    }
    Ok(messages)
}

fn prepare(
    model: &crate::inference::catalog::TextModel,
    request: &ChatRequest,
) -> Result<Prepared, AwsError> {
    if request.n.is_some_and(|n| n != 1) {
        return Err(AwsError::invalid_field("n", "only n = 1 is supported"));
    }
    let output = output_mode(request)?;
    let messages = chat_messages(request, &output)?;
    let context = model.model.config().context_length;
    let max_tokens = match request.max_completion_tokens.or(request.max_tokens) {
        None => 512,
        Some(n) if n >= 1 && n as usize <= context => n as usize,
        Some(_) => {
            return Err(AwsError::invalid_field(
                "max_tokens",
                format!("must be between 1 and {context}"),
            ));
        }
    };
    let temperature = match request.temperature {
        None => 0.7,
        Some(t) if (0.0..=2.0).contains(&t) => t,
        Some(_) => {
            return Err(AwsError::invalid_field(
                "temperature",
                "must be between 0 and 2",
            ));
        }
    };
    let top_p = match request.top_p {
        None => 1.0,
        Some(p) if (0.0..=1.0).contains(&p) => p,
        Some(_) => return Err(AwsError::invalid_field("top_p", "must be between 0 and 1")),
    };
    let stop_sequences = match &request.stop {
        None => Vec::new(),
        Some(Stop::One(s)) => vec![s.clone()],
        Some(Stop::Many(v)) => v.clone(),
    };
    if stop_sequences.len() > 4 || stop_sequences.iter().any(String::is_empty) {
        return Err(AwsError::invalid_field(
            "stop",
            "up to 4 non-empty stop sequences",
        ));
    }
    let prompt = converse::render_prompt_with(model, &messages, &tools::forced_prefix(&output))?;
    Ok(Prepared {
        prompt,
        params: GenerationParams {
            max_tokens,
            sampling: SamplingParams {
                temperature: temperature as f32,
                top_p: top_p as f32,
                top_k: 0,
                seed: request.seed,
            },
            stop_sequences,
            output,
        },
    })
}

fn tool_call_id() -> String {
    format!("call_{}", uuid::Uuid::new_v4().simple())
}

pub async fn chat_completions(
    State(app): State<AppState>,
    body: Bytes,
) -> Result<Response, OpenAiError> {
    let request: ChatRequest = parse_json(&body)?;
    let model = app.models.text(&request.model)?.clone();
    let prepared = prepare(&model, &request)?;
    let input_tokens = prepared.prompt.len();
    let events = converse::start(&model, prepared)?;
    let id = format!("chatcmpl-{}", uuid::Uuid::new_v4().simple());
    let created = now();
    if !request.stream {
        let completion = converse::collect(events).await?;
        let mut message = json!({ "role": "assistant", "content": completion.text });
        if let Some(call) = &completion.tool_use {
            if completion.text.trim().is_empty() {
                message["content"] = Value::Null;
            }
            message["tool_calls"] = json!([{
                "id": tool_call_id(),
                "type": "function",
                "function": { "name": call.name, "arguments": call.input.to_string() },
            }]);
        }
        return Ok(Json(json!({
            "id": id,
            "object": "chat.completion",
            "created": created,
            "model": model.info.id,
            "choices": [{
                "index": 0,
                "message": message,
                "finish_reason": finish_reason(completion.stop_reason),
            }],
            "usage": {
                "prompt_tokens": completion.input_tokens,
                "completion_tokens": completion.output_tokens,
                "total_tokens": completion.input_tokens + completion.output_tokens,
            },
        }))
        .into_response());
    }
    let (frames, body) = channel_body();
    let model_id = model.info.id.clone();
    let chunk = move |delta: Value, finish: Option<&str>, usage: Option<Value>| {
        let mut chunk = json!({
            "id": id,
            "object": "chat.completion.chunk",
            "created": created,
            "model": model_id,
            "choices": [{ "index": 0, "delta": delta, "finish_reason": finish }],
        });
        if let Some(usage) = usage {
            chunk["usage"] = usage;
        }
        Bytes::from(format!("data: {chunk}\n\n"))
    };
    frames
        .send(chunk(
            json!({ "role": "assistant", "content": "" }),
            None,
            None,
        ))
        .ok();
    tokio::spawn(forward_events(events, frames, move |event| match event {
        GenerationEvent::Text(text) => vec![chunk(json!({ "content": text }), None, None)],
        GenerationEvent::ToolUseStart { name } => vec![chunk(
            json!({ "tool_calls": [{
                "index": 0, "id": tool_call_id(), "type": "function",
                "function": { "name": name, "arguments": "" },
            }] }),
            None,
            None,
        )],
        GenerationEvent::ToolUseDelta(arguments) => vec![chunk(
            json!({ "tool_calls": [{ "index": 0, "function": { "arguments": arguments } }] }),
            None,
            None,
        )],
        GenerationEvent::ToolUseEnd { .. } => Vec::new(),
        GenerationEvent::Done {
            stop_reason,
            output_tokens,
            ..
        } => vec![
            chunk(
                json!({}),
                Some(finish_reason(stop_reason)),
                Some(json!({
                    "prompt_tokens": input_tokens,
                    "completion_tokens": output_tokens,
                    "total_tokens": input_tokens + output_tokens,
                })),
            ),
            Bytes::from_static(b"data: [DONE]\n\n"),
        ],
        GenerationEvent::Failed(message) => vec![Bytes::from(format!(
            "data: {}\n\n",
            json!({ "error": { "message": message, "type": "server_error" } })
        ))],
    }));
    Ok((
        [
            (header::CONTENT_TYPE, "text/event-stream"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
        .into_response())
}

#[derive(Debug, Deserialize)]
struct EmbeddingsRequest {
    model: String,
    input: EmbeddingInput,
    #[serde(default)]
    encoding_format: Option<String>,
    #[serde(default)]
    dimensions: Option<usize>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum EmbeddingInput {
    One(String),
    Many(Vec<String>),
}

/// The most texts one embeddings request may carry.
const MAX_EMBEDDING_INPUTS: usize = 256;

pub async fn embeddings(State(app): State<AppState>, body: Bytes) -> Result<Response, OpenAiError> {
    let request: EmbeddingsRequest = parse_json(&body)?;
    let model = match app.models.resolve(&request.model)? {
        Served::Embedding(model) => model.clone(),
        Served::Text(_) => {
            return Err(AwsError::invalid_field("model", "not an embedding model").into());
        }
    };
    let base64 = match request.encoding_format.as_deref() {
        None | Some("float") => false,
        Some("base64") => true,
        Some(_) => {
            return Err(AwsError::invalid_field("encoding_format", "`float` or `base64`").into());
        }
    };
    if request.dimensions.is_some_and(|d| d != model.model.dim()) {
        return Err(AwsError::invalid_field(
            "dimensions",
            format!("this model has {} dimensions", model.model.dim()),
        )
        .into());
    }
    let texts = match request.input {
        EmbeddingInput::One(text) => vec![text],
        EmbeddingInput::Many(texts) => texts,
    };
    if texts.is_empty() || texts.len() > MAX_EMBEDDING_INPUTS || texts.iter().any(String::is_empty)
    {
        return Err(AwsError::invalid_field(
            "input",
            format!("1 to {MAX_EMBEDDING_INPUTS} non-empty strings"),
        )
        .into());
    }
    let id = model.info.id.clone();
    let (vectors, tokens) = blocking(move || {
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        let tokens: usize = texts
            .iter()
            .map(|t| {
                model
                    .model
                    .tokenizer()
                    .encode(t)
                    .map(|ids| ids.len())
                    .unwrap_or(0)
            })
            .sum();
        model
            .model
            .embed(&refs)
            .map(|v| (v, tokens))
            .map_err(|e| AwsError::internal(format!("embedding failed: {e}")))
    })
    .await?;
    let data: Vec<Value> = vectors
        .into_iter()
        .enumerate()
        .map(|(index, embedding)| {
            // OpenAI's base64 form: the little-endian f32 array, base64-encoded.
            let embedding = if base64 {
                let bytes: Vec<u8> = embedding.iter().flat_map(|x| x.to_le_bytes()).collect();
                Value::from(base64::engine::general_purpose::STANDARD.encode(bytes))
            } else {
                Value::from(embedding)
            };
            json!({ "object": "embedding", "index": index, "embedding": embedding })
        })
        .collect();
    Ok(Json(json!({
        "object": "list",
        "data": data,
        "model": id,
        "usage": { "prompt_tokens": tokens, "total_tokens": tokens },
    }))
    .into_response())
}

pub async fn models(State(app): State<AppState>) -> impl IntoResponse {
    let data: Vec<Value> = app
        .models
        .list()
        .map(|served| {
            let info = served.info();
            json!({
                "id": info.id,
                "object": "model",
                "created": 0,
                "owned_by": info.provider,
                "kind": if info.kind == ModelKind::Text { "text" } else { "embedding" },
            })
        })
        .collect();
    Json(json!({ "object": "list", "data": data }))
}

//! The OpenAI-compatible surface: `POST /v1/chat/completions` (streamed as server-sent events
//! with `stream: true`), `POST /v1/embeddings`, `GET /v1/models`. Errors use OpenAI's shape.

use std::time::{SystemTime, UNIX_EPOCH};

use axum::Extension;
use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use mantle_inference::{
    Content, Conversation, Field, GenerateRequest, GenerationEvent, InferenceError,
    InferenceParams, ModelKind, Prompt, ResponseFormat as Format, Role, SamplingDefaults,
    StopReason, ToolChoice, ToolResultPart, ToolSpec, Tools, Turn,
};
use serde::Deserialize;
use serde_json::{Value, json};

use super::stream::{channel_body, forward_events};
use crate::auth::Caller;
use crate::error::{AwsError, ErrorCode, inference_error};
use crate::extract::parse_json;
use crate::state::AppState;

/// An error in OpenAI's shape: `{"error": {"message", "type", "param", "code"}}`.
#[derive(Debug)]
pub(crate) struct OpenAiError(AwsError);

impl From<AwsError> for OpenAiError {
    fn from(error: AwsError) -> Self {
        Self(error)
    }
}

/// Errors that name no request field (the model, the engine, the generation). An unknown
/// model is a 404 here, as OpenAI answers it (Bedrock's surfaces answer 400).
impl From<InferenceError> for OpenAiError {
    fn from(error: InferenceError) -> Self {
        match error {
            InferenceError::UnknownModel { model_id, .. } => Self(AwsError::not_found(format!(
                "The model `{model_id}` does not exist or you do not have access to it."
            ))),
            error => Self(chat_error(error, &[])),
        }
    }
}

impl IntoResponse for OpenAiError {
    fn into_response(self) -> Response {
        let (status, kind) = match self.0.code {
            ErrorCode::Validation => (StatusCode::BAD_REQUEST, "invalid_request_error"),
            ErrorCode::ResourceNotFound => (StatusCode::NOT_FOUND, "not_found_error"),
            ErrorCode::Throttling => (StatusCode::TOO_MANY_REQUESTS, "rate_limit_error"),
            // OpenAI's words: 401 for a key it does not accept, 403 for one without permission.
            ErrorCode::MissingAuthenticationToken
            | ErrorCode::UnrecognizedClient
            | ErrorCode::IncompleteSignature
            | ErrorCode::InvalidSignature => (StatusCode::UNAUTHORIZED, "authentication_error"),
            ErrorCode::AccessDenied => (StatusCode::FORBIDDEN, "permission_error"),
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
    content: Option<MessageContent>,
    #[serde(default)]
    tool_calls: Vec<ToolCallIn>,
    #[serde(default)]
    tool_call_id: Option<String>,
}

#[derive(Debug, Deserialize)]
struct ToolCallIn {
    #[serde(default)]
    id: Option<String>,
    function: ToolCallFunction,
}

#[derive(Debug, Deserialize)]
struct ToolCallFunction {
    name: String,
    arguments: String,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum MessageContent {
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

/// The request in the typed form, with the message index each turn starts at (consecutive
/// messages of one role are one turn) so errors can name the message.
fn to_generate(request: &ChatRequest) -> Result<(GenerateRequest, Vec<usize>), AwsError> {
    if request.n.is_some_and(|n| n != 1) {
        return Err(AwsError::invalid_field("n", "only n = 1 is supported"));
    }
    let (conversation, starts) = conversation(request)?;
    let stop_sequences = match &request.stop {
        None => Vec::new(),
        Some(Stop::One(s)) => vec![s.clone()],
        Some(Stop::Many(v)) => v.clone(),
    };
    let generate = GenerateRequest {
        prompt: Prompt::Chat(conversation),
        tools: tools(request)?,
        response_format: match &request.response_format {
            None | Some(ResponseFormat::Text) => None,
            Some(ResponseFormat::JsonObject) => Some(Format::JsonObject),
            Some(ResponseFormat::JsonSchema { json_schema }) => Some(Format::JsonSchema(
                json_schema.schema.clone().unwrap_or_else(|| json!({})),
            )),
        },
        params: InferenceParams {
            max_tokens: request.max_completion_tokens.or(request.max_tokens),
            temperature: request.temperature,
            top_p: request.top_p,
            top_k: None,
            seed: request.seed,
            stop_sequences,
            defaults: SamplingDefaults::OPENAI,
        },
    };
    Ok((generate, starts))
}

/// `tools` and `tool_choice`.
fn tools(request: &ChatRequest) -> Result<Option<Tools>, AwsError> {
    let mut specs = Vec::new();
    for (i, tool) in request.tools.iter().flatten().enumerate() {
        if tool.kind != "function" {
            return Err(AwsError::invalid_field(
                &format!("tools[{i}].type"),
                "only `function` tools are supported",
            ));
        }
        specs.push(ToolSpec {
            name: tool.function.name.clone(),
            description: tool.function.description.clone(),
            // No parameters means a function that takes none.
            input_schema: tool.function.parameters.clone().unwrap_or_else(
                || json!({ "type": "object", "properties": {}, "additionalProperties": false }),
            ),
        });
    }
    let needs_tools =
        || AwsError::invalid_field("tool_choice", "is only allowed when tools are specified");
    let choice = match &request.tool_choice {
        None => ToolChoice::Auto,
        Some(ToolChoiceIn::Mode(mode)) => match mode.as_str() {
            "none" => ToolChoice::None,
            "auto" => ToolChoice::Auto,
            "required" => ToolChoice::Any,
            other => {
                return Err(AwsError::invalid_field(
                    "tool_choice",
                    format!("`{other}` is not one of none, auto, required"),
                ));
            }
        },
        Some(ToolChoiceIn::Function { function }) => ToolChoice::Tool(function.name.clone()),
    };
    if specs.is_empty() {
        return match (&request.tool_choice, choice) {
            (None, _) | (_, ToolChoice::None) => Ok(None),
            _ => Err(needs_tools()),
        };
    }
    Ok(Some(Tools { specs, choice }))
}

/// The text of a message's content (text parts only).
fn content_text(content: Option<&MessageContent>, index: usize) -> Result<String, AwsError> {
    Ok(match content {
        None => String::new(),
        Some(MessageContent::Text(text)) => text.clone(),
        Some(MessageContent::Parts(parts)) => {
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

/// System and developer messages become system instructions; tool results go back to the
/// model in a user turn, as Converse's toolResult does; consecutive messages of one role are
/// one turn.
fn conversation(request: &ChatRequest) -> Result<(Conversation, Vec<usize>), AwsError> {
    if request.messages.is_empty() {
        return Err(AwsError::invalid_field(
            "messages",
            "must contain at least one message",
        ));
    }
    let mut conversation = Conversation::default();
    let mut starts = Vec::new();
    for (index, message) in request.messages.iter().enumerate() {
        let text = content_text(message.content.as_ref(), index)?;
        let (role, content) = match message.role.as_str() {
            "system" | "developer" => {
                conversation.system.push(text);
                continue;
            }
            "user" => (Role::User, vec![Content::Text(text)]),
            "assistant" => {
                let mut content = Vec::new();
                if !text.is_empty() || message.tool_calls.is_empty() {
                    content.push(Content::Text(text));
                }
                for (j, call) in message.tool_calls.iter().enumerate() {
                    let input: Value =
                        serde_json::from_str(&call.function.arguments).map_err(|e| {
                            AwsError::invalid_field(
                                &format!("messages[{index}].tool_calls[{j}].function.arguments"),
                                format!("is not valid JSON: {e}"),
                            )
                        })?;
                    content.push(Content::ToolUse {
                        id: call.id.clone().unwrap_or_default(),
                        name: call.function.name.clone(),
                        input,
                    });
                }
                (Role::Assistant, content)
            }
            "tool" => (
                Role::User,
                vec![Content::ToolResult {
                    id: message.tool_call_id.clone().unwrap_or_default(),
                    content: vec![ToolResultPart::Text(text)],
                    is_error: false,
                }],
            ),
            other => {
                return Err(AwsError::invalid_field(
                    &format!("messages[{index}].role"),
                    format!("role `{other}` is not supported"),
                ));
            }
        };
        match conversation.turns.last_mut() {
            Some(last) if last.role == role => last.content.extend(content),
            _ => {
                conversation.turns.push(Turn { role, content });
                starts.push(index);
            }
        }
    }
    Ok((conversation, starts))
}

/// `error` as OpenAI clients read it, its field named as the request spells it.
fn chat_error(error: InferenceError, starts: &[usize]) -> AwsError {
    let message = |turn: &usize| starts.get(*turn).copied().unwrap_or(*turn);
    let under = |base: String, path: &str| {
        if path.is_empty() {
            base
        } else {
            format!("{base}.{path}")
        }
    };
    inference_error(error, |field| match field {
        Field::MaxTokens => "max_tokens".into(),
        Field::Temperature => "temperature".into(),
        Field::TopP => "top_p".into(),
        Field::TopK => "top_k".into(),
        Field::StopSequences | Field::StopSequence(_) => "stop".into(),
        Field::Messages | Field::Prompt => "messages".into(),
        Field::Content { turn } | Field::Block { turn, .. } => {
            format!("messages[{}].content", message(turn))
        }
        Field::ToolUseName { turn, .. } => format!("messages[{}].tool_calls", message(turn)),
        Field::Tools => "tools".into(),
        Field::ToolName { tool } => format!("tools[{tool}].function.name"),
        Field::ToolSchema { tool, path } => {
            under(format!("tools[{tool}].function.parameters"), path)
        }
        Field::ToolChoiceName => "tool_choice.function.name".into(),
        Field::ResponseFormat => "response_format".into(),
        Field::ResponseSchema { path } => under("response_format.json_schema.schema".into(), path),
        Field::EmbeddingInput(_) | Field::EmbeddingInputs => "input".into(),
    })
}

fn tool_call_id() -> String {
    format!("call_{}", uuid::Uuid::new_v4().simple())
}

pub(crate) async fn chat_completions(
    State(app): State<AppState>,
    caller: Option<Extension<Caller>>,
    body: Bytes,
) -> Result<Response, OpenAiError> {
    let request: ChatRequest = parse_json(&body)?;
    // The model is named in the body, so the route's layer cannot check it.
    if let Some(Extension(caller)) = &caller {
        let action = if request.stream {
            "bedrock:InvokeModelWithResponseStream"
        } else {
            "bedrock:InvokeModel"
        };
        caller
            .principal
            .authorize(action, &caller.model_arn(&request.model))
            .map_err(AwsError::from)?;
    }
    let model = app.models.text(&request.model)?.clone();
    let (generate, starts) = to_generate(&request)?;
    let generation = model
        .generate(&generate)
        .map_err(|e| chat_error(e, &starts))?;
    let input_tokens = generation.input_tokens();
    let id = format!("chatcmpl-{}", uuid::Uuid::new_v4().simple());
    let created = now();
    if !request.stream {
        let completion = generation.collect().await?;
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
    tokio::spawn(forward_events(
        generation.into_events(),
        frames,
        move |event| match event {
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
        },
    ));
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

pub(crate) async fn embeddings(
    State(app): State<AppState>,
    caller: Option<Extension<Caller>>,
    body: Bytes,
) -> Result<Response, OpenAiError> {
    let request: EmbeddingsRequest = parse_json(&body)?;
    if let Some(Extension(caller)) = &caller {
        caller
            .principal
            .authorize("bedrock:InvokeModel", &caller.model_arn(&request.model))
            .map_err(AwsError::from)?;
    }
    let model = app.models.embedding(&request.model)?.clone();
    let base64 = match request.encoding_format.as_deref() {
        None | Some("float") => false,
        Some("base64") => true,
        Some(_) => {
            return Err(AwsError::invalid_field("encoding_format", "`float` or `base64`").into());
        }
    };
    if request.dimensions.is_some_and(|d| d != model.dimensions()) {
        return Err(AwsError::invalid_field(
            "dimensions",
            format!("this model has {} dimensions", model.dimensions()),
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
    let embeddings = model.embed(texts).await.map_err(|e| chat_error(e, &[]))?;
    let (vectors, tokens) = (embeddings.vectors, embeddings.input_tokens);
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

pub(crate) async fn models(State(app): State<AppState>) -> impl IntoResponse {
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

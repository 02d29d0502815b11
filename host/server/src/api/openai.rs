//! The OpenAI-compatible surface: `POST /v1/chat/completions` (streamed as server-sent events
//! with `stream: true`), `POST /v1/embeddings`, `GET /v1/models`. Errors use OpenAI's shape.

use std::time::{SystemTime, UNIX_EPOCH};

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
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
    tools: Option<Value>,
}

#[derive(Debug, Deserialize)]
struct ChatMessageIn {
    role: String,
    content: Content,
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
        StopReason::EndTurn | StopReason::StopSequence => "stop",
        StopReason::MaxTokens | StopReason::ContextWindowExceeded => "length",
        StopReason::GuardrailIntervened => "content_filter",
    }
}

fn prepare(
    model: &crate::inference::catalog::TextModel,
    request: &ChatRequest,
) -> Result<Prepared, AwsError> {
    if request.tools.is_some() {
        return Err(AwsError::invalid_field(
            "tools",
            "tool calling is not supported on this server yet",
        ));
    }
    if request.n.is_some_and(|n| n != 1) {
        return Err(AwsError::invalid_field("n", "only n = 1 is supported"));
    }
    if request.messages.is_empty() {
        return Err(AwsError::invalid_field(
            "messages",
            "must contain at least one message",
        ));
    }
    let mut messages = Vec::new();
    for (index, message) in request.messages.iter().enumerate() {
        let role = match message.role.as_str() {
            "system" | "developer" => "system",
            "user" => "user",
            "assistant" => "assistant",
            other => {
                return Err(AwsError::invalid_field(
                    &format!("messages[{index}].role"),
                    format!("role `{other}` is not supported"),
                ));
            }
        };
        let text = match &message.content {
            Content::Text(text) => text.clone(),
            Content::Parts(parts) => {
                let mut texts = Vec::new();
                for part in parts {
                    match (part.kind.as_str(), &part.text) {
                        ("text", Some(text)) => texts.push(text.clone()),
                        _ => {
                            return Err(AwsError::invalid_field(
                                &format!("messages[{index}].content"),
                                format!(
                                    "content part `{}` is not supported (text only)",
                                    part.kind
                                ),
                            ));
                        }
                    }
                }
                texts.join("\n")
            }
        };
        messages.push(ChatMessage::new(role, text));
    }
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
    let prompt = converse::render_prompt(model, &messages)?;
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
        },
    })
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
        return Ok(Json(json!({
            "id": id,
            "object": "chat.completion",
            "created": created,
            "model": model.info.id,
            "choices": [{
                "index": 0,
                "message": { "role": "assistant", "content": completion.text },
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

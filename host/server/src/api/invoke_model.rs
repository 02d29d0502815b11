//! bedrock-runtime InvokeModel `POST /model/{modelId}/invoke` and
//! InvokeModelWithResponseStream `POST /model/{modelId}/invoke-with-response-stream`, with the
//! documented native bodies: Llama-style text (`prompt`, `max_gen_len`, `temperature`, `top_p`)
//! and Titan-embeddings-style (`inputText`, `dimensions`, `normalize`).

use std::time::Instant;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::HeaderValue;
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use mantle_models::SamplingParams;
use serde::Deserialize;
use serde_json::{Value, json};

use super::blocking;
use super::stream::{eventstream_response, forward_events};
use crate::error::AwsError;
use crate::eventstream;
use crate::extract::parse_json;
use crate::inference::catalog::{EmbeddingModel, Served, TextModel};
use crate::inference::converse::{self, Prepared};
use crate::inference::engine::{GenerationEvent, GenerationParams, StopReason};
use crate::inference::tools::OutputMode;
use crate::state::AppState;

/// A Llama-style text body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TextBody {
    pub prompt: String,
    #[serde(default)]
    pub max_gen_len: Option<i64>,
    #[serde(default)]
    pub temperature: Option<f64>,
    #[serde(default)]
    pub top_p: Option<f64>,
    #[serde(default)]
    pub top_k: Option<u64>,
    #[serde(default)]
    pub seed: Option<u64>,
}

/// A Titan-embeddings-style body.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EmbeddingBody {
    pub input_text: String,
    #[serde(default)]
    pub dimensions: Option<usize>,
    #[serde(default)]
    pub normalize: Option<bool>,
    #[serde(default)]
    pub embedding_types: Option<Vec<String>>,
}

fn llama_stop_reason(reason: StopReason) -> &'static str {
    match reason {
        StopReason::EndTurn
        | StopReason::StopSequence
        | StopReason::GuardrailIntervened
        | StopReason::ToolUse
        | StopReason::MalformedToolUse => "stop",
        StopReason::MaxTokens | StopReason::ContextWindowExceeded => "length",
    }
}

/// Checks a text body and tokenizes its prompt (used verbatim: Llama bodies carry their own
/// formatting).
pub fn prepare_text(model: &TextModel, body: &[u8]) -> Result<Prepared, AwsError> {
    let body: TextBody = parse_json(body)?;
    let context = model.model.config().context_length;
    let max_tokens = match body.max_gen_len {
        None => 512,
        Some(n) if n >= 1 && (n as usize) <= context => n as usize,
        Some(_) => {
            return Err(AwsError::invalid_field(
                "max_gen_len",
                format!("must be between 1 and {context}"),
            ));
        }
    };
    let temperature = converse::unit_interval("temperature", body.temperature, 0.5)?;
    let top_p = converse::unit_interval("top_p", body.top_p, 0.9)?;
    let prompt = converse::tokenize_prompt(model, &body.prompt)?;
    Ok(Prepared {
        prompt,
        params: GenerationParams {
            max_tokens,
            sampling: SamplingParams {
                temperature: temperature as f32,
                top_p: top_p as f32,
                top_k: body.top_k.unwrap_or(0) as usize,
                seed: body.seed,
            },
            stop_sequences: Vec::new(),
            output: OutputMode::Text,
        },
    })
}

/// Embeds an embedding body; returns the response body and the input token count.
pub fn embed(model: &EmbeddingModel, body: &[u8]) -> Result<(Value, usize), AwsError> {
    let body: EmbeddingBody = parse_json(body)?;
    let dim = model.model.dim();
    if let Some(dimensions) = body.dimensions
        && dimensions != dim
    {
        return Err(AwsError::invalid_field(
            "dimensions",
            format!("this model produces {dim}-dimensional embeddings only"),
        ));
    }
    if body.normalize == Some(false) {
        return Err(AwsError::invalid_field(
            "normalize",
            "this model returns L2-normalized embeddings only",
        ));
    }
    if let Some(types) = &body.embedding_types
        && types.iter().any(|t| t != "float")
    {
        return Err(AwsError::invalid_field(
            "embeddingTypes",
            "only `float` is supported",
        ));
    }
    if body.input_text.is_empty() {
        return Err(AwsError::invalid_field(
            "inputText",
            "Member must have length greater than or equal to 1",
        ));
    }
    let tokens = model
        .model
        .tokenizer()
        .encode(&body.input_text)
        .map_err(|e| AwsError::internal(e.to_string()))?
        .len();
    let vectors = model
        .model
        .embed(&[body.input_text.as_str()])
        .map_err(|e| AwsError::internal(format!("embedding failed: {e}")))?;
    let embedding = vectors.into_iter().next().unwrap_or_default();
    Ok((
        json!({
            "embedding": embedding,
            "embeddingsByType": { "float": embedding },
            "inputTextTokenCount": tokens,
        }),
        tokens,
    ))
}

fn with_token_headers(
    mut response: Response,
    input: usize,
    output: usize,
    started: Instant,
) -> Response {
    let headers = response.headers_mut();
    for (name, value) in [
        ("x-amzn-bedrock-input-token-count", input.to_string()),
        ("x-amzn-bedrock-output-token-count", output.to_string()),
        (
            "x-amzn-bedrock-invocation-latency",
            started.elapsed().as_millis().to_string(),
        ),
    ] {
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.insert(name, value);
        }
    }
    response
}

pub async fn invoke_model(
    State(app): State<AppState>,
    Path(model_id): Path<String>,
    body: Bytes,
) -> Result<Response, AwsError> {
    let started = Instant::now();
    match app.models.resolve(&model_id)?.clone() {
        Served::Text(model) => {
            let prepared = prepare_text(&model, &body)?;
            let completion = converse::collect(converse::start(&model, prepared)?).await?;
            let response = Json(json!({
                "generation": completion.text,
                "prompt_token_count": completion.input_tokens,
                "generation_token_count": completion.output_tokens,
                "stop_reason": llama_stop_reason(completion.stop_reason),
            }))
            .into_response();
            Ok(with_token_headers(
                response,
                completion.input_tokens,
                completion.output_tokens,
                started,
            ))
        }
        Served::Embedding(model) => {
            let (body, tokens) = blocking(move || embed(&model, &body)).await?;
            Ok(with_token_headers(
                Json(body).into_response(),
                tokens,
                0,
                started,
            ))
        }
    }
}

pub async fn invoke_model_with_response_stream(
    State(app): State<AppState>,
    Path(model_id): Path<String>,
    body: Bytes,
) -> Result<Response, AwsError> {
    let started = Instant::now();
    let model = match app.models.resolve(&model_id)? {
        Served::Text(model) => model.clone(),
        Served::Embedding(_) => {
            return Err(AwsError::validation(format!(
                "Model {model_id} does not support response streaming."
            )));
        }
    };
    let prepared = prepare_text(&model, &body)?;
    let input_tokens = prepared.prompt.len();
    let events = converse::start(&model, prepared)?;
    let (frames, response) = eventstream_response();
    let mut generated = 0usize;
    let mut first = true;
    tokio::spawn(forward_events(events, frames, move |event| {
        let chunk = |payload: Value| {
            let bytes = base64::engine::general_purpose::STANDARD.encode(payload.to_string());
            eventstream::event("chunk", &json!({ "bytes": bytes }))
        };
        let prompt_count = if std::mem::take(&mut first) {
            Some(input_tokens)
        } else {
            None
        };
        match event {
            GenerationEvent::Text(text) => {
                generated += 1;
                vec![chunk(json!({
                    "generation": text,
                    "prompt_token_count": prompt_count,
                    "generation_token_count": generated,
                    "stop_reason": null,
                }))]
            }
            GenerationEvent::Done {
                stop_reason,
                input_tokens,
                output_tokens,
            } => vec![chunk(json!({
                "generation": "",
                "prompt_token_count": prompt_count,
                "generation_token_count": output_tokens,
                "stop_reason": llama_stop_reason(stop_reason),
                "amazon-bedrock-invocationMetrics": {
                    "inputTokenCount": input_tokens,
                    "outputTokenCount": output_tokens,
                    "invocationLatency": started.elapsed().as_millis() as u64,
                    "firstByteLatency": started.elapsed().as_millis() as u64,
                },
            }))],
            GenerationEvent::Failed(message) => {
                vec![eventstream::exception(
                    "modelStreamErrorException",
                    &message,
                )]
            }
            // Native Llama bodies carry no tools.
            GenerationEvent::ToolUseStart { .. }
            | GenerationEvent::ToolUseDelta(_)
            | GenerationEvent::ToolUseEnd { .. } => Vec::new(),
        }
    }));
    Ok(response)
}

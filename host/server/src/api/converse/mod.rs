//! bedrock-runtime Converse `POST /model/{modelId}/converse` and ConverseStream
//! `POST /model/{modelId}/converse-stream`.
//!
//! `guardrailConfig` is applied by [`guarded`]; stream framing lives in [`frames`].

mod frames;
mod guarded;
pub(crate) mod prompt;
mod wire;

pub(crate) use guarded::{Assessments, generate_prepared};
pub(crate) use wire::{
    ConverseRequest, FieldNames, GuardrailConfig, GuardrailTrace, Latency, TierType,
};

use std::time::Instant;

use axum::Json;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::stream::{eventstream_response, forward_events};
use mantle_inference::GenerationEvent;

use crate::error::AwsError;
use crate::eventstream;
use crate::extract::AwsJson;
use crate::state::AppState;
use frames::BlockFrames;

pub(crate) async fn converse(
    State(app): State<AppState>,
    Path(model_id): Path<String>,
    AwsJson(mut request): AwsJson<ConverseRequest>,
) -> Result<impl IntoResponse, AwsError> {
    let started = Instant::now();
    request.read_documents().await?;
    let model = prompt::resolve(&app, &model_id, &mut request)?;
    let (completion, outcome) = guarded::generate(&app, &model, &request).await?;
    metrics::counter!("mantle_tokens_total", "model" => model.info.id.clone(), "direction" => "output")
        .increment(completion.output_tokens as u64);
    let mut body = wire::converse_response(&completion, started.elapsed().as_millis() as u64);
    request.echo(&mut body);
    if let Some(trace) = guarded::trace(request.guardrail_config.as_ref(), &outcome) {
        body["trace"] = trace;
    }
    Ok(Json(body))
}

pub(crate) async fn converse_stream(
    State(app): State<AppState>,
    Path(model_id): Path<String>,
    AwsJson(mut request): AwsJson<ConverseRequest>,
) -> Result<Response, AwsError> {
    let started = Instant::now();
    request.read_documents().await?;
    let model = prompt::resolve(&app, &model_id, &mut request)?;
    let message_start = eventstream::event("messageStart", &json!({ "role": "assistant" }));
    let mut blocks = BlockFrames::new(started, &request);
    if request.guardrail_config.is_some() {
        let (frames, body) = eventstream_response();
        frames.send(message_start).ok();
        guarded::stream(app, &model, request, frames, blocks).await?;
        return Ok(body);
    }
    let mapped = request.to_generate()?;
    let generation = model
        .generate(&mapped.request)
        .map_err(|e| mapped.names.error(e))?;
    let (frames, body) = eventstream_response();
    frames.send(message_start).ok();
    tokio::spawn(forward_events(
        generation.into_events(),
        frames,
        move |event| match event {
            GenerationEvent::Text(text) => blocks.text(&text),
            event @ (GenerationEvent::ToolUseStart { .. }
            | GenerationEvent::ToolUseDelta(_)
            | GenerationEvent::ToolUseEnd { .. }) => blocks.tool_event(&event),
            GenerationEvent::Done {
                stop_reason,
                input_tokens,
                output_tokens,
            } => blocks.done(stop_reason, input_tokens, output_tokens, None),
            GenerationEvent::Failed(message) => {
                vec![eventstream::exception(
                    "modelStreamErrorException",
                    &message,
                )]
            }
        },
    ));
    Ok(body)
}

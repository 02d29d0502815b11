//! bedrock-runtime Converse `POST /model/{modelId}/converse` and ConverseStream
//! `POST /model/{modelId}/converse-stream`.

use std::time::Instant;

use axum::Json;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::stream::{eventstream_response, forward_events};
use crate::error::AwsError;
use crate::eventstream;
use crate::extract::AwsJson;
use crate::inference::converse::{self, ConverseRequest, usage};
use crate::inference::engine::GenerationEvent;
use crate::state::AppState;

pub async fn converse(
    State(app): State<AppState>,
    Path(model_id): Path<String>,
    AwsJson(request): AwsJson<ConverseRequest>,
) -> Result<impl IntoResponse, AwsError> {
    let started = Instant::now();
    let model = app.models.text(&model_id)?.clone();
    let prepared = request.prepare(&model)?;
    let completion = converse::collect(converse::start(&model, prepared)?).await?;
    metrics::counter!("mantle_tokens_total", "model" => model.info.id.clone(), "direction" => "output")
        .increment(completion.output_tokens as u64);
    Ok(Json(converse::converse_response(&completion, started)))
}

pub async fn converse_stream(
    State(app): State<AppState>,
    Path(model_id): Path<String>,
    AwsJson(request): AwsJson<ConverseRequest>,
) -> Result<Response, AwsError> {
    let started = Instant::now();
    let model = app.models.text(&model_id)?.clone();
    let prepared = request.prepare(&model)?;
    let events = converse::start(&model, prepared)?;
    let (frames, body) = eventstream_response();
    frames
        .send(eventstream::event(
            "messageStart",
            &json!({ "role": "assistant" }),
        ))
        .ok();
    tokio::spawn(forward_events(events, frames, move |event| match event {
        GenerationEvent::Text(text) => vec![eventstream::event(
            "contentBlockDelta",
            &json!({ "contentBlockIndex": 0, "delta": { "text": text } }),
        )],
        GenerationEvent::Done {
            stop_reason,
            input_tokens,
            output_tokens,
        } => vec![
            eventstream::event("contentBlockStop", &json!({ "contentBlockIndex": 0 })),
            eventstream::event(
                "messageStop",
                &json!({ "stopReason": stop_reason.as_str() }),
            ),
            eventstream::event(
                "metadata",
                &json!({
                    "usage": usage(input_tokens, output_tokens),
                    "metrics": { "latencyMs": started.elapsed().as_millis() as u64 },
                }),
            ),
        ],
        GenerationEvent::Failed(message) => {
            vec![eventstream::exception(
                "modelStreamErrorException",
                &message,
            )]
        }
    }));
    Ok(body)
}

//! bedrock-runtime Converse `POST /model/{modelId}/converse` and ConverseStream
//! `POST /model/{modelId}/converse-stream`.
//!
//! With `guardrailConfig`, the guardrail checks the input before generation (a block answers
//! with the guardrail's blocked-input message) and the output after it (a block or a mask
//! replaces the text), and `stopReason` is `guardrail_intervened`. A guarded stream is
//! generated whole, checked, then streamed — in both `sync` and `async` modes.

use std::time::Instant;

use axum::Json;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::blocking;
use super::stream::{eventstream_response, forward_events};
use crate::error::AwsError;
use crate::eventstream;
use crate::extract::AwsJson;
use crate::guardrails::apply::{
    ApplyGuardrailRequest, ContentBlock, ContentSource, OutputScope, TextContent,
};
use crate::inference::catalog::TextModel;
use crate::inference::converse::{
    self, Completion, ConverseRequest, GuardrailConfig, GuardrailOutcome, GuardrailTrace, usage,
};
use crate::inference::engine::{GenerationEvent, StopReason};
use crate::state::AppState;

/// Runs the guardrail over `texts`; returns its ApplyGuardrail response.
async fn check(
    app: &AppState,
    config: &GuardrailConfig,
    source: ContentSource,
    texts: Vec<String>,
) -> Result<Value, AwsError> {
    let guardrails = app.guardrails.clone();
    let (id, version) = (
        config.guardrail_identifier.clone(),
        config.guardrail_version.clone(),
    );
    let request = ApplyGuardrailRequest {
        source,
        content: texts
            .into_iter()
            .map(|text| {
                ContentBlock::Text(TextContent {
                    text,
                    qualifiers: Vec::new(),
                })
            })
            .collect(),
        output_scope: Some(OutputScope::Full),
    };
    blocking(move || guardrails.apply(&id, &version, &request)).await
}

fn intervened(result: &Value) -> bool {
    result["action"] == "GUARDRAIL_INTERVENED"
}

/// Generates a whole answer, under the request's guardrail if it has one.
async fn generate(
    app: &AppState,
    model: &TextModel,
    request: &ConverseRequest,
) -> Result<(Completion, GuardrailOutcome), AwsError> {
    let prepared = request.prepare(model)?;
    let mut outcome = GuardrailOutcome::default();
    let Some(config) = &request.guardrail_config else {
        return Ok((
            converse::collect(converse::start(model, prepared)?).await?,
            outcome,
        ));
    };
    let input_tokens = prepared.prompt.len();
    let input = check(app, config, ContentSource::Input, request.guarded_input()).await?;
    outcome.input_assessment = input["assessments"].get(0).cloned();
    if intervened(&input) && input["actionReason"] == "Guardrail blocked." {
        let text = input["outputs"][0]["text"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let completion = Completion {
            text,
            stop_reason: StopReason::GuardrailIntervened,
            input_tokens,
            output_tokens: 0,
        };
        return Ok((completion, outcome));
    }
    let mut completion = converse::collect(converse::start(model, prepared)?).await?;
    let output = check(
        app,
        config,
        ContentSource::Output,
        vec![completion.text.clone()],
    )
    .await?;
    outcome.output_assessment = output["assessments"].get(0).cloned();
    if intervened(&output) {
        let text = output["outputs"][0]["text"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        completion.text = text;
        completion.stop_reason = StopReason::GuardrailIntervened;
    }
    Ok((completion, outcome))
}

fn trace(request: &ConverseRequest, outcome: &GuardrailOutcome) -> Option<Value> {
    let config = request.guardrail_config.as_ref()?;
    match config.trace {
        Some(GuardrailTrace::Enabled | GuardrailTrace::EnabledFull) => {
            Some(outcome.trace(&config.guardrail_identifier))
        }
        _ => None,
    }
}

pub async fn converse(
    State(app): State<AppState>,
    Path(model_id): Path<String>,
    AwsJson(request): AwsJson<ConverseRequest>,
) -> Result<impl IntoResponse, AwsError> {
    let started = Instant::now();
    let model = app.models.text(&model_id)?.clone();
    let (completion, outcome) = generate(&app, &model, &request).await?;
    metrics::counter!("mantle_tokens_total", "model" => model.info.id.clone(), "direction" => "output")
        .increment(completion.output_tokens as u64);
    let mut body = converse::converse_response(&completion, started);
    if let Some(trace) = trace(&request, &outcome) {
        body["trace"] = trace;
    }
    Ok(Json(body))
}

fn closing_frames(
    stop_reason: StopReason,
    input: usize,
    output: usize,
    started: Instant,
    trace: Option<Value>,
) -> Vec<bytes::Bytes> {
    let mut metadata = json!({
        "usage": usage(input, output),
        "metrics": { "latencyMs": started.elapsed().as_millis() as u64 },
    });
    if let Some(trace) = trace {
        metadata["trace"] = trace;
    }
    vec![
        eventstream::event("contentBlockStop", &json!({ "contentBlockIndex": 0 })),
        eventstream::event(
            "messageStop",
            &json!({ "stopReason": stop_reason.as_str() }),
        ),
        eventstream::event("metadata", &metadata),
    ]
}

pub async fn converse_stream(
    State(app): State<AppState>,
    Path(model_id): Path<String>,
    AwsJson(request): AwsJson<ConverseRequest>,
) -> Result<Response, AwsError> {
    let started = Instant::now();
    let model = app.models.text(&model_id)?.clone();
    let message_start = eventstream::event("messageStart", &json!({ "role": "assistant" }));
    if request.guardrail_config.is_some() {
        let (completion, outcome) = generate(&app, &model, &request).await?;
        let (frames, body) = eventstream_response();
        frames.send(message_start).ok();
        if !completion.text.is_empty() {
            frames
                .send(eventstream::event(
                    "contentBlockDelta",
                    &json!({ "contentBlockIndex": 0, "delta": { "text": completion.text } }),
                ))
                .ok();
        }
        for frame in closing_frames(
            completion.stop_reason,
            completion.input_tokens,
            completion.output_tokens,
            started,
            trace(&request, &outcome),
        ) {
            frames.send(frame).ok();
        }
        return Ok(body);
    }
    let prepared = request.prepare(&model)?;
    let events = converse::start(&model, prepared)?;
    let (frames, body) = eventstream_response();
    frames.send(message_start).ok();
    tokio::spawn(forward_events(events, frames, move |event| match event {
        GenerationEvent::Text(text) => vec![eventstream::event(
            "contentBlockDelta",
            &json!({ "contentBlockIndex": 0, "delta": { "text": text } }),
        )],
        GenerationEvent::Done {
            stop_reason,
            input_tokens,
            output_tokens,
        } => closing_frames(stop_reason, input_tokens, output_tokens, started, None),
        GenerationEvent::Failed(message) => {
            vec![eventstream::exception(
                "modelStreamErrorException",
                &message,
            )]
        }
    }));
    Ok(body)
}

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
use crate::inference::tools;
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
            tool_use: None,
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

/// Turns a generation into ConverseStream frames, block by block: text deltas go to a text
/// block (Bedrock sends no `contentBlockStart` for text), a tool call gets its own block with
/// `contentBlockStart{toolUse}`, argument fragments and `contentBlockStop`.
struct BlockFrames {
    index: usize,
    open: bool,
    /// Some block was opened (an empty answer still closes block 0).
    any: bool,
    started: Instant,
}

impl BlockFrames {
    fn new(started: Instant) -> Self {
        Self {
            index: 0,
            open: false,
            any: false,
            started,
        }
    }

    fn text(&mut self, text: &str) -> Vec<bytes::Bytes> {
        self.open = true;
        self.any = true;
        vec![eventstream::event(
            "contentBlockDelta",
            &json!({ "contentBlockIndex": self.index, "delta": { "text": text } }),
        )]
    }

    fn tool_start(&mut self, tool_use_id: &str, name: &str) -> Vec<bytes::Bytes> {
        let mut frames = self.close();
        if !frames.is_empty() {
            self.index += 1;
        }
        self.open = true;
        self.any = true;
        frames.push(eventstream::event(
            "contentBlockStart",
            &json!({
                "contentBlockIndex": self.index,
                "start": { "toolUse": { "toolUseId": tool_use_id, "name": name } },
            }),
        ));
        frames
    }

    fn tool_delta(&mut self, input: &str) -> Vec<bytes::Bytes> {
        vec![eventstream::event(
            "contentBlockDelta",
            &json!({ "contentBlockIndex": self.index, "delta": { "toolUse": { "input": input } } }),
        )]
    }

    fn close(&mut self) -> Vec<bytes::Bytes> {
        if !std::mem::take(&mut self.open) {
            return Vec::new();
        }
        vec![eventstream::event(
            "contentBlockStop",
            &json!({ "contentBlockIndex": self.index }),
        )]
    }

    fn done(
        &mut self,
        stop_reason: StopReason,
        input: usize,
        output: usize,
        trace: Option<Value>,
    ) -> Vec<bytes::Bytes> {
        let mut metadata = json!({
            "usage": usage(input, output),
            "metrics": { "latencyMs": self.started.elapsed().as_millis() as u64 },
        });
        if let Some(trace) = trace {
            metadata["trace"] = trace;
        }
        let mut frames = self.close();
        if !self.any {
            // An empty answer still closes its (empty) first block.
            frames = vec![eventstream::event(
                "contentBlockStop",
                &json!({ "contentBlockIndex": 0 }),
            )];
        }
        frames.push(eventstream::event(
            "messageStop",
            &json!({ "stopReason": stop_reason.as_str() }),
        ));
        frames.push(eventstream::event("metadata", &metadata));
        frames
    }
}

pub async fn converse_stream(
    State(app): State<AppState>,
    Path(model_id): Path<String>,
    AwsJson(request): AwsJson<ConverseRequest>,
) -> Result<Response, AwsError> {
    let started = Instant::now();
    let model = app.models.text(&model_id)?.clone();
    let message_start = eventstream::event("messageStart", &json!({ "role": "assistant" }));
    let mut blocks = BlockFrames::new(started);
    if request.guardrail_config.is_some() {
        let (completion, outcome) = generate(&app, &model, &request).await?;
        let (frames, body) = eventstream_response();
        let mut out = vec![message_start];
        if !completion.text.is_empty() {
            out.extend(blocks.text(&completion.text));
        }
        if let Some(call) = &completion.tool_use {
            out.extend(blocks.tool_start(&call.tool_use_id, &call.name));
            out.extend(blocks.tool_delta(&call.input.to_string()));
        }
        out.extend(blocks.done(
            completion.stop_reason,
            completion.input_tokens,
            completion.output_tokens,
            trace(&request, &outcome),
        ));
        for frame in out {
            frames.send(frame).ok();
        }
        return Ok(body);
    }
    let prepared = request.prepare(&model)?;
    let events = converse::start(&model, prepared)?;
    let (frames, body) = eventstream_response();
    frames.send(message_start).ok();
    tokio::spawn(forward_events(events, frames, move |event| match event {
        GenerationEvent::Text(text) => blocks.text(&text),
        GenerationEvent::ToolUseStart { name } => {
            blocks.tool_start(&tools::new_tool_use_id(), &name)
        }
        GenerationEvent::ToolUseDelta(input) => blocks.tool_delta(&input),
        GenerationEvent::ToolUseEnd { .. } => blocks.close(),
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
    }));
    Ok(body)
}

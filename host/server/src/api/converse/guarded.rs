//! `guardrailConfig` on Converse and ConverseStream.
//!
//! The input is checked before generation; a block answers with the guardrail's blocked-input
//! message and generates nothing. Converse checks the whole answer. ConverseStream checks the
//! answer in chunks (a sentence or a line once [`CHUNK_MIN`] bytes have gathered, at most
//! [`CHUNK_MAX`]):
//!
//! - `sync` holds each chunk until it passes, then sends it (masked if the guardrail masks);
//! - `async` sends text as it is generated and checks the chunks behind it.
//!
//! In both modes a block stops generation, sends the blocked-output message and ends with
//! `guardrail_intervened`. As in Bedrock, async mode cannot take back text it has sent, so it
//! does not mask.

use bytes::Bytes;
use mantle_inference::{Completion, GenerationEvent, Prepared, StopReason, TextModel};
use serde_json::{Value, json};
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender};

use super::frames::BlockFrames;
use super::wire::{ConverseRequest, GuardrailConfig, GuardrailTrace, StreamProcessingMode};
use crate::api::blocking;
use crate::error::AwsError;
use crate::eventstream;
use crate::guardrails::apply::{
    self, ApplyGuardrailRequest, ContentBlock, ContentSource, OutputScope, TextContent,
};
use crate::state::AppState;

/// A chunk is checked at the first sentence or line end after this many bytes…
const CHUNK_MIN: usize = 120;
/// …or at the last space before this many.
const CHUNK_MAX: usize = 480;

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

/// Checks and renders a Converse request for `model`, naming bad fields as Converse does.
fn prepare(model: &TextModel, request: &ConverseRequest) -> Result<Prepared, AwsError> {
    let mapped = request.to_generate()?;
    model
        .prepare(&mapped.request)
        .map_err(|e| mapped.names.error(e))
}

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

/// What a check made of some text.
enum Verdict {
    Pass,
    /// The text with its findings masked.
    Masked(String),
    /// The guardrail's blocked message.
    Blocked(String),
}

fn verdict(result: &Value) -> Verdict {
    if result["action"] != "GUARDRAIL_INTERVENED" {
        return Verdict::Pass;
    }
    let text = result["outputs"][0]["text"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    if result["actionReason"] == apply::BLOCKED {
        Verdict::Blocked(text)
    } else {
        Verdict::Masked(text)
    }
}

/// Checks `input`; `Some` answer when the guardrail blocks it.
async fn check_input(
    app: &AppState,
    config: &GuardrailConfig,
    input: Vec<String>,
    input_tokens: usize,
    outcome: &mut GuardrailOutcome,
) -> Result<Option<Completion>, AwsError> {
    let input = check(app, config, ContentSource::Input, input).await?;
    outcome.input_assessment = input["assessments"].get(0).cloned();
    Ok(match verdict(&input) {
        Verdict::Blocked(text) => Some(Completion {
            text,
            tool_use: None,
            stop_reason: StopReason::GuardrailIntervened,
            input_tokens,
            output_tokens: 0,
        }),
        // A masked input is still the user's question: generation goes on.
        Verdict::Masked(_) | Verdict::Pass => None,
    })
}

/// Generates a whole Converse answer, under the request's guardrail if it has one.
pub async fn generate(
    app: &AppState,
    model: &TextModel,
    request: &ConverseRequest,
) -> Result<(Completion, GuardrailOutcome), AwsError> {
    let prepared = prepare(model, request)?;
    generate_prepared(
        app,
        model,
        prepared,
        request.guardrail_config.as_ref(),
        request.guarded_input(),
    )
    .await
}

/// Generates a whole answer to `prepared`: with a guardrail, `input` is checked first (a block
/// answers with its message and generates nothing) and the answer after (a block replaces it,
/// a mask masks it; either way the stop reason is `guardrail_intervened`).
pub async fn generate_prepared(
    app: &AppState,
    model: &TextModel,
    prepared: Prepared,
    config: Option<&GuardrailConfig>,
    input: Vec<String>,
) -> Result<(Completion, GuardrailOutcome), AwsError> {
    let mut outcome = GuardrailOutcome::default();
    let Some(config) = config else {
        return Ok((model.start(prepared)?.collect().await?, outcome));
    };
    if let Some(blocked) =
        check_input(app, config, input, prepared.prompt.len(), &mut outcome).await?
    {
        return Ok((blocked, outcome));
    }
    let mut completion = model.start(prepared)?.collect().await?;
    let output = check(
        app,
        config,
        ContentSource::Output,
        vec![completion.text.clone()],
    )
    .await?;
    outcome
        .output_assessments
        .extend(output["assessments"].get(0).cloned());
    match verdict(&output) {
        Verdict::Pass => {}
        Verdict::Masked(text) => {
            completion.text = text;
            completion.stop_reason = StopReason::GuardrailIntervened;
        }
        Verdict::Blocked(text) => {
            completion.text = text;
            completion.tool_use = None;
            completion.stop_reason = StopReason::GuardrailIntervened;
        }
    }
    Ok((completion, outcome))
}

/// Bedrock's `trace` for this call, when asked for.
pub fn trace(config: Option<&GuardrailConfig>, outcome: &GuardrailOutcome) -> Option<Value> {
    let config = config?;
    match config.trace {
        Some(GuardrailTrace::Enabled | GuardrailTrace::EnabledFull) => {
            Some(outcome.trace(&config.guardrail_identifier))
        }
        _ => None,
    }
}

/// Where the next chunk ends in `text`, if one is ready.
fn chunk_end(text: &str) -> Option<usize> {
    if text.len() < CHUNK_MIN {
        return None;
    }
    let mut from = CHUNK_MIN;
    while !text.is_char_boundary(from) {
        from += 1;
    }
    let sentence = text[from..]
        .find(['.', '!', '?', '\n'])
        .map(|i| from + i + 1);
    if let Some(end) = sentence.filter(|&end| end <= CHUNK_MAX) {
        return Some(end);
    }
    if text.len() < CHUNK_MAX {
        return None;
    }
    let mut cut = CHUNK_MAX;
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    Some(text[..cut].rfind(' ').map_or(cut, |i| i + 1))
}

/// A guarded ConverseStream: the input check first (errors before the stream starts), then
/// a task that streams the answer chunk by chunk.
pub async fn stream(
    app: AppState,
    model: &TextModel,
    request: ConverseRequest,
    frames: UnboundedSender<Bytes>,
    mut blocks: BlockFrames,
) -> Result<(), AwsError> {
    let config = request
        .guardrail_config
        .clone()
        .expect("a guarded stream has a guardrail");
    let prepared = prepare(model, &request)?;
    let mut outcome = GuardrailOutcome::default();
    if let Some(blocked) = check_input(
        &app,
        &config,
        request.guarded_input(),
        prepared.prompt.len(),
        &mut outcome,
    )
    .await?
    {
        let mut out = blocks.text(&blocked.text);
        out.extend(blocks.done(
            blocked.stop_reason,
            blocked.input_tokens,
            0,
            trace(Some(&config), &outcome),
        ));
        for frame in out {
            frames.send(frame).ok();
        }
        return Ok(());
    }
    let input_tokens = prepared.prompt.len();
    let events = model.start(prepared)?.into_events();
    let guard = ChunkGuard {
        app,
        mode: config
            .stream_processing_mode
            .unwrap_or(StreamProcessingMode::Sync),
        config,
        outcome,
        pending: String::new(),
        intervened: false,
        masked: false,
        input_tokens,
        output_events: 0,
    };
    tokio::spawn(guard.run(events, frames, blocks));
    Ok(())
}

struct ChunkGuard {
    app: AppState,
    config: GuardrailConfig,
    mode: StreamProcessingMode,
    outcome: GuardrailOutcome,
    /// Text generated and not yet checked.
    pending: String,
    /// A block stopped the answer.
    intervened: bool,
    /// A mask changed the answer without stopping it; the stop reason still tells.
    masked: bool,
    input_tokens: usize,
    /// Text events received: the output tokens so far when a block cuts the generation off
    /// (a character split over tokens arrives as one event, so this may undercount).
    output_events: usize,
}

impl ChunkGuard {
    async fn run(
        mut self,
        mut events: UnboundedReceiver<GenerationEvent>,
        frames: UnboundedSender<Bytes>,
        mut blocks: BlockFrames,
    ) {
        let send = |out: Vec<Bytes>| out.into_iter().all(|frame| frames.send(frame).is_ok());
        while let Some(event) = events.recv().await {
            let out = match event {
                GenerationEvent::Text(piece) => {
                    self.output_events += 1;
                    let mut out = Vec::new();
                    if self.mode == StreamProcessingMode::Async {
                        out.extend(blocks.text(&piece));
                    }
                    self.pending.push_str(&piece);
                    while let Some(end) = chunk_end(&self.pending) {
                        let chunk: String = self.pending.drain(..end).collect();
                        match self.check_chunk(chunk, &mut blocks).await {
                            Ok(more) => out.extend(more),
                            Err(error) => {
                                out.push(eventstream::exception(
                                    "internalServerException",
                                    &error.message,
                                ));
                                send(out);
                                return;
                            }
                        }
                        if self.intervened {
                            break;
                        }
                    }
                    out
                }
                event @ GenerationEvent::ToolUseStart { .. } => {
                    let mut out = self.flush(&mut blocks).await;
                    if !self.intervened {
                        out.extend(blocks.tool_event(&event));
                    }
                    out
                }
                event @ (GenerationEvent::ToolUseDelta(_) | GenerationEvent::ToolUseEnd { .. }) => {
                    blocks.tool_event(&event)
                }
                GenerationEvent::Done {
                    stop_reason,
                    input_tokens,
                    output_tokens,
                } => {
                    let mut out = self.flush(&mut blocks).await;
                    out.extend(self.finish(&mut blocks, stop_reason, input_tokens, output_tokens));
                    send(out);
                    return;
                }
                GenerationEvent::Failed(message) => {
                    send(vec![eventstream::exception(
                        "modelStreamErrorException",
                        &message,
                    )]);
                    return;
                }
            };
            if !send(out) {
                return;
            }
            if self.intervened {
                // Returning drops `events`: the engine stops this generation at its next step.
                let out = self.finish(
                    &mut blocks,
                    StopReason::GuardrailIntervened,
                    self.input_tokens,
                    self.output_events,
                );
                send(out);
                return;
            }
        }
    }

    fn finish(
        &self,
        blocks: &mut BlockFrames,
        stop_reason: StopReason,
        input_tokens: usize,
        output_tokens: usize,
    ) -> Vec<Bytes> {
        let stop_reason = if self.intervened || self.masked {
            StopReason::GuardrailIntervened
        } else {
            stop_reason
        };
        blocks.done(
            stop_reason,
            input_tokens,
            output_tokens,
            trace(Some(&self.config), &self.outcome),
        )
    }

    /// Checks whatever text is still pending.
    async fn flush(&mut self, blocks: &mut BlockFrames) -> Vec<Bytes> {
        if self.pending.is_empty() || self.intervened {
            return Vec::new();
        }
        let chunk = std::mem::take(&mut self.pending);
        self.check_chunk(chunk, blocks)
            .await
            .unwrap_or_else(|error| {
                vec![eventstream::exception(
                    "internalServerException",
                    &error.message,
                )]
            })
    }

    /// Checks one chunk; returns the frames to send for it.
    async fn check_chunk(
        &mut self,
        chunk: String,
        blocks: &mut BlockFrames,
    ) -> Result<Vec<Bytes>, AwsError> {
        let result = check(
            &self.app,
            &self.config,
            ContentSource::Output,
            vec![chunk.clone()],
        )
        .await?;
        self.outcome
            .output_assessments
            .extend(result["assessments"].get(0).cloned());
        let sync = self.mode == StreamProcessingMode::Sync;
        Ok(match verdict(&result) {
            Verdict::Pass if sync => blocks.text(&chunk),
            Verdict::Pass => Vec::new(),
            Verdict::Masked(masked) if sync => {
                self.masked = true;
                blocks.text(&masked)
            }
            Verdict::Masked(_) => Vec::new(),
            Verdict::Blocked(message) => {
                self.intervened = true;
                let separator = if sync || !blocks.has_text() { "" } else { "\n" };
                blocks.text(&format!("{separator}{message}"))
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_end_at_sentences_or_spaces_and_never_inside_a_character() {
        assert_eq!(chunk_end("short."), None);
        let text = format!("{}. Next", "a".repeat(130));
        assert_eq!(chunk_end(&text), Some(131));
        // No sentence end within the limit: cut at the last space before it.
        let words = "word ".repeat(120);
        let end = chunk_end(&words).unwrap();
        assert!(end <= CHUNK_MAX && words[..end].ends_with(' '));
        // Multi-byte characters around both limits.
        for text in [
            format!("a{}", "東".repeat(300)),
            format!("a{}", "é".repeat(400)),
            format!("a{}。. tail", "東".repeat(40)),
        ] {
            if let Some(end) = chunk_end(&text) {
                assert!(text.is_char_boundary(end), "{end}");
            }
        }
    }
}

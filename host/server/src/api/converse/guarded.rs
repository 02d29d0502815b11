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
use mantle_guardrails::{
    ApplyInput, ApplyOutcome, ContentSource, GuardrailAssessment, GuardrailError, GuardrailId,
    GuardrailVersion, OutputScope, Verdict,
};
use mantle_inference::{Completion, GenerationEvent, Prepared, StopReason, TextModel};
use serde_json::{Value, json};
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender};

use super::frames::BlockFrames;
use super::wire::{ConverseRequest, GuardrailConfig, GuardrailTrace, StreamProcessingMode};
use crate::error::AwsError;
use crate::eventstream;
use crate::state::AppState;

/// A chunk is checked at the first sentence or line end after this many bytes…
const CHUNK_MIN: usize = 120;
/// …or at the last space before this many.
const CHUNK_MAX: usize = 480;

/// Runs the guardrail over `texts`, as ApplyGuardrail with every finding listed.
async fn check(
    app: &AppState,
    config: &GuardrailConfig,
    source: ContentSource,
    texts: Vec<String>,
) -> Result<ApplyOutcome, AwsError> {
    let id = config
        .guardrail_identifier
        .parse::<GuardrailId>()
        .map_err(in_guardrail_config)?;
    let version = config
        .guardrail_version
        .parse::<GuardrailVersion>()
        .map_err(in_guardrail_config)?;
    let input = ApplyInput {
        output_scope: Some(OutputScope::Full),
        ..ApplyInput::texts(source, texts)
    };
    Ok(app.guardrails.apply(&id, version, &input).await?)
}

/// A bad identifier or version is a field of the request's `guardrailConfig`.
fn in_guardrail_config(error: GuardrailError) -> AwsError {
    match error {
        GuardrailError::Validation {
            field: Some(field),
            message,
        } => AwsError::invalid_field(&format!("guardrailConfig.{field}"), message),
        other => other.into(),
    }
}

/// What the guardrail made of a call: its assessments, for the trace.
#[derive(Debug, Default)]
pub(crate) struct Assessments {
    pub input: Option<GuardrailAssessment>,
    /// One per checked chunk (a stream is checked in chunks).
    pub outputs: Vec<GuardrailAssessment>,
}

/// Checks and renders a Converse request for `model`, naming bad fields as Converse does.
fn prepare(model: &TextModel, request: &ConverseRequest) -> Result<Prepared, AwsError> {
    let mapped = request.to_generate()?;
    model
        .prepare(&mapped.request)
        .map_err(|e| mapped.names.error(e))
}

impl Assessments {
    /// Bedrock's `trace.guardrail` for this call.
    fn trace(&self, guardrail_id: &str) -> Value {
        let mut guardrail = serde_json::Map::new();
        if let Some(input) = &self.input {
            guardrail.insert("inputAssessment".into(), json!({ guardrail_id: input }));
        }
        if !self.outputs.is_empty() {
            guardrail.insert(
                "outputAssessments".into(),
                json!({ guardrail_id: self.outputs }),
            );
        }
        json!({ "guardrail": guardrail })
    }
}

/// Checks `input`; `Some` answer when the guardrail blocks it.
async fn check_input(
    app: &AppState,
    config: &GuardrailConfig,
    input: Vec<String>,
    input_tokens: usize,
    assessments: &mut Assessments,
) -> Result<Option<Completion>, AwsError> {
    let input = check(app, config, ContentSource::Input, input).await?;
    assessments.input = Some(input.assessment);
    Ok(match input.verdict {
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
pub(super) async fn generate(
    app: &AppState,
    model: &TextModel,
    request: &ConverseRequest,
) -> Result<(Completion, Assessments), AwsError> {
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
pub(crate) async fn generate_prepared(
    app: &AppState,
    model: &TextModel,
    prepared: Prepared,
    config: Option<&GuardrailConfig>,
    input: Vec<String>,
) -> Result<(Completion, Assessments), AwsError> {
    let mut outcome = Assessments::default();
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
    outcome.outputs.push(output.assessment);
    match output.verdict {
        Verdict::Pass => {}
        Verdict::Masked(texts) => {
            completion.text = texts.concat();
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
pub(super) fn trace(config: Option<&GuardrailConfig>, outcome: &Assessments) -> Option<Value> {
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
pub(super) async fn stream(
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
    let mut outcome = Assessments::default();
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
    outcome: Assessments,
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
        self.outcome.outputs.push(result.assessment);
        let sync = self.mode == StreamProcessingMode::Sync;
        Ok(match result.verdict {
            Verdict::Pass if sync => blocks.text(&chunk),
            Verdict::Pass => Vec::new(),
            Verdict::Masked(masked) if sync => {
                self.masked = true;
                blocks.text(&masked.concat())
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

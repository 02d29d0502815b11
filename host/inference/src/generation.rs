//! Running a prepared request: a [`Generation`] is the stream of its events; dropping it
//! cancels the sequence (the engine frees it at its next step).

use serde_json::Value;
use tokio::sync::mpsc::UnboundedReceiver;

use crate::catalog::{EmbeddingModel, TextModel};
use crate::engine::{GenerationEvent, StopReason, SubmitError};
use crate::error::{Field, InferenceError};
use crate::prepare::Prepared;
use crate::request::GenerateRequest;
use crate::tools;

/// A queued or running generation.
#[derive(Debug)]
pub struct Generation {
    events: UnboundedReceiver<GenerationEvent>,
    input_tokens: usize,
}

/// A tool call the model made.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolCall {
    /// A fresh id in Bedrock's format (`tooluse_…`).
    pub tool_use_id: String,
    pub name: String,
    pub input: Value,
}

/// A finished generation.
#[derive(Debug, Clone, PartialEq)]
pub struct Completion {
    pub text: String,
    pub tool_use: Option<ToolCall>,
    pub stop_reason: StopReason,
    pub input_tokens: usize,
    pub output_tokens: usize,
}

impl TextModel {
    /// Checks, renders and queues `request`.
    ///
    /// ```no_run
    /// # async fn example(catalog: &mantle_inference::Catalog) -> Result<(), mantle_inference::InferenceError> {
    /// use mantle_inference::{Conversation, GenerateRequest};
    /// let model = catalog.text("hf.smollm2-135m-instruct-v1:0")?;
    /// let request = GenerateRequest::chat(Conversation::user(None, "What is the capital of France?"));
    /// let answer = model.generate(&request)?.collect().await?;
    /// println!("{}", answer.text);
    /// # Ok(()) }
    /// ```
    pub fn generate(&self, request: &GenerateRequest) -> Result<Generation, InferenceError> {
        let prepared = self.prepare(request)?;
        self.start(prepared)
    }

    /// Queues a prepared request; a full queue is [`InferenceError::Busy`].
    pub fn start(&self, prepared: Prepared) -> Result<Generation, InferenceError> {
        let (sender, events) = tokio::sync::mpsc::unbounded_channel();
        let input_tokens = prepared.prompt.len();
        self.engine
            .submit(prepared.prompt, prepared.params, sender)
            .map_err(|e| match e {
                SubmitError::QueueFull(waiting) => InferenceError::Busy { waiting },
                SubmitError::Stopped => InferenceError::Stopped,
            })?;
        metrics::counter!("mantle_tokens_total", "model" => self.info.id.clone(), "direction" => "input")
            .increment(input_tokens as u64);
        Ok(Generation {
            events,
            input_tokens,
        })
    }
}

impl Generation {
    /// The prompt's length in tokens.
    pub fn input_tokens(&self) -> usize {
        self.input_tokens
    }

    /// The next event; `None` after the last ([`GenerationEvent::is_last`]).
    pub async fn next(&mut self) -> Option<GenerationEvent> {
        self.events.recv().await
    }

    /// The events as a channel, for forwarding to a response stream.
    pub fn into_events(self) -> UnboundedReceiver<GenerationEvent> {
        self.events
    }

    /// Waits for the whole generation.
    pub async fn collect(mut self) -> Result<Completion, InferenceError> {
        let mut text = String::new();
        let mut call: Option<(String, Option<Value>)> = None;
        while let Some(event) = self.events.recv().await {
            match event {
                GenerationEvent::Text(piece) => text.push_str(&piece),
                GenerationEvent::ToolUseStart { name } => call = Some((name, None)),
                GenerationEvent::ToolUseDelta(_) => {}
                GenerationEvent::ToolUseEnd { input } => {
                    if let Some((_, slot)) = &mut call {
                        *slot = Some(input);
                    }
                }
                GenerationEvent::Done {
                    stop_reason,
                    input_tokens,
                    output_tokens,
                } => {
                    // An unfinished call (the token budget ran out) is not a call.
                    let tool_use = call.and_then(|(name, input)| {
                        Some(ToolCall {
                            tool_use_id: tools::new_tool_use_id(),
                            name,
                            input: input?,
                        })
                    });
                    return Ok(Completion {
                        text,
                        tool_use,
                        stop_reason,
                        input_tokens,
                        output_tokens,
                    });
                }
                GenerationEvent::Failed(message) => {
                    return Err(InferenceError::ModelFailed(message));
                }
            }
        }
        Err(InferenceError::ModelFailed(
            "generation ended without a result".into(),
        ))
    }
}

/// Embeddings of a list of texts.
#[derive(Debug, Clone, PartialEq)]
pub struct Embeddings {
    /// One L2-normalised vector per text, in order.
    pub vectors: Vec<Vec<f32>>,
    /// The texts' tokens, summed.
    pub input_tokens: usize,
}

impl EmbeddingModel {
    /// The vectors' dimension.
    pub fn dimensions(&self) -> usize {
        self.model.dim()
    }

    /// The tokens of `text` for this model's tokenizer, special tokens excluded; a text longer
    /// than the model reads counts whole (the embedding itself reads only the first
    /// `max_seq_length` tokens).
    pub fn count_tokens(&self, text: &str) -> Result<usize, InferenceError> {
        self.model
            .count_tokens(text)
            .map_err(|e| InferenceError::ModelFailed(format!("tokenizer failed: {e}")))
    }

    /// Embeds `texts` on the calling thread (the work is CPU-bound: call it off async
    /// workers, or use [`EmbeddingModel::embed`]). An empty text is an
    /// [`Field::EmbeddingInput`] error.
    pub fn embed_blocking(&self, texts: &[String]) -> Result<Embeddings, InferenceError> {
        if texts.is_empty() {
            return Err(InferenceError::field(
                Field::EmbeddingInputs,
                "Member must have length greater than or equal to 1",
            ));
        }
        if let Some(i) = texts.iter().position(String::is_empty) {
            return Err(InferenceError::field(
                Field::EmbeddingInput(i),
                "Member must have length greater than or equal to 1",
            ));
        }
        let mut input_tokens = 0;
        for text in texts {
            input_tokens += self.count_tokens(text)?;
        }
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        let vectors = self
            .model
            .embed(&refs)
            .map_err(|e| InferenceError::ModelFailed(format!("embedding failed: {e}")))?;
        metrics::counter!("mantle_tokens_total", "model" => self.info.id.clone(), "direction" => "input")
            .increment(input_tokens as u64);
        Ok(Embeddings {
            vectors,
            input_tokens,
        })
    }

    /// Embeds `texts` on tokio's blocking pool.
    pub async fn embed(&self, texts: Vec<String>) -> Result<Embeddings, InferenceError> {
        let model = self.clone();
        tokio::task::spawn_blocking(move || model.embed_blocking(&texts))
            .await
            .map_err(|e| InferenceError::ModelFailed(format!("embedding worker failed: {e}")))?
    }
}

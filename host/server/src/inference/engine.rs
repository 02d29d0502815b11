//! The generation engine of one text model: a bounded queue in front of one scheduler thread
//! that batches every active sequence into each forward pass (continuous batching).
//!
//! Each pass carries the new sequences' whole prompts (prefill) and one token for each sequence
//! already decoding, through [`LlamaModel::forward_batch`], so the weights are read once per
//! step for all of them. Sequences join and leave between steps. A client that goes away
//! (its receiver dropped) is noticed at the next step and its sequence freed.

use std::sync::Arc;
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};

use mantle_models::llama::SeqInput;
use mantle_models::{KvCache, LlamaModel, Sampler, SamplingParams, TextStream};
use tokio::sync::mpsc::UnboundedSender;

/// What one generation asks for.
#[derive(Debug, Clone)]
pub struct GenerationParams {
    pub max_tokens: usize,
    pub sampling: SamplingParams,
    pub stop_sequences: Vec<String>,
}

/// Why generation ended, in Bedrock's words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopReason {
    EndTurn,
    MaxTokens,
    StopSequence,
    ContextWindowExceeded,
    /// A guardrail replaced the output (set by the Converse layer, never by the engine).
    GuardrailIntervened,
}

impl StopReason {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::EndTurn => "end_turn",
            Self::MaxTokens => "max_tokens",
            Self::StopSequence => "stop_sequence",
            Self::ContextWindowExceeded => "model_context_window_exceeded",
            Self::GuardrailIntervened => "guardrail_intervened",
        }
    }
}

/// What a generation sends back, in order: text pieces, then one `Done` or `Failed`.
#[derive(Debug, Clone, PartialEq)]
pub enum GenerationEvent {
    Text(String),
    Done {
        stop_reason: StopReason,
        input_tokens: usize,
        output_tokens: usize,
    },
    Failed(String),
}

/// Why a generation could not be queued.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SubmitError {
    #[error("the model's queue is full ({0} requests waiting); try again shortly")]
    QueueFull(usize),
    #[error("the model's engine has stopped")]
    Stopped,
}

struct Job {
    prompt: Vec<u32>,
    params: GenerationParams,
    events: UnboundedSender<GenerationEvent>,
}

/// A handle to a model's engine; clones share it.
#[derive(Debug, Clone)]
pub struct Engine {
    queue: SyncSender<Job>,
    capacity: usize,
}

impl std::fmt::Debug for Job {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Job")
            .field("prompt_tokens", &self.prompt.len())
            .finish()
    }
}

impl Engine {
    /// Starts the scheduler thread for `model`: at most `max_active` sequences decode together,
    /// and at most `queue_capacity` wait behind them.
    pub fn start(model: Arc<LlamaModel>, max_active: usize, queue_capacity: usize) -> Self {
        let (queue, jobs) = mpsc::sync_channel(queue_capacity);
        std::thread::Builder::new()
            .name("mantle-engine".into())
            .spawn(move || Scheduler::new(model, max_active).run(jobs))
            .expect("the engine thread starts");
        Self {
            queue,
            capacity: queue_capacity,
        }
    }

    /// Queues a generation of `prompt`; events arrive on `events`.
    pub fn submit(
        &self,
        prompt: Vec<u32>,
        params: GenerationParams,
        events: UnboundedSender<GenerationEvent>,
    ) -> Result<(), SubmitError> {
        let job = Job {
            prompt,
            params,
            events,
        };
        self.queue.try_send(job).map_err(|e| match e {
            TrySendError::Full(_) => SubmitError::QueueFull(self.capacity),
            TrySendError::Disconnected(_) => SubmitError::Stopped,
        })
    }
}

struct Sequence {
    job: Job,
    cache: KvCache,
    sampler: Sampler,
    stream: TextStream,
    /// Tokens to feed at the next step: the prompt first, then each sampled token.
    pending: Vec<u32>,
    generated: usize,
    text: String,
    emitted: usize,
}

struct Scheduler {
    model: Arc<LlamaModel>,
    max_active: usize,
    eos: Vec<u32>,
}

impl Scheduler {
    fn new(model: Arc<LlamaModel>, max_active: usize) -> Self {
        let tokenizer = model.tokenizer();
        let mut eos: Vec<u32> = tokenizer.eos_token_id().into_iter().collect();
        for token in ["<|im_end|>", "<|endoftext|>", "<|eot_id|>"] {
            if let Some(id) = tokenizer.token_to_id(token)
                && !eos.contains(&id)
            {
                eos.push(id);
            }
        }
        Self {
            model,
            max_active: max_active.max(1),
            eos,
        }
    }

    fn run(self, jobs: Receiver<Job>) {
        let mut active: Vec<Sequence> = Vec::new();
        loop {
            if active.is_empty() {
                match jobs.recv() {
                    Ok(job) => active.push(self.admit(job)),
                    Err(_) => return,
                }
            }
            while active.len() < self.max_active {
                match jobs.try_recv() {
                    Ok(job) => active.push(self.admit(job)),
                    Err(_) => break,
                }
            }
            active.retain(|seq| !seq.job.events.is_closed());
            if active.is_empty() {
                continue;
            }
            metrics::gauge!("mantle_engine_active_sequences").set(active.len() as f64);
            self.step(&mut active);
        }
    }

    fn admit(&self, job: Job) -> Sequence {
        let sampler = Sampler::new(job.params.sampling.clone());
        Sequence {
            cache: self.model.new_cache(),
            sampler,
            stream: TextStream::new(true),
            pending: job.prompt.clone(),
            generated: 0,
            text: String::new(),
            emitted: 0,
            job,
        }
    }

    /// One forward pass over every active sequence, then one sampled token for each.
    fn step(&self, active: &mut Vec<Sequence>) {
        let context = self.model.config().context_length;
        let outcome = {
            let mut inputs: Vec<SeqInput<'_>> = active
                .iter_mut()
                .map(|seq| SeqInput {
                    tokens: &seq.pending,
                    cache: &mut seq.cache,
                })
                .collect();
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                self.model.forward_batch(&mut inputs)
            }))
        };
        let logits = match outcome {
            Ok(Ok(logits)) => logits,
            Ok(Err(error)) => return fail_all(active, &error.to_string()),
            Err(_) => return fail_all(active, "the model failed while generating"),
        };
        let mut finished = Vec::new();
        for (index, (seq, logits)) in active.iter_mut().zip(logits).enumerate() {
            let next = seq.sampler.sample(&logits);
            seq.pending.clear();
            let stop = if self.eos.contains(&next) {
                Some(StopReason::EndTurn)
            } else {
                seq.generated += 1;
                match seq.stream.push(self.model.tokenizer(), next) {
                    Ok(Some(piece)) => seq.text.push_str(&piece),
                    Ok(None) => {}
                    Err(error) => {
                        let _ = seq
                            .job
                            .events
                            .send(GenerationEvent::Failed(error.to_string()));
                        finished.push(index);
                        continue;
                    }
                }
                seq.pending.push(next);
                if seq.release_text() {
                    Some(StopReason::StopSequence)
                } else if seq.generated >= seq.job.params.max_tokens {
                    Some(StopReason::MaxTokens)
                } else if seq.cache.len() + 1 >= context {
                    Some(StopReason::ContextWindowExceeded)
                } else {
                    None
                }
            };
            if let Some(stop_reason) = stop {
                if stop_reason != StopReason::StopSequence {
                    seq.emit_rest();
                }
                let _ = seq.job.events.send(GenerationEvent::Done {
                    stop_reason,
                    input_tokens: seq.job.prompt.len(),
                    output_tokens: seq.generated,
                });
                finished.push(index);
            }
        }
        for index in finished.into_iter().rev() {
            active.swap_remove(index);
        }
        metrics::counter!("mantle_engine_steps_total").increment(1);
    }
}

fn fail_all(active: &mut Vec<Sequence>, message: &str) {
    tracing::error!(message, "generation step failed");
    for seq in active.drain(..) {
        let _ = seq
            .job
            .events
            .send(GenerationEvent::Failed(message.to_owned()));
    }
}

impl Sequence {
    /// Sends the text that can no longer turn into a stop sequence. Returns whether a stop
    /// sequence was found (the text before it is sent, the stop sequence itself is not).
    fn release_text(&mut self) -> bool {
        let stops = &self.job.params.stop_sequences;
        let longest = stops.iter().map(String::len).max().unwrap_or(0);
        let search_from = floor_char(&self.text, self.emitted.saturating_sub(longest));
        let found = stops
            .iter()
            .filter(|s| !s.is_empty())
            .filter_map(|s| {
                self.text[search_from..]
                    .find(s.as_str())
                    .map(|at| search_from + at)
            })
            .min();
        if let Some(at) = found {
            self.send_until(at);
            return true;
        }
        // Hold back a suffix that is a prefix of some stop sequence.
        let mut safe = self.text.len();
        for stop in stops.iter().filter(|s| !s.is_empty()) {
            for len in (1..stop.len()).rev() {
                if self.text.len() >= len
                    && self.text.is_char_boundary(self.text.len() - len)
                    && stop.is_char_boundary(len)
                    && self.text.ends_with(&stop[..len])
                {
                    safe = safe.min(self.text.len() - len);
                    break;
                }
            }
        }
        self.send_until(safe);
        false
    }

    fn emit_rest(&mut self) {
        self.send_until(self.text.len());
    }

    fn send_until(&mut self, end: usize) {
        if end > self.emitted {
            let piece = self.text[self.emitted..end].to_owned();
            let _ = self.job.events.send(GenerationEvent::Text(piece));
            self.emitted = end;
        }
    }
}

fn floor_char(text: &str, mut at: usize) -> usize {
    while at > 0 && !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

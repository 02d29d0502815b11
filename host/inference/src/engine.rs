//! The generation engine of one text model: a bounded queue in front of one scheduler thread
//! that batches every active sequence into each forward pass (continuous batching).
//!
//! Each pass carries the new sequences' whole prompts (prefill) and one token for each sequence
//! already decoding, through [`LlamaModel::forward_batch`], so the weights are read once per
//! step for all of them. Sequences join and leave between steps. A client that goes away
//! (its receiver dropped) is noticed at the next step and its sequence freed.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};

use mantle_models::constrain::{JsonMatcher, TokenConstraint};
use mantle_models::llama::SeqInput;
use mantle_models::{KvCache, LlamaModel, Sampler, SamplingParams, TextStream};
use serde_json::Value;
use tokio::sync::mpsc::UnboundedSender;

use crate::tools::{self, OutputMode, ToolSet};

/// What one generation asks for.
#[derive(Debug, Clone)]
pub struct GenerationParams {
    pub max_tokens: usize,
    pub sampling: SamplingParams,
    pub stop_sequences: Vec<String>,
    pub output: OutputMode,
}

/// Why generation ended, in Bedrock's words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopReason {
    EndTurn,
    MaxTokens,
    StopSequence,
    ContextWindowExceeded,
    ToolUse,
    /// A tool call whose arguments did not parse (a bug: they are constrained to the schema).
    MalformedToolUse,
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
            Self::ToolUse => "tool_use",
            Self::MalformedToolUse => "malformed_tool_use",
            Self::GuardrailIntervened => "guardrail_intervened",
        }
    }
}

/// What a generation sends back, in order: text pieces, at most one tool call (start, argument
/// fragments, end), then one `Done` or `Failed`.
#[derive(Debug, Clone, PartialEq)]
pub enum GenerationEvent {
    Text(String),
    ToolUseStart {
        name: String,
    },
    /// A fragment of the call's arguments as JSON text.
    ToolUseDelta(String),
    ToolUseEnd {
        input: Value,
    },
    Done {
        stop_reason: StopReason,
        input_tokens: usize,
        output_tokens: usize,
    },
    Failed(String),
}

impl GenerationEvent {
    /// Nothing follows this event.
    pub fn is_last(&self) -> bool {
        matches!(self, Self::Done { .. } | Self::Failed(_))
    }
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
    load: Arc<Load>,
}

/// What the scheduler holds now, kept by the scheduler and read by anyone.
#[derive(Debug, Default)]
struct Load {
    waiting: AtomicUsize,
    active: AtomicUsize,
    steps: AtomicU64,
}

/// How busy an engine is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EngineLoad {
    /// Sequences decoding now.
    pub active: usize,
    /// Requests queued behind them.
    pub waiting: usize,
    /// Forward passes run since the engine started.
    pub steps: u64,
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
        let load = Arc::new(Load::default());
        let scheduler = Scheduler::new(model, max_active, load.clone());
        std::thread::Builder::new()
            .name("mantle-engine".into())
            .spawn(move || scheduler.run(jobs))
            .expect("the engine thread starts");
        Self {
            queue,
            capacity: queue_capacity,
            load,
        }
    }

    /// How many sequences are decoding and waiting now.
    pub fn load(&self) -> EngineLoad {
        EngineLoad {
            active: self.load.active.load(Ordering::Relaxed),
            waiting: self.load.waiting.load(Ordering::Relaxed),
            steps: self.load.steps.load(Ordering::Relaxed),
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
        // Counted before sending, so the scheduler never takes a job it has not seen counted.
        self.load.waiting.fetch_add(1, Ordering::Relaxed);
        self.queue.try_send(job).map_err(|e| {
            self.load.waiting.fetch_sub(1, Ordering::Relaxed);
            match e {
                TrySendError::Full(_) => SubmitError::QueueFull(self.capacity),
                TrySendError::Disconnected(_) => SubmitError::Stopped,
            }
        })
    }
}

/// Where a sequence's output stands.
enum Phase {
    /// Free text; with tools, `<tool_call>` opens a call.
    Text { tools: Option<Arc<ToolSet>> },
    /// A call's `{"name": "<tool>"`, constrained to the tools' names. `start` is where it
    /// begins in the sequence's text.
    CallHead {
        tools: Arc<ToolSet>,
        matcher: JsonMatcher,
        start: usize,
    },
    /// A call's arguments, constrained to the tool's schema.
    CallArgs { matcher: JsonMatcher, start: usize },
    /// A JSON answer, constrained to the requested schema.
    Json { matcher: JsonMatcher },
}

impl Phase {
    fn matcher(&self) -> Option<&JsonMatcher> {
        match self {
            Phase::Text { .. } => None,
            Phase::CallHead { matcher, .. }
            | Phase::CallArgs { matcher, .. }
            | Phase::Json { matcher } => Some(matcher),
        }
    }

    fn matcher_mut(&mut self) -> Option<&mut JsonMatcher> {
        match self {
            Phase::Text { .. } => None,
            Phase::CallHead { matcher, .. }
            | Phase::CallArgs { matcher, .. }
            | Phase::Json { matcher } => Some(matcher),
        }
    }
}

struct Sequence {
    job: Job,
    cache: KvCache,
    sampler: Sampler,
    stream: TextStream,
    phase: Phase,
    /// Tokens to feed at the next step: the prompt first, then each sampled (or forced) token.
    pending: Vec<u32>,
    generated: usize,
    text: String,
    emitted: usize,
}

struct Scheduler {
    model: Arc<LlamaModel>,
    load: Arc<Load>,
    max_active: usize,
    eos: Vec<u32>,
    constraint: TokenConstraint,
    /// The tokens of [`tools::ARGUMENTS_SEPARATOR`], written for the model after a call's name.
    separator: Vec<u32>,
}

impl Scheduler {
    fn new(model: Arc<LlamaModel>, max_active: usize, load: Arc<Load>) -> Self {
        let tokenizer = model.tokenizer();
        let mut eos: Vec<u32> = tokenizer.eos_token_id().into_iter().collect();
        for token in ["<|im_end|>", "<|endoftext|>", "<|eot_id|>"] {
            if let Some(id) = tokenizer.token_to_id(token)
                && !eos.contains(&id)
            {
                eos.push(id);
            }
        }
        let separator = tokenizer
            .encode(tools::ARGUMENTS_SEPARATOR)
            .unwrap_or_default()
            .into_iter()
            .filter(|id| Some(*id) != tokenizer.bos_token_id())
            .collect();
        Self {
            constraint: TokenConstraint::new(tokenizer.token_bytes()),
            separator,
            model,
            load,
            max_active: max_active.max(1),
            eos,
        }
    }

    /// Serves until every [`Engine`] handle is gone. A panic anywhere in a step fails the
    /// sequences it touched and the scheduler goes on serving the rest.
    fn run(self, jobs: Receiver<Job>) {
        let mut active: Vec<Sequence> = Vec::new();
        loop {
            if active.is_empty() {
                match jobs.recv() {
                    Ok(job) => self.admit_into(&mut active, job),
                    Err(_) => return,
                }
            }
            while active.len() < self.max_active {
                match jobs.try_recv() {
                    Ok(job) => self.admit_into(&mut active, job),
                    Err(_) => break,
                }
            }
            active.retain(|seq| !seq.job.events.is_closed());
            self.load.active.store(active.len(), Ordering::Relaxed);
            metrics::gauge!("mantle_engine_active_sequences").set(active.len() as f64);
            if active.is_empty() {
                continue;
            }
            if catch_unwind(AssertUnwindSafe(|| self.step(&mut active))).is_err() {
                // A step that panicked outside the per-sequence guards leaves every sequence
                // in an unknown state (a KV cache half-written): all of them fail.
                fail_all(&mut active, "the model's engine failed while generating");
            }
            self.load.active.store(active.len(), Ordering::Relaxed);
        }
    }

    /// Starts `job`; a panic while setting it up fails that job only.
    fn admit_into(&self, active: &mut Vec<Sequence>, job: Job) {
        self.load.waiting.fetch_sub(1, Ordering::Relaxed);
        let events = job.events.clone();
        match catch_unwind(AssertUnwindSafe(|| self.admit(job))) {
            Ok(seq) => active.push(seq),
            Err(_) => {
                tracing::error!("a generation failed to start");
                let _ = events.send(GenerationEvent::Failed(
                    "the model's engine failed to start this generation".into(),
                ));
            }
        }
    }

    fn admit(&self, job: Job) -> Sequence {
        fail::fail_point!("engine::admit");
        let sampler = Sampler::new(job.params.sampling.clone());
        let phase = match &job.params.output {
            OutputMode::Text => Phase::Text { tools: None },
            OutputMode::ToolsAuto(set) => Phase::Text {
                tools: Some(set.clone()),
            },
            OutputMode::ToolsRequired(set) => Phase::CallHead {
                matcher: JsonMatcher::new(set.call_heads.clone()),
                tools: set.clone(),
                start: 0,
            },
            OutputMode::Tool(set, index) => {
                // The prompt already holds the call's head.
                let _ = job.events.send(GenerationEvent::ToolUseStart {
                    name: set.tools[*index].name.clone(),
                });
                Phase::CallArgs {
                    matcher: JsonMatcher::new(set.tools[*index].grammar.clone()),
                    start: 0,
                }
            }
            OutputMode::Json(grammar) => Phase::Json {
                matcher: JsonMatcher::new(grammar.clone()),
            },
        };
        Sequence {
            cache: self.model.new_cache(),
            sampler,
            stream: TextStream::new(true),
            phase,
            pending: job.prompt.clone(),
            generated: 0,
            text: String::new(),
            emitted: 0,
            job,
        }
    }

    /// The next token of `seq`: sampled freely, or among those its grammar allows.
    fn choose(&self, seq: &mut Sequence, logits: &[f32]) -> Result<u32, &'static str> {
        let Some(matcher) = seq.phase.matcher() else {
            return Ok(seq.sampler.sample(logits));
        };
        let end = self.eos.first().copied();
        match self.constraint.choose(logits, &mut seq.sampler, matcher) {
            // A complete JSON answer may still go on (a number has no closing byte); it ends
            // where the model prefers ending to any allowed continuation.
            Some(id) => match end {
                Some(end)
                    if matches!(seq.phase, Phase::Json { .. })
                        && matcher.is_complete()
                        && logits[end as usize] >= logits[id as usize] =>
                {
                    Ok(end)
                }
                _ => Ok(id),
            },
            None if matcher.is_complete() => end.ok_or("the model has no end-of-turn token"),
            None => Err("no token of the model's vocabulary continues the constrained output"),
        }
    }

    /// One forward pass over every active sequence, then one sampled token for each.
    fn step(&self, active: &mut Vec<Sequence>) {
        fail::fail_point!("engine::step");
        let outcome = {
            let mut inputs: Vec<SeqInput<'_>> = active
                .iter_mut()
                .map(|seq| SeqInput {
                    tokens: &seq.pending,
                    cache: &mut seq.cache,
                })
                .collect();
            catch_unwind(AssertUnwindSafe(|| self.model.forward_batch(&mut inputs)))
        };
        let logits = match outcome {
            Ok(Ok(logits)) => logits,
            Ok(Err(error)) => return fail_all(active, &error.to_string()),
            Err(_) => return fail_all(active, "the model failed while generating"),
        };
        let mut finished = Vec::new();
        for (index, (seq, logits)) in active.iter_mut().zip(logits).enumerate() {
            let advanced = catch_unwind(AssertUnwindSafe(|| self.advance(seq, &logits)))
                .unwrap_or_else(|_| {
                    tracing::error!("a generation failed while choosing its next token");
                    Err("the model's engine failed while generating".into())
                });
            let stop = match advanced {
                Ok(stop) => stop,
                Err(message) => {
                    let _ = seq.job.events.send(GenerationEvent::Failed(message));
                    finished.push(index);
                    continue;
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
        self.load.steps.fetch_add(1, Ordering::Relaxed);
        metrics::counter!("mantle_engine_steps_total").increment(1);
    }

    /// Picks and records `seq`'s next token; `Some` when the sequence is done.
    fn advance(&self, seq: &mut Sequence, logits: &[f32]) -> Result<Option<StopReason>, String> {
        failpoint_for_prompt(seq.job.prompt.len());
        let next = self.choose(seq, logits).map_err(str::to_owned)?;
        seq.pending.clear();
        if self.eos.contains(&next) {
            return Ok(Some(StopReason::EndTurn));
        }
        self.write(seq, next)?;
        if let Some(matcher) = seq.phase.matcher_mut()
            && !matcher.advance(self.constraint.bytes(next).unwrap_or_default())
        {
            return Err("the constrained output left its grammar".into());
        }
        let stop = match &seq.phase {
            Phase::Text { tools: Some(_) } => self.watch_for_call(seq)?,
            Phase::Text { tools: None } => seq.release_text().then_some(StopReason::StopSequence),
            Phase::Json { matcher } => {
                let finished = matcher.is_finished();
                if seq.release_text() {
                    Some(StopReason::StopSequence)
                } else {
                    finished.then_some(StopReason::EndTurn)
                }
            }
            Phase::CallHead { .. } => self.after_call_head(seq)?,
            Phase::CallArgs { .. } => seq.after_call_args(),
        };
        if stop.is_some() {
            return Ok(stop);
        }
        let context = self.model.config().context_length;
        Ok(if seq.generated >= seq.job.params.max_tokens {
            Some(StopReason::MaxTokens)
        } else if seq.cache.len() + seq.pending.len() >= context {
            Some(StopReason::ContextWindowExceeded)
        } else {
            None
        })
    }

    /// Appends a token to the sequence's output and to what the model reads next.
    fn write(&self, seq: &mut Sequence, token: u32) -> Result<(), String> {
        seq.generated += 1;
        seq.pending.push(token);
        match seq.stream.push(self.model.tokenizer(), token) {
            Ok(Some(piece)) => seq.text.push_str(&piece),
            Ok(None) => {}
            Err(error) => return Err(error.to_string()),
        }
        Ok(())
    }

    /// Free text under `toolChoice: auto`: a `<tool_` tag switches to writing a call.
    fn watch_for_call(&self, seq: &mut Sequence) -> Result<Option<StopReason>, String> {
        let Phase::Text { tools: Some(set) } = &seq.phase else {
            return Ok(None);
        };
        let set = set.clone();
        let from = floor_char(
            &seq.text,
            seq.emitted.saturating_sub(tools::CALL_TAG_START.len()),
        );
        let Some(at) = seq.text[from..]
            .find(tools::CALL_TAG_START)
            .map(|i| from + i)
        else {
            return Ok(seq.release_text().then_some(StopReason::StopSequence));
        };
        seq.send_until(at);
        let start = at + tools::CALL_TAG_START.len();
        let mut matcher = JsonMatcher::new(set.tagged_heads.clone());
        // What the model wrote after the marker in the same token belongs to the call.
        if !matcher.advance(&seq.text.as_bytes()[start..]) {
            return Ok(Some(StopReason::MalformedToolUse));
        }
        seq.emitted = seq.text.len();
        seq.phase = Phase::CallHead {
            tools: set,
            matcher,
            start,
        };
        self.after_call_head(seq)
    }

    /// Once a call's name is written: announce the call and write the arguments' key.
    fn after_call_head(&self, seq: &mut Sequence) -> Result<Option<StopReason>, String> {
        let Phase::CallHead {
            tools,
            matcher,
            start,
        } = &seq.phase
        else {
            return Ok(None);
        };
        if !matcher.is_complete() {
            return Ok(None);
        }
        let tools = tools.clone();
        let Some(index) = tools.by_head(&seq.text[*start..]) else {
            return Ok(Some(StopReason::MalformedToolUse));
        };
        let _ = seq.job.events.send(GenerationEvent::ToolUseStart {
            name: tools.tools[index].name.clone(),
        });
        for &token in &self.separator {
            self.write(seq, token)?;
        }
        seq.emitted = seq.text.len();
        seq.phase = Phase::CallArgs {
            matcher: JsonMatcher::new(tools.tools[index].grammar.clone()),
            start: seq.text.len(),
        };
        Ok(None)
    }
}

/// Tests provoke a panic in one sequence's step with the failpoint `engine::advance` set to
/// `return(<prompt length>)`; a no-op unless the `fail` crate's `failpoints` feature is on.
fn failpoint_for_prompt(prompt_tokens: usize) {
    fail::fail_point!("engine::advance", |arg: Option<String>| {
        if arg.and_then(|n| n.parse::<usize>().ok()) == Some(prompt_tokens) {
            panic!("failpoint engine::advance");
        }
    });
    // Read only by the failpoint, which release builds compile out.
    let _ = prompt_tokens;
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
    /// Streams the arguments written so far; ends the call once they are complete.
    fn after_call_args(&mut self) -> Option<StopReason> {
        let Phase::CallArgs { matcher, start, .. } = &mut self.phase else {
            return None;
        };
        if self.emitted == *start {
            // Whitespace before the arguments is not part of them.
            let blank = self.text[*start..].len() - self.text[*start..].trim_start().len();
            *start += blank;
            self.emitted = *start;
        }
        let (complete, start) = (matcher.is_finished(), *start);
        self.send_arguments();
        if !complete {
            return None;
        }
        Some(match serde_json::from_str::<Value>(&self.text[start..]) {
            Ok(input) => {
                let _ = self.job.events.send(GenerationEvent::ToolUseEnd { input });
                StopReason::ToolUse
            }
            Err(_) => StopReason::MalformedToolUse,
        })
    }

    /// Sends the text that can no longer turn into a stop sequence. Returns whether a stop
    /// sequence was found (the text before it is sent, the stop sequence itself is not).
    fn release_text(&mut self) -> bool {
        let stops = &self.job.params.stop_sequences;
        // Under `toolChoice: auto`, a call marker in the making is held back like a stop.
        let marker =
            matches!(self.phase, Phase::Text { tools: Some(_) }).then_some(tools::CALL_TAG_START);
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
        let held = stops
            .iter()
            .map(String::as_str)
            .filter(|s| !s.is_empty())
            .chain(marker);
        for stop in held {
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

    /// At the end: text still held back goes out as text (a JSON answer closed first); a
    /// call's last arguments as a fragment (an unfinished call is not a call: the client gets
    /// no toolUse block for it).
    fn emit_rest(&mut self) {
        if let Phase::Json { matcher } = &self.phase {
            // Out of tokens mid-value: close it, so the answer still parses (its stop reason
            // says it was cut short).
            let rest = matcher.completion();
            self.text.push_str(&String::from_utf8_lossy(&rest));
        }
        match self.phase {
            Phase::Text { .. } | Phase::Json { .. } => self.send_until(self.text.len()),
            Phase::CallArgs { .. } => self.send_arguments(),
            Phase::CallHead { .. } => {}
        }
    }

    /// Sends the call's arguments written since the last fragment.
    fn send_arguments(&mut self) {
        if self.text.len() > self.emitted {
            let piece = self.text[self.emitted..].to_owned();
            let _ = self.job.events.send(GenerationEvent::ToolUseDelta(piece));
            self.emitted = self.text.len();
        }
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

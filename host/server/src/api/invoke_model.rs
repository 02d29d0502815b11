//! bedrock-runtime InvokeModel `POST /model/{modelId}/invoke` and
//! InvokeModelWithResponseStream `POST /model/{modelId}/invoke-with-response-stream`, with the
//! documented native bodies: Llama-style text (`prompt`, `max_gen_len`, `temperature`, `top_p`)
//! and Titan-embeddings-style (`inputText`, `dimensions`, `normalize`).

use std::time::Instant;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use mantle_inference::{
    EmbeddingModel, Field, GenerateRequest, GenerationEvent, InferenceError, InferenceParams,
    Prompt, SamplingDefaults, Served, StopReason, TextModel,
};
use serde::Deserialize;
use serde_json::{Value, json};

use super::converse::{
    Assessments, GuardrailConfig, GuardrailTrace, Latency, TierType, generate_prepared,
};
use super::stream::{eventstream_response, forward_events};
use crate::error::{AwsError, inference_error};
use crate::eventstream;
use crate::extract::parse_json;
use crate::state::AppState;

/// A Llama-style text body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct TextBody {
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
pub(crate) struct EmbeddingBody {
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

impl TextBody {
    /// The typed request: the prompt is fed verbatim (Llama bodies carry their own formatting).
    pub(crate) fn to_generate(&self) -> GenerateRequest {
        GenerateRequest {
            prompt: Prompt::Raw(self.prompt.clone()),
            tools: None,
            response_format: None,
            params: InferenceParams {
                max_tokens: self.max_gen_len,
                temperature: self.temperature,
                top_p: self.top_p,
                top_k: self.top_k,
                seed: self.seed,
                stop_sequences: Vec::new(),
                defaults: SamplingDefaults::LLAMA_BODY,
            },
        }
    }
}

/// InvokeModel's body when `modelId` is a prompt ARN: the values of its variables.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct PromptBody {
    #[serde(default)]
    prompt_variables: std::collections::BTreeMap<String, mantle_flows::PromptVariableValue>,
}

/// A text generation an InvokeModel body asks for: the model, the typed request, what a
/// guardrail checks as its input, and how the body names fields in errors.
struct TextInvocation {
    model: TextModel,
    request: GenerateRequest,
    guarded_input: Vec<String>,
    errors: fn(InferenceError) -> AwsError,
}

impl TextInvocation {
    fn prepare(&self) -> Result<mantle_inference::Prepared, AwsError> {
        self.model.prepare(&self.request).map_err(self.errors)
    }
}

enum Invocation {
    Text(Box<TextInvocation>),
    Embedding(EmbeddingModel),
}

/// What `model_id` and `body` ask for: a Llama-style text body for a text model, the variables
/// of a prompt ARN's prompt (run on the prompt's model), or an embedding.
fn invocation(app: &AppState, model_id: &str, body: &[u8]) -> Result<Invocation, AwsError> {
    if let Some(prompt) = mantle_flows::PromptIdentifier::from_arn(model_id) {
        let body: PromptBody = parse_json(body)?;
        let (model, rendered) =
            super::converse::prompt::render(app, &prompt, body.prompt_variables)?;
        let guarded_input = rendered
            .system
            .iter()
            .chain(rendered.messages.iter().flat_map(|m| &m.texts))
            .cloned()
            .collect();
        return Ok(Invocation::Text(Box::new(TextInvocation {
            model,
            request: rendered.generate_request(),
            guarded_input,
            errors: AwsError::from,
        })));
    }
    match app.models.resolve(model_id)?.clone() {
        Served::Text(model) => {
            let text: TextBody = parse_json(body)?;
            Ok(Invocation::Text(Box::new(TextInvocation {
                model,
                request: text.to_generate(),
                guarded_input: vec![text.prompt],
                errors: text_body_error,
            })))
        }
        Served::Embedding(model) => Ok(Invocation::Embedding(model)),
    }
}

/// An error about a Llama-style body, its fields named as the body spells them.
pub(crate) fn text_body_error(error: InferenceError) -> AwsError {
    inference_error(error, |field| {
        match field {
            Field::MaxTokens => "max_gen_len",
            Field::Temperature => "temperature",
            Field::TopP => "top_p",
            Field::TopK => "top_k",
            _ => "prompt",
        }
        .to_owned()
    })
}

/// An error about a Titan-style embedding body.
pub(crate) fn embedding_body_error(error: InferenceError) -> AwsError {
    inference_error(error, |_| "inputText".to_owned())
}

impl EmbeddingBody {
    /// Checks the options this model can honour.
    fn check(&self, model: &EmbeddingModel) -> Result<(), AwsError> {
        let dim = model.dimensions();
        if let Some(dimensions) = self.dimensions
            && dimensions != dim
        {
            return Err(AwsError::invalid_field(
                "dimensions",
                format!("this model produces {dim}-dimensional embeddings only"),
            ));
        }
        if self.normalize == Some(false) {
            return Err(AwsError::invalid_field(
                "normalize",
                "this model returns L2-normalized embeddings only",
            ));
        }
        if let Some(types) = &self.embedding_types
            && types.iter().any(|t| t != "float")
        {
            return Err(AwsError::invalid_field(
                "embeddingTypes",
                "only `float` is supported",
            ));
        }
        Ok(())
    }
}

/// Embeds an embedding body; returns the response body and the input token count.
async fn embed(model: &EmbeddingModel, body: &[u8]) -> Result<(Value, usize), AwsError> {
    let body: EmbeddingBody = parse_json(body)?;
    body.check(model)?;
    let embeddings = model
        .embed(vec![body.input_text])
        .await
        .map_err(embedding_body_error)?;
    let tokens = embeddings.input_tokens;
    let embedding = embeddings.vectors.into_iter().next().unwrap_or_default();
    Ok((
        json!({
            "embedding": embedding,
            "embeddingsByType": { "float": embedding },
            "inputTextTokenCount": tokens,
        }),
        tokens,
    ))
}

/// What InvokeModel takes in headers besides the body.
#[derive(Debug, Default)]
struct InvokeHeaders {
    guardrail: Option<GuardrailConfig>,
    latency: Option<Latency>,
    tier: Option<TierType>,
}

impl InvokeHeaders {
    fn parse(headers: &HeaderMap) -> Result<Self, AwsError> {
        let text = |name: &str| -> Result<Option<String>, AwsError> {
            headers
                .get(name)
                .map(|v| {
                    v.to_str().map(str::to_owned).map_err(|_| {
                        AwsError::invalid_field(name, "must be visible ASCII characters")
                    })
                })
                .transpose()
        };
        let one_of = |name: &str, value: Option<String>, allowed: &[&str]| match value {
            Some(v) if !allowed.contains(&v.as_str()) => Err(AwsError::invalid_field(
                name,
                format!(
                    "Member must satisfy enum value set: [{}]",
                    allowed.join(", ")
                ),
            )),
            other => Ok(other),
        };
        const ID: &str = "X-Amzn-Bedrock-GuardrailIdentifier";
        const VERSION: &str = "X-Amzn-Bedrock-GuardrailVersion";
        const TRACE: &str = "X-Amzn-Bedrock-Trace";
        const LATENCY: &str = "X-Amzn-Bedrock-PerformanceConfig-Latency";
        const TIER: &str = "X-Amzn-Bedrock-Service-Tier";
        let trace = one_of(
            TRACE,
            text(TRACE)?,
            &["ENABLED", "DISABLED", "ENABLED_FULL"],
        )?;
        let guardrail = match (text(ID)?, text(VERSION)?) {
            (None, None) => None,
            (Some(_), None) | (None, Some(_)) => {
                return Err(AwsError::validation(format!(
                    "{ID} and {VERSION} must be given together."
                )));
            }
            (Some(guardrail_identifier), Some(guardrail_version)) => Some(GuardrailConfig {
                guardrail_identifier,
                guardrail_version,
                trace: trace.as_deref().map(|t| match t {
                    "ENABLED" => GuardrailTrace::Enabled,
                    "ENABLED_FULL" => GuardrailTrace::EnabledFull,
                    _ => GuardrailTrace::Disabled,
                }),
                stream_processing_mode: None,
            }),
        };
        let latency = match one_of(LATENCY, text(LATENCY)?, &["standard", "optimized"])? {
            Some(l) if l == "optimized" => Some(Latency::Optimized),
            Some(_) => Some(Latency::Standard),
            None => None,
        };
        let tier = one_of(
            TIER,
            text(TIER)?,
            &["priority", "default", "flex", "reserved"],
        )?
        .map(|t| match t.as_str() {
            "priority" => TierType::Priority,
            "flex" => TierType::Flex,
            "reserved" => TierType::Reserved,
            _ => TierType::Default,
        });
        Ok(Self {
            guardrail,
            latency,
            tier,
        })
    }

    /// The response headers that echo the request's.
    fn echo(&self, response: &mut Response) {
        let headers = response.headers_mut();
        if let Some(latency) = self.latency {
            headers.insert(
                "x-amzn-bedrock-performanceconfig-latency",
                HeaderValue::from_static(latency.as_str()),
            );
        }
        if let Some(tier) = self.tier {
            headers.insert(
                "x-amzn-bedrock-service-tier",
                HeaderValue::from_static(tier.as_str()),
            );
        }
    }

    /// The body fields a guarded invocation adds: `amazon-bedrock-guardrailAction`, and with
    /// tracing on, `amazon-bedrock-trace`.
    fn guardrail_fields(&self, body: &mut Value, intervened: bool, outcome: &Assessments) {
        let Some(config) = &self.guardrail else {
            return;
        };
        body["amazon-bedrock-guardrailAction"] =
            json!(if intervened { "INTERVENED" } else { "NONE" });
        if matches!(
            config.trace,
            Some(GuardrailTrace::Enabled | GuardrailTrace::EnabledFull)
        ) {
            let id = &config.guardrail_identifier;
            let mut guardrail = serde_json::Map::new();
            if let Some(input) = &outcome.input {
                guardrail.insert("input".into(), json!({ id: input }));
            }
            let outputs: Vec<Value> = outcome.outputs.iter().map(|a| json!({ id: a })).collect();
            if !outputs.is_empty() {
                guardrail.insert("outputs".into(), Value::from(outputs));
            }
            body["amazon-bedrock-trace"] = json!({ "guardrail": guardrail });
        }
    }
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

pub(crate) async fn invoke_model(
    State(app): State<AppState>,
    Path(model_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, AwsError> {
    let started = Instant::now();
    let options = InvokeHeaders::parse(&headers)?;
    let mut response = match invocation(&app, &model_id, &body)? {
        Invocation::Text(text) => {
            let prepared = text.prepare()?;
            let (completion, outcome) = generate_prepared(
                &app,
                &text.model,
                prepared,
                options.guardrail.as_ref(),
                text.guarded_input,
            )
            .await?;
            let mut body = json!({
                "generation": completion.text,
                "prompt_token_count": completion.input_tokens,
                "generation_token_count": completion.output_tokens,
                "stop_reason": llama_stop_reason(completion.stop_reason),
            });
            let intervened = completion.stop_reason == StopReason::GuardrailIntervened;
            options.guardrail_fields(&mut body, intervened, &outcome);
            with_token_headers(
                Json(body).into_response(),
                completion.input_tokens,
                completion.output_tokens,
                started,
            )
        }
        Invocation::Embedding(model) => {
            if options.guardrail.is_some() {
                return Err(AwsError::validation(format!(
                    "Guardrails apply to text generation; {model_id} is an embedding model."
                )));
            }
            let (body, tokens) = embed(&model, &body).await?;
            with_token_headers(Json(body).into_response(), tokens, 0, started)
        }
    };
    options.echo(&mut response);
    Ok(response)
}

fn chunk(payload: &Value) -> Bytes {
    let bytes = base64::engine::general_purpose::STANDARD.encode(payload.to_string());
    eventstream::event("chunk", &json!({ "bytes": bytes }))
}

fn invocation_metrics(input: usize, output: usize, started: Instant) -> Value {
    json!({
        "inputTokenCount": input,
        "outputTokenCount": output,
        "invocationLatency": started.elapsed().as_millis() as u64,
        "firstByteLatency": started.elapsed().as_millis() as u64,
    })
}

pub(crate) async fn invoke_model_with_response_stream(
    State(app): State<AppState>,
    Path(model_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, AwsError> {
    let started = Instant::now();
    let options = InvokeHeaders::parse(&headers)?;
    let text = match invocation(&app, &model_id, &body)? {
        Invocation::Text(text) => text,
        Invocation::Embedding(_) => {
            return Err(AwsError::validation(format!(
                "Model {model_id} does not support response streaming."
            )));
        }
    };
    let prepared = text.prepare()?;
    let TextInvocation {
        model,
        guarded_input,
        ..
    } = *text;
    if options.guardrail.is_some() {
        // Checked as a whole before anything is sent: a block or a mask must never follow
        // text the client already has.
        let (completion, outcome) = generate_prepared(
            &app,
            &model,
            prepared,
            options.guardrail.as_ref(),
            guarded_input,
        )
        .await?;
        let (frames, mut response) = eventstream_response();
        let (input, output) = (completion.input_tokens, completion.output_tokens);
        if !completion.text.is_empty() {
            frames
                .send(chunk(&json!({
                    "generation": completion.text,
                    "prompt_token_count": input,
                    "generation_token_count": output,
                    "stop_reason": null,
                })))
                .ok();
        }
        let mut last = json!({
            "generation": "",
            "prompt_token_count": null,
            "generation_token_count": output,
            "stop_reason": llama_stop_reason(completion.stop_reason),
            "amazon-bedrock-invocationMetrics": invocation_metrics(input, output, started),
        });
        let intervened = completion.stop_reason == StopReason::GuardrailIntervened;
        options.guardrail_fields(&mut last, intervened, &outcome);
        frames.send(chunk(&last)).ok();
        options.echo(&mut response);
        return Ok(response);
    }
    let generation = model.start(prepared)?;
    let input_tokens = generation.input_tokens();
    let events = generation.into_events();
    let (frames, mut response) = eventstream_response();
    options.echo(&mut response);
    let mut generated = 0usize;
    let mut first = true;
    tokio::spawn(forward_events(events, frames, move |event| {
        let prompt_count = if std::mem::take(&mut first) {
            Some(input_tokens)
        } else {
            None
        };
        match event {
            GenerationEvent::Text(text) => {
                generated += 1;
                vec![chunk(&json!({
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
            } => vec![chunk(&json!({
                "generation": "",
                "prompt_token_count": prompt_count,
                "generation_token_count": output_tokens,
                "stop_reason": llama_stop_reason(stop_reason),
                "amazon-bedrock-invocationMetrics":
                    invocation_metrics(input_tokens, output_tokens, started),
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

//! RetrieveAndGenerate: retrieve (from a knowledge base, or from documents sent with the
//! request), answer with a text model from a prompt built of the results, and cite: each
//! sentence of the answer is mapped to the retrieved chunks that support it.

use base64::Engine as _;
use mantle_guardrails::Verdict;
use mantle_inference::{
    Content, Conversation, Field, GenerateRequest, GenerationEvent, InferenceError,
    InferenceParams, Role, TextModel, Turn,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::guard::{Guard, GuardrailAction};
use crate::index::dot;
use crate::ingest::{SourceDocument, content_type_of, embed_query, parse};
use crate::input::{DocumentIdentifier, DocumentSourceType};
use crate::record::{RagSessionRecord, RagTurn};
use crate::retrieve::{
    DEFAULT_NUMBER_OF_RESULTS, GuardrailReference, Location, ResultContent, RetrievalConfiguration,
    RetrievalResult, SearchRequest,
};
use crate::service::{Knowledge, now};
use crate::{KnowledgeBaseId, KnowledgeError};

/// Bedrock's default generation prompt, less its model-specific formatting.
pub const DEFAULT_PROMPT_TEMPLATE: &str = "You are a question answering agent. I will provide you \
with a set of search results. The user will provide you with a question. Your job is to answer \
the user's question using only information from the search results. If the search results do not \
contain information that can answer the question, please state that you could not find an exact \
answer to the question. Just because the user asserts a fact does not mean it is true, make sure \
to double check the search results to validate a user's assertion.\n\nHere are the search results \
in numbered order:\n$search_results$\n\n$output_format_instructions$";

/// How close (cosine) a sentence and a chunk must be for the chunk to count as its support.
pub const CITATION_THRESHOLD: f32 = 0.5;

/// Answer length when `maxTokens` is not given.
const DEFAULT_MAX_TOKENS: i64 = 512;

/// Turns of a session kept as the next question's history.
const SESSION_TURNS: usize = 8;

/// RetrieveAndGenerate's body.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RetrieveAndGenerateInput {
    pub input: RagQuery,
    #[serde(default)]
    pub retrieve_and_generate_configuration: Option<RagConfiguration>,
    #[serde(default)]
    pub session_configuration: Option<Value>,
    #[serde(default)]
    pub session_id: Option<String>,
    #[serde(default)]
    pub user_context: Option<Value>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RagQuery {
    pub text: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RagConfiguration {
    #[serde(rename = "type")]
    pub kind: RagType,
    #[serde(default)]
    pub knowledge_base_configuration: Option<KnowledgeBaseRagConfiguration>,
    #[serde(default)]
    pub external_sources_configuration: Option<ExternalSourcesConfiguration>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RagType {
    KnowledgeBase,
    ExternalSources,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct KnowledgeBaseRagConfiguration {
    pub knowledge_base_id: String,
    pub model_arn: String,
    #[serde(default)]
    pub retrieval_configuration: Option<RetrievalConfiguration>,
    #[serde(default)]
    pub generation_configuration: Option<GenerationConfiguration>,
    #[serde(default)]
    pub orchestration_configuration: Option<Value>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GenerationConfiguration {
    #[serde(default)]
    pub prompt_template: Option<PromptTemplate>,
    #[serde(default)]
    pub guardrail_configuration: Option<GuardrailReference>,
    #[serde(default)]
    pub inference_config: Option<InferenceConfig>,
    #[serde(default)]
    pub additional_model_request_fields: Option<Value>,
    #[serde(default)]
    pub performance_config: Option<Value>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PromptTemplate {
    #[serde(default)]
    pub text_prompt_template: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct InferenceConfig {
    #[serde(default)]
    pub text_inference_config: Option<TextInferenceConfig>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TextInferenceConfig {
    #[serde(default)]
    pub max_tokens: Option<i64>,
    #[serde(default)]
    pub stop_sequences: Option<Vec<String>>,
    #[serde(default)]
    pub temperature: Option<f64>,
    #[serde(default)]
    pub top_p: Option<f64>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ExternalSourcesConfiguration {
    pub model_arn: String,
    pub sources: Vec<ExternalSource>,
    #[serde(default)]
    pub generation_configuration: Option<GenerationConfiguration>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ExternalSource {
    pub source_type: ExternalSourceType,
    #[serde(default)]
    pub s3_location: Option<crate::input::S3Location>,
    #[serde(default)]
    pub byte_content: Option<ExternalByteContent>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ExternalSourceType {
    S3,
    ByteContent,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ExternalByteContent {
    pub identifier: String,
    pub content_type: String,
    /// Base64, as the wire carries blobs.
    pub data: String,
}

/// RetrieveAndGenerate's answer.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RagOutput {
    pub output: RagText,
    pub citations: Vec<Citation>,
    /// Present when the request named a guardrail.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub guardrail_action: Option<GuardrailAction>,
    pub session_id: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RagText {
    pub text: String,
}

/// A part of the answer and the retrieved chunks that support it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Citation {
    pub generated_response_part: GeneratedResponsePart,
    pub retrieved_references: Vec<RetrievedReference>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GeneratedResponsePart {
    pub text_response_part: TextResponsePart,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TextResponsePart {
    pub text: String,
    pub span: Span,
}

/// Character offsets into the answer; `end` is the last character's (inclusive, as Bedrock's).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Span {
    pub start: usize,
    pub end: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RetrievedReference {
    pub content: ResultContent,
    pub location: Location,
    pub metadata: std::collections::BTreeMap<String, Value>,
}

impl From<RetrievalResult> for RetrievedReference {
    fn from(result: RetrievalResult) -> Self {
        Self {
            content: result.content,
            location: result.location,
            metadata: result.metadata,
        }
    }
}

/// What a generation is built from, whichever way the references were found.
struct Plan<'a> {
    model_arn: &'a str,
    generation: Option<&'a GenerationConfiguration>,
    /// The wire path of `generationConfiguration`, for naming its fields.
    field: String,
}

/// What a generation is built from and what it leaves to do afterwards.
struct Prepared {
    model: TextModel,
    request: GenerateRequest,
    inference_field: String,
    references: Vec<RetrievalResult>,
    question: String,
    session_id: String,
    /// The session so far; `None` for a new one.
    session: Option<RagSessionRecord>,
    /// The guardrail to check the answer with.
    guard: Option<Guard>,
    /// The guardrail's message when it blocked the question: nothing is generated.
    blocked_input: Option<String>,
    /// Whether the guardrail changed the question (masked it).
    input_masked: bool,
}

/// Where a generation's references come from.
enum Retrieval<'a> {
    KnowledgeBase(KnowledgeBaseId, SearchRequest),
    External(&'a ExternalSourcesConfiguration, String),
}

/// RetrieveAndGenerateStream's answer: the session id (known before the first event) and the
/// events.
#[derive(Debug)]
pub struct RagStream {
    pub session_id: String,
    pub events: tokio::sync::mpsc::Receiver<RagEvent>,
}

/// One event of a streamed answer.
#[derive(Debug)]
pub enum RagEvent {
    /// A piece of the answer's text.
    Output(String),
    /// A part of the answer and its support, after the whole text.
    Citation(Citation),
    /// What the request's guardrail did, after the text (only when one was named).
    Guardrail(GuardrailAction),
    /// The stream ends with this error.
    Failed(KnowledgeError),
}

impl Knowledge {
    /// RetrieveAndGenerate.
    pub async fn retrieve_and_generate(
        &self,
        input: &RetrieveAndGenerateInput,
    ) -> Result<RagOutput, KnowledgeError> {
        let prepared = self.prepare(input).await?;
        let answer = match &prepared.blocked_input {
            Some(message) => message.clone(),
            None => {
                let completion =
                    async { prepared.model.generate(&prepared.request)?.collect().await }
                        .await
                        .map_err(|e| name_inference_field(e, &prepared.inference_field))?;
                completion.text.trim().to_owned()
            }
        };
        let (answer, action, blocked) = self.guard_answer(&prepared, answer).await?;
        let session_id = prepared.session_id.clone();
        let citations = self.finish(prepared, &answer, !blocked).await?;
        Ok(RagOutput {
            output: RagText { text: answer },
            citations,
            guardrail_action: action,
            session_id,
        })
    }

    /// The answer as the client gets it, `guardrailAction`, and whether the guardrail blocked
    /// (a blocked answer is the guardrail's message and cites nothing).
    async fn guard_answer(
        &self,
        prepared: &Prepared,
        answer: String,
    ) -> Result<(String, Option<GuardrailAction>, bool), KnowledgeError> {
        let Some(guard) = &prepared.guard else {
            return Ok((answer, None, false));
        };
        if prepared.blocked_input.is_some() {
            return Ok((answer, Some(GuardrailAction::Intervened), true));
        }
        let sources: Vec<String> = prepared
            .references
            .iter()
            .map(|r| r.content.text.clone())
            .collect();
        let verdict = self
            .guard_output(guard, &answer, &prepared.question, &sources)
            .await?;
        let action = if prepared.input_masked {
            GuardrailAction::Intervened
        } else {
            GuardrailAction::of(&verdict)
        };
        let (answer, blocked) = match verdict {
            Verdict::Pass => (answer, false),
            Verdict::Masked(texts) => (texts.into_iter().next().unwrap_or_default(), false),
            Verdict::Blocked(message) => (message, true),
        };
        Ok((answer, Some(action), blocked))
    }

    /// RetrieveAndGenerateStream: the answer as it is generated, then its citations. Anything
    /// wrong with the request fails here, before the stream starts; the session id is known
    /// now, for the response header. The streamed text, joined, is what
    /// [`Knowledge::retrieve_and_generate`] answers.
    pub async fn retrieve_and_generate_stream(
        &self,
        input: &RetrieveAndGenerateInput,
    ) -> Result<RagStream, KnowledgeError> {
        let prepared = self.prepare(input).await?;
        let session_id = prepared.session_id.clone();
        let (events, receiver) = tokio::sync::mpsc::channel(64);
        if prepared.guard.is_some() || prepared.blocked_input.is_some() {
            // A guarded answer is checked whole before any of it is sent.
            let this = self.clone();
            tokio::spawn(async move {
                let result = async {
                    let answer = match &prepared.blocked_input {
                        Some(message) => message.clone(),
                        None => {
                            async { prepared.model.generate(&prepared.request)?.collect().await }
                                .await
                                .map_err(|e| name_inference_field(e, &prepared.inference_field))?
                                .text
                                .trim()
                                .to_owned()
                        }
                    };
                    let (answer, action, blocked) = this.guard_answer(&prepared, answer).await?;
                    let citations = this.finish(prepared, &answer, !blocked).await?;
                    Ok::<_, KnowledgeError>((answer, action, citations))
                }
                .await;
                let sent = match result {
                    Ok((answer, action, citations)) => {
                        let mut sequence = vec![RagEvent::Output(answer)];
                        sequence.extend(action.map(RagEvent::Guardrail));
                        sequence.extend(citations.into_iter().map(RagEvent::Citation));
                        sequence
                    }
                    Err(error) => vec![RagEvent::Failed(error)],
                };
                for event in sent {
                    if events.send(event).await.is_err() {
                        return;
                    }
                }
            });
            return Ok(RagStream {
                session_id,
                events: receiver,
            });
        }
        let mut generation = prepared
            .model
            .generate(&prepared.request)
            .map_err(|e| name_inference_field(e, &prepared.inference_field))?;
        let this = self.clone();
        tokio::spawn(async move {
            let mut answer = String::new();
            let mut trim = TrimmedDeltas::default();
            while let Some(event) = generation.next().await {
                match event {
                    GenerationEvent::Text(piece) => {
                        let delta = trim.push(&piece);
                        answer.push_str(&delta);
                        if !delta.is_empty() && events.send(RagEvent::Output(delta)).await.is_err()
                        {
                            return; // the client went away
                        }
                    }
                    GenerationEvent::Done { .. } => break,
                    GenerationEvent::Failed(message) => {
                        let error = KnowledgeError::Model(InferenceError::ModelFailed(message));
                        let _ = events.send(RagEvent::Failed(error)).await;
                        return;
                    }
                    _ => {}
                }
            }
            match this.finish(prepared, &answer, true).await {
                Ok(citations) => {
                    for citation in citations {
                        if events.send(RagEvent::Citation(citation)).await.is_err() {
                            return;
                        }
                    }
                }
                Err(error) => {
                    let _ = events.send(RagEvent::Failed(error)).await;
                }
            }
        });
        Ok(RagStream {
            session_id,
            events: receiver,
        })
    }

    /// Everything before generation: the request checked, the session found (or named),
    /// the references retrieved, the prompt built.
    async fn prepare(&self, input: &RetrieveAndGenerateInput) -> Result<Prepared, KnowledgeError> {
        let question = input.input.text.trim();
        if question.is_empty() || input.input.text.chars().count() > 1000 {
            return Err(KnowledgeError::invalid(
                "input.text",
                "Member must have length between 1 and 1000",
            ));
        }
        let config = input
            .retrieve_and_generate_configuration
            .as_ref()
            .ok_or_else(|| {
                KnowledgeError::invalid(
                    "retrieveAndGenerateConfiguration",
                    "Member must not be null",
                )
            })?;
        let (session_id, session) = match &input.session_id {
            Some(id) => (id.clone(), Some(self.find_session(id)?)),
            None => (uuid::Uuid::new_v4().to_string(), None),
        };
        const ROOT: &str = "retrieveAndGenerateConfiguration";
        let (plan, retrieval) = match config.kind {
            RagType::KnowledgeBase => {
                let field = format!("{ROOT}.knowledgeBaseConfiguration");
                let kb_config = config
                    .knowledge_base_configuration
                    .as_ref()
                    .ok_or_else(|| {
                        KnowledgeError::invalid(
                            &field,
                            "Member must not be null for type KNOWLEDGE_BASE",
                        )
                    })?;
                if kb_config.orchestration_configuration.is_some() {
                    return Err(KnowledgeError::invalid(
                        format!("{field}.orchestrationConfiguration"),
                        "query decomposition is not supported by this server yet; omit it",
                    ));
                }
                let kb: KnowledgeBaseId = kb_config.knowledge_base_id.parse().map_err(|_| {
                    KnowledgeError::invalid(
                        format!("{field}.knowledgeBaseId"),
                        "Member must satisfy regular expression pattern: [0-9a-zA-Z]{10}",
                    )
                })?;
                let search = SearchRequest::from_configuration(
                    question.to_owned(),
                    kb_config.retrieval_configuration.as_ref(),
                    &format!("{field}.retrievalConfiguration"),
                )?;
                let plan = Plan {
                    model_arn: &kb_config.model_arn,
                    generation: kb_config.generation_configuration.as_ref(),
                    field: format!("{field}.generationConfiguration"),
                };
                self.check_generation(&plan)?;
                (plan, Retrieval::KnowledgeBase(kb, search))
            }
            RagType::ExternalSources => {
                let field = format!("{ROOT}.externalSourcesConfiguration");
                let external = config
                    .external_sources_configuration
                    .as_ref()
                    .ok_or_else(|| {
                        KnowledgeError::invalid(
                            &field,
                            "Member must not be null for type EXTERNAL_SOURCES",
                        )
                    })?;
                let plan = Plan {
                    model_arn: &external.model_arn,
                    generation: external.generation_configuration.as_ref(),
                    field: format!("{field}.generationConfiguration"),
                };
                self.check_generation(&plan)?;
                (plan, Retrieval::External(external, field))
            }
        };
        let guard = plan
            .generation
            .and_then(|g| g.guardrail_configuration.as_ref())
            .map(|r| Guard::parse(r, &format!("{}.guardrailConfiguration", plan.field)))
            .transpose()?;
        let mut question = question.to_owned();
        let mut blocked_input = None;
        let mut input_masked = false;
        if let Some(guard) = &guard {
            match self.guard_input(guard, &question).await? {
                Verdict::Pass => {}
                Verdict::Masked(texts) => {
                    question = texts.into_iter().next().unwrap_or_default();
                    input_masked = true;
                }
                Verdict::Blocked(message) => blocked_input = Some(message),
            }
        }
        let references = match (&blocked_input, retrieval) {
            // Nothing is retrieved, but an unknown knowledge base is still an error.
            (Some(_), Retrieval::KnowledgeBase(kb, _)) => {
                self.find_knowledge_base(&kb)?;
                Vec::new()
            }
            (Some(_), Retrieval::External(..)) => Vec::new(),
            (None, Retrieval::KnowledgeBase(kb, mut search)) => {
                search.text = question.clone();
                self.search(&kb, &search).await?
            }
            (None, Retrieval::External(external, field)) => {
                self.search_external(&question, external, &field).await?
            }
        };
        let history = session
            .as_ref()
            .map(|s| s.turns.as_slice())
            .unwrap_or_default();
        let request = build_request(&plan, &question, &references, history);
        Ok(Prepared {
            model: self.inner.models.text(plan.model_arn)?.clone(),
            inference_field: format!("{}.inferenceConfig.textInferenceConfig", plan.field),
            request,
            references,
            question,
            session_id,
            session,
            guard,
            blocked_input,
            input_masked,
        })
    }

    /// Everything after generation: the citations (unless `cite` is false: a guardrail's
    /// message is not built from the references), and the turn kept in the session.
    async fn finish(
        &self,
        prepared: Prepared,
        answer: &str,
        cite: bool,
    ) -> Result<Vec<Citation>, KnowledgeError> {
        let citations = if cite {
            self.cite(answer, prepared.references).await?
        } else {
            Vec::new()
        };
        let turn = RagTurn {
            question: prepared.question,
            answer: answer.to_owned(),
        };
        let mut record = prepared.session.unwrap_or_else(|| RagSessionRecord {
            turns: Vec::new(),
            updated_at: String::new(),
        });
        record.turns.push(turn);
        let keep = record.turns.len().saturating_sub(SESSION_TURNS);
        record.turns.drain(..keep);
        record.updated_at = now();
        self.inner.sessions.put(&prepared.session_id, &record)?;
        self.inner.store.flush()?;
        Ok(citations)
    }

    fn find_session(&self, id: &str) -> Result<RagSessionRecord, KnowledgeError> {
        let valid = (2..=100).contains(&id.len())
            && id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"._:-".contains(&b));
        if !valid {
            return Err(KnowledgeError::invalid(
                "sessionId",
                "Member must satisfy regular expression pattern: [0-9a-zA-Z._:-]+ of length 2 to 100",
            ));
        }
        self.inner.sessions.get(id)?.ok_or_else(|| {
            KnowledgeError::NotFound(format!(
                "Session {id} does not exist; omit sessionId to start one."
            ))
        })
    }

    /// Checks what generation needs before anything is retrieved: the model serves text and
    /// the configuration asks only for what this server does.
    fn check_generation(&self, plan: &Plan<'_>) -> Result<(), KnowledgeError> {
        let model_field = plan.field.replace("generationConfiguration", "modelArn");
        self.inner
            .models
            .text(plan.model_arn)
            .map_err(|e| KnowledgeError::invalid(model_field, e.to_string()))?;
        if let Some(template) = plan
            .generation
            .and_then(|g| g.prompt_template.as_ref())
            .and_then(|t| t.text_prompt_template.as_deref())
            && (template.is_empty() || template.chars().count() > 4000)
        {
            return Err(KnowledgeError::invalid(
                format!("{}.promptTemplate.textPromptTemplate", plan.field),
                "Member must have length between 1 and 4000",
            ));
        }
        Ok(())
    }

    /// Chunks and ranks documents sent with the request, as a knowledge base would.
    async fn search_external(
        &self,
        question: &str,
        external: &ExternalSourcesConfiguration,
        field: &str,
    ) -> Result<Vec<RetrievalResult>, KnowledgeError> {
        if external.sources.len() != 1 {
            return Err(KnowledgeError::invalid(
                format!("{field}.sources"),
                "Member must have length 1",
            ));
        }
        let source = &external.sources[0];
        let field = format!("{field}.sources.0");
        let (bytes, content_type, location) = match source.source_type {
            ExternalSourceType::S3 => {
                let s3 = source.s3_location.as_ref().ok_or_else(|| {
                    KnowledgeError::invalid(
                        format!("{field}.s3Location"),
                        "Member must not be null for type S3",
                    )
                })?;
                let bytes =
                    self.inner.buckets.read(&s3.uri).await.map_err(|e| {
                        KnowledgeError::invalid(format!("{field}.s3Location.uri"), e)
                    })?;
                (
                    bytes,
                    content_type_of(&s3.uri).to_owned(),
                    Location::s3(s3.uri.clone()),
                )
            }
            ExternalSourceType::ByteContent => {
                let content = source.byte_content.as_ref().ok_or_else(|| {
                    KnowledgeError::invalid(
                        format!("{field}.byteContent"),
                        "Member must not be null for type BYTE_CONTENT",
                    )
                })?;
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(&content.data)
                    .map_err(|e| {
                        KnowledgeError::invalid(
                            format!("{field}.byteContent.data"),
                            format!("Member must be base64: {e}"),
                        )
                    })?;
                (
                    bytes,
                    content.content_type.clone(),
                    Location::custom(content.identifier.clone()),
                )
            }
        };
        let text = parse(bytes, &content_type)
            .await
            .map_err(|e| KnowledgeError::invalid(&field, e))?;
        let document = SourceDocument {
            identifier: DocumentIdentifier {
                data_source_type: DocumentSourceType::Custom,
                s3: None,
                custom: None,
                web: None,
            },
            location: location.clone(),
            bytes: Vec::new(),
            content_type,
            metadata: Default::default(),
        };
        let embedding = self.default_embedding_model()?;
        let chunks = crate::ingest::chunk_and_embed(
            &self.inner.registry,
            &self.inner.models,
            &embedding,
            &document,
            text,
            &crate::ingest::Chunking::new(None, &embedding),
        )
        .await
        .map_err(|e| KnowledgeError::invalid(&field, e))?;
        let query = embed_query(self.inner.models.embedding(&embedding)?, question).await?;
        let mut scored: Vec<(f32, &str)> = chunks
            .iter()
            .filter(|c| !c.vector.is_empty())
            .map(|c| (dot(&c.vector, &query), c.text.as_str()))
            .collect();
        scored.sort_by(|a, b| b.0.total_cmp(&a.0));
        Ok(scored
            .into_iter()
            .take(DEFAULT_NUMBER_OF_RESULTS as usize)
            .map(|(similarity, text)| RetrievalResult {
                content: ResultContent::text(text),
                location: location.clone(),
                metadata: [(
                    "x-amz-bedrock-kb-source-uri".to_owned(),
                    Value::from(location.uri()),
                )]
                .into(),
                score: f64::from((1.0 + similarity) / 2.0),
            })
            .collect())
    }

    /// The embedding model for documents that belong to no knowledge base: the first served.
    fn default_embedding_model(&self) -> Result<String, KnowledgeError> {
        self.inner
            .models
            .list()
            .find_map(|served| match served {
                mantle_inference::Served::Embedding(model) => Some(model.info.id.clone()),
                mantle_inference::Served::Text(_) => None,
            })
            .ok_or_else(|| InferenceError::Invalid("no embedding model is served".into()).into())
    }

    /// Cites each sentence of `answer` with the references whose text supports it.
    async fn cite(
        &self,
        answer: &str,
        references: Vec<RetrievalResult>,
    ) -> Result<Vec<Citation>, KnowledgeError> {
        let parts = sentence_spans(answer);
        if parts.is_empty() {
            return Ok(Vec::new());
        }
        let embedding = self.default_embedding_model()?;
        let model = self.inner.models.embedding(&embedding)?;
        let sentences: Vec<String> = parts.iter().map(|(text, _)| text.clone()).collect();
        let sentence_vectors = model.embed(sentences).await?.vectors;
        let reference_vectors = if references.is_empty() {
            Vec::new()
        } else {
            model
                .embed(references.iter().map(|r| r.content.text.clone()).collect())
                .await?
                .vectors
        };
        Ok(parts
            .into_iter()
            .zip(sentence_vectors)
            .map(|((text, span), vector)| {
                let mut supporting: Vec<(f32, usize)> = reference_vectors
                    .iter()
                    .enumerate()
                    .map(|(i, r)| (dot(r, &vector), i))
                    .filter(|(similarity, _)| *similarity >= CITATION_THRESHOLD)
                    .collect();
                supporting.sort_by(|a, b| b.0.total_cmp(&a.0));
                Citation {
                    generated_response_part: GeneratedResponsePart {
                        text_response_part: TextResponsePart { text, span },
                    },
                    retrieved_references: supporting
                        .into_iter()
                        .map(|(_, i)| references[i].clone().into())
                        .collect(),
                }
            })
            .collect())
    }
}

/// The generation request: the template filled with the results, the session's history, and
/// the question.
fn build_request(
    plan: &Plan<'_>,
    question: &str,
    references: &[RetrievalResult],
    history: &[RagTurn],
) -> GenerateRequest {
    let template = plan
        .generation
        .and_then(|g| g.prompt_template.as_ref())
        .and_then(|t| t.text_prompt_template.as_deref())
        .unwrap_or(DEFAULT_PROMPT_TEMPLATE);
    let results: String = references
        .iter()
        .enumerate()
        .map(|(i, r)| {
            format!(
                "<search_result index=\"{}\">\n{}\n</search_result>\n",
                i + 1,
                r.content.text
            )
        })
        .collect();
    let prompt = template
        .replace("$search_results$", results.trim_end())
        .replace(
            "$output_format_instructions$",
            "Answer in a few sentences of plain text.",
        );
    let mut conversation = Conversation::default();
    for turn in history {
        conversation
            .turns
            .push(text_turn(Role::User, &turn.question));
        conversation
            .turns
            .push(text_turn(Role::Assistant, &turn.answer));
    }
    if template.contains("$query$") {
        conversation
            .turns
            .push(text_turn(Role::User, &prompt.replace("$query$", question)));
    } else {
        conversation.system.push(prompt);
        conversation.turns.push(text_turn(Role::User, question));
    }
    let text = plan
        .generation
        .and_then(|g| g.inference_config.as_ref())
        .and_then(|c| c.text_inference_config.clone())
        .unwrap_or_default();
    let mut request = GenerateRequest::chat(conversation);
    request.params = InferenceParams {
        max_tokens: Some(text.max_tokens.unwrap_or(DEFAULT_MAX_TOKENS)),
        temperature: text.temperature,
        top_p: text.top_p,
        stop_sequences: text.stop_sequences.unwrap_or_default(),
        ..InferenceParams::default()
    };
    request
}

/// Streamed text with the whitespace the non-streamed answer trims held back: leading
/// whitespace is dropped, and whitespace is sent only once more text follows it.
#[derive(Debug, Default)]
struct TrimmedDeltas {
    started: bool,
    pending: String,
}

impl TrimmedDeltas {
    fn push(&mut self, piece: &str) -> String {
        let mut out = String::new();
        for c in piece.chars() {
            if c.is_whitespace() {
                if self.started {
                    self.pending.push(c);
                }
            } else {
                self.started = true;
                out.push_str(&self.pending);
                self.pending.clear();
                out.push(c);
            }
        }
        out
    }
}

fn text_turn(role: Role, text: &str) -> Turn {
    Turn {
        role,
        content: vec![Content::Text(text.to_owned())],
    }
}

/// An inference error with its field named as RetrieveAndGenerate's wire names it.
fn name_inference_field(error: InferenceError, prefix: &str) -> KnowledgeError {
    match error {
        InferenceError::InvalidField { field, constraint } => {
            let name = match field {
                Field::MaxTokens => "maxTokens".to_owned(),
                Field::Temperature => "temperature".to_owned(),
                Field::TopP => "topP".to_owned(),
                Field::StopSequences => "stopSequences".to_owned(),
                Field::StopSequence(i) => format!("stopSequences.{i}"),
                other => {
                    return KnowledgeError::Model(InferenceError::InvalidField {
                        field: other,
                        constraint,
                    });
                }
            };
            KnowledgeError::invalid(format!("{prefix}.{name}"), constraint)
        }
        other => KnowledgeError::Model(other),
    }
}

/// The answer's sentences with their character spans (`end` inclusive), whitespace between
/// them left out.
pub(crate) fn sentence_spans(text: &str) -> Vec<(String, Span)> {
    let chars: Vec<char> = text.chars().collect();
    let mut parts = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let ends = c == '\n'
            || (matches!(c, '.' | '!' | '?') && chars.get(i + 1).is_none_or(|n| n.is_whitespace()));
        if ends || i + 1 == chars.len() {
            push_part(&chars, start, i, &mut parts);
            start = i + 1;
        }
        i += 1;
    }
    parts
}

fn push_part(chars: &[char], start: usize, end: usize, parts: &mut Vec<(String, Span)>) {
    let mut s = start;
    let mut e = end;
    while s <= e && chars[s].is_whitespace() {
        s += 1;
    }
    while e > s && chars[e].is_whitespace() {
        e -= 1;
    }
    if s <= e && !chars[s].is_whitespace() {
        parts.push((chars[s..=e].iter().collect(), Span { start: s, end: e }));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streamed_deltas_join_to_the_trimmed_answer() {
        let pieces = ["  ", " Paris", " is", "  ", "\n", "nice.", "  \n"];
        let mut trim = TrimmedDeltas::default();
        let joined: String = pieces.iter().map(|p| trim.push(p)).collect();
        assert_eq!(joined, pieces.concat().trim());
    }

    #[test]
    fn sentences_carry_inclusive_character_spans() {
        let text = "Paris is the capital. It has 2.1 million people!\nSee é source";
        let parts = sentence_spans(text);
        let chars: Vec<char> = text.chars().collect();
        let texts: Vec<&str> = parts.iter().map(|(t, _)| t.as_str()).collect();
        assert_eq!(
            texts,
            [
                "Paris is the capital.",
                "It has 2.1 million people!",
                "See é source"
            ]
        );
        for (part, span) in &parts {
            let slice: String = chars[span.start..=span.end].iter().collect();
            assert_eq!(&slice, part);
        }
        assert!(sentence_spans("  \n ").is_empty());
    }
}

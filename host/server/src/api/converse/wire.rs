//! Converse's wire: the request body as Bedrock defines it, Bedrock's rules on it, its mapping
//! to the typed [`GenerateRequest`], and the names its validation errors use.

use mantle_inference::{
    Completion, Content, Conversation, Field, GenerateRequest, InferenceError, InferenceParams,
    ResponseFormat, Role as TurnRole, SamplingDefaults, ToolChoice as DomainToolChoice,
    ToolResultPart, ToolSpec as DomainToolSpec, Tools, Turn,
};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::error::AwsError;

/// Converse's (and ConverseStream's) body.
#[expect(
    dead_code,
    reason = "Bedrock's wire shape: accepted so that requests carrying it parse, not used by these models"
)]
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct ConverseRequest {
    #[serde(default)]
    pub messages: Vec<Message>,
    #[serde(default)]
    pub system: Vec<SystemBlock>,
    #[serde(default)]
    pub inference_config: Option<InferenceConfig>,
    #[serde(default)]
    pub tool_config: Option<ToolConfig>,
    #[serde(default)]
    pub output_config: Option<OutputConfig>,
    #[serde(default)]
    pub guardrail_config: Option<GuardrailConfig>,
    #[serde(default)]
    pub additional_model_request_fields: Option<Value>,
    #[serde(default)]
    pub additional_model_response_field_paths: Option<Vec<String>>,
    /// Values for a prompt's `{{variables}}` when `modelId` is a prompt ARN; ignored otherwise.
    #[serde(default)]
    pub prompt_variables:
        Option<std::collections::BTreeMap<String, mantle_flows::PromptVariableValue>>,
    #[serde(default)]
    pub request_metadata: Option<Value>,
    /// Accepted and echoed: one engine serves every latency profile here.
    #[serde(default)]
    pub performance_config: Option<PerformanceConfig>,
    /// Accepted and echoed: one tier serves everything here.
    #[serde(default)]
    pub service_tier: Option<ServiceTier>,
    #[serde(default)]
    pub project_identifier: Option<String>,
}

/// `performanceConfig`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct PerformanceConfig {
    pub latency: Latency,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Latency {
    Standard,
    Optimized,
}

impl Latency {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Standard => "standard",
            Self::Optimized => "optimized",
        }
    }
}

/// `serviceTier`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct ServiceTier {
    #[serde(rename = "type")]
    pub kind: TierType,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum TierType {
    Priority,
    Default,
    Flex,
    Reserved,
}

impl TierType {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Priority => "priority",
            Self::Default => "default",
            Self::Flex => "flex",
            Self::Reserved => "reserved",
        }
    }
}

/// `outputConfig`: structured output.
#[expect(
    dead_code,
    reason = "Bedrock's wire shape: accepted so that requests carrying it parse, not used by these models"
)]
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct OutputConfig {
    #[serde(default)]
    pub text_format: Option<OutputFormat>,
    /// Reasoning effort: this model does not reason before answering.
    #[serde(default)]
    pub effort: Option<String>,
}

#[expect(
    dead_code,
    reason = "Bedrock's wire shape: accepted so that requests carrying it parse, not used by these models"
)]
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct OutputFormat {
    #[serde(rename = "type")]
    pub kind: OutputFormatType,
    pub structure: OutputFormatStructure,
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum OutputFormatType {
    JsonSchema,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) enum OutputFormatStructure {
    JsonSchema(JsonSchemaDefinition),
}

#[expect(
    dead_code,
    reason = "Bedrock's wire shape: accepted so that requests carrying it parse, not used by these models"
)]
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct JsonSchemaDefinition {
    /// The schema, as a JSON string.
    pub schema: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Role {
    User,
    Assistant,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct Message {
    pub role: Role,
    pub content: Vec<ContentBlock>,
}

/// A content block: a union, exactly one member.
#[expect(
    dead_code,
    reason = "Bedrock's wire shape: accepted so that requests carrying it parse, not used by these models"
)]
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) enum ContentBlock {
    Text(String),
    Image(Value),
    Document(DocumentBlock),
    Video(Value),
    ToolUse(ToolUseBlock),
    ToolResult(ToolResultBlock),
    GuardContent(Value),
    CachePoint(Value),
    ReasoningContent(Value),
    CitationsContent(Value),
    SearchResult(Value),
}

/// A document sent with a user turn; its text is extracted by [`ConverseRequest::read_documents`]
/// before the request is mapped.
/// Unknown members are ignored rather than refused: `context` and `citations` ask for citation
/// support, which these models do not have, and must not fail the request.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct DocumentBlock {
    #[serde(default)]
    pub format: Option<String>,
    pub name: String,
    pub source: DocumentSource,
    /// The extracted text, once read.
    #[serde(skip)]
    pub text: Option<String>,
}

/// Where a document's content is: a union, exactly one member.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) enum DocumentSource {
    /// Base64, as the wire carries blobs.
    Bytes(String),
    S3Location(serde::de::IgnoredAny),
    Text(String),
    Content(serde::de::IgnoredAny),
}

/// Bedrock's limits on documents in one request.
const MAX_DOCUMENTS: usize = 5;
const MAX_DOCUMENT_BYTES: usize = 4_718_592;

/// A call the assistant made in an earlier turn.
#[expect(
    dead_code,
    reason = "Bedrock's wire shape: accepted so that requests carrying it parse, not used by these models"
)]
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct ToolUseBlock {
    pub tool_use_id: String,
    pub name: String,
    pub input: Value,
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
}

/// What a call returned, sent back in a user turn.
#[expect(
    dead_code,
    reason = "Bedrock's wire shape: accepted so that requests carrying it parse, not used by these models"
)]
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct ToolResultBlock {
    pub tool_use_id: String,
    pub content: Vec<ToolResultContent>,
    #[serde(default)]
    pub status: Option<ToolResultStatus>,
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
}

#[expect(
    dead_code,
    reason = "Bedrock's wire shape: accepted so that requests carrying it parse, not used by these models"
)]
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) enum ToolResultContent {
    Text(String),
    Json(Value),
    Image(Value),
    Document(Value),
    Video(Value),
    SearchResult(Value),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum ToolResultStatus {
    Success,
    Error,
}

#[expect(
    dead_code,
    reason = "Bedrock's wire shape: accepted so that requests carrying it parse, not used by these models"
)]
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) enum SystemBlock {
    Text(String),
    GuardContent(Value),
    CachePoint(Value),
}

/// `guardrailConfig`: a guardrail checks the input before generation and the output after.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct GuardrailConfig {
    pub guardrail_identifier: String,
    pub guardrail_version: String,
    #[serde(default)]
    pub trace: Option<GuardrailTrace>,
    /// ConverseStream only: `sync` holds each chunk until it is checked, `async` checks behind
    /// the stream.
    #[serde(default)]
    pub stream_processing_mode: Option<StreamProcessingMode>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum GuardrailTrace {
    Enabled,
    Disabled,
    EnabledFull,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum StreamProcessingMode {
    Sync,
    Async,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct InferenceConfig {
    pub max_tokens: Option<i64>,
    pub temperature: Option<f64>,
    pub top_p: Option<f64>,
    #[serde(default)]
    pub stop_sequences: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct ToolConfig {
    #[serde(default)]
    pub tools: Vec<ToolEntry>,
    #[serde(default)]
    pub tool_choice: Option<ToolChoice>,
}

#[expect(
    dead_code,
    reason = "Bedrock's wire shape: accepted so that requests carrying it parse, not used by these models"
)]
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct ToolEntry {
    #[serde(default)]
    pub tool_spec: Option<ToolSpec>,
    #[serde(default)]
    pub system_tool: Option<Value>,
    #[serde(default)]
    pub cache_point: Option<Value>,
}

#[expect(
    dead_code,
    reason = "Bedrock's wire shape: accepted so that requests carrying it parse, not used by these models"
)]
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct ToolSpec {
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    pub input_schema: ToolInputSchema,
    /// Calls are always held to the schema here; the flag changes nothing.
    #[serde(default)]
    pub strict: Option<bool>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct ToolInputSchema {
    pub json: Value,
}

#[expect(
    dead_code,
    reason = "Bedrock's wire shape: accepted so that requests carrying it parse, not used by these models"
)]
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) enum ToolChoice {
    Auto(Value),
    Any(Value),
    Tool(SpecificTool),
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct SpecificTool {
    pub name: String,
}

/// A Converse request in the typed form, with what it takes to name its fields in errors.
#[derive(Debug, Clone)]
pub(crate) struct Mapped {
    pub request: GenerateRequest,
    pub names: FieldNames,
}

/// Where the typed request's parts came from in the wire body: blocks and tools that carry
/// nothing for the model (cache points) are dropped, so indices differ.
#[derive(Debug, Clone, Default)]
pub(crate) struct FieldNames {
    /// The wire index of each tool.
    tools: Vec<usize>,
    /// The wire index of each block, per turn.
    blocks: Vec<Vec<usize>>,
}

impl FieldNames {
    /// The body's name for `field`, as Bedrock spells paths.
    pub(crate) fn name(&self, field: &Field) -> String {
        let tool = |i: &usize| self.tools.get(*i).copied().unwrap_or(*i);
        let block = |turn: &usize, block: &usize| {
            self.blocks
                .get(*turn)
                .and_then(|b| b.get(*block))
                .copied()
                .unwrap_or(*block)
        };
        let under = |base: String, path: &str| {
            if path.is_empty() {
                base
            } else {
                format!("{base}.{path}")
            }
        };
        match field {
            Field::MaxTokens => "inferenceConfig.maxTokens".into(),
            Field::Temperature => "inferenceConfig.temperature".into(),
            Field::TopP => "inferenceConfig.topP".into(),
            Field::TopK => "additionalModelRequestFields.top_k".into(),
            Field::StopSequences => "inferenceConfig.stopSequences".into(),
            Field::StopSequence(i) => format!("inferenceConfig.stopSequences.{i}"),
            Field::Messages => "messages".into(),
            Field::Content { turn } => format!("messages.{turn}.content"),
            Field::Block { turn, block: b } => {
                format!("messages.{turn}.content.{}", block(turn, b))
            }
            Field::ToolUseName { turn, block: b } => {
                format!("messages.{turn}.content.{}.toolUse.name", block(turn, b))
            }
            Field::Tools => "toolConfig.tools".into(),
            Field::ToolName { tool: i } => format!("toolConfig.tools.{}.toolSpec.name", tool(i)),
            Field::ToolSchema { tool: i, path } => under(
                format!("toolConfig.tools.{}.toolSpec.inputSchema.json", tool(i)),
                path,
            ),
            Field::ToolChoiceName => "toolConfig.toolChoice.tool.name".into(),
            Field::ResponseFormat => "outputConfig.textFormat".into(),
            Field::ResponseSchema { path } => under(
                "outputConfig.textFormat.structure.jsonSchema.schema".into(),
                path,
            ),
            Field::Prompt => "messages".into(),
            Field::EmbeddingInput(_) | Field::EmbeddingInputs => "messages".into(),
        }
    }

    /// `error` as Converse answers it.
    pub(crate) fn error(&self, error: InferenceError) -> AwsError {
        crate::error::inference_error(error, |field| self.name(field))
    }
}

impl ConverseRequest {
    /// Extracts the text of every `document` block (PDF, Office and HTML parsing runs on a
    /// blocking thread), so the mapping after it stays synchronous. A document that cannot be
    /// read fails the request with a ValidationException naming the block.
    pub(crate) async fn read_documents(&mut self) -> Result<(), AwsError> {
        let mut count = 0;
        for (i, message) in self.messages.iter_mut().enumerate() {
            for (j, block) in message.content.iter_mut().enumerate() {
                let ContentBlock::Document(document) = block else {
                    continue;
                };
                let field = format!("messages.{i}.content.{j}.document");
                count += 1;
                if count > MAX_DOCUMENTS {
                    return Err(AwsError::invalid_field(
                        &field,
                        format!("A request can include at most {MAX_DOCUMENTS} documents."),
                    ));
                }
                check_document_name(&document.name, &format!("{field}.name"))?;
                let text = match &document.source {
                    DocumentSource::Text(text) => text.clone(),
                    DocumentSource::Bytes(data) => read_bytes(document, data, &field).await?,
                    DocumentSource::S3Location(_) => {
                        return Err(AwsError::invalid_field(
                            &format!("{field}.source.s3Location"),
                            "documents in S3 are not read by this server; send their bytes",
                        ));
                    }
                    DocumentSource::Content(_) => {
                        return Err(AwsError::invalid_field(
                            &format!("{field}.source.content"),
                            "content-block documents are not supported by this server; send bytes or text",
                        ));
                    }
                };
                if text.trim().is_empty() {
                    return Err(AwsError::invalid_field(
                        &format!("{field}.source"),
                        "The document has no text.",
                    ));
                }
                document.text = Some(text);
            }
        }
        Ok(())
    }

    /// Checks Bedrock's rules on the body and maps it to the typed request; the engine-side
    /// checks (schemas, parameter ranges, the prompt's length) come after, in
    /// [`mantle_inference`], and are named through [`Mapped::names`].
    pub(crate) fn to_generate(&self) -> Result<Mapped, AwsError> {
        let mut names = FieldNames::default();
        let tools = self.tools(&mut names)?;
        let response_format = self.response_format()?;
        let conversation = self.conversation(&mut names)?;
        let config = self.inference_config.clone().unwrap_or_default();
        let (top_k, seed) = additional_fields(self.additional_model_request_fields.as_ref())?;
        let request = GenerateRequest {
            prompt: mantle_inference::Prompt::Chat(conversation),
            tools,
            response_format,
            params: InferenceParams {
                max_tokens: config.max_tokens,
                temperature: config.temperature,
                top_p: config.top_p,
                top_k,
                seed,
                stop_sequences: config.stop_sequences,
                defaults: SamplingDefaults::CONVERSE,
            },
        };
        Ok(Mapped { request, names })
    }

    fn tools(&self, names: &mut FieldNames) -> Result<Option<Tools>, AwsError> {
        let Some(config) = &self.tool_config else {
            return Ok(None);
        };
        let mut specs = Vec::new();
        for (i, entry) in config.tools.iter().enumerate() {
            if entry.system_tool.is_some() {
                return Err(AwsError::invalid_field(
                    &format!("toolConfig.tools.{i}.systemTool"),
                    "system tools are not supported by this model",
                ));
            }
            // A cache point marks a prompt-cache boundary; there is nothing to call.
            let Some(spec) = &entry.tool_spec else {
                continue;
            };
            names.tools.push(i);
            specs.push(DomainToolSpec {
                name: spec.name.clone(),
                description: spec.description.clone(),
                input_schema: spec.input_schema.json.clone(),
            });
        }
        let choice = match &config.tool_choice {
            None | Some(ToolChoice::Auto(_)) => DomainToolChoice::Auto,
            Some(ToolChoice::Any(_)) => DomainToolChoice::Any,
            Some(ToolChoice::Tool(SpecificTool { name })) => DomainToolChoice::Tool(name.clone()),
        };
        Ok(Some(Tools { specs, choice }))
    }

    fn response_format(&self) -> Result<Option<ResponseFormat>, AwsError> {
        let Some(OutputFormat {
            structure: OutputFormatStructure::JsonSchema(definition),
            ..
        }) = self
            .output_config
            .as_ref()
            .and_then(|c| c.text_format.as_ref())
        else {
            return Ok(None);
        };
        let schema: Value = serde_json::from_str(&definition.schema).map_err(|e| {
            AwsError::invalid_field(
                "outputConfig.textFormat.structure.jsonSchema.schema",
                format!("is not valid JSON: {e}"),
            )
        })?;
        Ok(Some(ResponseFormat::JsonSchema(schema)))
    }

    /// The messages under Bedrock's rules: turns alternate from a user turn to a last user
    /// turn, tool blocks need `toolConfig`, a result answers a call of the previous turn.
    fn conversation(&self, names: &mut FieldNames) -> Result<Conversation, AwsError> {
        if self.messages.is_empty() {
            return Err(AwsError::invalid_field(
                "messages",
                "Member must have length greater than or equal to 1",
            ));
        }
        let system = self
            .system
            .iter()
            .filter_map(|block| match block {
                SystemBlock::Text(text) => Some(text.clone()),
                SystemBlock::GuardContent(content) => guard_text(content).map(str::to_owned),
                SystemBlock::CachePoint(_) => None,
            })
            .collect();
        let has_tools = self.tool_config.is_some();
        let mut turns = Vec::new();
        for (index, message) in self.messages.iter().enumerate() {
            let expected = if index % 2 == 0 {
                Role::User
            } else {
                Role::Assistant
            };
            if message.role != expected {
                return Err(AwsError::validation(if index == 0 {
                    "A conversation must start with a user message. Try again with a conversation that starts with a user message.".to_owned()
                } else {
                    format!(
                        "messages.{index}.role: A conversation must alternate between user and assistant roles. Make sure the conversation alternates between user and assistant roles and try again."
                    )
                }));
            }
            if message.content.is_empty() {
                return Err(AwsError::invalid_field(
                    &format!("messages.{index}.content"),
                    "Member must have length greater than or equal to 1",
                ));
            }
            let mut content = Vec::new();
            let mut wire_blocks = Vec::new();
            for (block_index, block) in message.content.iter().enumerate() {
                let field = format!("messages.{index}.content.{block_index}");
                if matches!(
                    block,
                    ContentBlock::ToolUse(_) | ContentBlock::ToolResult(_)
                ) && !has_tools
                {
                    return Err(AwsError::validation(
                        "The toolConfig field must be defined when using toolUse and toolResult content blocks.",
                    ));
                }
                let mapped = match block {
                    ContentBlock::Text(text) => Content::Text(text.clone()),
                    ContentBlock::GuardContent(guarded) => match guard_text(guarded) {
                        Some(text) => Content::Text(text.to_owned()),
                        None => continue,
                    },
                    ContentBlock::ToolUse(call) => Content::ToolUse {
                        id: call.tool_use_id.clone(),
                        name: call.name.clone(),
                        input: call.input.clone(),
                    },
                    ContentBlock::ToolResult(result) => {
                        self.check_result_answers_a_call(index, result, &field)?;
                        Content::ToolResult {
                            id: result.tool_use_id.clone(),
                            content: result_parts(result, &field)?,
                            is_error: result.status == Some(ToolResultStatus::Error),
                        }
                    }
                    ContentBlock::CachePoint(_) | ContentBlock::ReasoningContent(_) => continue,
                    ContentBlock::Document(document) => match &document.text {
                        Some(text) => Content::Document {
                            name: document.name.clone(),
                            text: text.clone(),
                        },
                        None => {
                            return Err(AwsError::internal(
                                "a document block reached the model unread",
                            ));
                        }
                    },
                    ContentBlock::Image(_) | ContentBlock::Video(_) => {
                        return Err(AwsError::invalid_field(
                            &field,
                            "This model doesn't support this content block type (text only).",
                        ));
                    }
                    _ => {
                        return Err(AwsError::invalid_field(
                            &field,
                            "This model doesn't support this content block type (text and tools only).",
                        ));
                    }
                };
                content.push(mapped);
                wire_blocks.push(block_index);
            }
            names.blocks.push(wire_blocks);
            turns.push(Turn {
                role: match message.role {
                    Role::User => TurnRole::User,
                    Role::Assistant => TurnRole::Assistant,
                },
                content,
            });
        }
        if self.messages.last().map(|m| m.role) != Some(Role::User) {
            return Err(AwsError::validation(
                "The last message of a conversation must be a user message.",
            ));
        }
        Ok(Conversation { system, turns })
    }

    fn check_result_answers_a_call(
        &self,
        index: usize,
        result: &ToolResultBlock,
        field: &str,
    ) -> Result<(), AwsError> {
        let previous = index.checked_sub(1).map(|i| &self.messages[i]);
        let called = previous.is_some_and(|m| {
            m.content.iter().any(
                |b| matches!(b, ContentBlock::ToolUse(c) if c.tool_use_id == result.tool_use_id),
            )
        });
        if called {
            return Ok(());
        }
        Err(AwsError::invalid_field(
            &format!("{field}.toolResult.toolUseId"),
            format!(
                "`{}` does not match a toolUse block of the previous assistant message",
                result.tool_use_id
            ),
        ))
    }

    /// The texts a guardrail assesses as input: the `guardContent` blocks if there are any,
    /// else the text of every message.
    pub(crate) fn guarded_input(&self) -> Vec<String> {
        let guard: Vec<String> = self
            .messages
            .iter()
            .flat_map(|m| &m.content)
            .filter_map(|block| match block {
                ContentBlock::GuardContent(content) => guard_text(content).map(str::to_owned),
                _ => None,
            })
            .chain(self.system.iter().filter_map(|block| match block {
                SystemBlock::GuardContent(content) => guard_text(content).map(str::to_owned),
                _ => None,
            }))
            .collect();
        if !guard.is_empty() {
            return guard;
        }
        self.messages
            .iter()
            .flat_map(|m| &m.content)
            .filter_map(|block| match block {
                ContentBlock::Text(text) => Some(text.clone()),
                _ => None,
            })
            .collect()
    }
}

fn result_parts(result: &ToolResultBlock, field: &str) -> Result<Vec<ToolResultPart>, AwsError> {
    result
        .content
        .iter()
        .enumerate()
        .map(|(i, content)| match content {
            ToolResultContent::Text(text) => Ok(ToolResultPart::Text(text.clone())),
            ToolResultContent::Json(value) => Ok(ToolResultPart::Json(value.clone())),
            _ => Err(AwsError::invalid_field(
                &format!("{field}.toolResult.content.{i}"),
                "This model accepts text and json tool results only.",
            )),
        })
        .collect()
}

fn guard_text(content: &Value) -> Option<&str> {
    content.get("text")?.get("text")?.as_str()
}

/// `additionalModelRequestFields` this model understands: `top_k` and `seed`.
fn additional_fields(fields: Option<&Value>) -> Result<(Option<u64>, Option<u64>), AwsError> {
    let Some(fields) = fields else {
        return Ok((None, None));
    };
    let Some(map) = fields.as_object() else {
        return Err(AwsError::invalid_field(
            "additionalModelRequestFields",
            "must be a JSON object",
        ));
    };
    let mut top_k = None;
    let mut seed = None;
    for (key, value) in map {
        match key.as_str() {
            "top_k" => {
                top_k = Some(value.as_u64().ok_or_else(|| {
                    AwsError::invalid_field(
                        "additionalModelRequestFields.top_k",
                        "must be an integer between 0 and 1000",
                    )
                })?);
            }
            "seed" => {
                seed = Some(value.as_u64().ok_or_else(|| {
                    AwsError::invalid_field(
                        "additionalModelRequestFields.seed",
                        "must be a non-negative integer",
                    )
                })?);
            }
            other => {
                return Err(AwsError::invalid_field(
                    &format!("additionalModelRequestFields.{other}"),
                    "this model accepts top_k and seed only",
                ));
            }
        }
    }
    Ok((top_k, seed))
}

impl ConverseRequest {
    /// What the response echoes of the request's `performanceConfig` and `serviceTier`
    /// (Converse's body and ConverseStream's `metadata` event carry both).
    pub(crate) fn echo(&self, body: &mut Value) {
        if let Some(config) = &self.performance_config {
            body["performanceConfig"] = json!(config);
        }
        if let Some(tier) = &self.service_tier {
            body["serviceTier"] = json!(tier);
        }
    }
}

/// Converse's response body.
pub(super) fn converse_response(completion: &Completion, latency_ms: u64) -> Value {
    let mut content = Vec::new();
    if completion.tool_use.is_none() || !completion.text.trim().is_empty() {
        content.push(json!({ "text": completion.text }));
    }
    if let Some(call) = &completion.tool_use {
        content.push(json!({ "toolUse": {
            "toolUseId": call.tool_use_id, "name": call.name, "input": call.input,
        } }));
    }
    json!({
        "output": { "message": { "role": "assistant", "content": content } },
        "stopReason": completion.stop_reason.as_str(),
        "usage": usage(completion.input_tokens, completion.output_tokens),
        "metrics": { "latencyMs": latency_ms },
    })
}

/// Bedrock's `usage` object.
pub(super) fn usage(input: usize, output: usize) -> Value {
    json!({ "inputTokens": input, "outputTokens": output, "totalTokens": input + output })
}

/// Bedrock's rule for a document's name: letters, digits, single spaces, hyphens, parentheses
/// and square brackets (no dots: `report.pdf` is refused, `report` is not).
fn check_document_name(name: &str, field: &str) -> Result<(), AwsError> {
    let allowed = name
        .chars()
        .all(|c| c.is_alphanumeric() || " -()[]".contains(c));
    if name.trim().is_empty() || name.chars().count() > 200 || !allowed || name.contains("  ") {
        return Err(AwsError::invalid_field(
            field,
            "The document name can only contain alphanumeric characters, whitespace characters, hyphens, parentheses, and square brackets, and can't contain more than one consecutive whitespace character.",
        ));
    }
    Ok(())
}

async fn read_bytes(document: &DocumentBlock, data: &str, field: &str) -> Result<String, AwsError> {
    use base64::Engine as _;
    let format_field = format!("{field}.format");
    let format = document.format.as_deref().ok_or_else(|| {
        AwsError::invalid_field(&format_field, "is required for a document sent as bytes")
    })?;
    let format = mantle_documents::Format::from_converse(format).ok_or_else(|| {
        AwsError::invalid_field(
            &format_field,
            "Member must satisfy enum value set: [pdf, csv, doc, docx, xls, xlsx, html, txt, md]",
        )
    })?;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(data)
        .map_err(|e| {
            AwsError::invalid_field(
                &format!("{field}.source.bytes"),
                format!("is not base64: {e}"),
            )
        })?;
    if bytes.len() > MAX_DOCUMENT_BYTES {
        return Err(AwsError::invalid_field(
            &format!("{field}.source.bytes"),
            format!(
                "The document is {} bytes; the limit is {MAX_DOCUMENT_BYTES} (4.5 MB).",
                bytes.len()
            ),
        ));
    }
    let limits = mantle_documents::Limits::default();
    tokio::task::spawn_blocking(move || mantle_documents::extract(&bytes, format, &limits))
        .await
        .map_err(|e| AwsError::internal(format!("the document parser failed: {e}")))?
        .map(|extracted| extracted.text)
        .map_err(|e| AwsError::invalid_field(&format!("{field}.source.bytes"), e.to_string()))
}

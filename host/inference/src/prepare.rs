//! From a [`GenerateRequest`] to what the engine runs: the output mode its tools and answer
//! format ask for, the conversation rendered with the model's chat template and tokenized, and
//! its sampling parameters checked. Every surface goes through here, so each check is written
//! once.

use std::sync::Arc;

use mantle_models::constrain::Grammar;
use mantle_models::{ChatMessage, SamplingParams};

use crate::catalog::TextModel;
use crate::engine::GenerationParams;
use crate::error::{Field, InferenceError};
use crate::request::{
    Content, Conversation, GenerateRequest, InferenceParams, MAX_STOP_SEQUENCES, Prompt,
    ResponseFormat, Role, ToolResultPart,
};
use crate::tools::{self, OutputMode};

/// A request checked and rendered, ready for the engine.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub prompt: Vec<u32>,
    pub params: GenerationParams,
}

impl TextModel {
    /// Checks `request` against this model and renders its prompt.
    pub fn prepare(&self, request: &GenerateRequest) -> Result<Prepared, InferenceError> {
        let output = output_mode(request)?;
        let context = self.model.config().context_length;
        let mut params = generation_params(&request.params, context)?;
        let prompt = match &request.prompt {
            Prompt::Chat(conversation) => {
                let messages = chat_messages(conversation, &output, request)?;
                self.render(&messages, &tools::forced_prefix(&output))?
            }
            Prompt::Raw(text) => {
                if !matches!(output, OutputMode::Text) {
                    return Err(InferenceError::Invalid(
                        "Tools and answer formats need a conversation, not a raw prompt.".into(),
                    ));
                }
                self.tokenize(text)?
            }
        };
        params.output = output;
        Ok(Prepared { prompt, params })
    }

    /// The tokens `request` would feed the model, counted exactly as generation counts them.
    pub fn count_tokens(&self, request: &GenerateRequest) -> Result<usize, InferenceError> {
        Ok(self.prepare(request)?.prompt.len())
    }

    /// The tokens of `text` as this model reads it, however long (a chunker sizing its
    /// chunks, say); [`TextModel::count_tokens`] counts a whole request.
    pub fn count_text_tokens(&self, text: &str) -> Result<usize, InferenceError> {
        self.model
            .tokenizer()
            .encode(text)
            .map(|ids| ids.len())
            .map_err(|e| InferenceError::ModelFailed(format!("tokenizer failed: {e}")))
    }

    /// Renders `messages` with the model's chat template, then `answer_prefix` as the start
    /// of the assistant's answer, and tokenizes the result.
    fn render(
        &self,
        messages: &[ChatMessage],
        answer_prefix: &str,
    ) -> Result<Vec<u32>, InferenceError> {
        let mut text = match self.model.chat_template() {
            Some(template) => template
                .render(messages, true, None)
                .map_err(|e| InferenceError::ModelFailed(format!("chat template failed: {e}")))?,
            None => messages
                .iter()
                .map(|m| m.content.clone())
                .collect::<Vec<_>>()
                .join("\n"),
        };
        text.push_str(answer_prefix);
        self.tokenize(&text)
    }

    /// Tokenizes a prompt, refusing one that leaves no room to answer in the context window.
    fn tokenize(&self, text: &str) -> Result<Vec<u32>, InferenceError> {
        let ids = self
            .model
            .tokenizer()
            .encode(text)
            .map_err(|e| InferenceError::ModelFailed(format!("tokenizer failed: {e}")))?;
        let context = self.model.config().context_length;
        if ids.len() + 1 >= context {
            return Err(InferenceError::Invalid(format!(
                "Input is too long for requested model: the prompt is {} tokens and the context window {context}.",
                ids.len()
            )));
        }
        Ok(ids)
    }
}

/// What the tools and the answer format ask of the output.
fn output_mode(request: &GenerateRequest) -> Result<OutputMode, InferenceError> {
    let tools = match &request.tools {
        Some(tools) => tools::compile_tools(tools)?,
        None => None,
    };
    let json = match &request.response_format {
        None => None,
        Some(ResponseFormat::JsonObject) => Some(Arc::new(Grammar::any_object())),
        Some(ResponseFormat::JsonSchema(schema)) => Some(tools::compile_schema(schema, |path| {
            Field::ResponseSchema { path }
        })?),
    };
    Ok(match (tools, json) {
        (None, None) => OutputMode::Text,
        (Some(mode), None) => mode,
        (None, Some(grammar)) => OutputMode::Json(grammar),
        // A forced call is the whole answer: there is no text to format.
        (Some(mode @ (OutputMode::Tool(..) | OutputMode::ToolsRequired(_))), Some(_)) => mode,
        (Some(_), Some(_)) => {
            return Err(InferenceError::field(
                Field::ResponseFormat,
                "cannot be combined with an automatic tool choice on this model; force a tool or drop one of them",
            ));
        }
    })
}

/// The conversation as chat-template messages: system instructions (with the tools' or the
/// answer format's), then each turn, tool calls and results written as the model reads them.
fn chat_messages(
    conversation: &Conversation,
    output: &OutputMode,
    request: &GenerateRequest,
) -> Result<Vec<ChatMessage>, InferenceError> {
    if conversation.turns.is_empty() {
        return Err(InferenceError::field(
            Field::Messages,
            "Member must have length greater than or equal to 1",
        ));
    }
    let mut system = conversation.system.clone();
    match output {
        OutputMode::Text => {}
        OutputMode::ToolsAuto(set) | OutputMode::ToolsRequired(set) | OutputMode::Tool(set, _) => {
            system.push(set.instructions());
        }
        OutputMode::Json(_) => system.push(match &request.response_format {
            Some(ResponseFormat::JsonSchema(schema)) => {
                format!("Answer with JSON only, matching this JSON Schema: {schema}")
            }
            _ => "Answer with a JSON object only.".to_owned(),
        }),
    }
    let mut out = Vec::new();
    if !system.is_empty() {
        out.push(ChatMessage::new("system", system.join("\n")));
    }
    for (turn_index, turn) in conversation.turns.iter().enumerate() {
        if turn.content.is_empty() {
            return Err(InferenceError::field(
                Field::Content { turn: turn_index },
                "Member must have length greater than or equal to 1",
            ));
        }
        let mut texts: Vec<String> = Vec::new();
        for (block_index, block) in turn.content.iter().enumerate() {
            let at = Field::Block {
                turn: turn_index,
                block: block_index,
            };
            match block {
                Content::Text(text) => texts.push(text.clone()),
                Content::Document { name, text } => {
                    if turn.role != Role::User {
                        return Err(InferenceError::field(
                            at,
                            "document blocks belong in user messages",
                        ));
                    }
                    // Delimited and named, so the model can tell documents from the question
                    // and refer to them by name.
                    texts.push(format!("<document name=\"{name}\">\n{text}\n</document>"));
                }
                Content::ToolUse { name, input, .. } => {
                    if turn.role != Role::Assistant {
                        return Err(InferenceError::field(
                            at,
                            "toolUse blocks belong in assistant messages",
                        ));
                    }
                    tools::check_tool_name(name).map_err(|c| {
                        InferenceError::field(
                            Field::ToolUseName {
                                turn: turn_index,
                                block: block_index,
                            },
                            c,
                        )
                    })?;
                    texts.push(tools::render_call(name, input));
                }
                Content::ToolResult {
                    content, is_error, ..
                } => {
                    if turn.role != Role::User {
                        return Err(InferenceError::field(
                            at,
                            "toolResult blocks belong in user messages",
                        ));
                    }
                    let mut text = content
                        .iter()
                        .map(|part| match part {
                            ToolResultPart::Text(text) => text.clone(),
                            ToolResultPart::Json(value) => value.to_string(),
                        })
                        .collect::<Vec<_>>()
                        .join("\n");
                    if *is_error {
                        text = format!("Error: {text}");
                    }
                    texts.push(tools::render_result(&text));
                }
            }
        }
        out.push(ChatMessage::new(turn.role.as_str(), texts.join("\n")));
    }
    Ok(out)
}

/// Checks the sampling parameters against the surface's ranges, filling in its defaults.
fn generation_params(
    params: &InferenceParams,
    context: usize,
) -> Result<GenerationParams, InferenceError> {
    let defaults = params.defaults;
    let max_tokens = match params.max_tokens {
        None => defaults.max_tokens.min(context),
        Some(n) if n < 1 => {
            return Err(InferenceError::field(
                Field::MaxTokens,
                "Member must have value greater than or equal to 1",
            ));
        }
        Some(n) if n as usize > context => {
            return Err(InferenceError::field(
                Field::MaxTokens,
                format!("Member must have value less than or equal to {context}"),
            ));
        }
        Some(n) => n as usize,
    };
    let temperature = in_range(
        Field::Temperature,
        params.temperature,
        defaults.temperature,
        defaults.max_temperature,
    )?;
    let top_p = in_range(Field::TopP, params.top_p, defaults.top_p, 1.0)?;
    let top_k = match params.top_k {
        None => 0,
        Some(k) if k <= 1000 => k as usize,
        Some(_) => {
            return Err(InferenceError::field(
                Field::TopK,
                "must be an integer between 0 and 1000",
            ));
        }
    };
    if params.stop_sequences.len() > MAX_STOP_SEQUENCES {
        return Err(InferenceError::field(
            Field::StopSequences,
            format!("Member must have length less than or equal to {MAX_STOP_SEQUENCES}"),
        ));
    }
    if let Some(i) = params.stop_sequences.iter().position(String::is_empty) {
        return Err(InferenceError::field(
            Field::StopSequence(i),
            "Member must have length greater than or equal to 1",
        ));
    }
    Ok(GenerationParams {
        max_tokens,
        sampling: SamplingParams {
            temperature: temperature as f32,
            top_p: top_p as f32,
            top_k,
            seed: params.seed,
        },
        stop_sequences: params.stop_sequences.clone(),
        output: OutputMode::Text,
    })
}

/// `value` if it lies in [0, max], `default` if absent.
fn in_range(
    field: Field,
    value: Option<f64>,
    default: f64,
    max: f64,
) -> Result<f64, InferenceError> {
    match value {
        None => Ok(default),
        Some(v) if (0.0..=max).contains(&v) => Ok(v),
        Some(_) => Err(InferenceError::field(
            field,
            format!("Member must have value between 0 and {max}"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::request::{ToolChoice, ToolSpec, Tools, Turn};

    fn request(turns: Vec<Turn>) -> GenerateRequest {
        GenerateRequest::chat(Conversation {
            system: vec!["Be brief.".into()],
            turns,
        })
    }

    fn user(text: &str) -> Turn {
        Turn {
            role: Role::User,
            content: vec![Content::Text(text.into())],
        }
    }

    #[test]
    fn parameters_are_checked_against_the_surface() {
        let check = |params: InferenceParams| generation_params(&params, 2048);
        assert!(
            check(InferenceParams {
                temperature: Some(1.5),
                ..Default::default()
            })
            .is_err()
        );
        let openai = check(InferenceParams {
            temperature: Some(1.5),
            defaults: crate::SamplingDefaults::OPENAI,
            ..Default::default()
        })
        .unwrap();
        assert_eq!(openai.sampling.temperature, 1.5);
        assert_eq!(openai.sampling.top_p, 1.0);
        let err = check(InferenceParams {
            max_tokens: Some(0),
            ..Default::default()
        })
        .unwrap_err();
        assert!(matches!(
            err,
            InferenceError::InvalidField {
                field: Field::MaxTokens,
                ..
            }
        ));
        let err = check(InferenceParams {
            stop_sequences: vec!["a".into(), String::new()],
            ..Default::default()
        })
        .unwrap_err();
        assert!(matches!(
            err,
            InferenceError::InvalidField {
                field: Field::StopSequence(1),
                ..
            }
        ));
        assert_eq!(
            check(InferenceParams::default()).unwrap().max_tokens,
            crate::SamplingDefaults::CONVERSE.max_tokens
        );
    }

    #[test]
    fn turns_are_rendered_with_tool_calls_and_results() {
        let mut req = request(vec![
            user("Weather in Oslo?"),
            Turn {
                role: Role::Assistant,
                content: vec![Content::ToolUse {
                    id: "t1".into(),
                    name: "get_weather".into(),
                    input: json!({ "city": "Oslo" }),
                }],
            },
            Turn {
                role: Role::User,
                content: vec![Content::ToolResult {
                    id: "t1".into(),
                    content: vec![ToolResultPart::Json(json!({ "temp": 3 }))],
                    is_error: true,
                }],
            },
        ]);
        req.tools = Some(Tools {
            specs: vec![ToolSpec {
                name: "get_weather".into(),
                description: None,
                input_schema: json!({ "type": "object" }),
            }],
            choice: ToolChoice::Auto,
        });
        let output = output_mode(&req).unwrap();
        let Prompt::Chat(conversation) = &req.prompt else {
            unreachable!()
        };
        let messages = chat_messages(conversation, &output, &req).unwrap();
        assert_eq!(messages.len(), 4);
        assert!(messages[0].content.starts_with("Be brief.\n"));
        assert!(messages[0].content.contains("get_weather"));
        assert_eq!(
            messages[2].content,
            tools::render_call("get_weather", &json!({ "city": "Oslo" }))
        );
        assert_eq!(
            messages[3].content,
            tools::render_result("Error: {\"temp\":3}")
        );
    }

    #[test]
    fn misplaced_blocks_name_the_block() {
        let req = request(vec![Turn {
            role: Role::User,
            content: vec![
                Content::Text("hi".into()),
                Content::ToolUse {
                    id: "t".into(),
                    name: "x".into(),
                    input: json!({}),
                },
            ],
        }]);
        let Prompt::Chat(conversation) = &req.prompt else {
            unreachable!()
        };
        let err = chat_messages(conversation, &OutputMode::Text, &req).unwrap_err();
        assert_eq!(
            err,
            InferenceError::InvalidField {
                field: Field::Block { turn: 0, block: 1 },
                constraint: "toolUse blocks belong in assistant messages".into()
            }
        );
        let empty = request(vec![]);
        let Prompt::Chat(conversation) = &empty.prompt else {
            unreachable!()
        };
        assert!(matches!(
            chat_messages(conversation, &OutputMode::Text, &empty),
            Err(InferenceError::InvalidField {
                field: Field::Messages,
                ..
            })
        ));
    }

    #[test]
    fn an_automatic_tool_choice_and_a_json_answer_conflict() {
        let mut req = request(vec![user("hi")]);
        req.tools = Some(Tools {
            specs: vec![ToolSpec {
                name: "t".into(),
                description: None,
                input_schema: json!({ "type": "object" }),
            }],
            choice: ToolChoice::Auto,
        });
        req.response_format = Some(ResponseFormat::JsonObject);
        assert!(matches!(
            output_mode(&req),
            Err(InferenceError::InvalidField {
                field: Field::ResponseFormat,
                ..
            })
        ));
        req.tools.as_mut().unwrap().choice = ToolChoice::Any;
        assert!(matches!(
            output_mode(&req),
            Ok(OutputMode::ToolsRequired(_))
        ));
    }
}

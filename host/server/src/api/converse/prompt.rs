//! A prompt from Prompt management as Converse's `modelId`
//! (`arn:aws:bedrock:{region}:{account}:prompt/{id}[:{version}]`): the prompt is rendered with
//! `promptVariables` and run on its own model, with its own system prompt, messages,
//! inference configuration and tools. The request may add messages (appended after the
//! prompt's) and a guardrail, but not the parts the prompt defines.

use std::collections::BTreeMap;

use mantle_flows::prompt::{self, Role as PromptRole};
use mantle_flows::{PromptIdentifier, PromptVariableValue, RenderedPrompt};
use mantle_inference::TextModel;

use super::wire::{
    ContentBlock, ConverseRequest, InferenceConfig, Message, Role, SpecificTool, SystemBlock,
    ToolChoice, ToolConfig, ToolEntry, ToolInputSchema, ToolSpec,
};
use crate::error::{AwsError, Service};
use crate::state::AppState;

/// Resolves `model_id`: a served text model, or a prompt ARN whose prompt is then merged into
/// `request`.
pub(crate) fn resolve(
    app: &AppState,
    model_id: &str,
    request: &mut ConverseRequest,
) -> Result<TextModel, AwsError> {
    let Some(identifier) = PromptIdentifier::from_arn(model_id) else {
        return Ok(app.models.text(model_id)?.clone());
    };
    for (field, set) in [
        ("system", !request.system.is_empty()),
        ("inferenceConfig", request.inference_config.is_some()),
        ("toolConfig", request.tool_config.is_some()),
        (
            "additionalModelRequestFields",
            request.additional_model_request_fields.is_some(),
        ),
    ] {
        if set {
            return Err(AwsError::invalid_field(
                field,
                "Member must be null when modelId is a prompt: the prompt defines it",
            ));
        }
    }
    let variables = request.prompt_variables.take().unwrap_or_default();
    let (model, rendered) = render(app, &identifier, variables)?;
    merge(rendered, request);
    Ok(model)
}

/// Renders the prompt with `variables` and finds the model it runs on. Errors answer in
/// bedrock-runtime's dialect, whatever service raised them.
pub(crate) fn render(
    app: &AppState,
    identifier: &PromptIdentifier,
    variables: BTreeMap<String, PromptVariableValue>,
) -> Result<(TextModel, RenderedPrompt), AwsError> {
    let values = variables
        .into_iter()
        .map(|(name, value)| (name, value.into_text()))
        .collect();
    let rendered = app
        .prompts
        .render(identifier, &values, "promptVariables")
        .map_err(runtime)?;
    let model_id = rendered.model_id.as_deref().ok_or_else(|| {
        AwsError::invalid_field(
            "modelId",
            format!(
                "the prompt {} names no model to run on; set its variant's modelId",
                identifier.id
            ),
        )
    })?;
    let model = app.models.text(model_id)?.clone();
    Ok((model, rendered))
}

fn runtime(error: mantle_flows::FlowsError) -> AwsError {
    AwsError {
        service: Service::Bedrock,
        ..AwsError::from(error)
    }
}

/// The prompt's parts in Converse's wire types, its messages before the request's own.
fn merge(rendered: RenderedPrompt, request: &mut ConverseRequest) {
    let messages = rendered.messages.into_iter().map(|m| Message {
        role: match m.role {
            PromptRole::User => Role::User,
            PromptRole::Assistant => Role::Assistant,
        },
        content: m.texts.into_iter().map(ContentBlock::Text).collect(),
    });
    request.messages = messages.chain(request.messages.drain(..)).collect();
    request.system = rendered.system.into_iter().map(SystemBlock::Text).collect();
    request.inference_config = rendered.inference.map(|i| InferenceConfig {
        max_tokens: i.max_tokens.map(i64::from),
        temperature: i.temperature.map(f64::from),
        top_p: i.top_p.map(f64::from),
        stop_sequences: i.stop_sequences,
    });
    request.tool_config = rendered.tools.map(|tools| ToolConfig {
        tools: tools
            .tools
            .into_iter()
            .map(|tool| match tool {
                prompt::Tool::ToolSpec(spec) => ToolEntry {
                    tool_spec: Some(ToolSpec {
                        name: spec.name,
                        description: spec.description,
                        input_schema: ToolInputSchema {
                            json: match spec.input_schema {
                                prompt::config::ToolInputSchema::Json(json) => json,
                            },
                        },
                        strict: spec.strict,
                    }),
                    system_tool: None,
                    cache_point: None,
                },
                prompt::Tool::CachePoint(point) => ToolEntry {
                    tool_spec: None,
                    system_tool: None,
                    cache_point: Some(serde_json::to_value(point).unwrap_or_default()),
                },
            })
            .collect(),
        tool_choice: tools.tool_choice.map(|choice| match choice {
            prompt::ToolChoice::Auto(_) => ToolChoice::Auto(serde_json::json!({})),
            prompt::ToolChoice::Any(_) => ToolChoice::Any(serde_json::json!({})),
            prompt::ToolChoice::Tool(tool) => ToolChoice::Tool(SpecificTool { name: tool.name }),
        }),
    });
    request.additional_model_request_fields = rendered.additional_model_request_fields;
}

//! `{{variable}}` placeholders: finding them, checking a variant declares them, and rendering a
//! variant with values into a model request.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::LazyLock;

use mantle_inference::{
    Content, Conversation, GenerateRequest, InferenceParams, Prompt, Role as TurnRole, Tools, Turn,
};
use regex::Regex;
use serde::Deserialize;
use serde_json::Value;

use super::config::{
    ContentBlock, GenAiResource, PromptVariant, Role, SystemBlock, TemplateConfiguration,
    TemplateType, TextInference, Tool, ToolChoice, ToolConfiguration,
};
use crate::FlowsError;

/// A placeholder as Bedrock writes them: a variable's name between double braces, nothing else
/// inside (`{{ name }}` is text, not a placeholder).
static PLACEHOLDER: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\{\{([0-9a-zA-Z_-]+)\}\}").expect("valid pattern"));

/// The name pattern shared by prompts, variants and variables.
pub(crate) const NAME_PATTERN: &str =
    "Member must satisfy regular expression pattern: ([0-9a-zA-Z][_-]?){1,100}";

/// Bedrock's `([0-9a-zA-Z][_-]?){1,100}`.
pub(crate) fn is_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    let mut i = 0;
    let mut groups = 0;
    while i < bytes.len() {
        if !bytes[i].is_ascii_alphanumeric() {
            return false;
        }
        i += 1;
        if i < bytes.len() && matches!(bytes[i], b'_' | b'-') {
            i += 1;
        }
        groups += 1;
    }
    (1..=100).contains(&groups)
}

/// The names of the placeholders in `text`, in order of first use.
pub fn placeholders(text: &str) -> Vec<&str> {
    let mut seen = BTreeSet::new();
    PLACEHOLDER
        .captures_iter(text)
        .filter_map(|c| c.get(1).map(|m| m.as_str()))
        .filter(|name| seen.insert(*name))
        .collect()
}

/// Replaces each placeholder with its value in one pass, so a value that itself contains
/// `{{…}}` is inserted as text and never expanded.
fn fill(text: &str, values: &BTreeMap<String, String>) -> String {
    PLACEHOLDER
        .replace_all(text, |c: &regex::Captures<'_>| {
            values
                .get(&c[1])
                .cloned()
                .unwrap_or_else(|| c[0].to_owned())
        })
        .into_owned()
}

/// Every text of a template where placeholders may appear, with its wire path below
/// `templateConfiguration`.
fn template_texts(config: &TemplateConfiguration) -> Vec<(String, &str)> {
    match config {
        TemplateConfiguration::Text(text) => vec![("text.text".to_owned(), text.text.as_str())],
        TemplateConfiguration::Chat(chat) => {
            let system = chat.system.iter().enumerate().filter_map(|(i, b)| match b {
                SystemBlock::Text(text) => Some((format!("chat.system.{i}.text"), text.as_str())),
                SystemBlock::CachePoint(_) => None,
            });
            let messages = chat.messages.iter().enumerate().flat_map(|(m, message)| {
                message
                    .content
                    .iter()
                    .enumerate()
                    .filter_map(move |(b, block)| match block {
                        ContentBlock::Text(text) => {
                            Some((format!("chat.messages.{m}.content.{b}.text"), text.as_str()))
                        }
                        ContentBlock::CachePoint(_) => None,
                    })
            });
            system.chain(messages).collect()
        }
    }
}

/// The variables a variant declares.
pub(crate) fn declared(variant: &PromptVariant) -> BTreeSet<&str> {
    variant
        .template_configuration
        .input_variables()
        .iter()
        .filter_map(|v| v.name.as_deref())
        .collect()
}

fn in_unit_range(field: &str, value: Option<f32>) -> Result<(), FlowsError> {
    match value {
        Some(v) if !(0.0..=1.0).contains(&v) => Err(FlowsError::invalid(
            field,
            "Member must have value between 0 and 1",
        )),
        _ => Ok(()),
    }
}

/// Checks `variant` against Bedrock's constraints and this server's rule that every
/// placeholder is declared in `inputVariables`. `at` is the variant's wire path
/// (`variants.0`, `definition.nodes.2.configuration.prompt.sourceConfiguration.inline`).
pub(crate) fn check_variant(
    variant: &PromptVariant,
    at: &str,
    named: bool,
) -> Result<(), FlowsError> {
    if named && !is_name(&variant.name) {
        return Err(FlowsError::invalid(format!("{at}.name"), NAME_PATTERN));
    }
    let config = &variant.template_configuration;
    let expected = match variant.template_type {
        TemplateType::Text => "text",
        TemplateType::Chat => "chat",
    };
    if config.member() != expected {
        return Err(FlowsError::invalid(
            format!("{at}.templateConfiguration"),
            format!(
                "a {} template takes the `{expected}` member, not `{}`",
                expected.to_uppercase(),
                config.member()
            ),
        ));
    }
    let variables = config.input_variables();
    let vars_at = format!("{at}.templateConfiguration.{expected}.inputVariables");
    if variables.len() > 20 {
        return Err(FlowsError::invalid(
            vars_at,
            "Member must have length less than or equal to 20",
        ));
    }
    let mut names = BTreeSet::new();
    for (i, variable) in variables.iter().enumerate() {
        if let Some(name) = &variable.name {
            if !is_name(name) {
                return Err(FlowsError::invalid(
                    format!("{vars_at}.{i}.name"),
                    NAME_PATTERN,
                ));
            }
            if !names.insert(name.as_str()) {
                return Err(FlowsError::invalid(
                    format!("{vars_at}.{i}.name"),
                    format!("the variable {name} is declared twice"),
                ));
            }
        }
    }
    match config {
        TemplateConfiguration::Text(text) if text.text.is_empty() => {
            return Err(FlowsError::invalid(
                format!("{at}.templateConfiguration.text.text"),
                "Member must have length greater than or equal to 1",
            ));
        }
        TemplateConfiguration::Chat(chat) => {
            for (i, block) in chat.system.iter().enumerate() {
                if matches!(block, SystemBlock::Text(t) if t.is_empty()) {
                    return Err(FlowsError::invalid(
                        format!("{at}.templateConfiguration.chat.system.{i}.text"),
                        "Member must have length greater than or equal to 1",
                    ));
                }
            }
            if let Some(tools) = &chat.tool_configuration {
                check_tools(
                    tools,
                    &format!("{at}.templateConfiguration.chat.toolConfiguration"),
                )?;
            }
        }
        TemplateConfiguration::Text(_) => {}
    }
    for (path, text) in template_texts(config) {
        if let Some(undeclared) = placeholders(text).into_iter().find(|p| !names.contains(p)) {
            return Err(FlowsError::invalid(
                format!("{at}.templateConfiguration.{path}"),
                format!(
                    "the placeholder {{{{{undeclared}}}}} is not declared in {expected}.inputVariables"
                ),
            ));
        }
    }
    if let Some(model) = &variant.model_id
        && !(1..=2048).contains(&model.len())
    {
        return Err(FlowsError::invalid(
            format!("{at}.modelId"),
            "Member must have length between 1 and 2048",
        ));
    }
    if let Some(inference) = &variant.inference_configuration {
        let text = inference.text();
        let field = format!("{at}.inferenceConfiguration.text");
        in_unit_range(&format!("{field}.temperature"), text.temperature)?;
        in_unit_range(&format!("{field}.topP"), text.top_p)?;
        if text.stop_sequences.len() > 4 {
            return Err(FlowsError::invalid(
                format!("{field}.stopSequences"),
                "Member must have length less than or equal to 4",
            ));
        }
    }
    if variant.metadata.len() > 50 {
        return Err(FlowsError::invalid(
            format!("{at}.metadata"),
            "Member must have length less than or equal to 50",
        ));
    }
    for (i, entry) in variant.metadata.iter().enumerate() {
        let allowed = |s: &str| {
            s.chars()
                .all(|c| c.is_ascii_alphanumeric() || c.is_whitespace() || "._:/=+@-".contains(c))
        };
        if !(1..=128).contains(&entry.key.len()) || !allowed(&entry.key) {
            return Err(FlowsError::invalid(
                format!("{at}.metadata.{i}.key"),
                "Member must have length between 1 and 128 and satisfy regular expression pattern: [a-zA-Z0-9\\s._:/=+@-]*",
            ));
        }
        if entry.value.len() > 1024 || !allowed(&entry.value) {
            return Err(FlowsError::invalid(
                format!("{at}.metadata.{i}.value"),
                "Member must have length less than or equal to 1024 and satisfy regular expression pattern: [a-zA-Z0-9\\s._:/=+@-]*",
            ));
        }
    }
    Ok(())
}

fn is_tool_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name.starts_with(|c: char| c.is_ascii_alphabetic())
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

fn check_tools(tools: &ToolConfiguration, at: &str) -> Result<(), FlowsError> {
    if tools.tools.is_empty() {
        return Err(FlowsError::invalid(
            format!("{at}.tools"),
            "Member must have length greater than or equal to 1",
        ));
    }
    let mut names = BTreeSet::new();
    for (i, tool) in tools.tools.iter().enumerate() {
        let Tool::ToolSpec(spec) = tool else { continue };
        if !is_tool_name(&spec.name) {
            return Err(FlowsError::invalid(
                format!("{at}.tools.{i}.toolSpec.name"),
                "Member must have length between 1 and 64 and satisfy regular expression pattern: [a-zA-Z][a-zA-Z0-9_]*",
            ));
        }
        if !names.insert(spec.name.as_str()) {
            return Err(FlowsError::invalid(
                format!("{at}.tools.{i}.toolSpec.name"),
                format!("the tool {} is declared twice", spec.name),
            ));
        }
        let super::config::ToolInputSchema::Json(schema) = &spec.input_schema;
        if !schema.is_object() {
            return Err(FlowsError::invalid(
                format!("{at}.tools.{i}.toolSpec.inputSchema.json"),
                "the input schema must be a JSON Schema object",
            ));
        }
    }
    if let Some(ToolChoice::Tool(chosen)) = &tools.tool_choice
        && !names.contains(chosen.name.as_str())
    {
        return Err(FlowsError::invalid(
            format!("{at}.toolChoice.tool.name"),
            format!("no tool named {} is configured", chosen.name),
        ));
    }
    Ok(())
}

/// A prompt variable's value, as `promptVariables` carries it: a union with one member.
///
/// ```
/// use mantle_flows::PromptVariableValue;
/// let value: PromptVariableValue = serde_json::from_str(r#"{"text": "pop"}"#).unwrap();
/// assert_eq!(value.into_text(), "pop");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum PromptVariableValue {
    Text(String),
}

impl PromptVariableValue {
    pub fn into_text(self) -> String {
        match self {
            Self::Text(text) => text,
        }
    }
}

/// A message of a rendered prompt: its text blocks, filled in.
#[derive(Debug, Clone, PartialEq)]
pub struct RenderedMessage {
    pub role: Role,
    pub texts: Vec<String>,
}

/// A prompt variant with its variables filled in: what to send, to which model, and how.
#[derive(Debug, Clone, PartialEq)]
pub struct RenderedPrompt {
    /// The variant's model; `None` when the prompt names none and the caller must.
    pub model_id: Option<String>,
    pub system: Vec<String>,
    pub messages: Vec<RenderedMessage>,
    pub inference: Option<TextInference>,
    pub tools: Option<ToolConfiguration>,
    pub additional_model_request_fields: Option<Value>,
}

impl RenderedPrompt {
    /// The model request this prompt makes, as a Converse call without further messages would.
    ///
    /// ```
    /// use mantle_flows::RenderedPrompt;
    /// use mantle_flows::prompt::{Role, RenderedMessage};
    /// let rendered = RenderedPrompt {
    ///     model_id: Some("hf.smollm2-135m-instruct-v1:0".into()),
    ///     system: vec![],
    ///     messages: vec![RenderedMessage { role: Role::User, texts: vec!["Hello".into()] }],
    ///     inference: None, tools: None, additional_model_request_fields: None,
    /// };
    /// let request = rendered.generate_request();
    /// assert!(request.tools.is_none());
    /// ```
    pub fn generate_request(&self) -> GenerateRequest {
        let turns = self
            .messages
            .iter()
            .map(|m| Turn {
                role: match m.role {
                    Role::User => TurnRole::User,
                    Role::Assistant => TurnRole::Assistant,
                },
                content: m.texts.iter().cloned().map(Content::Text).collect(),
            })
            .collect();
        let inference = self.inference.clone().unwrap_or_default();
        GenerateRequest {
            prompt: Prompt::Chat(Conversation {
                system: self.system.clone(),
                turns,
            }),
            tools: self.tools.as_ref().map(tools),
            response_format: None,
            params: InferenceParams {
                max_tokens: inference.max_tokens.map(i64::from),
                temperature: inference.temperature.map(f64::from),
                top_p: inference.top_p.map(f64::from),
                stop_sequences: inference.stop_sequences,
                ..InferenceParams::default()
            },
        }
    }
}

fn tools(config: &ToolConfiguration) -> Tools {
    let specs = config
        .tools
        .iter()
        .filter_map(|tool| match tool {
            Tool::ToolSpec(spec) => {
                let super::config::ToolInputSchema::Json(schema) = &spec.input_schema;
                Some(mantle_inference::ToolSpec {
                    name: spec.name.clone(),
                    description: spec.description.clone(),
                    input_schema: schema.clone(),
                })
            }
            Tool::CachePoint(_) => None,
        })
        .collect();
    let choice = match &config.tool_choice {
        None | Some(ToolChoice::Auto(_)) => mantle_inference::ToolChoice::Auto,
        Some(ToolChoice::Any(_)) => mantle_inference::ToolChoice::Any,
        Some(ToolChoice::Tool(tool)) => mantle_inference::ToolChoice::Tool(tool.name.clone()),
    };
    Tools { specs, choice }
}

/// Fills `variant`'s placeholders with `values`, which must give exactly the variables the
/// variant declares: a missing or an extra one fails, naming it, under `field`.
pub fn render(
    variant: &PromptVariant,
    values: &BTreeMap<String, String>,
    field: &str,
) -> Result<RenderedPrompt, FlowsError> {
    if let Some(GenAiResource::Agent(agent)) = &variant.gen_ai_resource {
        return Err(FlowsError::invalid(
            "genAiResource.agent",
            format!(
                "this prompt runs the agent {}; agents are not served by this server yet",
                agent.agent_identifier
            ),
        ));
    }
    let declared = declared(variant);
    let missing: Vec<&str> = declared
        .iter()
        .copied()
        .filter(|name| !values.contains_key(*name))
        .collect();
    if !missing.is_empty() {
        return Err(FlowsError::invalid(
            field,
            format!(
                "no value for the prompt's variables: {}",
                missing.join(", ")
            ),
        ));
    }
    let extra: Vec<&str> = values
        .keys()
        .map(String::as_str)
        .filter(|name| !declared.contains(name))
        .collect();
    if !extra.is_empty() {
        return Err(FlowsError::invalid(
            field,
            format!("the prompt has no variables named: {}", extra.join(", ")),
        ));
    }
    let (system, messages, tools) = match &variant.template_configuration {
        TemplateConfiguration::Text(text) => (
            Vec::new(),
            vec![RenderedMessage {
                role: Role::User,
                texts: vec![fill(&text.text, values)],
            }],
            None,
        ),
        TemplateConfiguration::Chat(chat) => (
            chat.system
                .iter()
                .filter_map(|b| match b {
                    SystemBlock::Text(text) => Some(fill(text, values)),
                    SystemBlock::CachePoint(_) => None,
                })
                .collect(),
            chat.messages
                .iter()
                .map(|m| RenderedMessage {
                    role: m.role,
                    texts: m
                        .content
                        .iter()
                        .filter_map(|b| match b {
                            ContentBlock::Text(text) => Some(fill(text, values)),
                            ContentBlock::CachePoint(_) => None,
                        })
                        .collect(),
                })
                .collect(),
            chat.tool_configuration.clone(),
        ),
    };
    Ok(RenderedPrompt {
        model_id: variant.model_id.clone(),
        system,
        messages,
        inference: variant
            .inference_configuration
            .as_ref()
            .map(|c| c.text().clone()),
        tools,
        additional_model_request_fields: variant.additional_model_request_fields.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::prompt::config::{InputVariable, TextTemplate};

    fn text_variant(text: &str, variables: &[&str]) -> PromptVariant {
        PromptVariant {
            name: "v1".into(),
            template_type: TemplateType::Text,
            template_configuration: TemplateConfiguration::Text(TextTemplate {
                text: text.into(),
                cache_point: None,
                input_variables: variables
                    .iter()
                    .map(|n| InputVariable {
                        name: Some((*n).into()),
                    })
                    .collect(),
            }),
            model_id: None,
            inference_configuration: None,
            metadata: Vec::new(),
            additional_model_request_fields: None,
            gen_ai_resource: None,
        }
    }

    fn values(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn placeholders_are_exact_double_braces() {
        assert_eq!(
            placeholders("{{a}} {{ b }} {c} {{a}} {{d-1}} {{{e}}}"),
            vec!["a", "d-1", "e"]
        );
    }

    #[test]
    fn rendering_fills_once_and_names_missing_and_extra_variables() {
        let variant = text_variant(
            "Write a {{genre}} song about {{topic}}.",
            &["genre", "topic"],
        );
        let rendered = render(
            &variant,
            &values(&[("genre", "pop"), ("topic", "{{genre}}")]),
            "promptVariables",
        )
        .unwrap();
        assert_eq!(
            rendered.messages[0].texts,
            vec!["Write a pop song about {{genre}}.".to_owned()]
        );
        let missing = render(&variant, &values(&[("genre", "pop")]), "promptVariables");
        assert!(
            missing.unwrap_err().to_string().contains("topic"),
            "missing names the variable"
        );
        let extra = render(
            &variant,
            &values(&[("genre", "pop"), ("topic", "x"), ("mood", "sad")]),
            "promptVariables",
        );
        assert!(extra.unwrap_err().to_string().contains("mood"));
    }

    #[test]
    fn undeclared_placeholders_and_bad_names_are_refused() {
        let error =
            check_variant(&text_variant("Hi {{who}}", &[]), "variants.0", true).unwrap_err();
        assert!(
            matches!(&error, FlowsError::Validation { field: Some(f), .. } if f == "variants.0.templateConfiguration.text.text"),
            "{error}"
        );
        assert!(check_variant(&text_variant("Hi {{who}}", &["who"]), "variants.0", true).is_ok());
        let error = check_variant(&text_variant("Hi", &["a b"]), "variants.0", true).unwrap_err();
        assert!(
            error.to_string().contains("inputVariables.0.name"),
            "{error}"
        );
    }
}

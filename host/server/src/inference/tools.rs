//! Tool use for models without a native tool format: tools are described in the system prompt,
//! calls are written as `<tool_call>{"name": …, "arguments": …}</tool_call>` (the Hermes
//! convention most open chat models were tuned on), and the engine constrains every call to
//! the tool's input schema, so a call that reaches the client is valid JSON for that schema.
//!
//! - `toolChoice: auto` — the model writes text; a `<tool_` tag switches it to a constrained
//!   call (see [`CALL_TAG_START`]).
//! - `toolChoice: any` — the answer starts inside `<tool_call>`: a call of some tool, no text.
//! - `toolChoice: tool` — the answer starts with `{"name": "<tool>", "arguments": ` and only the
//!   arguments are generated.
//!
//! Earlier turns are rendered the same way: an assistant's `toolUse` as a `<tool_call>` block,
//! a user's `toolResult` as a `<tool_response>` block.

use std::sync::Arc;

use mantle_models::constrain::{Grammar, SchemaError};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::error::AwsError;

/// Opens a call in the model's output.
pub const CALL_OPEN: &str = "<tool_call>";
/// Under `toolChoice: auto`, a `<tool_` tag in the answer starts a call. Small models often
/// echo the `<tool_response>` tag they saw in earlier turns where they mean to call a tool;
/// the assistant never legitimately writes a tool response, so the tag is steered into
/// `<tool_call>` and the call is constrained from there.
pub const CALL_TAG_START: &str = "<tool_";
const CALL_CLOSE: &str = "</tool_call>";
/// Written by the engine between a call's name and its arguments.
pub const ARGUMENTS_SEPARATOR: &str = ", \"arguments\": ";

/// A tool the model may call, with its compiled argument grammar.
#[derive(Debug, Clone)]
pub struct Tool {
    pub name: String,
    pub description: Option<String>,
    pub schema: Value,
    pub grammar: Arc<Grammar>,
}

/// The tools of one request.
#[derive(Debug, Clone)]
pub struct ToolSet {
    pub tools: Vec<Tool>,
    /// `{"name": "<tool>"` for every tool: what a call starts with.
    pub call_heads: Arc<Grammar>,
    /// `call>` + newline + a call head: the rest of a call after [`CALL_TAG_START`].
    pub tagged_heads: Arc<Grammar>,
}

/// What the request asks of the model's output.
#[derive(Debug, Clone)]
pub enum OutputMode {
    Text,
    /// Text; `<tool_call>` opens a constrained call of one of the tools.
    ToolsAuto(Arc<ToolSet>),
    /// A call of one of the tools, and nothing else.
    ToolsRequired(Arc<ToolSet>),
    /// A call of the tool at this index; the prompt already names it.
    Tool(Arc<ToolSet>, usize),
    /// One JSON value of this grammar.
    Json(Arc<Grammar>),
}

impl Tool {
    /// A tool whose arguments follow `schema` (an object schema); errors name `name_field` or
    /// the keyword under `schema_field`.
    pub fn new(
        name_field: &str,
        schema_field: &str,
        name: &str,
        description: Option<String>,
        schema: &Value,
    ) -> Result<Self, AwsError> {
        check_tool_name(name_field, name)?;
        let ty = schema.get("type");
        if !schema.is_object() || (ty.is_some() && ty != Some(&json!("object"))) {
            return Err(AwsError::invalid_field(
                &format!("{schema_field}.type"),
                "The top level schema type must be object",
            ));
        }
        let mut schema = schema.clone();
        schema["type"] = json!("object");
        let grammar = compile_schema(schema_field, &schema)?;
        Ok(Self {
            name: name.to_owned(),
            description,
            schema,
            grammar,
        })
    }
}

impl ToolSet {
    pub fn new(tools: Vec<Tool>) -> Self {
        let call_heads = Grammar::one_of_texts(tools.iter().map(|t| call_head(&t.name)))
            .expect("tool names are validated non-empty and few");
        let rest_of_tag = &CALL_OPEN[CALL_TAG_START.len()..];
        let tagged_heads = Grammar::one_of_texts(
            tools
                .iter()
                .map(|t| format!("{rest_of_tag}\n{}", call_head(&t.name))),
        )
        .expect("tool names are validated non-empty and few");
        Self {
            tools,
            call_heads: Arc::new(call_heads),
            tagged_heads: Arc::new(tagged_heads),
        }
    }

    pub fn index_of(&self, name: &str) -> Option<usize> {
        self.tools.iter().position(|t| t.name == name)
    }

    /// The tool whose call head is `head` (after the rest of a tag, and whitespace).
    pub fn by_head(&self, head: &str) -> Option<usize> {
        let rest_of_tag = &CALL_OPEN[CALL_TAG_START.len()..];
        let head = head.strip_prefix(rest_of_tag).unwrap_or(head).trim_start();
        self.tools.iter().position(|t| call_head(&t.name) == head)
    }

    /// The system-prompt text that describes the tools and the call format.
    pub fn instructions(&self) -> String {
        let mut text = String::from(
            "You can call functions to help answer. The functions are described as JSON \
             inside <tools></tools>:\n<tools>\n",
        );
        for tool in &self.tools {
            let mut function = json!({ "name": tool.name, "parameters": tool.schema });
            if let Some(description) = &tool.description {
                function["description"] = json!(description);
            }
            text.push_str(&function.to_string());
            text.push('\n');
        }
        text.push_str(
            "</tools>\nTo call a function, answer with its name and arguments as JSON inside \
             <tool_call></tool_call> tags:\n<tool_call>\n{\"name\": <function-name>, \
             \"arguments\": <arguments-object>}\n</tool_call>",
        );
        text
    }

    /// A call that a model wrote without the `<tool_call>` markers (bare, or in a fenced code
    /// block), if `text` is exactly one such call of a known tool with valid arguments.
    pub fn parse_bare_call(&self, text: &str) -> Option<(usize, Value)> {
        let trimmed = text.trim();
        let body = trimmed
            .strip_prefix("```json")
            .or_else(|| trimmed.strip_prefix("```"))
            .and_then(|rest| rest.strip_suffix("```"))
            .unwrap_or(trimmed)
            .trim();
        let body = body
            .strip_prefix(CALL_OPEN)
            .and_then(|rest| rest.trim_end().strip_suffix(CALL_CLOSE))
            .unwrap_or(body);
        let value: Value = serde_json::from_str(body.trim()).ok()?;
        let name = value.get("name")?.as_str()?;
        let arguments = value.get("arguments").or_else(|| value.get("parameters"))?;
        let index = self.index_of(name)?;
        mantle_models::constrain::matches(&self.tools[index].grammar, arguments)
            .then(|| (index, arguments.clone()))
    }
}

/// How a call of `name` starts.
pub fn call_head(name: &str) -> String {
    format!("{{\"name\": {}", Value::String(name.to_owned()))
}

/// An earlier call, as the model would have written it.
pub fn render_call(name: &str, input: &Value) -> String {
    format!(
        "{CALL_OPEN}\n{{\"name\": {}, \"arguments\": {input}}}\n{CALL_CLOSE}",
        Value::String(name.to_owned())
    )
}

/// A tool's result, as the model is shown it.
pub fn render_result(content: &str) -> String {
    format!("<tool_response>\n{content}\n</tool_response>")
}

/// What the prompt ends with so that the answer starts inside a call.
pub fn forced_prefix(mode: &OutputMode) -> String {
    match mode {
        OutputMode::ToolsRequired(_) => format!("{CALL_OPEN}\n"),
        OutputMode::Tool(set, index) => format!(
            "{CALL_OPEN}\n{}{ARGUMENTS_SEPARATOR}",
            call_head(&set.tools[*index].name)
        ),
        _ => String::new(),
    }
}

/// A tool use id in Bedrock's format.
pub fn new_tool_use_id() -> String {
    format!("tooluse_{}", uuid::Uuid::new_v4().simple())
}

// ---- Bedrock's toolConfig ----

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ToolConfig {
    #[serde(default)]
    pub tools: Vec<ToolEntry>,
    #[serde(default)]
    pub tool_choice: Option<ToolChoice>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ToolEntry {
    #[serde(default)]
    pub tool_spec: Option<ToolSpec>,
    #[serde(default)]
    pub system_tool: Option<Value>,
    #[serde(default)]
    pub cache_point: Option<Value>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ToolSpec {
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
pub struct ToolInputSchema {
    pub json: Value,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ToolChoice {
    Auto(Value),
    Any(Value),
    Tool(SpecificTool),
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SpecificTool {
    pub name: String,
}

/// A tool's name as Bedrock allows it: 1–64 of `[a-zA-Z0-9_-]`.
pub fn check_tool_name(field: &str, name: &str) -> Result<(), AwsError> {
    if name.is_empty() || name.len() > 64 {
        return Err(AwsError::invalid_field(
            field,
            "Member must have length between 1 and 64",
        ));
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        return Err(AwsError::invalid_field(
            field,
            "Member must satisfy regular expression pattern: [a-zA-Z0-9_-]+",
        ));
    }
    Ok(())
}

/// Compiles a tool's (or an output format's) schema; errors name the keyword under `field`.
pub fn compile_schema(field: &str, schema: &Value) -> Result<Arc<Grammar>, AwsError> {
    Grammar::from_schema(schema)
        .map(Arc::new)
        .map_err(|SchemaError { path, message }| {
            let field = if path.is_empty() {
                field.to_owned()
            } else {
                format!("{field}.{path}")
            };
            AwsError::invalid_field(&field, message)
        })
}

impl ToolConfig {
    /// The tools and the output mode `toolChoice` asks for, checked.
    pub fn compile(&self) -> Result<OutputMode, AwsError> {
        let mut tools: Vec<Tool> = Vec::new();
        for (i, entry) in self.tools.iter().enumerate() {
            let field = format!("toolConfig.tools.{i}");
            if entry.system_tool.is_some() {
                return Err(AwsError::invalid_field(
                    &format!("{field}.systemTool"),
                    "system tools are not supported by this model",
                ));
            }
            let Some(spec) = &entry.tool_spec else {
                // A cache point marks a prompt-cache boundary; there is nothing to call.
                continue;
            };
            let tool = Tool::new(
                &format!("{field}.toolSpec.name"),
                &format!("{field}.toolSpec.inputSchema.json"),
                &spec.name,
                spec.description.clone(),
                &spec.input_schema.json,
            )?;
            if tools.iter().any(|t| t.name == tool.name) {
                return Err(AwsError::invalid_field(
                    &format!("{field}.toolSpec.name"),
                    format!("the tool name `{}` is used twice", tool.name),
                ));
            }
            tools.push(tool);
        }
        if tools.is_empty() {
            return Err(AwsError::invalid_field(
                "toolConfig.tools",
                "Member must have length greater than or equal to 1",
            ));
        }
        let set = Arc::new(ToolSet::new(tools));
        Ok(match &self.tool_choice {
            None | Some(ToolChoice::Auto(_)) => OutputMode::ToolsAuto(set),
            Some(ToolChoice::Any(_)) => OutputMode::ToolsRequired(set),
            Some(ToolChoice::Tool(SpecificTool { name })) => {
                let index = set.index_of(name).ok_or_else(|| {
                    AwsError::invalid_field(
                        "toolConfig.toolChoice.tool.name",
                        format!("`{name}` is not one of the tools in toolConfig.tools"),
                    )
                })?;
                OutputMode::Tool(set, index)
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(value: Value) -> Result<OutputMode, AwsError> {
        serde_json::from_value::<ToolConfig>(value)
            .unwrap()
            .compile()
    }

    fn weather() -> Value {
        json!({ "toolSpec": { "name": "get_weather", "description": "Weather now",
            "inputSchema": { "json": { "type": "object",
                "properties": { "city": { "type": "string" } }, "required": ["city"] } } } })
    }

    #[test]
    fn tool_choice_selects_the_mode() {
        assert!(matches!(
            config(json!({ "tools": [weather()] })).unwrap(),
            OutputMode::ToolsAuto(_)
        ));
        assert!(matches!(
            config(json!({ "tools": [weather()], "toolChoice": { "any": {} } })).unwrap(),
            OutputMode::ToolsRequired(_)
        ));
        let OutputMode::Tool(set, 0) = config(json!({
            "tools": [weather()], "toolChoice": { "tool": { "name": "get_weather" } }
        }))
        .unwrap() else {
            panic!("a forced tool")
        };
        assert_eq!(
            forced_prefix(&OutputMode::Tool(set, 0)),
            "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": "
        );
    }

    #[test]
    fn bad_configs_name_the_field() {
        let message = |v: Value| config(v).unwrap_err().to_string();
        assert!(message(json!({ "tools": [] })).contains("toolConfig.tools"));
        assert!(
            message(json!({ "tools": [weather()], "toolChoice": { "tool": { "name": "nope" } } }))
                .contains("toolConfig.toolChoice.tool.name")
        );
        assert!(
            message(json!({ "tools": [{ "toolSpec": { "name": "bad name",
                "inputSchema": { "json": { "type": "object" } } } }] }))
            .contains("toolConfig.tools.0.toolSpec.name")
        );
        assert!(
            message(json!({ "tools": [{ "toolSpec": { "name": "t",
                "inputSchema": { "json": { "type": "string" } } } }] }))
            .contains("toolConfig.tools.0.toolSpec.inputSchema.json.type")
        );
        assert!(
            message(json!({ "tools": [{ "toolSpec": { "name": "t",
                "inputSchema": { "json": { "type": "object",
                    "properties": { "n": { "type": "int" } } } } } }] }))
            .contains("toolConfig.tools.0.toolSpec.inputSchema.json.properties.n.type")
        );
        assert!(message(json!({ "tools": [weather(), weather()] })).contains("used twice"));
    }

    #[test]
    fn bare_calls_are_recognised_only_when_valid() {
        let OutputMode::ToolsAuto(set) = config(json!({ "tools": [weather()] })).unwrap() else {
            panic!()
        };
        let (index, args) = set
            .parse_bare_call(
                "```json\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Oslo\"}}\n```",
            )
            .unwrap();
        assert_eq!((index, args), (0, json!({ "city": "Oslo" })));
        assert!(
            set.parse_bare_call("<tool_call>{\"name\": \"get_weather\", \"parameters\": {\"city\": \"A\"}}</tool_call>")
                .is_some()
        );
        assert!(
            set.parse_bare_call("{\"name\": \"get_weather\", \"arguments\": {}}")
                .is_none()
        );
        assert!(
            set.parse_bare_call("{\"name\": \"other\", \"arguments\": {\"city\": \"A\"}}")
                .is_none()
        );
        assert!(set.parse_bare_call("It is sunny.").is_none());
        assert_eq!(set.by_head(" {\"name\": \"get_weather\""), Some(0));
        assert_eq!(set.by_head("call>\n{\"name\": \"get_weather\""), Some(0));
    }
}

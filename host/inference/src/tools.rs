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
use serde_json::{Value, json};

use crate::error::{Field, InferenceError};
use crate::request::{ToolChoice, Tools};

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
    /// The tool at `index` of a request, whose arguments follow `schema` (an object schema).
    pub fn new(
        index: usize,
        name: &str,
        description: Option<String>,
        schema: &Value,
    ) -> Result<Self, InferenceError> {
        check_tool_name(name)
            .map_err(|c| InferenceError::field(Field::ToolName { tool: index }, c))?;
        let ty = schema.get("type");
        if !schema.is_object() || (ty.is_some() && ty != Some(&json!("object"))) {
            return Err(InferenceError::field(
                Field::ToolSchema {
                    tool: index,
                    path: "type".into(),
                },
                "The top level schema type must be object",
            ));
        }
        let mut schema = schema.clone();
        schema["type"] = json!("object");
        let grammar = compile_schema(&schema, |path| Field::ToolSchema { tool: index, path })?;
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

/// A tool's name as Bedrock allows it: 1–64 of `[a-zA-Z0-9_-]`; the error is the constraint.
pub fn check_tool_name(name: &str) -> Result<(), &'static str> {
    if name.is_empty() || name.len() > 64 {
        return Err("Member must have length between 1 and 64");
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        return Err("Member must satisfy regular expression pattern: [a-zA-Z0-9_-]+");
    }
    Ok(())
}

/// Compiles a tool's (or an answer's) schema; an error names the keyword's path through
/// `field`.
pub fn compile_schema(
    schema: &Value,
    field: impl FnOnce(String) -> Field,
) -> Result<Arc<Grammar>, InferenceError> {
    Grammar::from_schema(schema)
        .map(Arc::new)
        .map_err(|SchemaError { path, message }| InferenceError::field(field(path), message))
}

/// The tools of a request and what its tool choice asks of the answer, checked. `None`
/// when the choice is [`ToolChoice::None`]: the tools are not offered to the model.
pub fn compile_tools(tools: &Tools) -> Result<Option<OutputMode>, InferenceError> {
    let mut compiled: Vec<Tool> = Vec::new();
    for (index, spec) in tools.specs.iter().enumerate() {
        let tool = Tool::new(
            index,
            &spec.name,
            spec.description.clone(),
            &spec.input_schema,
        )?;
        if compiled.iter().any(|t| t.name == tool.name) {
            return Err(InferenceError::field(
                Field::ToolName { tool: index },
                format!("the tool name `{}` is used twice", tool.name),
            ));
        }
        compiled.push(tool);
    }
    if compiled.is_empty() {
        return Err(InferenceError::field(
            Field::Tools,
            "Member must have length greater than or equal to 1",
        ));
    }
    let set = Arc::new(ToolSet::new(compiled));
    Ok(Some(match &tools.choice {
        ToolChoice::Auto => OutputMode::ToolsAuto(set),
        ToolChoice::Any => OutputMode::ToolsRequired(set),
        ToolChoice::Tool(name) => {
            let index = set.index_of(name).ok_or_else(|| {
                InferenceError::field(
                    Field::ToolChoiceName,
                    format!("`{name}` is not one of the request's tools"),
                )
            })?;
            OutputMode::Tool(set, index)
        }
        // The tools are still checked: a request is valid or not whatever its choice.
        ToolChoice::None => return Ok(None),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request::ToolSpec;

    fn tools(
        specs: Vec<ToolSpec>,
        choice: ToolChoice,
    ) -> Result<Option<OutputMode>, InferenceError> {
        compile_tools(&Tools { specs, choice })
    }

    fn weather() -> ToolSpec {
        ToolSpec {
            name: "get_weather".into(),
            description: Some("Weather now".into()),
            input_schema: json!({ "type": "object",
                "properties": { "city": { "type": "string" } }, "required": ["city"] }),
        }
    }

    fn spec(name: &str, schema: Value) -> ToolSpec {
        ToolSpec {
            name: name.into(),
            description: None,
            input_schema: schema,
        }
    }

    #[test]
    fn tool_choice_selects_the_mode() {
        assert!(matches!(
            tools(vec![weather()], ToolChoice::Auto).unwrap(),
            Some(OutputMode::ToolsAuto(_))
        ));
        assert!(matches!(
            tools(vec![weather()], ToolChoice::Any).unwrap(),
            Some(OutputMode::ToolsRequired(_))
        ));
        assert!(tools(vec![weather()], ToolChoice::None).unwrap().is_none());
        let Some(OutputMode::Tool(set, 0)) =
            tools(vec![weather()], ToolChoice::Tool("get_weather".into())).unwrap()
        else {
            panic!("a forced tool")
        };
        assert_eq!(
            forced_prefix(&OutputMode::Tool(set, 0)),
            "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": "
        );
    }

    #[test]
    fn bad_tools_name_the_part() {
        let field = |specs, choice| match tools(specs, choice).unwrap_err() {
            InferenceError::InvalidField { field, .. } => field,
            other => panic!("not a field error: {other}"),
        };
        assert_eq!(field(vec![], ToolChoice::Auto), Field::Tools);
        assert_eq!(
            field(vec![weather()], ToolChoice::Tool("nope".into())),
            Field::ToolChoiceName
        );
        assert_eq!(
            field(
                vec![spec("bad name", json!({ "type": "object" }))],
                ToolChoice::Auto
            ),
            Field::ToolName { tool: 0 }
        );
        assert_eq!(
            field(
                vec![weather(), spec("t", json!({ "type": "string" }))],
                ToolChoice::Auto
            ),
            Field::ToolSchema {
                tool: 1,
                path: "type".into()
            }
        );
        assert_eq!(
            field(
                vec![spec(
                    "t",
                    json!({ "type": "object", "properties": { "n": { "type": "int" } } })
                )],
                ToolChoice::Auto
            ),
            Field::ToolSchema {
                tool: 0,
                path: "properties.n.type".into()
            }
        );
        assert_eq!(
            field(vec![weather(), weather()], ToolChoice::Any),
            Field::ToolName { tool: 1 }
        );
    }

    #[test]
    fn bare_calls_are_recognised_only_when_valid() {
        let Some(OutputMode::ToolsAuto(set)) = tools(vec![weather()], ToolChoice::Auto).unwrap()
        else {
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

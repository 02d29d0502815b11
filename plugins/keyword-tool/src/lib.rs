//! # keyword-tool
//!
//! An agent tool plugin (the `tool` world) exposing two tools:
//!
//! - `extract_keywords` — `{"text": "...", "max_keywords": 10, "min_length": 3}` → the most
//!   frequent words of the text that are not English stop words, with counts and scores.
//! - `convert_units` — `{"value": 5, "from": "km", "to": "mi"}` → the converted value, for
//!   length, mass, temperature, volume, time, speed and data units.
//!
//! Input the model got wrong (bad JSON, a missing field, incompatible units) comes back as a
//! tool result with `is-error` set, so the model can see it and try again; a call to a tool
//! that does not exist is a `PluginError` (`unknown-tool`), since that is the caller's bug.

pub mod keywords;
pub mod units;

use mantle_sdk::PluginError;
use mantle_sdk::tool::{Guest, InvocationContext, ToolResult, ToolSpec};
use serde::de::DeserializeOwned;

/// The tools.
#[derive(Debug)]
pub struct KeywordTool;

impl Guest for KeywordTool {
    fn describe() -> Vec<ToolSpec> {
        vec![
            ToolSpec::new(
                "extract_keywords",
                "Extracts the most frequent meaningful words (not stop words) of a text, with their counts.",
                keywords::SCHEMA,
            ),
            ToolSpec::new(
                "convert_units",
                "Converts a value between units of length, mass, temperature, volume, time, speed or data size.",
                units::SCHEMA,
            ),
        ]
    }

    fn invoke(
        name: String,
        input: String,
        _context: InvocationContext,
    ) -> Result<ToolResult, PluginError> {
        let result = match name.as_str() {
            "extract_keywords" => parse(&input).and_then(keywords::run),
            "convert_units" => parse(&input).and_then(units::run),
            other => {
                return Err(PluginError::new(
                    "unknown-tool",
                    format!(
                        "no tool named `{other}` (this plugin has extract_keywords and convert_units)"
                    ),
                ));
            }
        };
        Ok(match result {
            Ok(value) => ToolResult::json(value.to_string()),
            Err(message) => ToolResult::error(message),
        })
    }
}

fn parse<T: DeserializeOwned>(input: &str) -> Result<T, String> {
    serde_json::from_str(input).map_err(|e| format!("invalid input: {e}"))
}

#[cfg(target_arch = "wasm32")]
mantle_sdk::export_tool!(KeywordTool);

#[cfg(test)]
mod tests {
    use super::*;
    use mantle_sdk::tool::ContentType;
    use serde_json::{Value, json};

    fn context() -> InvocationContext {
        InvocationContext::session("s-1")
    }

    fn call(name: &str, input: Value) -> ToolResult {
        KeywordTool::invoke(name.into(), input.to_string(), context()).unwrap()
    }

    #[test]
    fn describes_two_tools_with_valid_schemas() {
        let specs = KeywordTool::describe();
        let names: Vec<&str> = specs.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["extract_keywords", "convert_units"]);
        for spec in &specs {
            let schema: Value = serde_json::from_str(&spec.input_schema).unwrap();
            assert_eq!(schema["type"], "object");
            assert!(schema["required"].is_array());
            assert!(!spec.description.is_empty());
        }
    }

    #[test]
    fn keywords_end_to_end() {
        let result = call(
            "extract_keywords",
            json!({"text": "Rust is fast. Rust is safe; the Rust compiler checks memory safety.", "max_keywords": 2}),
        );
        assert!(!result.is_error);
        assert_eq!(result.content_type, ContentType::Json);
        let body: Value = serde_json::from_str(&result.body).unwrap();
        assert_eq!(body["keywords"][0]["keyword"], "rust");
        assert_eq!(body["keywords"][0]["count"], 3);
        assert_eq!(body["keywords"].as_array().unwrap().len(), 2);
    }

    #[test]
    fn units_end_to_end() {
        let result = call(
            "convert_units",
            json!({"value": 100, "from": "C", "to": "F"}),
        );
        let body: Value = serde_json::from_str(&result.body).unwrap();
        assert_eq!(body["result"], 212.0);
        assert_eq!(body["category"], "temperature");
    }

    #[test]
    fn bad_input_is_a_tool_error_the_model_sees() {
        let result =
            KeywordTool::invoke("convert_units".into(), "{not json".into(), context()).unwrap();
        assert!(result.is_error);
        assert!(result.body.starts_with("invalid input"));
        let result = call(
            "convert_units",
            json!({"value": 1, "from": "kg", "to": "km"}),
        );
        assert!(result.is_error);
        assert!(result.body.contains("cannot convert"), "{}", result.body);
        let result = call("extract_keywords", json!({"txt": "x"}));
        assert!(result.is_error);
    }

    #[test]
    fn unknown_tool_is_a_plugin_error() {
        let err = KeywordTool::invoke("nope".into(), "{}".into(), context()).unwrap_err();
        assert_eq!(err.code, "unknown-tool");
    }
}

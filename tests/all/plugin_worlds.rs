//! The runtime is generic: a tool, a chunker and a flow node, each a real plugin.

use mantle_plugins::CallError;
use mantle_plugins::plugin::chunker_api::Document;
use mantle_plugins::plugin::flow_node_api::{PortType, PortValue};
use mantle_plugins::plugin::tool_api::{ContentType, InvocationContext};
use serde_json::{Value, json};

use crate::{block, builtin, load};

#[test]
fn a_tool_plugin_describes_and_invokes() {
    let tool = load(&builtin("keyword-tool")).unwrap();
    let specs = block(tool.describe_tools()).unwrap();
    let names: Vec<&str> = specs.iter().map(|s| s.name.as_str()).collect();
    assert!(names.contains(&"convert_units"), "{names:?}");
    for spec in &specs {
        serde_json::from_str::<Value>(&spec.input_schema).expect("schemas are JSON");
    }
    let context = session("s1");
    let result = block(tool.invoke_tool(
        "convert_units",
        &json!({"value": 100, "from": "C", "to": "F"}).to_string(),
        &context,
    ))
    .unwrap();
    assert_eq!(result.content_type, ContentType::Json);
    let body: Value = serde_json::from_str(&result.body).unwrap();
    assert_eq!(body["result"], 212.0);
    let error = block(tool.invoke_tool("no_such_tool", "{}", &context)).unwrap_err();
    assert!(
        matches!(error, CallError::Plugin { ref code, .. } if code == "unknown-tool"),
        "{error}"
    );
    // Calling a tool as a guardrail is refused before it reaches the component.
    assert!(matches!(
        block(tool.split(&document("x"), "{}")),
        Err(CallError::WrongKind { .. })
    ));
}

/// A tool call's context with only a session id.
pub(crate) fn session(id: &str) -> InvocationContext {
    InvocationContext {
        session_id: id.into(),
        agent_id: None,
        agent_name: None,
        agent_alias_id: None,
        action_group: None,
        session_attributes: vec![],
        prompt_session_attributes: vec![],
        input_text: None,
    }
}

fn document(text: &str) -> Document {
    Document {
        id: "d1".into(),
        text: text.into(),
        content_type: "text/plain".into(),
        metadata: vec![],
    }
}

#[test]
fn a_chunker_plugin_splits_with_exact_spans() {
    let chunker = load(&builtin("fixed-size-chunker")).unwrap();
    let text = (0..500)
        .map(|i| format!("word{i}"))
        .collect::<Vec<_>>()
        .join(" ");
    let chunks = block(chunker.split(
        &document(&text),
        r#"{"maxTokens": 100, "overlapPercentage": 10}"#,
    ))
    .unwrap();
    assert!(chunks.len() >= 5, "{} chunks", chunks.len());
    for chunk in &chunks {
        assert_eq!(
            &text[chunk.span.start as usize..chunk.span.end as usize],
            chunk.text
        );
        assert!(chunk.text.split_whitespace().count() <= 100);
    }
}

#[test]
fn a_flow_node_plugin_runs() {
    let node = load(&builtin("json-transform")).unwrap();
    let config = std::fs::read_to_string(builtin("json-transform").join("plugin.toml")).unwrap();
    assert!(config.contains("flow-node"));
    let inputs = [PortValue {
        name: "document".into(),
        type_: PortType::Object,
        value: json!({"user": {"name": "Ada"}}).to_string(),
    }];
    let outputs =
        block(node.run_node(&inputs, r#"{"outputs": {"name": "/document/user/name"}}"#)).unwrap();
    assert_eq!(outputs[0].name, "name");
    assert_eq!(outputs[0].type_, PortType::String);
    assert_eq!(
        serde_json::from_str::<Value>(&outputs[0].value).unwrap(),
        "Ada"
    );
}

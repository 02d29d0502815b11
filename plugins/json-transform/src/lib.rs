//! # json-transform
//!
//! A prompt-flow code node (the `flow-node` world). Its inputs are gathered into one JSON object,
//! `{"<input name>": <value>, ...}`, and each output port is built from it by a spec:
//!
//! | spec | result |
//! |---|---|
//! | `"/document/user/name"` or `{"pointer": "/…", "default": …}` | the value at a JSON pointer (RFC 6901) |
//! | `"Hello {{document.user.name}}!"` or `{"template": "…"}` | a string with placeholders filled in |
//! | `{"object": {"id": "/document/id", "title": "{{document.name}}"}}` | an object of specs: picks and renames fields |
//! | `{"array": [spec, …]}` | an array of specs |
//! | `{"each": "/document/items", "map": spec}` | `spec` applied to every element (pointers are relative to it) |
//! | `{"value": …}` | a literal |
//!
//! A placeholder is a JSON pointer (`{{/a/0/b}}`) or a dotted path (`{{a.0.b}}`, `{{a[0].b}}`);
//! strings are inserted as they are, other values as compact JSON; `{{path?}}` inserts nothing
//! where the path is missing (without `?` a missing path is an error).
//!
//! Config: `{"outputs": {"<port>": spec, ...}}`. The output ports come back sorted by name; a
//! missing value is a `missing-value` error, an input that is not JSON (or an `each` over a
//! non-array) `invalid-input`, and a bad spec `invalid-config` naming its path
//! (`outputs.summary.object.lines`).

use std::collections::BTreeMap;

use mantle_sdk::PluginError;
use mantle_sdk::flow_node::{Guest, PortValue};
use serde::Deserialize;
use serde_json::{Map, Value};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Config {
    outputs: BTreeMap<String, Value>,
}

/// A parsed output spec.
#[derive(Debug, Clone, PartialEq)]
pub enum Spec {
    Pointer {
        pointer: String,
        default: Option<Value>,
    },
    Template(Vec<Piece>),
    Object(Vec<(String, Spec)>),
    Array(Vec<Spec>),
    Each {
        pointer: String,
        map: Box<Spec>,
    },
    Literal(Value),
}

/// A part of a template.
#[derive(Debug, Clone, PartialEq)]
pub enum Piece {
    Text(String),
    Field { pointer: String, optional: bool },
}

fn invalid(path: &str, message: impl std::fmt::Display) -> PluginError {
    PluginError::invalid_config(format!("{path}: {message}"))
}

/// A pointer from a placeholder: `/a/b` as it is, `a.b[0]` or `a.b.0` converted.
fn placeholder_pointer(path: &str) -> String {
    if path.starts_with('/') {
        return path.to_owned();
    }
    let mut pointer = String::new();
    for part in path.split('.') {
        let mut rest = part;
        // `items[0][1]` → items, 0, 1
        let name_end = rest.find('[').unwrap_or(rest.len());
        let (name, indexes) = rest.split_at(name_end);
        if !name.is_empty() {
            pointer.push('/');
            pointer.push_str(&name.replace('~', "~0").replace('/', "~1"));
        }
        rest = indexes;
        while let Some(stripped) = rest.strip_prefix('[') {
            let close = stripped.find(']').unwrap_or(stripped.len());
            pointer.push('/');
            pointer.push_str(&stripped[..close]);
            rest = stripped.get(close + 1..).unwrap_or("");
        }
    }
    pointer
}

/// Parses a template string into pieces.
pub fn parse_template(template: &str, path: &str) -> Result<Vec<Piece>, PluginError> {
    let mut pieces = Vec::new();
    let mut rest = template;
    while let Some(open) = rest.find("{{") {
        if open > 0 {
            pieces.push(Piece::Text(rest[..open].to_owned()));
        }
        let after = &rest[open + 2..];
        let close = after
            .find("}}")
            .ok_or_else(|| invalid(path, "unclosed `{{` in template"))?;
        let inner = after[..close].trim();
        let (inner, optional) = match inner.strip_suffix('?') {
            Some(stripped) => (stripped.trim_end(), true),
            None => (inner, false),
        };
        if inner.is_empty() {
            return Err(invalid(path, "empty placeholder `{{}}` in template"));
        }
        pieces.push(Piece::Field {
            pointer: placeholder_pointer(inner),
            optional,
        });
        rest = &after[close + 2..];
    }
    if !rest.is_empty() {
        pieces.push(Piece::Text(rest.to_owned()));
    }
    Ok(pieces)
}

fn check_pointer(pointer: &str, path: &str) -> Result<(), PluginError> {
    if pointer.is_empty() || pointer.starts_with('/') {
        Ok(())
    } else {
        Err(invalid(
            path,
            format!("`{pointer}` is not a JSON pointer (it must start with `/`)"),
        ))
    }
}

impl Spec {
    /// Parses the spec at config path `path`.
    pub fn parse(value: &Value, path: &str) -> Result<Self, PluginError> {
        match value {
            Value::String(s) if s.starts_with('/') || s.is_empty() => Ok(Spec::Pointer {
                pointer: s.clone(),
                default: None,
            }),
            Value::String(s) => Ok(Spec::Template(parse_template(s, path)?)),
            Value::Object(map)
                if map.len() == 1
                    || (map.len() == 2 && map.contains_key("default"))
                    || map.contains_key("each") =>
            {
                Self::parse_object(map, path)
            }
            _ => Err(invalid(
                path,
                "expected a pointer string, a template string, or an object with one of pointer, template, object, array, each, value",
            )),
        }
    }

    fn parse_object(map: &Map<String, Value>, path: &str) -> Result<Self, PluginError> {
        let (key, value) = map
            .iter()
            .find(|(k, _)| k.as_str() != "default" && k.as_str() != "map")
            .ok_or_else(|| invalid(path, "missing spec kind"))?;
        let allowed_extra = match key.as_str() {
            "pointer" => &["default"][..],
            "each" => &["map"][..],
            _ => &[][..],
        };
        if let Some(extra) = map
            .keys()
            .find(|k| *k != key && !allowed_extra.contains(&k.as_str()))
        {
            return Err(invalid(
                path,
                format!("unexpected key `{extra}` beside `{key}`"),
            ));
        }
        let here = format!("{path}.{key}");
        match key.as_str() {
            "pointer" => {
                let pointer = value
                    .as_str()
                    .ok_or_else(|| invalid(&here, "expected a string"))?;
                check_pointer(pointer, &here)?;
                Ok(Spec::Pointer {
                    pointer: pointer.to_owned(),
                    default: map.get("default").cloned(),
                })
            }
            "template" => {
                let template = value
                    .as_str()
                    .ok_or_else(|| invalid(&here, "expected a string"))?;
                Ok(Spec::Template(parse_template(template, &here)?))
            }
            "object" => {
                let fields = value
                    .as_object()
                    .ok_or_else(|| invalid(&here, "expected an object"))?;
                let fields = fields
                    .iter()
                    .map(|(name, spec)| {
                        Ok((name.clone(), Spec::parse(spec, &format!("{here}.{name}"))?))
                    })
                    .collect::<Result<_, PluginError>>()?;
                Ok(Spec::Object(fields))
            }
            "array" => {
                let items = value
                    .as_array()
                    .ok_or_else(|| invalid(&here, "expected an array"))?;
                let items = items
                    .iter()
                    .enumerate()
                    .map(|(i, spec)| Spec::parse(spec, &format!("{here}[{i}]")))
                    .collect::<Result<_, PluginError>>()?;
                Ok(Spec::Array(items))
            }
            "each" => {
                let pointer = value
                    .as_str()
                    .ok_or_else(|| invalid(&here, "expected a pointer string"))?;
                check_pointer(pointer, &here)?;
                let map_spec = map
                    .get("map")
                    .ok_or_else(|| invalid(path, "`each` needs a `map` spec"))?;
                Ok(Spec::Each {
                    pointer: pointer.to_owned(),
                    map: Box::new(Spec::parse(map_spec, &format!("{path}.map"))?),
                })
            }
            "value" => Ok(Spec::Literal(value.clone())),
            other => Err(invalid(path, format!("unknown spec kind `{other}`"))),
        }
    }

    /// Evaluates the spec against `root`.
    pub fn eval(&self, root: &Value, port: &str) -> Result<Value, PluginError> {
        let missing = |pointer: &str| {
            PluginError::new(
                "missing-value",
                format!("output `{port}`: nothing at `{pointer}` in the inputs"),
            )
        };
        match self {
            Spec::Pointer { pointer, default } => match root.pointer(pointer) {
                Some(value) => Ok(value.clone()),
                None => default.clone().ok_or_else(|| missing(pointer)),
            },
            Spec::Template(pieces) => {
                let mut out = String::new();
                for piece in pieces {
                    match piece {
                        Piece::Text(text) => out.push_str(text),
                        Piece::Field { pointer, optional } => match root.pointer(pointer) {
                            Some(Value::String(s)) => out.push_str(s),
                            Some(Value::Null) => {}
                            Some(other) => out.push_str(&other.to_string()),
                            None if *optional => {}
                            None => return Err(missing(pointer)),
                        },
                    }
                }
                Ok(Value::String(out))
            }
            Spec::Object(fields) => {
                let mut object = Map::new();
                for (name, spec) in fields {
                    object.insert(name.clone(), spec.eval(root, port)?);
                }
                Ok(Value::Object(object))
            }
            Spec::Array(items) => items
                .iter()
                .map(|spec| spec.eval(root, port))
                .collect::<Result<Vec<_>, _>>()
                .map(Value::Array),
            Spec::Each { pointer, map } => {
                let items = root.pointer(pointer).ok_or_else(|| missing(pointer))?;
                let items = items.as_array().ok_or_else(|| {
                    PluginError::new(
                        "invalid-input",
                        format!("output `{port}`: `{pointer}` is not an array"),
                    )
                })?;
                items
                    .iter()
                    .map(|item| map.eval(item, port))
                    .collect::<Result<Vec<_>, _>>()
                    .map(Value::Array)
            }
            Spec::Literal(value) => Ok(value.clone()),
        }
    }
}

/// Parses a node config into its output specs.
pub fn parse_config(config: &str) -> Result<Vec<(String, Spec)>, PluginError> {
    let config: Config = mantle_sdk::parse_config(config)?;
    if config.outputs.is_empty() {
        return Err(PluginError::invalid_config(
            "outputs: at least one output is required",
        ));
    }
    config
        .outputs
        .iter()
        .map(|(port, spec)| Ok((port.clone(), Spec::parse(spec, &format!("outputs.{port}"))?)))
        .collect()
}

/// The node.
#[derive(Debug)]
pub struct JsonTransform;

impl Guest for JsonTransform {
    fn run(inputs: Vec<PortValue>, config: String) -> Result<Vec<PortValue>, PluginError> {
        let outputs = parse_config(&config)?;
        let mut root = Map::new();
        for input in &inputs {
            let value: Value = serde_json::from_str(&input.value).map_err(|e| {
                PluginError::new(
                    "invalid-input",
                    format!("input `{}` is not JSON: {e}", input.name),
                )
            })?;
            root.insert(input.name.clone(), value);
        }
        let root = Value::Object(root);
        outputs
            .iter()
            .map(|(port, spec)| Ok(PortValue::new(port.clone(), &spec.eval(&root, port)?)))
            .collect()
    }
}

#[cfg(target_arch = "wasm32")]
mantle_sdk::export_flow_node!(JsonTransform);

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn run(
        inputs: &[(&str, Value)],
        config: Value,
    ) -> Result<BTreeMap<String, Value>, PluginError> {
        let inputs = inputs.iter().map(|(n, v)| PortValue::new(*n, v)).collect();
        let out = JsonTransform::run(inputs, config.to_string())?;
        Ok(out
            .into_iter()
            .map(|p| (p.name, serde_json::from_str(&p.value).unwrap()))
            .collect())
    }

    fn document() -> Value {
        json!({
            "user": {"name": "Ada", "id": 7, "tags": ["x", "y"]},
            "items": [{"sku": "A1", "qty": 2, "price": 9.5}, {"sku": "B2", "qty": 1, "price": 20}]
        })
    }

    #[test]
    fn pointers_pick_values() {
        let out = run(
            &[("document", document())],
            json!({"outputs": {"name": "/document/user/name", "firstTag": {"pointer": "/document/user/tags/0"}}}),
        )
        .unwrap();
        assert_eq!(out["name"], "Ada");
        assert_eq!(out["firstTag"], "x");
    }

    #[test]
    fn templates_fill_placeholders() {
        let out = run(
            &[("document", document()), ("greeting", json!("Hello"))],
            json!({"outputs": {"text": "{{greeting}}, {{document.user.name}} (#{{ /document/user/id }}): {{document.items[1].sku}} {{document.user.tags}}{{nothing?}}"}}),
        )
        .unwrap();
        assert_eq!(out["text"], r#"Hello, Ada (#7): B2 ["x","y"]"#);
    }

    #[test]
    fn objects_rename_and_each_maps() {
        let out = run(
            &[("document", document())],
            json!({"outputs": {
                "summary": {"object": {
                    "customer": "/document/user/name",
                    "lines": {"each": "/document/items", "map": {"object": {"id": "/sku", "label": "{{sku}} x{{qty}}"}}},
                    "source": {"value": "shop"},
                    "pair": {"array": ["/document/user/id", {"value": null}]}
                }}
            }}),
        )
        .unwrap();
        assert_eq!(
            out["summary"],
            json!({
                "customer": "Ada",
                "lines": [{"id": "A1", "label": "A1 x2"}, {"id": "B2", "label": "B2 x1"}],
                "source": "shop",
                "pair": [7, null]
            })
        );
    }

    #[test]
    fn defaults_and_missing_values() {
        let out = run(
            &[("document", document())],
            json!({"outputs": {"email": {"pointer": "/document/user/email", "default": "unknown"}}}),
        )
        .unwrap();
        assert_eq!(out["email"], "unknown");
        let err = run(
            &[("document", document())],
            json!({"outputs": {"x": "/document/nope"}}),
        )
        .unwrap_err();
        assert_eq!(err.code, "missing-value");
        assert!(err.message.contains("/document/nope"));
        let err = run(
            &[("document", document())],
            json!({"outputs": {"x": "Hi {{document.nope}}"}}),
        )
        .unwrap_err();
        assert_eq!(err.code, "missing-value");
        let err = run(
            &[("document", document())],
            json!({"outputs": {"x": {"each": "/document/user", "map": "/a"}}}),
        )
        .unwrap_err();
        assert_eq!(err.code, "invalid-input");
    }

    #[test]
    fn pointer_escapes_and_dotted_paths() {
        assert_eq!(placeholder_pointer("a.b[0][1].c"), "/a/b/0/1/c");
        assert_eq!(placeholder_pointer("a/b.c"), "/a~1b/c");
        assert_eq!(placeholder_pointer("x~y"), "/x~0y");
        let out = run(
            &[("in", json!({"a/b": 1}))],
            json!({"outputs": {"v": "{{in.a/b}}"}}),
        )
        .unwrap();
        assert_eq!(out["v"], "1");
        let out = run(
            &[("in", json!({"a/b": 1}))],
            json!({"outputs": {"v": "/in/a~1b"}}),
        )
        .unwrap();
        assert_eq!(out["v"], 1);
    }

    #[test]
    fn invalid_configs_and_inputs() {
        for config in [
            json!({}),
            json!({"outputs": {}}),
            json!({"outputs": {"x": 3}}),
            json!({"outputs": {"x": "{{unclosed"}}),
            json!({"outputs": {"x": "{{}}"}}),
            json!({"outputs": {"x": {"pointer": "no-slash"}}}),
            json!({"outputs": {"x": {"each": "/a"}}}),
            json!({"outputs": {"x": {"shout": "/a"}}}),
            json!({"outputs": {"x": {"object": {"y": {"value": 1, "template": "t"}}}}}),
            json!({"outputs": {"x": "/a"}, "extra": 1}),
        ] {
            let err = run(&[("a", json!(1))], config.clone()).unwrap_err();
            assert_eq!(err.code, "invalid-config", "{config}");
        }
        let err = JsonTransform::run(
            vec![PortValue {
                name: "a".into(),
                type_: mantle_sdk::flow_node::PortType::Object,
                value: "{bad".into(),
            }],
            json!({"outputs": {"x": "/a"}}).to_string(),
        )
        .unwrap_err();
        assert_eq!(err.code, "invalid-input");
    }
}

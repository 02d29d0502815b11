//! JSON Schema compiled into the grammar the matcher walks.
//!
//! Generation needs a grammar, not a validator: every keyword that shapes *which bytes may come
//! next* is compiled (types, properties, required, additionalProperties, items, min/maxItems,
//! min/maxLength, enum, const, anyOf/oneOf, local `$ref`, OpenAPI's `nullable`). Keywords that
//! only restrict values after the fact (`pattern`, `format`, `minimum`, …) are accepted and not
//! enforced; the README lists them.

use std::collections::HashMap;

use serde_json::Value;

/// Most choices one node may hold (properties of an object, values of an enum): the matcher
/// tracks them in a fixed bit set so its state is plain data, cheap to copy per candidate token.
pub const MAX_CHOICES: usize = 256;

pub(super) type NodeId = u32;

/// A schema that cannot be used to constrain generation, with the JSON path of the offending
/// keyword relative to the schema's root (`properties.city.type`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {message}")]
pub struct SchemaError {
    pub path: String,
    pub message: String,
}

#[derive(Debug, Clone)]
pub(crate) enum Node {
    /// Any one of these.
    Union(Vec<NodeId>),
    Object {
        /// Declared properties: the key as it appears between the quotes, and its schema.
        props: Vec<(Vec<u8>, NodeId)>,
        required: Bits,
        /// Schema of undeclared keys, if they are allowed.
        additional: Option<NodeId>,
        /// Declared properties must come in declaration order.
        ordered: bool,
    },
    Array {
        items: NodeId,
        min: usize,
        max: Option<usize>,
    },
    String {
        min: usize,
        max: Option<usize>,
    },
    Number {
        integer: bool,
    },
    /// Exactly one of these byte strings (enum/const values in compact JSON, `true`, …).
    Literals(Vec<Vec<u8>>),
}

/// A fixed-size bit set over at most [`MAX_CHOICES`] choices.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Bits([u64; MAX_CHOICES / 64]);

impl Bits {
    pub(crate) fn get(&self, i: usize) -> bool {
        self.0[i / 64] & (1 << (i % 64)) != 0
    }

    pub(crate) fn set(&mut self, i: usize) {
        self.0[i / 64] |= 1 << (i % 64);
    }

    pub(crate) fn clear(&mut self, i: usize) {
        self.0[i / 64] &= !(1 << (i % 64));
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.0.iter().all(|w| *w == 0)
    }

    /// Every bit of `self` is set in `other`.
    pub(crate) fn subset_of(&self, other: &Bits) -> bool {
        self.0.iter().zip(&other.0).all(|(a, b)| a & !b == 0)
    }
}

/// A compiled grammar: nodes plus the root.
#[derive(Debug, Clone)]
pub struct Grammar {
    pub(crate) nodes: Vec<Node>,
    pub(crate) root: NodeId,
}

impl Grammar {
    /// Compiles a JSON Schema (draft 2020-12 / OpenAPI subset; see the module docs).
    pub fn from_schema(schema: &Value) -> Result<Self, SchemaError> {
        let mut compiler = Compiler {
            root: schema,
            nodes: Vec::new(),
            refs: HashMap::new(),
            any: None,
        };
        let root = compiler.compile(schema, "")?;
        Ok(Self {
            nodes: compiler.nodes,
            root,
        })
    }

    /// Any JSON object (OpenAI's `response_format: json_object`).
    pub fn any_object() -> Self {
        Self::from_schema(&serde_json::json!({ "type": "object" })).expect("a valid schema")
    }

    /// Exactly one of `texts`, byte for byte, after optional leading whitespace. The texts need
    /// not be JSON: tool-call framing uses this for `{"name": "<tool>"`.
    pub fn one_of_texts<I, S>(texts: I) -> Result<Self, SchemaError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let literals: Vec<Vec<u8>> = texts
            .into_iter()
            .map(|t| t.as_ref().as_bytes().to_vec())
            .collect();
        check_choices(literals.len(), "")?;
        if literals.is_empty() || literals.iter().any(Vec::is_empty) {
            return Err(SchemaError {
                path: String::new(),
                message: "needs at least one non-empty text".into(),
            });
        }
        Ok(Self {
            nodes: vec![Node::Literals(literals)],
            root: 0,
        })
    }

    pub(crate) fn node(&self, id: NodeId) -> &Node {
        &self.nodes[id as usize]
    }
}

struct Compiler<'a> {
    root: &'a Value,
    nodes: Vec<Node>,
    /// `$ref` targets compiled so far (recursive schemas point back at them).
    refs: HashMap<String, NodeId>,
    any: Option<NodeId>,
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

fn err(path: &str, message: impl Into<String>) -> SchemaError {
    SchemaError {
        path: path.to_owned(),
        message: message.into(),
    }
}

fn check_choices(n: usize, path: &str) -> Result<(), SchemaError> {
    if n > MAX_CHOICES {
        return Err(err(
            path,
            format!("at most {MAX_CHOICES} choices are supported, found {n}"),
        ));
    }
    Ok(())
}

fn json_bytes(value: &Value) -> Vec<u8> {
    serde_json::to_vec(value).expect("a JSON value serializes")
}

fn usize_keyword(schema: &Value, key: &str, path: &str) -> Result<Option<usize>, SchemaError> {
    match schema.get(key) {
        None => Ok(None),
        Some(v) => v
            .as_u64()
            .map(|n| Some(n as usize))
            .ok_or_else(|| err(&join(path, key), "must be a non-negative integer")),
    }
}

impl Compiler<'_> {
    fn push(&mut self, node: Node) -> NodeId {
        self.nodes.push(node);
        (self.nodes.len() - 1) as NodeId
    }

    /// A node accepting any JSON value (shared, recursive).
    fn any(&mut self) -> NodeId {
        if let Some(id) = self.any {
            return id;
        }
        let id = self.push(Node::Union(Vec::new()));
        self.any = Some(id);
        let object = self.push(Node::Object {
            props: Vec::new(),
            required: Bits::default(),
            additional: Some(id),
            ordered: false,
        });
        let array = self.push(Node::Array {
            items: id,
            min: 0,
            max: None,
        });
        let string = self.push(Node::String { min: 0, max: None });
        let number = self.push(Node::Number { integer: false });
        let literals = self.push(Node::Literals(vec![
            b"true".to_vec(),
            b"false".to_vec(),
            b"null".to_vec(),
        ]));
        self.nodes[id as usize] = Node::Union(vec![object, array, string, number, literals]);
        id
    }

    fn compile(&mut self, schema: &Value, path: &str) -> Result<NodeId, SchemaError> {
        let map = match schema {
            Value::Bool(true) => return Ok(self.any()),
            Value::Bool(false) => return Err(err(path, "the schema `false` matches nothing")),
            Value::Object(map) => map,
            _ => return Err(err(path, "a schema must be an object or a boolean")),
        };
        if let Some(reference) = map.get("$ref") {
            return self.reference(reference, &join(path, "$ref"));
        }
        if let Some(value) = map.get("const") {
            return Ok(self.push(Node::Literals(vec![json_bytes(value)])));
        }
        if let Some(values) = map.get("enum") {
            let path = join(path, "enum");
            let values = values
                .as_array()
                .filter(|v| !v.is_empty())
                .ok_or_else(|| err(&path, "must be a non-empty array"))?;
            check_choices(values.len(), &path)?;
            return Ok(self.push(Node::Literals(values.iter().map(json_bytes).collect())));
        }
        for key in ["anyOf", "oneOf"] {
            if let Some(alternatives) = map.get(key) {
                let path = join(path, key);
                let alternatives = alternatives
                    .as_array()
                    .filter(|v| !v.is_empty())
                    .ok_or_else(|| err(&path, "must be a non-empty array"))?;
                let mut ids = Vec::new();
                for (i, alt) in alternatives.iter().enumerate() {
                    ids.push(self.compile(alt, &join(&path, &i.to_string()))?);
                }
                return Ok(self.nullable(map, Node::Union(ids)));
            }
        }
        if let Some(all) = map.get("allOf") {
            let path = join(path, "allOf");
            return match all.as_array().map(Vec::as_slice) {
                Some([only]) => self.compile(only, &join(&path, "0")),
                _ => Err(err(
                    &path,
                    "only an allOf with exactly one schema is supported",
                )),
            };
        }
        let types: Vec<&str> = match map.get("type") {
            None if map.contains_key("properties") => vec!["object"],
            None if map.contains_key("items") => vec!["array"],
            None => return Ok(self.any()),
            Some(Value::String(t)) => vec![t.as_str()],
            Some(Value::Array(ts)) => ts
                .iter()
                .map(|t| t.as_str())
                .collect::<Option<_>>()
                .filter(|ts: &Vec<&str>| !ts.is_empty())
                .ok_or_else(|| err(&join(path, "type"), "must be a type name or a list of them"))?,
            Some(_) => {
                return Err(err(
                    &join(path, "type"),
                    "must be a type name or a list of them",
                ));
            }
        };
        if let [ty] = types.as_slice() {
            let node = self.typed(map, ty, path)?;
            return Ok(self.nullable(map, node));
        }
        let mut ids = Vec::new();
        for ty in types {
            let node = self.typed(map, ty, path)?;
            ids.push(self.push(node));
        }
        Ok(self.nullable(map, Node::Union(ids)))
    }

    /// `node`, or `node | null` under OpenAPI's `nullable: true`.
    fn nullable(&mut self, map: &serde_json::Map<String, Value>, node: Node) -> NodeId {
        let id = self.push(node);
        if map.get("nullable") == Some(&Value::Bool(true)) {
            let null = self.push(Node::Literals(vec![b"null".to_vec()]));
            return self.push(Node::Union(vec![id, null]));
        }
        id
    }

    fn typed(
        &mut self,
        map: &serde_json::Map<String, Value>,
        ty: &str,
        path: &str,
    ) -> Result<Node, SchemaError> {
        let schema = Value::Object(map.clone());
        Ok(match ty {
            "object" => self.object(map, path)?,
            "array" => {
                let items = match map.get("items") {
                    Some(items) => self.compile(items, &join(path, "items"))?,
                    None => self.any(),
                };
                let min = usize_keyword(&schema, "minItems", path)?.unwrap_or(0);
                let max = usize_keyword(&schema, "maxItems", path)?;
                if max.is_some_and(|max| max < min) {
                    return Err(err(&join(path, "maxItems"), "is less than minItems"));
                }
                Node::Array { items, min, max }
            }
            "string" => {
                let min = usize_keyword(&schema, "minLength", path)?.unwrap_or(0);
                let max = usize_keyword(&schema, "maxLength", path)?;
                if max.is_some_and(|max| max < min) {
                    return Err(err(&join(path, "maxLength"), "is less than minLength"));
                }
                Node::String { min, max }
            }
            "number" => Node::Number { integer: false },
            "integer" => Node::Number { integer: true },
            "boolean" => Node::Literals(vec![b"true".to_vec(), b"false".to_vec()]),
            "null" => Node::Literals(vec![b"null".to_vec()]),
            other => {
                return Err(err(
                    &join(path, "type"),
                    format!(
                        "unknown type `{other}` (expected object, array, string, number, integer, boolean or null)"
                    ),
                ));
            }
        })
    }

    fn object(
        &mut self,
        map: &serde_json::Map<String, Value>,
        path: &str,
    ) -> Result<Node, SchemaError> {
        let mut props = Vec::new();
        if let Some(properties) = map.get("properties") {
            let path = join(path, "properties");
            let properties = properties
                .as_object()
                .ok_or_else(|| err(&path, "must be an object"))?;
            check_choices(properties.len(), &path)?;
            for (name, schema) in properties {
                let id = self.compile(schema, &join(&path, name))?;
                // The key as the model writes it between the quotes.
                let quoted = json_bytes(&Value::String(name.clone()));
                props.push((quoted[1..quoted.len() - 1].to_vec(), id));
            }
        }
        let mut required = Bits::default();
        if let Some(names) = map.get("required") {
            let path = join(path, "required");
            let names = names
                .as_array()
                .ok_or_else(|| err(&path, "must be an array of property names"))?;
            for (i, name) in names.iter().enumerate() {
                let name = name
                    .as_str()
                    .ok_or_else(|| err(&join(&path, &i.to_string()), "must be a string"))?;
                let quoted = json_bytes(&Value::String(name.to_owned()));
                let key = &quoted[1..quoted.len() - 1];
                let index = props.iter().position(|(k, _)| k == key).ok_or_else(|| {
                    err(
                        &join(&path, &i.to_string()),
                        format!("`{name}` is required but not declared under properties"),
                    )
                })?;
                required.set(index);
            }
        }
        // Undeclared keys are generated only where the schema asks for them: a model left free
        // to invent keys beside declared ones invents wrong ones.
        let additional = match map.get("additionalProperties") {
            Some(Value::Bool(false)) => None,
            Some(Value::Bool(true)) => Some(self.any()),
            Some(schema @ Value::Object(_)) => {
                Some(self.compile(schema, &join(path, "additionalProperties"))?)
            }
            Some(_) => {
                return Err(err(
                    &join(path, "additionalProperties"),
                    "must be a boolean or a schema",
                ));
            }
            None if props.is_empty() => Some(self.any()),
            None => None,
        };
        Ok(Node::Object {
            props,
            required,
            additional,
            ordered: false,
        })
    }

    fn reference(&mut self, reference: &Value, path: &str) -> Result<NodeId, SchemaError> {
        let pointer = reference
            .as_str()
            .and_then(|r| r.strip_prefix('#'))
            .ok_or_else(|| err(path, "only local references (`#/…`) are supported"))?;
        if let Some(id) = self.refs.get(pointer) {
            return Ok(*id);
        }
        let target = self
            .root
            .pointer(pointer)
            .ok_or_else(|| err(path, format!("`#{pointer}` does not exist in this schema")))?;
        // Reserve the id first so a recursive reference resolves to it.
        let id = self.push(Node::Union(Vec::new()));
        self.refs.insert(pointer.to_owned(), id);
        let compiled = self.compile(target, path)?;
        self.nodes[id as usize] = Node::Union(vec![compiled]);
        Ok(id)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn errors_name_the_keyword() {
        let e = Grammar::from_schema(&json!({
            "type": "object",
            "properties": { "city": { "type": "text" } }
        }))
        .unwrap_err();
        assert_eq!(e.path, "properties.city.type");
        let e = Grammar::from_schema(&json!({
            "type": "object", "properties": {}, "required": ["x"]
        }))
        .unwrap_err();
        assert_eq!(e.path, "required.0");
        let e = Grammar::from_schema(&json!({ "$ref": "#/$defs/missing" })).unwrap_err();
        assert_eq!(e.path, "$ref");
        let e = Grammar::from_schema(&json!({ "enum": (0..300).collect::<Vec<_>>() })).unwrap_err();
        assert!(e.message.contains("at most 256"));
    }
}

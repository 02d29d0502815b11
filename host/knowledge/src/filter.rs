//! Bedrock's `RetrievalFilter`: parsed once (every mistake named by its path), then evaluated
//! against a document's metadata inside the search, so a selective filter still fills
//! `numberOfResults`.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::KnowledgeError;

/// A parsed filter.
///
/// ```
/// use mantle_knowledge::RetrievalFilter;
/// let filter = serde_json::json!({"andAll": [
///     {"equals": {"key": "year", "value": 2024}},
///     {"in": {"key": "team", "value": ["search", "ads"]}},
/// ]});
/// let filter = RetrievalFilter::parse(&filter, "filter")?;
/// let metadata = [("year".to_owned(), 2024.into()), ("team".to_owned(), "ads".into())].into();
/// assert!(filter.matches(&metadata));
/// # Ok::<(), mantle_knowledge::KnowledgeError>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub enum RetrievalFilter {
    Compare {
        op: Operator,
        key: String,
        value: Value,
    },
    AndAll(Vec<RetrievalFilter>),
    OrAll(Vec<RetrievalFilter>),
}

/// A comparison's operator, named as on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operator {
    Equals,
    NotEquals,
    GreaterThan,
    GreaterThanOrEquals,
    LessThan,
    LessThanOrEquals,
    In,
    NotIn,
    StartsWith,
    ListContains,
    StringContains,
}

impl Operator {
    const ALL: [(&'static str, Operator); 11] = [
        ("equals", Self::Equals),
        ("notEquals", Self::NotEquals),
        ("greaterThan", Self::GreaterThan),
        ("greaterThanOrEquals", Self::GreaterThanOrEquals),
        ("lessThan", Self::LessThan),
        ("lessThanOrEquals", Self::LessThanOrEquals),
        ("in", Self::In),
        ("notIn", Self::NotIn),
        ("startsWith", Self::StartsWith),
        ("listContains", Self::ListContains),
        ("stringContains", Self::StringContains),
    ];

    fn named(name: &str) -> Option<Self> {
        Self::ALL
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, op)| *op)
    }

    /// What the operator's `value` must be, as a check and the constraint's wording.
    fn value_rule(self) -> (fn(&Value) -> bool, &'static str) {
        match self {
            Self::Equals | Self::NotEquals | Self::ListContains => {
                (is_scalar, "Member must be a string, a number or a boolean")
            }
            Self::GreaterThan
            | Self::GreaterThanOrEquals
            | Self::LessThan
            | Self::LessThanOrEquals => (Value::is_number, "Member must be a number"),
            Self::In | Self::NotIn => (
                |v| {
                    v.as_array()
                        .is_some_and(|items| items.iter().all(is_scalar))
                },
                "Member must be a list of strings, numbers or booleans",
            ),
            Self::StartsWith | Self::StringContains => {
                (Value::is_string, "Member must be a string")
            }
        }
    }
}

fn is_scalar(value: &Value) -> bool {
    value.is_string() || value.is_number() || value.is_boolean()
}

impl RetrievalFilter {
    /// Parses `value`, naming mistakes by their path under `field`.
    pub fn parse(value: &Value, field: &str) -> Result<Self, KnowledgeError> {
        let object = value
            .as_object()
            .ok_or_else(|| KnowledgeError::invalid(field, "Member must be an object"))?;
        let mut keys = object.iter();
        let (name, body) = match (keys.next(), keys.next()) {
            (Some(entry), None) => entry,
            _ => {
                return Err(KnowledgeError::invalid(
                    field,
                    "Member must have exactly one of the keys equals, notEquals, greaterThan, \
                     greaterThanOrEquals, lessThan, lessThanOrEquals, in, notIn, startsWith, \
                     listContains, stringContains, andAll, orAll",
                ));
            }
        };
        let field = format!("{field}.{name}");
        match name.as_str() {
            "andAll" | "orAll" => {
                let items = body
                    .as_array()
                    .filter(|items| items.len() >= 2)
                    .ok_or_else(|| {
                        KnowledgeError::invalid(
                            &field,
                            "Member must be a list of at least 2 filters",
                        )
                    })?;
                let filters = items
                    .iter()
                    .enumerate()
                    .map(|(i, item)| Self::parse(item, &format!("{field}.{i}")))
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(if name == "andAll" {
                    Self::AndAll(filters)
                } else {
                    Self::OrAll(filters)
                })
            }
            operator => {
                let op = Operator::named(operator).ok_or_else(|| {
                    KnowledgeError::invalid(&field, format!("{operator} is not a filter operator"))
                })?;
                let attribute = body.as_object().ok_or_else(|| {
                    KnowledgeError::invalid(&field, "Member must be an object with key and value")
                })?;
                if let Some(extra) = attribute
                    .keys()
                    .find(|k| !matches!(k.as_str(), "key" | "value"))
                {
                    return Err(KnowledgeError::invalid(
                        format!("{field}.{extra}"),
                        "is not a member of FilterAttribute (key, value)",
                    ));
                }
                let key = attribute
                    .get("key")
                    .and_then(Value::as_str)
                    .filter(|k| (1..=100).contains(&k.chars().count()))
                    .ok_or_else(|| {
                        KnowledgeError::invalid(
                            format!("{field}.key"),
                            "Member must be a string of length between 1 and 100",
                        )
                    })?;
                let value = attribute.get("value").ok_or_else(|| {
                    KnowledgeError::invalid(format!("{field}.value"), "Member must not be null")
                })?;
                let (valid, constraint) = op.value_rule();
                if !valid(value) {
                    return Err(KnowledgeError::invalid(
                        format!("{field}.value"),
                        constraint,
                    ));
                }
                Ok(Self::Compare {
                    op,
                    key: key.to_owned(),
                    value: value.clone(),
                })
            }
        }
    }

    /// Whether a document with `metadata` passes.
    pub fn matches(&self, metadata: &BTreeMap<String, Value>) -> bool {
        match self {
            Self::AndAll(filters) => filters.iter().all(|f| f.matches(metadata)),
            Self::OrAll(filters) => filters.iter().any(|f| f.matches(metadata)),
            Self::Compare { op, key, value } => compare(*op, metadata.get(key), value),
        }
    }
}

fn compare(op: Operator, attribute: Option<&Value>, value: &Value) -> bool {
    use Operator as O;
    let Some(attribute) = attribute else {
        // Bedrock: the negative operators also match documents without the key.
        return matches!(op, O::NotEquals | O::NotIn);
    };
    match op {
        O::Equals => same(attribute, value),
        O::NotEquals => !same(attribute, value),
        O::GreaterThan | O::GreaterThanOrEquals | O::LessThan | O::LessThanOrEquals => {
            let (Some(a), Some(v)) = (attribute.as_f64(), value.as_f64()) else {
                return false;
            };
            match op {
                O::GreaterThan => a > v,
                O::GreaterThanOrEquals => a >= v,
                O::LessThan => a < v,
                _ => a <= v,
            }
        }
        O::In => list(value).iter().any(|v| same(attribute, v)),
        O::NotIn => !list(value).iter().any(|v| same(attribute, v)),
        O::StartsWith => match (attribute.as_str(), value.as_str()) {
            (Some(a), Some(v)) => a.starts_with(v),
            _ => false,
        },
        O::ListContains => list(attribute).iter().any(|a| same(a, value)),
        O::StringContains => {
            let Some(needle) = value.as_str() else {
                return false;
            };
            match attribute {
                Value::String(a) => a.contains(needle),
                Value::Array(items) => items
                    .iter()
                    .any(|item| item.as_str().is_some_and(|a| a.contains(needle))),
                _ => false,
            }
        }
    }
}

fn list(value: &Value) -> &[Value] {
    value.as_array().map_or(&[], Vec::as_slice)
}

/// Equality with numbers compared by value (`2024` equals `2024.0`).
fn same(a: &Value, b: &Value) -> bool {
    match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) if a.is_number() && b.is_number() => x == y,
        _ => a == b,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn metadata() -> BTreeMap<String, Value> {
        [
            ("year".to_owned(), json!(2024)),
            ("team".to_owned(), json!("search")),
            ("tags".to_owned(), json!(["rust", "wasm"])),
            ("public".to_owned(), json!(true)),
        ]
        .into()
    }

    fn check(filter: Value) -> bool {
        RetrievalFilter::parse(&filter, "filter")
            .unwrap()
            .matches(&metadata())
    }

    #[test]
    fn every_operator_means_what_bedrock_documents() {
        assert!(check(json!({"equals": {"key": "year", "value": 2024.0}})));
        assert!(!check(json!({"equals": {"key": "year", "value": "2024"}})));
        assert!(check(json!({"notEquals": {"key": "missing", "value": 1}})));
        assert!(check(
            json!({"greaterThan": {"key": "year", "value": 2023}})
        ));
        assert!(!check(
            json!({"greaterThan": {"key": "year", "value": 2024}})
        ));
        assert!(check(
            json!({"greaterThanOrEquals": {"key": "year", "value": 2024}})
        ));
        assert!(check(json!({"lessThan": {"key": "year", "value": 2025}})));
        assert!(check(
            json!({"lessThanOrEquals": {"key": "year", "value": 2024}})
        ));
        assert!(check(
            json!({"in": {"key": "team", "value": ["ads", "search"]}})
        ));
        assert!(check(json!({"notIn": {"key": "team", "value": ["ads"]}})));
        assert!(check(
            json!({"startsWith": {"key": "team", "value": "sea"}})
        ));
        assert!(check(
            json!({"listContains": {"key": "tags", "value": "wasm"}})
        ));
        assert!(!check(
            json!({"listContains": {"key": "team", "value": "search"}})
        ));
        assert!(check(
            json!({"stringContains": {"key": "tags", "value": "as"}})
        ));
        assert!(check(
            json!({"stringContains": {"key": "team", "value": "arc"}})
        ));
        assert!(check(json!({"orAll": [
            {"equals": {"key": "public", "value": false}},
            {"andAll": [
                {"equals": {"key": "team", "value": "search"}},
                {"lessThan": {"key": "year", "value": 3000}},
            ]},
        ]})));
    }

    #[test]
    fn malformed_filters_name_the_field() {
        let field = |filter: Value| match RetrievalFilter::parse(&filter, "filter") {
            Err(KnowledgeError::Validation { field, .. }) => field.unwrap(),
            other => panic!("{other:?}"),
        };
        assert_eq!(
            field(json!({"equals": {"key": "a", "value": 1}, "in": {"key": "a", "value": [1]}})),
            "filter"
        );
        assert_eq!(
            field(json!({"like": {"key": "a", "value": "b"}})),
            "filter.like"
        );
        assert_eq!(
            field(json!({"greaterThan": {"key": "a", "value": "b"}})),
            "filter.greaterThan.value"
        );
        assert_eq!(
            field(json!({"andAll": [{"equals": {"key": "a", "value": 1}}]})),
            "filter.andAll"
        );
        assert_eq!(
            field(
                json!({"orAll": [{"equals": {"key": "a", "value": 1}}, {"in": {"key": "", "value": []}}]})
            ),
            "filter.orAll.1.in.key"
        );
    }
}

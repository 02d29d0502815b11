//! The `flow-node` world: implement [`Guest`] and export it with [`export_flow_node!`](crate::export_flow_node).
//!
//! ```
//! use mantle_sdk::flow_node::{Guest, PortValue};
//! struct Upper;
//! impl Guest for Upper {
//!     fn run(inputs: Vec<PortValue>, _config: String) -> Result<Vec<PortValue>, mantle_sdk::PluginError> {
//!         let text: String = mantle_sdk::flow_node::input(&inputs, "text")?;
//!         Ok(vec![PortValue::new("text", &text.to_uppercase())])
//!     }
//! }
//! let out = Upper::run(vec![PortValue::new("text", &"hi")], String::new()).unwrap();
//! assert_eq!(out[0].value, r#""HI""#);
//! ```

pub use crate::PluginError;
pub use crate::bindings::flow_node::exports::mantle::plugin::node::{Guest, PortType, PortValue};

impl PortValue {
    /// A port value holding `value` serialised as JSON, typed by what it serialises to.
    ///
    /// ```
    /// use mantle_sdk::flow_node::{PortType, PortValue};
    /// assert_eq!(PortValue::new("n", &3).type_, PortType::Number);
    /// assert_eq!(PortValue::new("s", &"x").type_, PortType::String);
    /// ```
    pub fn new(name: impl Into<String>, value: &impl serde::Serialize) -> Self {
        // Serialising plain data to JSON cannot fail; `null` marks the impossible case.
        let value = serde_json::to_value(value).unwrap_or(serde_json::Value::Null);
        Self {
            name: name.into(),
            type_: PortType::of(&value),
            value: value.to_string(),
        }
    }
}

impl PortType {
    /// The port type of a JSON value. `null` has none of its own: it is reported as `object`
    /// (and the host refuses it as an output, since `null` is not an object).
    pub fn of(value: &serde_json::Value) -> Self {
        match value {
            serde_json::Value::String(_) => Self::String,
            serde_json::Value::Number(_) => Self::Number,
            serde_json::Value::Bool(_) => Self::Boolean,
            serde_json::Value::Array(_) => Self::Array,
            serde_json::Value::Object(_) | serde_json::Value::Null => Self::Object,
        }
    }
}

/// The input named `name`, parsed as `T`; a `missing-input` or `invalid-input` error otherwise.
pub fn input<T: serde::de::DeserializeOwned>(
    inputs: &[PortValue],
    name: &str,
) -> Result<T, PluginError> {
    let port = inputs
        .iter()
        .find(|port| port.name == name)
        .ok_or_else(|| PluginError::new("missing-input", format!("no input named `{name}`")))?;
    serde_json::from_str(&port.value)
        .map_err(|e| PluginError::new("invalid-input", format!("input `{name}`: {e}")))
}

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
pub use crate::bindings::flow_node::exports::mantle::plugin::node::{Guest, PortValue};

impl PortValue {
    /// A port value holding `value` serialised as JSON.
    pub fn new(name: impl Into<String>, value: &impl serde::Serialize) -> Self {
        Self {
            name: name.into(),
            // Serialising plain data to JSON cannot fail; `null` marks the impossible case.
            value: serde_json::to_string(value).unwrap_or_else(|_| "null".to_owned()),
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

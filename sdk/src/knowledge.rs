//! Retrieval from the host's knowledge bases (capability `knowledge`): the chunks most similar
//! to a query, as Bedrock's Retrieve finds them.
//!
//! Knowledge bases live in the host, so natively (in `cargo test`) a call answers
//! `unavailable`; test a plugin's retrieval by loading it into the host.
//!
//! ```
//! let results = mantle_sdk::knowledge::retrieve("KB12345678", "How long are backups kept?", 3);
//! # #[cfg(not(target_arch = "wasm32"))]
//! assert_eq!(results.unwrap_err().code, "unavailable");
//! ```

use crate::PluginError;
pub use crate::bindings::host::mantle::plugin::knowledge::Retrieved;

/// The `max_results` best chunks of knowledge base `knowledge_base_id` for `query`, best first.
pub fn retrieve(
    knowledge_base_id: &str,
    query: &str,
    max_results: u32,
) -> Result<Vec<Retrieved>, PluginError> {
    #[cfg(target_arch = "wasm32")]
    return crate::bindings::host::mantle::plugin::knowledge::retrieve(
        knowledge_base_id,
        query,
        max_results,
    );
    #[cfg(not(target_arch = "wasm32"))]
    {
        let _ = (query, max_results);
        Err(PluginError::new(
            "unavailable",
            format!(
                "knowledge base {knowledge_base_id} is served by the Mantle host; natively there are none"
            ),
        ))
    }
}

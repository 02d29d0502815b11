//! The host's models (capability `models`): embeddings, text generation and token counts,
//! metered per plugin by the host and counted against the calling plugin's time budget.
//!
//! Models live in the host, so natively (in `cargo test`) these calls answer `unavailable`;
//! test a plugin's model use by loading it into the host (see `tests/all/` in the repository).
//!
//! ```
//! use mantle_sdk::models::{self, ChatMessage, GenerationParams};
//! let params = GenerationParams::new(64).with_temperature(0.0);
//! let reply = models::generate("HuggingFaceTB/SmolLM2-135M-Instruct", &[ChatMessage::user("Hi")], &params);
//! # #[cfg(not(target_arch = "wasm32"))]
//! assert_eq!(reply.unwrap_err().code, "unavailable");
//! ```

use crate::PluginError;
pub use crate::bindings::host::mantle::plugin::models::{
    ChatMessage, Generation, GenerationParams,
};

impl ChatMessage {
    /// A message from the user.
    pub fn user(text: impl Into<String>) -> Self {
        Self {
            role: "user".to_owned(),
            text: text.into(),
        }
    }

    /// A system prompt.
    pub fn system(text: impl Into<String>) -> Self {
        Self {
            role: "system".to_owned(),
            text: text.into(),
        }
    }
}

impl GenerationParams {
    /// At most `max_tokens` new tokens, with the model's default sampling.
    pub fn new(max_tokens: u32) -> Self {
        Self {
            max_tokens,
            temperature: None,
            top_p: None,
            stop_sequences: Vec::new(),
        }
    }

    /// Sampling temperature; 0 is greedy.
    pub fn with_temperature(mut self, temperature: f32) -> Self {
        self.temperature = Some(temperature);
        self
    }
}

/// A function that embeds texts as [`embed`] does. Policies take one, so that native tests can
/// pass [`crate::testkit::bag_of_words`] where the component passes [`embed`].
pub type Embedder<'a> = &'a dyn Fn(&str, &[String]) -> Result<Vec<Vec<f32>>, PluginError>;

/// Embeds `texts` with `embedder` and scales each vector to unit length, so that a dot product
/// is the cosine similarity; fails unless there is exactly one vector per text.
///
/// ```
/// use mantle_sdk::models::{dot, embed_unit};
/// let texts = ["a cat".to_owned(), "a cat".to_owned()];
/// let v = embed_unit(&mantle_sdk::testkit::bag_of_words, "m", &texts).unwrap();
/// assert!((dot(&v[0], &v[1]) - 1.0).abs() < 1e-6);
/// ```
pub fn embed_unit(
    embedder: Embedder<'_>,
    model_id: &str,
    texts: &[String],
) -> Result<Vec<Vec<f32>>, PluginError> {
    let vectors = embedder(model_id, texts)?;
    if vectors.len() != texts.len() {
        return Err(PluginError::new(
            "model-failed",
            format!(
                "model {model_id} returned {} vectors for {} texts",
                vectors.len(),
                texts.len()
            ),
        ));
    }
    Ok(vectors
        .into_iter()
        .map(|mut v| {
            let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
            if norm > 0.0 {
                v.iter_mut().for_each(|x| *x /= norm);
            }
            v
        })
        .collect())
}

/// The dot product: the cosine similarity of two unit vectors.
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// One vector per text, from the embedding model `model_id`.
pub fn embed(model_id: &str, texts: &[String]) -> Result<Vec<Vec<f32>>, PluginError> {
    #[cfg(target_arch = "wasm32")]
    return crate::bindings::host::mantle::plugin::models::embed(model_id, texts);
    #[cfg(not(target_arch = "wasm32"))]
    return Err(native(model_id, texts.len()));
}

/// A completion of `prompt` from the text model `model_id`.
pub fn generate(
    model_id: &str,
    prompt: &[ChatMessage],
    params: &GenerationParams,
) -> Result<Generation, PluginError> {
    #[cfg(target_arch = "wasm32")]
    return crate::bindings::host::mantle::plugin::models::generate(model_id, prompt, params);
    #[cfg(not(target_arch = "wasm32"))]
    return Err(native(model_id, prompt.len() + params.max_tokens as usize));
}

/// How many tokens `text` is for `model_id`'s tokenizer.
pub fn count_tokens(model_id: &str, text: &str) -> Result<u32, PluginError> {
    #[cfg(target_arch = "wasm32")]
    return crate::bindings::host::mantle::plugin::models::count_tokens(model_id, text);
    #[cfg(not(target_arch = "wasm32"))]
    return Err(native(model_id, text.len()));
}

#[cfg(not(target_arch = "wasm32"))]
fn native(model_id: &str, _size: usize) -> PluginError {
    PluginError::new(
        "unavailable",
        format!("model {model_id} is served by the Mantle host; natively there are no models"),
    )
}

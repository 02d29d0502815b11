//! The host's models as plugins see them (the `models` capability): embeddings from the
//! catalog's embedding models, completions from its text engines, token counts from either's
//! tokenizer — through the same typed pipeline every API uses. Per-plugin metering is the
//! plugin runtime's; this only runs the models.

use std::sync::Arc;

use crate::{Catalog, Content, Conversation, GenerateRequest, InferenceParams, Role, Served, Turn};
use mantle_plugins::{BoxFuture, Generation, GenerationParams, ModelsService};

/// How many embeddings plugins' calls keep (384 floats each for MiniLM: ~6 MiB).
const EMBEDDING_CACHE: usize = 4096;

/// [`ModelsService`] over the served [`Catalog`].
///
/// Embeddings are cached by model and text: the model-backed guardrail policies of one
/// guardrail embed the same sentence windows (denied topics, then content filters), and a
/// policy's own exemplars again on every fresh instance. Embeddings are deterministic, so a
/// cached vector is the one the model would compute. Only plugin calls use this cache; the
/// embedding APIs always run the model.
#[derive(Debug, Clone)]
pub struct PluginModels {
    catalog: Arc<Catalog>,
    embeddings: Arc<quick_cache::sync::Cache<String, Arc<Vec<f32>>>>,
}

impl PluginModels {
    pub fn new(catalog: Arc<Catalog>) -> Self {
        Self {
            catalog,
            embeddings: Arc::new(quick_cache::sync::Cache::new(EMBEDDING_CACHE)),
        }
    }
}

fn cache_key(model: &str, text: &str) -> String {
    format!("{model}\0{text}")
}

/// `(role, text)` pairs as a conversation: `system` messages are instructions, and turns of
/// one role in a row are one turn.
fn conversation(messages: Vec<(String, String)>) -> Result<Conversation, String> {
    let mut conversation = Conversation::default();
    for (role, text) in messages {
        let role = match role.as_str() {
            "system" => {
                conversation.system.push(text);
                continue;
            }
            "user" => Role::User,
            "assistant" => Role::Assistant,
            other => {
                return Err(format!(
                    "role `{other}` is not one of system, user, assistant"
                ));
            }
        };
        match conversation.turns.last_mut() {
            Some(last) if last.role == role => last.content.push(Content::Text(text)),
            _ => conversation.turns.push(Turn {
                role,
                content: vec![Content::Text(text)],
            }),
        }
    }
    Ok(conversation)
}

impl ModelsService for PluginModels {
    fn embed(
        &self,
        model_id: &str,
        texts: Vec<String>,
    ) -> BoxFuture<Result<Vec<Vec<f32>>, String>> {
        let model = match self.catalog.embedding(model_id) {
            Ok(model) => model.clone(),
            Err(e) => return ready(Err(e.to_string())),
        };
        let id = model_id.to_owned();
        let cache = self.embeddings.clone();
        Box::pin(async move {
            let mut vectors: Vec<Option<Arc<Vec<f32>>>> = texts
                .iter()
                .map(|text| cache.get(&cache_key(&id, text)))
                .collect();
            let missing: Vec<usize> = (0..texts.len()).filter(|&i| vectors[i].is_none()).collect();
            if !missing.is_empty() {
                let inputs: Vec<String> = missing.iter().map(|&i| texts[i].clone()).collect();
                let computed = model.embed(inputs).await.map_err(|e| e.to_string())?;
                for (&i, vector) in missing.iter().zip(computed.vectors) {
                    let vector = Arc::new(vector);
                    cache.insert(cache_key(&id, &texts[i]), vector.clone());
                    vectors[i] = Some(vector);
                }
            }
            vectors
                .into_iter()
                .map(|v| {
                    v.map(|v| v.as_ref().clone())
                        .ok_or_else(|| "the embedding model returned too few vectors".to_owned())
                })
                .collect()
        })
    }

    fn generate(
        &self,
        model_id: &str,
        messages: Vec<(String, String)>,
        params: GenerationParams,
    ) -> BoxFuture<Result<Generation, String>> {
        let model = match self.catalog.text(model_id) {
            Ok(model) => model.clone(),
            Err(e) => return ready(Err(e.to_string())),
        };
        let conversation = match conversation(messages) {
            Ok(conversation) => conversation,
            Err(e) => return ready(Err(e)),
        };
        let mut request = GenerateRequest::chat(conversation);
        request.params = InferenceParams {
            max_tokens: Some(i64::from(params.max_tokens)),
            temperature: params.temperature.map(f64::from),
            top_p: params.top_p.map(f64::from),
            stop_sequences: params.stop_sequences,
            ..Default::default()
        };
        Box::pin(async move {
            // Dropping this future (the plugin's deadline) drops the generation, and the engine
            // stops the sequence at its next step.
            let completion = model
                .generate(&request)
                .map_err(|e| e.to_string())?
                .collect()
                .await
                .map_err(|e| e.to_string())?;
            Ok(Generation {
                text: completion.text,
                stop_reason: completion.stop_reason.as_str().to_owned(),
                input_tokens: completion.input_tokens as u32,
                output_tokens: completion.output_tokens as u32,
            })
        })
    }

    fn count_tokens(&self, model_id: &str, text: &str) -> Result<u32, String> {
        let count = match self.catalog.resolve(model_id).map_err(|e| e.to_string())? {
            Served::Embedding(model) => model.count_tokens(text),
            Served::Text(model) => model.count_text_tokens(text),
        };
        count.map(|n| n as u32).map_err(|e| e.to_string())
    }
}

fn ready<T: Send + 'static>(value: T) -> BoxFuture<T> {
    Box::pin(std::future::ready(value))
}

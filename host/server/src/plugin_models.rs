//! The host's models as plugins see them (the `models` capability): embeddings from the
//! catalog's embedding models, completions from its text engines, token counts from either's
//! tokenizer — through the same typed pipeline every API uses. Per-plugin metering is the
//! plugin runtime's; this only runs the models.

use std::sync::Arc;

use mantle_inference::{
    Catalog, Content, Conversation, GenerateRequest, InferenceParams, Role, Served, Turn,
};
use mantle_plugins::{BoxFuture, Generation, GenerationParams, ModelsService};

/// [`ModelsService`] over the served [`Catalog`].
#[derive(Debug, Clone)]
pub struct PluginModels {
    catalog: Arc<Catalog>,
}

impl PluginModels {
    pub fn new(catalog: Arc<Catalog>) -> Self {
        Self { catalog }
    }
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
        Box::pin(async move {
            model
                .embed(texts)
                .await
                .map(|e| e.vectors)
                .map_err(|e| e.to_string())
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

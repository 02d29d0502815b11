//! The models this server runs, by Bedrock-style id, loaded from the model dir at start.
//!
//! The defaults are SmolLM2-135M-Instruct (text, GGUF) and all-MiniLM-L6-v2 (embeddings,
//! safetensors), fetched by `mantle models pull` (or `cargo xtask setup`) into
//! `~/.cache/mantle/models`. A model whose files are missing is not served; asking for it is
//! [`InferenceError::NotInstalled`], which says how to install it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use mantle_models::{BertEmbedder, LlamaModel};

use crate::engine::Engine;
use crate::error::InferenceError;

pub const SMOLLM2_ID: &str = "hf.smollm2-135m-instruct-v1:0";
pub const MINILM_ID: &str = "hf.all-minilm-l6-v2-v1:0";

/// How much one text model's engine takes on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EngineLimits {
    /// Sequences that decode together in one forward pass.
    pub max_active: usize,
    /// Requests that may wait behind them before a submission is refused as busy.
    pub queue_capacity: usize,
}

impl Default for EngineLimits {
    fn default() -> Self {
        Self {
            max_active: 8,
            queue_capacity: 64,
        }
    }
}

/// What kind of model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModelKind {
    Text,
    Embedding,
}

/// A served model's description.
#[derive(Debug, Clone)]
pub struct ModelInfo {
    pub id: String,
    pub name: String,
    pub provider: String,
    pub kind: ModelKind,
    pub path: PathBuf,
}

/// A loaded text model and its engine.
#[derive(Debug, Clone)]
pub struct TextModel {
    pub info: ModelInfo,
    pub model: Arc<LlamaModel>,
    pub engine: Engine,
}

/// A loaded embedding model.
#[derive(Debug, Clone)]
pub struct EmbeddingModel {
    pub info: ModelInfo,
    pub model: Arc<BertEmbedder>,
}

/// A served model.
#[derive(Debug, Clone)]
pub enum Served {
    Text(TextModel),
    Embedding(EmbeddingModel),
}

impl Served {
    pub fn info(&self) -> &ModelInfo {
        match self {
            Served::Text(m) => &m.info,
            Served::Embedding(m) => &m.info,
        }
    }
}

/// Every served model by id.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    models: BTreeMap<String, Served>,
    /// Bedrock model and inference-profile ids that name a served model (`[model-aliases]`).
    aliases: BTreeMap<String, String>,
}

impl Catalog {
    /// Loads the default models found under `model_dir`; missing ones are skipped with a warning.
    pub fn load_defaults(model_dir: &Path) -> Self {
        let mut catalog = Self::default();
        let gguf = model_dir.join("smollm2-135m-instruct/SmolLM2-135M-Instruct.Q4_1.gguf");
        let info = ModelInfo {
            id: SMOLLM2_ID.into(),
            name: "SmolLM2 135M Instruct".into(),
            provider: "Hugging Face".into(),
            kind: ModelKind::Text,
            path: gguf.clone(),
        };
        if let Err(error) = catalog.add_text(info) {
            tracing::warn!(path = %gguf.display(), %error, "text model not served (run `mantle models pull`)");
        }
        let minilm = model_dir.join("all-minilm-l6-v2");
        let info = ModelInfo {
            id: MINILM_ID.into(),
            name: "all-MiniLM-L6-v2".into(),
            provider: "Hugging Face".into(),
            kind: ModelKind::Embedding,
            path: minilm.clone(),
        };
        if let Err(error) = catalog.add_embedding(info) {
            tracing::warn!(path = %minilm.display(), %error, "embedding model not served (run `mantle models pull`)");
        }
        catalog
    }

    /// Loads a Llama-family GGUF and starts its engine with the default batch and queue sizes.
    pub fn add_text(&mut self, info: ModelInfo) -> Result<(), mantle_models::ModelError> {
        self.add_text_with(info, EngineLimits::default())
    }

    /// Loads a Llama-family GGUF and starts its engine with `limits`.
    pub fn add_text_with(
        &mut self,
        info: ModelInfo,
        limits: EngineLimits,
    ) -> Result<(), mantle_models::ModelError> {
        let model = Arc::new(LlamaModel::load(&info.path)?);
        let engine = Engine::start(model.clone(), limits.max_active, limits.queue_capacity);
        tracing::info!(model = %info.id, "text model loaded");
        self.models.insert(
            info.id.clone(),
            Served::Text(TextModel {
                info,
                model,
                engine,
            }),
        );
        Ok(())
    }

    /// Loads a BERT-family embedding model.
    pub fn add_embedding(&mut self, info: ModelInfo) -> Result<(), mantle_models::ModelError> {
        let model = Arc::new(BertEmbedder::load(&info.path)?);
        tracing::info!(model = %info.id, "embedding model loaded");
        self.models.insert(
            info.id.clone(),
            Served::Embedding(EmbeddingModel { info, model }),
        );
        Ok(())
    }

    pub fn list(&self) -> impl Iterator<Item = &Served> {
        self.models.values()
    }

    /// Makes `alias` (a Bedrock model or inference-profile id) name the served model `target`.
    pub fn add_alias(&mut self, alias: String, target: String) {
        self.aliases.insert(alias, target);
    }

    /// Every alias whose target is served, with that model.
    pub fn aliases(&self) -> impl Iterator<Item = (&str, &Served)> {
        self.aliases
            .iter()
            .filter_map(|(alias, target)| Some((alias.as_str(), self.models.get(target)?)))
    }

    /// The model for an id, an alias, a foundation-model ARN
    /// (`arn:aws:bedrock:<region>::foundation-model/<id>`) or an inference-profile ARN
    /// (`arn:aws:bedrock:<region>:<account>:inference-profile/<id>`).
    pub fn resolve(&self, model_id: &str) -> Result<&Served, InferenceError> {
        let id = match model_id
            .split_once(":foundation-model/")
            .or_else(|| model_id.split_once(":inference-profile/"))
        {
            Some((prefix, id)) if prefix.starts_with("arn:aws") => id,
            _ => model_id,
        };
        let id = self.aliases.get(id).map_or(id, String::as_str);
        self.models.get(id).ok_or_else(|| {
            if [SMOLLM2_ID, MINILM_ID].contains(&id) {
                // A default model whose files are missing: say how to get them.
                InferenceError::NotInstalled {
                    model_id: id.to_owned(),
                }
            } else {
                InferenceError::UnknownModel {
                    model_id: model_id.to_owned(),
                    served: self.models.keys().cloned().collect(),
                }
            }
        })
    }

    /// The text model for an id; an embedding model's id is a [`InferenceError::WrongKind`].
    pub fn text(&self, model_id: &str) -> Result<&TextModel, InferenceError> {
        match self.resolve(model_id)? {
            Served::Text(model) => Ok(model),
            Served::Embedding(_) => Err(InferenceError::WrongKind {
                model_id: model_id.to_owned(),
                actual: ModelKind::Embedding,
            }),
        }
    }

    /// The embedding model for an id; a text model's id is a [`InferenceError::WrongKind`].
    pub fn embedding(&self, model_id: &str) -> Result<&EmbeddingModel, InferenceError> {
        match self.resolve(model_id)? {
            Served::Embedding(model) => Ok(model),
            Served::Text(_) => Err(InferenceError::WrongKind {
                model_id: model_id.to_owned(),
                actual: ModelKind::Text,
            }),
        }
    }
}

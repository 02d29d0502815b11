use std::path::Path;

use serde::Deserialize;

use crate::error::{ModelError, Result};

/// The fields of Hugging Face's `config.json` a BERT encoder needs.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct BertConfig {
    pub hidden_size: usize,
    pub num_hidden_layers: usize,
    pub num_attention_heads: usize,
    pub intermediate_size: usize,
    pub max_position_embeddings: usize,
    #[serde(default = "default_eps")]
    pub layer_norm_eps: f64,
    #[serde(default = "default_act")]
    pub hidden_act: String,
    #[serde(default)]
    pub model_type: String,
}

fn default_eps() -> f64 {
    1e-12
}

fn default_act() -> String {
    "gelu".into()
}

pub(super) fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T> {
    let text = std::fs::read_to_string(path).map_err(|e| ModelError::io(path, e))?;
    serde_json::from_str(&text).map_err(|e| ModelError::Config(format!("{}: {e}", path.display())))
}

impl BertConfig {
    pub fn from_file(path: &Path) -> Result<Self> {
        let c: Self = read_json(path)?;
        if !c.model_type.is_empty() && c.model_type != "bert" {
            return Err(ModelError::UnsupportedArchitecture(c.model_type));
        }
        if c.hidden_act != "gelu" {
            return Err(ModelError::Config(format!(
                "hidden_act `{}` (only gelu)",
                c.hidden_act
            )));
        }
        if c.num_attention_heads == 0 || !c.hidden_size.is_multiple_of(c.num_attention_heads) {
            return Err(ModelError::Config("heads do not divide hidden_size".into()));
        }
        Ok(c)
    }
}

/// `1_Pooling/config.json` of a sentence-transformers model.
#[derive(Debug, Clone, Deserialize)]
pub(super) struct PoolingConfig {
    #[serde(default)]
    pub pooling_mode_mean_tokens: bool,
    #[serde(default)]
    pub pooling_mode_cls_token: bool,
}

/// `sentence_bert_config.json`.
#[derive(Debug, Clone, Deserialize)]
pub(super) struct SentenceBertConfig {
    pub max_seq_length: usize,
}

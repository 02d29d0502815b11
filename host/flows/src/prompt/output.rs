//! Prompt management's responses, in Bedrock's shapes: flat, the prompt's fields at the top.

use serde::Serialize;

use super::config::PromptVariant;
use crate::{PromptId, Version};

/// A prompt's draft or one of its versions (CreatePrompt, GetPrompt, UpdatePrompt,
/// CreatePromptVersion).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Prompt {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub customer_encryption_key_arn: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default_variant: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub variants: Option<Vec<PromptVariant>>,
    pub id: PromptId,
    pub arn: String,
    pub version: Version,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PromptSummary {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub id: PromptId,
    pub arn: String,
    pub version: Version,
    pub created_at: String,
    pub updated_at: String,
}

/// ListPrompts' answer.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PromptPage {
    pub prompt_summaries: Vec<PromptSummary>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
}

/// DeletePrompt's answer: the version when one version was deleted.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeletedPrompt {
    pub id: PromptId,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
}

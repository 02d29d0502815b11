//! What the control-plane operations answer, in Bedrock's shapes (camelCase on the wire).
//!
//! The server serializes these as they are; the guardrail-runtime outcome is in [`crate::apply`].

use serde::Serialize;

use crate::config::{
    ContentFilterConfig, GroundingFilterConfig, ManagedWordsConfig, PiiEntityConfig, RegexConfig,
    TierConfig, TopicConfig, WordConfig,
};
use crate::{CustomPolicy, GuardrailId, GuardrailVersion};

/// A guardrail's lifecycle state. Mantle applies every change before it answers, so a
/// guardrail is always ready.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum GuardrailStatus {
    Ready,
}

/// CreateGuardrail's answer.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CreatedGuardrail {
    pub guardrail_id: GuardrailId,
    pub guardrail_arn: String,
    pub version: GuardrailVersion,
    pub created_at: String,
}

/// UpdateGuardrail's answer.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UpdatedGuardrail {
    pub guardrail_id: GuardrailId,
    pub guardrail_arn: String,
    pub version: GuardrailVersion,
    pub updated_at: String,
}

/// CreateGuardrailVersion's answer.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CreatedVersion {
    pub guardrail_id: GuardrailId,
    pub version: GuardrailVersion,
}

/// GetGuardrail's answer: one version's whole configuration. Policies come back under their
/// config names less `Config` (`wordPolicyConfig.wordsConfig` → `wordPolicy.words`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GuardrailDetail {
    pub name: String,
    pub guardrail_id: GuardrailId,
    pub guardrail_arn: String,
    pub version: GuardrailVersion,
    pub status: GuardrailStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub topic_policy: Option<TopicPolicy>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content_policy: Option<ContentPolicy>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub word_policy: Option<WordPolicy>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sensitive_information_policy: Option<SensitiveInformationPolicy>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contextual_grounding_policy: Option<ContextualGroundingPolicy>,
    pub created_at: String,
    pub updated_at: String,
    pub blocked_input_messaging: String,
    pub blocked_outputs_messaging: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kms_key_arn: Option<String>,
    /// Not a Bedrock field (SDKs ignore it): the team plugins attached through Mantle's admin API.
    #[serde(rename = "mantleCustomPolicies", skip_serializing_if = "Vec::is_empty")]
    pub custom_policies: Vec<CustomPolicy>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TopicPolicy {
    pub topics: Vec<TopicConfig>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tier: Option<TierConfig>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ContentPolicy {
    pub filters: Vec<ContentFilterConfig>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tier: Option<TierConfig>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WordPolicy {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub words: Vec<WordConfig>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub managed_word_lists: Vec<ManagedWordsConfig>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SensitiveInformationPolicy {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub pii_entities: Vec<PiiEntityConfig>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub regexes: Vec<RegexConfig>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ContextualGroundingPolicy {
    pub filters: Vec<GroundingFilterConfig>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tier: Option<TierConfig>,
}

/// One entry of ListGuardrails.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GuardrailSummary {
    pub id: GuardrailId,
    pub arn: String,
    pub status: GuardrailStatus,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub version: GuardrailVersion,
    pub created_at: String,
    pub updated_at: String,
}

/// ListGuardrails' answer: one page, and the token for the next when there is one.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GuardrailPage {
    pub guardrails: Vec<GuardrailSummary>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
}

/// The answer of Mantle's `PUT /admin/guardrails/{id}/custom-policies`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CustomPoliciesSet {
    pub guardrail_id: GuardrailId,
    pub version: GuardrailVersion,
    pub custom_policies: Vec<CustomPolicy>,
}

//! What the control-plane operations take. The bodies are Bedrock's shapes, so they
//! deserialize straight from the wire; closed enums and `deny_unknown_fields` make a bad value
//! a validation error naming its path.

use serde::Deserialize;
use serde_json::Value;

use crate::GuardrailId;
use crate::config::{
    ContentPolicyConfig, ContextualGroundingPolicyConfig, SensitiveInformationPolicyConfig,
    TopicPolicyConfig, WordPolicyConfig,
};

/// CreateGuardrail's and UpdateGuardrail's body.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GuardrailInput {
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub topic_policy_config: Option<TopicPolicyConfig>,
    #[serde(default)]
    pub content_policy_config: Option<ContentPolicyConfig>,
    #[serde(default)]
    pub word_policy_config: Option<WordPolicyConfig>,
    #[serde(default)]
    pub sensitive_information_policy_config: Option<SensitiveInformationPolicyConfig>,
    #[serde(default)]
    pub contextual_grounding_policy_config: Option<ContextualGroundingPolicyConfig>,
    /// Accepted so that the field is recognised, then refused: not supported here.
    #[serde(default)]
    pub automated_reasoning_policy_config: Option<Value>,
    /// Free JSON on the wire; one region serves everything here, so it is ignored.
    #[serde(default)]
    pub cross_region_config: Option<Value>,
    pub blocked_input_messaging: String,
    pub blocked_outputs_messaging: String,
    #[serde(default)]
    pub kms_key_id: Option<String>,
    /// Free JSON on the wire (`[{key, value}]`); not kept yet.
    #[serde(default)]
    pub tags: Option<Vec<Value>>,
    /// Makes a retried create return the guardrail the first try made.
    #[serde(default)]
    pub client_request_token: Option<String>,
}

/// CreateGuardrailVersion's body.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateVersionInput {
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub client_request_token: Option<String>,
}

/// ListGuardrails' parameters (the query string, once the wire layer has parsed its numbers).
#[derive(Debug, Clone, Default)]
pub struct ListInput {
    /// With an identifier, every version of that guardrail; without, every guardrail's DRAFT.
    pub guardrail_identifier: Option<GuardrailId>,
    /// 1 to 1000; 100 when absent.
    pub max_results: Option<usize>,
    pub next_token: Option<String>,
}

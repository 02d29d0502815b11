//! Guardrail policy configurations in Bedrock's shapes (CreateGuardrail / UpdateGuardrail).
//!
//! Enums are closed, so a bad value is a validation error naming its path; unknown fields
//! are refused for the same reason.

use serde::{Deserialize, Serialize};

macro_rules! wire_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident = $wire:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
        pub enum $name {
            $(#[serde(rename = $wire)] $variant),+
        }

        impl $name {
            pub fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $wire),+ }
            }
        }
    };
}

wire_enum!(BlockAction { Block = "BLOCK", None = "NONE" });
wire_enum!(SensitiveAction { Block = "BLOCK", Anonymize = "ANONYMIZE", None = "NONE" });
wire_enum!(TopicType { Deny = "DENY" });
wire_enum!(FilterStrength { None = "NONE", Low = "LOW", Medium = "MEDIUM", High = "HIGH" });
wire_enum!(Modality { Text = "TEXT", Image = "IMAGE" });
wire_enum!(ManagedWordsType { Profanity = "PROFANITY" });
wire_enum!(TierName { Classic = "CLASSIC", Standard = "STANDARD" });
wire_enum!(GroundingType { Grounding = "GROUNDING", Relevance = "RELEVANCE" });
wire_enum!(ContentFilterType {
    Sexual = "SEXUAL", Violence = "VIOLENCE", Hate = "HATE", Insults = "INSULTS",
    Misconduct = "MISCONDUCT", PromptAttack = "PROMPT_ATTACK",
});
wire_enum!(PiiEntityType {
    Address = "ADDRESS", Age = "AGE", AwsAccessKey = "AWS_ACCESS_KEY", AwsSecretKey = "AWS_SECRET_KEY",
    CaHealthNumber = "CA_HEALTH_NUMBER", CaSocialInsuranceNumber = "CA_SOCIAL_INSURANCE_NUMBER",
    CreditDebitCardCvv = "CREDIT_DEBIT_CARD_CVV", CreditDebitCardExpiry = "CREDIT_DEBIT_CARD_EXPIRY",
    CreditDebitCardNumber = "CREDIT_DEBIT_CARD_NUMBER", DriverId = "DRIVER_ID", Email = "EMAIL",
    InternationalBankAccountNumber = "INTERNATIONAL_BANK_ACCOUNT_NUMBER", IpAddress = "IP_ADDRESS",
    LicensePlate = "LICENSE_PLATE", MacAddress = "MAC_ADDRESS", Name = "NAME", Password = "PASSWORD",
    Phone = "PHONE", Pin = "PIN", SwiftCode = "SWIFT_CODE",
    UkNationalHealthServiceNumber = "UK_NATIONAL_HEALTH_SERVICE_NUMBER",
    UkNationalInsuranceNumber = "UK_NATIONAL_INSURANCE_NUMBER",
    UkUniqueTaxpayerReferenceNumber = "UK_UNIQUE_TAXPAYER_REFERENCE_NUMBER", Url = "URL",
    Username = "USERNAME", UsBankAccountNumber = "US_BANK_ACCOUNT_NUMBER",
    UsBankRoutingNumber = "US_BANK_ROUTING_NUMBER",
    UsIndividualTaxIdentificationNumber = "US_INDIVIDUAL_TAX_IDENTIFICATION_NUMBER",
    UsPassportNumber = "US_PASSPORT_NUMBER", UsSocialSecurityNumber = "US_SOCIAL_SECURITY_NUMBER",
    VehicleIdentificationNumber = "VEHICLE_IDENTIFICATION_NUMBER",
});

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TierConfig {
    pub tier_name: TierName,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TopicPolicyConfig {
    pub topics_config: Vec<TopicConfig>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tier_config: Option<TierConfig>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TopicConfig {
    pub name: String,
    pub definition: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub examples: Vec<String>,
    #[serde(rename = "type")]
    pub kind: TopicType,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input_action: Option<BlockAction>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output_action: Option<BlockAction>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input_enabled: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output_enabled: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ContentPolicyConfig {
    pub filters_config: Vec<ContentFilterConfig>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tier_config: Option<TierConfig>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ContentFilterConfig {
    #[serde(rename = "type")]
    pub kind: ContentFilterType,
    pub input_strength: FilterStrength,
    pub output_strength: FilterStrength,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input_modalities: Option<Vec<Modality>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output_modalities: Option<Vec<Modality>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input_action: Option<BlockAction>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output_action: Option<BlockAction>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input_enabled: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output_enabled: Option<bool>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WordPolicyConfig {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub words_config: Vec<WordConfig>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub managed_word_lists_config: Vec<ManagedWordsConfig>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WordConfig {
    pub text: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input_action: Option<BlockAction>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output_action: Option<BlockAction>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input_enabled: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output_enabled: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ManagedWordsConfig {
    #[serde(rename = "type")]
    pub kind: ManagedWordsType,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input_action: Option<BlockAction>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output_action: Option<BlockAction>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input_enabled: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output_enabled: Option<bool>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SensitiveInformationPolicyConfig {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pii_entities_config: Vec<PiiEntityConfig>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub regexes_config: Vec<RegexConfig>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PiiEntityConfig {
    #[serde(rename = "type")]
    pub kind: PiiEntityType,
    pub action: SensitiveAction,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input_action: Option<SensitiveAction>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output_action: Option<SensitiveAction>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input_enabled: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output_enabled: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RegexConfig {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub pattern: String,
    pub action: SensitiveAction,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input_action: Option<SensitiveAction>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output_action: Option<SensitiveAction>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input_enabled: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output_enabled: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ContextualGroundingPolicyConfig {
    pub filters_config: Vec<GroundingFilterConfig>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tier_config: Option<TierConfig>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GroundingFilterConfig {
    #[serde(rename = "type")]
    pub kind: GroundingType,
    pub threshold: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub action: Option<BlockAction>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
}

/// Every policy of a guardrail, as one value: the DRAFT and each numbered version hold one.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Policies {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub topic_policy_config: Option<TopicPolicyConfig>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content_policy_config: Option<ContentPolicyConfig>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub word_policy_config: Option<WordPolicyConfig>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sensitive_information_policy_config: Option<SensitiveInformationPolicyConfig>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contextual_grounding_policy_config: Option<ContextualGroundingPolicyConfig>,
}

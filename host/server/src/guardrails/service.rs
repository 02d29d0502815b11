//! The guardrail service: records in the store, policies run by the plugin registry.

use std::sync::Arc;
use std::time::Instant;

use mantle_plugins::plugin::guardrail_api::AssessRequest;
use mantle_plugins::{CallError, Kind, Registry};
use mantle_store::{Store, Table};
use serde::Deserialize;
use serde_json::{Value, json};

use super::apply::{
    ApplyGuardrailRequest, OutputScope, PolicyCall, PolicyFindings, UsageKind, respond,
};
use super::config::Policies;
use super::record::{ClientToken, CustomPolicy, Definition, GuardrailRecord};
use crate::error::{AwsError, ErrorCode};
use crate::settings::Identity;
use crate::time::now_iso8601;

/// The plugin that runs a guardrail's `wordPolicyConfig`.
pub const BUILTIN_WORD_FILTER: &str = "word-filter";
/// The plugin that runs a guardrail's `sensitiveInformationPolicyConfig`.
pub const BUILTIN_SENSITIVE_INFORMATION: &str = "sensitive-information";

const DRAFT: &str = "DRAFT";
const MAX_CUSTOM_POLICIES: usize = 16;

/// CreateGuardrail's and UpdateGuardrail's body.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GuardrailInput {
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub topic_policy_config: Option<super::config::TopicPolicyConfig>,
    #[serde(default)]
    pub content_policy_config: Option<super::config::ContentPolicyConfig>,
    #[serde(default)]
    pub word_policy_config: Option<super::config::WordPolicyConfig>,
    #[serde(default)]
    pub sensitive_information_policy_config:
        Option<super::config::SensitiveInformationPolicyConfig>,
    #[serde(default)]
    pub contextual_grounding_policy_config: Option<super::config::ContextualGroundingPolicyConfig>,
    #[serde(default)]
    pub automated_reasoning_policy_config: Option<Value>,
    #[serde(default)]
    pub cross_region_config: Option<Value>,
    pub blocked_input_messaging: String,
    pub blocked_outputs_messaging: String,
    #[serde(default)]
    pub kms_key_id: Option<String>,
    #[serde(default)]
    pub tags: Option<Vec<Value>>,
    #[serde(default)]
    pub client_request_token: Option<String>,
}

/// The guardrail service.
#[derive(Debug, Clone)]
pub struct Guardrails {
    store: Store,
    records: Table<GuardrailRecord>,
    tokens: Table<ClientToken>,
    registry: Arc<Registry>,
    identity: Identity,
}

impl Guardrails {
    pub fn new(
        store: Store,
        registry: Arc<Registry>,
        identity: Identity,
    ) -> Result<Self, AwsError> {
        Ok(Self {
            records: store.table()?,
            tokens: store.table()?,
            store,
            registry,
            identity,
        })
    }

    fn arn(&self, id: &str) -> String {
        format!(
            "arn:aws:bedrock:{}:{}:guardrail/{id}",
            self.identity.region, self.identity.account
        )
    }

    /// CreateGuardrail.
    pub fn create(&self, input: GuardrailInput) -> Result<Value, AwsError> {
        let token_key = input
            .client_request_token
            .as_ref()
            .map(|t| format!("CreateGuardrail/{t}"));
        if let Some(key) = &token_key
            && let Some(done) = self.tokens.get(key)?
            && let Some(record) = self.records.get(&done.guardrail_id)?
        {
            return Ok(self.created(&record));
        }
        let now = now_iso8601();
        let definition = self.definition(input, Vec::new(), &now)?;
        if self
            .records
            .all()?
            .iter()
            .any(|(_, r)| r.draft.name == definition.name)
        {
            return Err(AwsError::conflict(format!(
                "A guardrail named {} already exists.",
                definition.name
            )));
        }
        let record = GuardrailRecord {
            id: mantle_store::new_id(),
            created_at: now,
            draft: definition,
            versions: Default::default(),
            next_version: 1,
        };
        self.records.put(&record.id, &record)?;
        if let Some(key) = &token_key {
            self.tokens.put(
                key,
                &ClientToken {
                    guardrail_id: record.id.clone(),
                    version: DRAFT.into(),
                },
            )?;
        }
        self.store.flush()?;
        tracing::info!(guardrail = %record.id, "guardrail created");
        Ok(self.created(&record))
    }

    fn created(&self, record: &GuardrailRecord) -> Value {
        json!({
            "guardrailId": record.id,
            "guardrailArn": self.arn(&record.id),
            "version": DRAFT,
            "createdAt": record.created_at,
        })
    }

    /// UpdateGuardrail: replaces the DRAFT's configuration (its attached plugins stay).
    pub fn update(&self, identifier: &str, input: GuardrailInput) -> Result<Value, AwsError> {
        let id = self.parse_identifier(identifier)?;
        let now = now_iso8601();
        let existing = self.find(&id)?;
        let definition = self.definition(input, existing.draft.custom_policies.clone(), &now)?;
        if self
            .records
            .all()?
            .iter()
            .any(|(other, r)| *other != id && r.draft.name == definition.name)
        {
            return Err(AwsError::conflict(format!(
                "A guardrail named {} already exists.",
                definition.name
            )));
        }
        self.records.update(&id, |record| {
            let mut record = record.ok_or_else(|| self.missing(&id))?;
            record.draft = Definition {
                custom_policies: record.draft.custom_policies.clone(),
                ..definition.clone()
            };
            Ok::<_, AwsError>(Some(record))
        })?;
        self.store.flush()?;
        Ok(json!({
            "guardrailId": id,
            "guardrailArn": self.arn(&id),
            "version": DRAFT,
            "updatedAt": now,
        }))
    }

    /// CreateGuardrailVersion: freezes the DRAFT as the next numbered version.
    pub fn create_version(
        &self,
        identifier: &str,
        description: Option<String>,
        client_request_token: Option<String>,
    ) -> Result<Value, AwsError> {
        let id = self.parse_identifier(identifier)?;
        if let Some(description) = &description {
            check_length("description", description, 1, 200)?;
        }
        let token_key = client_request_token.map(|t| format!("CreateGuardrailVersion/{id}/{t}"));
        if let Some(key) = &token_key
            && let Some(done) = self.tokens.get(key)?
        {
            return Ok(json!({ "guardrailId": id, "version": done.version }));
        }
        let now = now_iso8601();
        let mut number = 0;
        self.records.update(&id, |record| {
            let mut record = record.ok_or_else(|| self.missing(&id))?;
            number = record.next_version;
            let mut frozen = record.draft.clone();
            if description.is_some() {
                frozen.description = description.clone();
            }
            frozen.updated_at = now.clone();
            record.versions.insert(number, frozen);
            record.next_version += 1;
            Ok::<_, AwsError>(Some(record))
        })?;
        if let Some(key) = &token_key {
            self.tokens.put(
                key,
                &ClientToken {
                    guardrail_id: id.clone(),
                    version: number.to_string(),
                },
            )?;
        }
        self.store.flush()?;
        tracing::info!(guardrail = %id, version = number, "guardrail version created");
        Ok(json!({ "guardrailId": id, "version": number.to_string() }))
    }

    /// GetGuardrail.
    pub fn get(&self, identifier: &str, version: Option<&str>) -> Result<Value, AwsError> {
        let id = self.parse_identifier(identifier)?;
        let record = self.find(&id)?;
        let (label, definition) = self.version_of(&record, version.unwrap_or(DRAFT))?;
        let mut body = json!({
            "name": definition.name,
            "guardrailId": record.id,
            "guardrailArn": self.arn(&record.id),
            "version": label,
            "status": "READY",
            "createdAt": record.created_at,
            "updatedAt": definition.updated_at,
            "blockedInputMessaging": definition.blocked_input_messaging,
            "blockedOutputsMessaging": definition.blocked_outputs_messaging,
        });
        if let Some(description) = &definition.description {
            body["description"] = description.clone().into();
        }
        if let Some(key) = &definition.kms_key_id {
            body["kmsKeyArn"] = key.clone().into();
        }
        if let Value::Object(policies) =
            serde_json::to_value(&definition.policies).unwrap_or_default()
        {
            for (key, value) in policies {
                body[strip_config(&key)] = strip_config_keys(value);
            }
        }
        if !definition.custom_policies.is_empty() {
            // Not a Bedrock field (SDKs ignore it); Mantle's own clients read it.
            body["mantleCustomPolicies"] =
                serde_json::to_value(&definition.custom_policies).unwrap_or_default();
        }
        Ok(body)
    }

    /// ListGuardrails: every guardrail's DRAFT, or with an identifier every version of one.
    pub fn list(
        &self,
        identifier: Option<&str>,
        max_results: Option<usize>,
        next_token: Option<&str>,
    ) -> Result<Value, AwsError> {
        let max = max_results.unwrap_or(100);
        if !(1..=1000).contains(&max) {
            return Err(AwsError::invalid_field(
                "maxResults",
                "Member must have value between 1 and 1000",
            ));
        }
        let skip = match next_token {
            None => 0,
            Some(token) => token.parse::<usize>().map_err(|_| {
                AwsError::invalid_field(
                    "nextToken",
                    "the pagination token is not one this server issued",
                )
            })?,
        };
        let mut summaries = Vec::new();
        let summary = |record: &GuardrailRecord, label: String, d: &Definition| {
            let mut s = json!({
                "id": record.id,
                "arn": self.arn(&record.id),
                "status": "READY",
                "name": d.name,
                "version": label,
                "createdAt": record.created_at,
                "updatedAt": d.updated_at,
            });
            if let Some(description) = &d.description {
                s["description"] = description.clone().into();
            }
            s
        };
        match identifier {
            Some(identifier) => {
                let id = self.parse_identifier(identifier)?;
                let record = self.find(&id)?;
                summaries.push(summary(&record, DRAFT.into(), &record.draft));
                for (number, definition) in &record.versions {
                    summaries.push(summary(&record, number.to_string(), definition));
                }
            }
            None => {
                for (_, record) in self.records.all()? {
                    summaries.push(summary(&record, DRAFT.into(), &record.draft));
                }
            }
        }
        let page: Vec<Value> = summaries.iter().skip(skip).take(max).cloned().collect();
        let mut body = json!({ "guardrails": page });
        if skip + max < summaries.len() {
            body["nextToken"] = (skip + max).to_string().into();
        }
        Ok(body)
    }

    /// DeleteGuardrail: the whole guardrail, or one numbered version.
    pub fn delete(&self, identifier: &str, version: Option<&str>) -> Result<(), AwsError> {
        let id = self.parse_identifier(identifier)?;
        match version {
            None => {
                if self.records.delete(&id)?.is_none() {
                    return Err(self.missing(&id));
                }
            }
            Some(version) => {
                let number = parse_number(version, "guardrailVersion")?;
                self.records.update(&id, |record| {
                    let mut record = record.ok_or_else(|| self.missing(&id))?;
                    if record.versions.remove(&number).is_none() {
                        return Err(AwsError::not_found(format!(
                            "Guardrail {id} has no version {number}."
                        )));
                    }
                    Ok(Some(record))
                })?;
            }
        }
        self.store.flush()?;
        Ok(())
    }

    /// Mantle's extension: sets the team plugins a guardrail's DRAFT runs beside its Bedrock
    /// policies. Each plugin's configuration is checked by the plugin before it is stored.
    pub fn set_custom_policies(
        &self,
        identifier: &str,
        policies: Vec<CustomPolicy>,
    ) -> Result<Value, AwsError> {
        let id = self.parse_identifier(identifier)?;
        if policies.len() > MAX_CUSTOM_POLICIES {
            return Err(AwsError::invalid_field(
                "policies",
                format!("at most {MAX_CUSTOM_POLICIES} custom policies"),
            ));
        }
        for (index, policy) in policies.iter().enumerate() {
            let plugin = self.registry.resolve(&policy.plugin).map_err(|e| {
                AwsError::invalid_field(&format!("policies.{index}.plugin"), e.to_string())
            })?;
            if plugin.manifest().kind != Kind::Guardrail {
                return Err(AwsError::invalid_field(
                    &format!("policies.{index}.plugin"),
                    format!(
                        "{} is a {} plugin, not a guardrail",
                        plugin.id(),
                        plugin.manifest().kind
                    ),
                ));
            }
            self.check_config(
                &policy.plugin,
                &policy.config.to_string(),
                &format!("policies.{index}.config"),
            )?;
        }
        let now = now_iso8601();
        self.records.update(&id, |record| {
            let mut record = record.ok_or_else(|| self.missing(&id))?;
            record.draft.custom_policies = policies.clone();
            record.draft.updated_at = now.clone();
            Ok::<_, AwsError>(Some(record))
        })?;
        self.store.flush()?;
        Ok(json!({ "guardrailId": id, "version": DRAFT, "customPolicies": policies }))
    }

    /// ApplyGuardrail.
    pub fn apply(
        &self,
        identifier: &str,
        version: &str,
        request: &ApplyGuardrailRequest,
    ) -> Result<Value, AwsError> {
        let started = Instant::now();
        let id = self.parse_identifier(identifier)?;
        let record = self.find(&id)?;
        let (_, definition) = self.version_of(&record, version)?;
        let assess = request.to_assess_request()?;
        let mut results = Vec::new();
        for call in policy_calls(definition) {
            let plugin = self
                .registry
                .resolve(&call.plugin)
                .map_err(|e| plugin_failure(&e))?;
            let request = AssessRequest {
                config: call.config,
                ..assess.clone()
            };
            let assessment = plugin.assess(&request).map_err(|e| plugin_failure(&e))?;
            results.push(PolicyFindings {
                usage: call.usage,
                findings: assessment.findings,
            });
        }
        let blocked_message = match request.source {
            super::apply::ContentSource::Input => &definition.blocked_input_messaging,
            super::apply::ContentSource::Output => &definition.blocked_outputs_messaging,
        };
        let response = respond(
            &assess,
            &results,
            request.output_scope.unwrap_or(OutputScope::Interventions),
            blocked_message,
            started,
        )?;
        let action = if response["action"] == "NONE" {
            "NONE"
        } else {
            "GUARDRAIL_INTERVENED"
        };
        metrics::counter!("mantle_guardrail_applications_total", "action" => action).increment(1);
        Ok(response)
    }

    fn definition(
        &self,
        input: GuardrailInput,
        custom_policies: Vec<CustomPolicy>,
        now: &str,
    ) -> Result<Definition, AwsError> {
        check_length("name", &input.name, 1, 50)?;
        if !input
            .name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(AwsError::invalid_field(
                "name",
                "Member must satisfy regular expression pattern: [0-9a-zA-Z-_]+",
            ));
        }
        if let Some(description) = &input.description {
            check_length("description", description, 1, 200)?;
        }
        check_length(
            "blockedInputMessaging",
            &input.blocked_input_messaging,
            1,
            500,
        )?;
        check_length(
            "blockedOutputsMessaging",
            &input.blocked_outputs_messaging,
            1,
            500,
        )?;
        if input.automated_reasoning_policy_config.is_some() {
            return Err(AwsError::invalid_field(
                "automatedReasoningPolicyConfig",
                "automated reasoning policies are not supported by this server",
            ));
        }
        let policies = Policies {
            topic_policy_config: input.topic_policy_config,
            content_policy_config: input.content_policy_config,
            word_policy_config: input.word_policy_config,
            sensitive_information_policy_config: input.sensitive_information_policy_config,
            contextual_grounding_policy_config: input.contextual_grounding_policy_config,
        };
        validate_policies(&policies)?;
        let definition = Definition {
            name: input.name,
            description: input.description,
            policies,
            custom_policies,
            blocked_input_messaging: input.blocked_input_messaging,
            blocked_outputs_messaging: input.blocked_outputs_messaging,
            kms_key_id: input.kms_key_id,
            updated_at: now.to_owned(),
        };
        // The policy plugins are the authority on their configs (e.g. whether a regex
        // compiles): each runs once on no content, and a config error is the client's error.
        for call in policy_calls(&definition) {
            let field = match call.plugin.as_str() {
                BUILTIN_WORD_FILTER => "wordPolicyConfig",
                BUILTIN_SENSITIVE_INFORMATION => "sensitiveInformationPolicyConfig",
                _ => "customPolicies",
            };
            self.check_config(&call.plugin, &call.config, field)?;
        }
        Ok(definition)
    }

    fn check_config(&self, plugin: &str, config: &str, field: &str) -> Result<(), AwsError> {
        let plugin = self
            .registry
            .resolve(plugin)
            .map_err(|e| plugin_failure(&e))?;
        let probe = AssessRequest {
            source: mantle_plugins::plugin::guardrail_api::Source::Input,
            content: Vec::new(),
            config: config.to_owned(),
        };
        match plugin.assess(&probe) {
            Ok(_) => Ok(()),
            Err(CallError::Plugin { message, .. }) => Err(AwsError::invalid_field(field, message)),
            Err(other) => Err(plugin_failure(&other)),
        }
    }

    fn parse_identifier(&self, identifier: &str) -> Result<String, AwsError> {
        let id = match identifier.rsplit_once(":guardrail/") {
            Some((prefix, id)) if prefix.starts_with("arn:aws") => id,
            _ => identifier,
        };
        if id.is_empty()
            || id.len() > 64
            || !id
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        {
            return Err(AwsError::invalid_field(
                "guardrailIdentifier",
                "Member must satisfy regular expression pattern: (([a-z0-9]+)|(arn:aws(-[^:]+)?:bedrock:[a-z0-9-]{1,20}:[0-9]{12}:guardrail/[a-z0-9]+))",
            ));
        }
        Ok(id.to_owned())
    }

    fn find(&self, id: &str) -> Result<GuardrailRecord, AwsError> {
        self.records.get(id)?.ok_or_else(|| self.missing(id))
    }

    fn missing(&self, id: &str) -> AwsError {
        AwsError::not_found(format!("Guardrail {id} was not found."))
    }

    fn version_of<'a>(
        &self,
        record: &'a GuardrailRecord,
        version: &str,
    ) -> Result<(String, &'a Definition), AwsError> {
        if version == DRAFT {
            return Ok((DRAFT.into(), &record.draft));
        }
        let number = parse_number(version, "guardrailVersion")?;
        record
            .versions
            .get(&number)
            .map(|d| (number.to_string(), d))
            .ok_or_else(|| {
                AwsError::not_found(format!("Guardrail {} has no version {number}.", record.id))
            })
    }
}

/// The plugin calls a guardrail definition runs, in order.
pub fn policy_calls(definition: &Definition) -> Vec<PolicyCall> {
    let mut calls = Vec::new();
    let policies = &definition.policies;
    if let Some(word) = &policies.word_policy_config {
        calls.push(PolicyCall {
            plugin: BUILTIN_WORD_FILTER.into(),
            config: serde_json::to_string(word).unwrap_or_default(),
            usage: UsageKind::Word,
        });
    }
    if let Some(sensitive) = &policies.sensitive_information_policy_config {
        calls.push(PolicyCall {
            plugin: BUILTIN_SENSITIVE_INFORMATION.into(),
            config: serde_json::to_string(sensitive).unwrap_or_default(),
            usage: if sensitive.pii_entities_config.is_empty() {
                UsageKind::SensitiveInformationFree
            } else {
                UsageKind::SensitiveInformation
            },
        });
    }
    for custom in &definition.custom_policies {
        calls.push(PolicyCall {
            plugin: custom.plugin.clone(),
            config: custom.config.to_string(),
            usage: UsageKind::Custom,
        });
    }
    calls
}

fn validate_policies(policies: &Policies) -> Result<(), AwsError> {
    if let Some(word) = &policies.word_policy_config {
        if word.words_config.is_empty() && word.managed_word_lists_config.is_empty() {
            return Err(AwsError::invalid_field(
                "wordPolicyConfig",
                "at least one of wordsConfig or managedWordListsConfig is required",
            ));
        }
        for (i, w) in word.words_config.iter().enumerate() {
            check_length(
                &format!("wordPolicyConfig.wordsConfig.{i}.text"),
                &w.text,
                1,
                100,
            )?;
        }
    }
    if let Some(sensitive) = &policies.sensitive_information_policy_config {
        if sensitive.pii_entities_config.is_empty() && sensitive.regexes_config.is_empty() {
            return Err(AwsError::invalid_field(
                "sensitiveInformationPolicyConfig",
                "at least one of piiEntitiesConfig or regexesConfig is required",
            ));
        }
        for (i, r) in sensitive.regexes_config.iter().enumerate() {
            let field = format!("sensitiveInformationPolicyConfig.regexesConfig.{i}");
            check_length(&format!("{field}.name"), &r.name, 1, 100)?;
            check_length(&format!("{field}.pattern"), &r.pattern, 1, 500)?;
        }
    }
    if let Some(topics) = &policies.topic_policy_config {
        for (i, t) in topics.topics_config.iter().enumerate() {
            check_length(
                &format!("topicPolicyConfig.topicsConfig.{i}.name"),
                &t.name,
                1,
                100,
            )?;
            check_length(
                &format!("topicPolicyConfig.topicsConfig.{i}.definition"),
                &t.definition,
                1,
                200,
            )?;
        }
    }
    if let Some(grounding) = &policies.contextual_grounding_policy_config {
        for (i, f) in grounding.filters_config.iter().enumerate() {
            if !(0.0..=0.99).contains(&f.threshold) {
                return Err(AwsError::invalid_field(
                    &format!("contextualGroundingPolicyConfig.filtersConfig.{i}.threshold"),
                    "Member must have value between 0 and 0.99",
                ));
            }
        }
    }
    Ok(())
}

fn check_length(field: &str, value: &str, min: usize, max: usize) -> Result<(), AwsError> {
    let len = value.chars().count();
    if len < min {
        return Err(AwsError::invalid_field(
            field,
            format!("Member must have length greater than or equal to {min}"),
        ));
    }
    if len > max {
        return Err(AwsError::invalid_field(
            field,
            format!("Member must have length less than or equal to {max}"),
        ));
    }
    Ok(())
}

fn parse_number(version: &str, field: &str) -> Result<u32, AwsError> {
    version
        .parse::<u32>()
        .ok()
        .filter(|n| (1..=99_999_999).contains(n) && !version.starts_with('0'))
        .ok_or_else(|| {
            AwsError::invalid_field(
                field,
                "Member must satisfy regular expression pattern: (([1-9][0-9]{0,7})|(DRAFT))",
            )
        })
}

/// A failed policy plugin fails the request that ran it, with an error that says which.
fn plugin_failure(error: &CallError) -> AwsError {
    let code = match error {
        CallError::Timeout { .. } => ErrorCode::ModelTimeout,
        CallError::NotFound(_) | CallError::Disabled(_) => ErrorCode::ServiceUnavailable,
        _ => ErrorCode::ModelError,
    };
    AwsError::new(code, format!("Guardrail policy failed: {error}"))
}

/// `topicPolicyConfig` → `topicPolicy`: Get answers with the config names less `Config`.
fn strip_config(key: &str) -> String {
    key.strip_suffix("Config").unwrap_or(key).to_owned()
}

fn strip_config_keys(value: Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| (strip_config(&k), v))
                .collect(),
        ),
        other => other,
    }
}

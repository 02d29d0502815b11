//! The guardrail service: records in the store, policies run by the plugin registry.

use std::sync::Arc;
use std::time::Instant;

use mantle_plugins::plugin::guardrail_api::{AssessRequest, Assessment, Source};
use mantle_plugins::{CallError, Kind, LoadedPlugin, Registry};
use mantle_store::{Store, Table};

use crate::apply::{
    ApplyInput, ApplyOutcome, ContentSource, OutputScope, PolicyCall, PolicyFindings, UsageKind,
    respond,
};
use crate::config::{ContentFilterType, FilterStrength, Policies};
use crate::input::{CreateVersionInput, GuardrailInput, ListInput};
use crate::output::{
    ContentPolicy, ContextualGroundingPolicy, CreatedGuardrail, CreatedVersion, CustomPoliciesSet,
    GuardrailDetail, GuardrailPage, GuardrailStatus, GuardrailSummary, SensitiveInformationPolicy,
    TopicPolicy, UpdatedGuardrail, WordPolicy,
};
use crate::record::{ClientToken, CustomPolicy, Definition, GuardrailRecord};
use crate::{GuardrailError, GuardrailId, GuardrailVersion};

/// The plugin that runs a guardrail's `wordPolicyConfig`.
pub const BUILTIN_WORD_FILTER: &str = "word-filter";
/// The plugin that runs a guardrail's `sensitiveInformationPolicyConfig`.
pub const BUILTIN_SENSITIVE_INFORMATION: &str = "sensitive-information";
/// Bedrock's quota of denied topics per guardrail, and of examples per topic.
const MAX_TOPICS: usize = 30;
const MAX_TOPIC_EXAMPLES: usize = 5;
/// The plugin that runs a guardrail's `topicPolicyConfig`.
pub const BUILTIN_DENIED_TOPICS: &str = "denied-topics";
/// The plugin that runs a guardrail's `contentPolicyConfig`.
pub const BUILTIN_CONTENT_FILTER: &str = "content-filter";
/// The plugin that runs a guardrail's `contextualGroundingPolicyConfig`.
pub const BUILTIN_CONTEXTUAL_GROUNDING: &str = "contextual-grounding";

/// The most team plugins one guardrail may run.
pub const MAX_CUSTOM_POLICIES: usize = 16;

pub use mantle_store::ArnScope;

/// The guardrail service. Cheap to clone; clones share the store and the registry.
///
/// ```no_run
/// # async fn example(store: mantle_store::Store, registry: std::sync::Arc<mantle_plugins::Registry>)
/// # -> Result<(), mantle_guardrails::GuardrailError> {
/// use mantle_guardrails::{ApplyInput, ArnScope, ContentSource, GuardrailVersion, Guardrails, Verdict};
/// let scope = ArnScope { region: "us-east-1".into(), account: "000000000000".into() };
/// let guardrails = Guardrails::new(store, registry, scope)?;
/// let created = guardrails
///     .create(serde_json::from_value(serde_json::json!({
///         "name": "no-emails",
///         "blockedInputMessaging": "no", "blockedOutputsMessaging": "no",
///         "sensitiveInformationPolicyConfig": {
///             "piiEntitiesConfig": [{ "type": "EMAIL", "action": "ANONYMIZE" }] },
///     })).unwrap())
///     .await?;
/// let input = ApplyInput::texts(ContentSource::Input, ["mail bob@example.com".to_owned()]);
/// let outcome = guardrails.apply(&created.guardrail_id, GuardrailVersion::Draft, &input).await?;
/// assert_eq!(outcome.verdict, Verdict::Masked(vec!["mail {EMAIL}".into()]));
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Guardrails {
    store: Store,
    records: Table<GuardrailRecord>,
    tokens: Table<ClientToken>,
    registry: Arc<Registry>,
    scope: ArnScope,
}

impl Guardrails {
    pub fn new(
        store: Store,
        registry: Arc<Registry>,
        scope: ArnScope,
    ) -> Result<Self, GuardrailError> {
        Ok(Self {
            records: store.table()?,
            tokens: store.table()?,
            store,
            registry,
            scope,
        })
    }

    /// The guardrail's ARN.
    pub fn arn(&self, id: &GuardrailId) -> String {
        self.scope.arn("guardrail", id)
    }

    /// CreateGuardrail. Every policy plugin checks its configuration first, so nothing is
    /// stored that would fail when applied.
    pub async fn create(&self, input: GuardrailInput) -> Result<CreatedGuardrail, GuardrailError> {
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
        let now = mantle_store::now_rfc3339();
        let definition = self.definition(input, Vec::new(), &now).await?;
        self.check_name_free(&definition.name, None)?;
        let record = GuardrailRecord {
            id: GuardrailId::new().to_string(),
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
                    version: GuardrailVersion::Draft.to_string(),
                },
            )?;
        }
        self.store.flush()?;
        tracing::info!(guardrail = %record.id, "guardrail created");
        Ok(self.created(&record))
    }

    fn created(&self, record: &GuardrailRecord) -> CreatedGuardrail {
        let id = stored_id(record);
        CreatedGuardrail {
            guardrail_arn: self.arn(&id),
            guardrail_id: id,
            version: GuardrailVersion::Draft,
            created_at: record.created_at.clone(),
        }
    }

    fn check_name_free(
        &self,
        name: &str,
        except: Option<&GuardrailId>,
    ) -> Result<(), GuardrailError> {
        let taken = self.records.all()?.iter().any(|(id, r)| {
            except.is_none_or(|e| e.as_str() != id.as_str()) && r.draft.name == name
        });
        if taken {
            return Err(GuardrailError::Conflict(format!(
                "A guardrail named {name} already exists."
            )));
        }
        Ok(())
    }

    /// UpdateGuardrail: replaces the DRAFT's configuration (its attached plugins stay).
    pub async fn update(
        &self,
        id: &GuardrailId,
        input: GuardrailInput,
    ) -> Result<UpdatedGuardrail, GuardrailError> {
        let now = mantle_store::now_rfc3339();
        let existing = self.find(id)?;
        let definition = self
            .definition(input, existing.draft.custom_policies.clone(), &now)
            .await?;
        self.check_name_free(&definition.name, Some(id))?;
        self.records.update(id.as_str(), |record| {
            let mut record = record.ok_or_else(|| missing(id))?;
            // Plugins attached since `existing` was read are kept, not overwritten.
            record.draft = Definition {
                custom_policies: record.draft.custom_policies.clone(),
                ..definition.clone()
            };
            Ok::<_, GuardrailError>(Some(record))
        })?;
        self.store.flush()?;
        Ok(UpdatedGuardrail {
            guardrail_id: id.clone(),
            guardrail_arn: self.arn(id),
            version: GuardrailVersion::Draft,
            updated_at: now,
        })
    }

    /// CreateGuardrailVersion: freezes the DRAFT as the next numbered version.
    pub fn create_version(
        &self,
        id: &GuardrailId,
        input: CreateVersionInput,
    ) -> Result<CreatedVersion, GuardrailError> {
        if let Some(description) = &input.description {
            check_length("description", description, 1, 200)?;
        }
        let token_key = input
            .client_request_token
            .map(|t| format!("CreateGuardrailVersion/{id}/{t}"));
        if let Some(key) = &token_key
            && let Some(done) = self.tokens.get(key)?
        {
            return Ok(CreatedVersion {
                guardrail_id: id.clone(),
                version: done.version.parse()?,
            });
        }
        let now = mantle_store::now_rfc3339();
        let mut number = 0;
        self.records.update(id.as_str(), |record| {
            let mut record = record.ok_or_else(|| missing(id))?;
            number = record.next_version;
            let mut frozen = record.draft.clone();
            if input.description.is_some() {
                frozen.description = input.description.clone();
            }
            frozen.updated_at = now.clone();
            record.versions.insert(number, frozen);
            record.next_version += 1;
            Ok::<_, GuardrailError>(Some(record))
        })?;
        if let Some(key) = &token_key {
            self.tokens.put(
                key,
                &ClientToken {
                    guardrail_id: id.to_string(),
                    version: number.to_string(),
                },
            )?;
        }
        self.store.flush()?;
        tracing::info!(guardrail = %id, version = number, "guardrail version created");
        Ok(CreatedVersion {
            guardrail_id: id.clone(),
            version: GuardrailVersion::Number(number),
        })
    }

    /// GetGuardrail.
    pub fn get(
        &self,
        id: &GuardrailId,
        version: GuardrailVersion,
    ) -> Result<GuardrailDetail, GuardrailError> {
        let record = self.find(id)?;
        let definition = version_of(&record, version)?;
        let policies = definition.policies.clone();
        Ok(GuardrailDetail {
            name: definition.name.clone(),
            guardrail_id: id.clone(),
            guardrail_arn: self.arn(id),
            version,
            status: GuardrailStatus::Ready,
            description: definition.description.clone(),
            topic_policy: policies.topic_policy_config.map(|p| TopicPolicy {
                topics: p.topics_config,
                tier: p.tier_config,
            }),
            content_policy: policies.content_policy_config.map(|p| ContentPolicy {
                filters: p.filters_config,
                tier: p.tier_config,
            }),
            word_policy: policies.word_policy_config.map(|p| WordPolicy {
                words: p.words_config,
                managed_word_lists: p.managed_word_lists_config,
            }),
            sensitive_information_policy: policies.sensitive_information_policy_config.map(|p| {
                SensitiveInformationPolicy {
                    pii_entities: p.pii_entities_config,
                    regexes: p.regexes_config,
                }
            }),
            contextual_grounding_policy: policies.contextual_grounding_policy_config.map(|p| {
                ContextualGroundingPolicy {
                    filters: p.filters_config,
                    tier: p.tier_config,
                }
            }),
            created_at: record.created_at.clone(),
            updated_at: definition.updated_at.clone(),
            blocked_input_messaging: definition.blocked_input_messaging.clone(),
            blocked_outputs_messaging: definition.blocked_outputs_messaging.clone(),
            kms_key_arn: definition.kms_key_id.clone(),
            custom_policies: definition.custom_policies.clone(),
        })
    }

    /// ListGuardrails: every guardrail's DRAFT, or with an identifier every version of one.
    pub fn list(&self, input: &ListInput) -> Result<GuardrailPage, GuardrailError> {
        let max = input.max_results.unwrap_or(100);
        if !(1..=1000).contains(&max) {
            return Err(GuardrailError::invalid(
                "maxResults",
                "Member must have value between 1 and 1000",
            ));
        }
        let skip = match &input.next_token {
            None => 0,
            Some(token) => token.parse::<usize>().map_err(|_| {
                GuardrailError::invalid(
                    "nextToken",
                    "the pagination token is not one this server issued",
                )
            })?,
        };
        let summary = |record: &GuardrailRecord, version, d: &Definition| {
            let id = stored_id(record);
            GuardrailSummary {
                arn: self.arn(&id),
                id,
                status: GuardrailStatus::Ready,
                name: d.name.clone(),
                description: d.description.clone(),
                version,
                created_at: record.created_at.clone(),
                updated_at: d.updated_at.clone(),
            }
        };
        let mut summaries = Vec::new();
        match &input.guardrail_identifier {
            Some(id) => {
                let record = self.find(id)?;
                summaries.push(summary(&record, GuardrailVersion::Draft, &record.draft));
                for (number, definition) in &record.versions {
                    summaries.push(summary(
                        &record,
                        GuardrailVersion::Number(*number),
                        definition,
                    ));
                }
            }
            None => {
                for (_, record) in self.records.all()? {
                    summaries.push(summary(&record, GuardrailVersion::Draft, &record.draft));
                }
            }
        }
        let next_token = (skip + max < summaries.len()).then(|| (skip + max).to_string());
        Ok(GuardrailPage {
            guardrails: summaries.into_iter().skip(skip).take(max).collect(),
            next_token,
        })
    }

    /// DeleteGuardrail: the whole guardrail, or one numbered version (a DRAFT goes only with
    /// its guardrail).
    pub fn delete(
        &self,
        id: &GuardrailId,
        version: Option<GuardrailVersion>,
    ) -> Result<(), GuardrailError> {
        match version {
            None => {
                if self.records.delete(id.as_str())?.is_none() {
                    return Err(missing(id));
                }
            }
            Some(GuardrailVersion::Draft) => {
                return Err(GuardrailError::invalid(
                    "guardrailVersion",
                    "Member must satisfy regular expression pattern: [1-9][0-9]{0,7} (a DRAFT is deleted with its guardrail)",
                ));
            }
            Some(GuardrailVersion::Number(number)) => {
                self.records.update(id.as_str(), |record| {
                    let mut record = record.ok_or_else(|| missing(id))?;
                    if record.versions.remove(&number).is_none() {
                        return Err(GuardrailError::NotFound(format!(
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
    pub async fn set_custom_policies(
        &self,
        id: &GuardrailId,
        policies: Vec<CustomPolicy>,
    ) -> Result<CustomPoliciesSet, GuardrailError> {
        if policies.len() > MAX_CUSTOM_POLICIES {
            return Err(GuardrailError::invalid(
                "policies",
                format!("at most {MAX_CUSTOM_POLICIES} custom policies"),
            ));
        }
        for (index, policy) in policies.iter().enumerate() {
            let field = format!("policies.{index}.plugin");
            let plugin = self
                .registry
                .resolve(&policy.plugin)
                .map_err(|e| GuardrailError::invalid(field.clone(), e.to_string()))?;
            if plugin.manifest().kind != Kind::Guardrail {
                return Err(GuardrailError::invalid(
                    field,
                    format!(
                        "{} is a {} plugin, not a guardrail",
                        plugin.id(),
                        plugin.manifest().kind
                    ),
                ));
            }
            self.check_config(
                &policy.plugin,
                policy.config.to_string(),
                &format!("policies.{index}.config"),
            )
            .await?;
        }
        let now = mantle_store::now_rfc3339();
        self.records.update(id.as_str(), |record| {
            let mut record = record.ok_or_else(|| missing(id))?;
            record.draft.custom_policies = policies.clone();
            record.draft.updated_at = now.clone();
            Ok::<_, GuardrailError>(Some(record))
        })?;
        self.store.flush()?;
        Ok(CustomPoliciesSet {
            guardrail_id: id.clone(),
            version: GuardrailVersion::Draft,
            custom_policies: policies,
        })
    }

    /// ApplyGuardrail: runs every policy of `version` over the input's texts.
    pub async fn apply(
        &self,
        id: &GuardrailId,
        version: GuardrailVersion,
        input: &ApplyInput,
    ) -> Result<ApplyOutcome, GuardrailError> {
        let started = Instant::now();
        let record = self.find(id)?;
        let definition = version_of(&record, version)?;
        let assess = input.to_assess_request()?;
        let mut results = Vec::new();
        for call in policy_calls(definition) {
            let request = AssessRequest {
                config: call.config,
                ..assess.clone()
            };
            let assessment = self
                .run_policy(&call.plugin, request)
                .await
                .map_err(|e| GuardrailError::from_call(&call.plugin, e))?;
            results.push(PolicyFindings {
                plugin: call.plugin,
                usage: call.usage,
                findings: assessment.findings,
            });
        }
        let blocked_message = match input.source {
            ContentSource::Input => &definition.blocked_input_messaging,
            ContentSource::Output => &definition.blocked_outputs_messaging,
        };
        let outcome = respond(
            &assess,
            &results,
            input.output_scope.unwrap_or(OutputScope::Interventions),
            blocked_message,
            started,
        )?;
        metrics::counter!("mantle_guardrail_applications_total", "action" => outcome.verdict.action())
            .increment(1);
        Ok(outcome)
    }

    /// Runs one policy plugin: the one place a plugin is called. The call is async: the plugin
    /// runs on the async workers under its own deadline, and holds no thread while it waits.
    async fn run_policy(
        &self,
        spec: &str,
        request: AssessRequest,
    ) -> Result<Assessment, CallError> {
        let plugin: Arc<LoadedPlugin> = self.registry.resolve(spec)?;
        plugin.assess(&request).await
    }

    /// Checks the input and builds the definition it describes, asking each policy plugin
    /// whether it accepts its configuration.
    async fn definition(
        &self,
        input: GuardrailInput,
        custom_policies: Vec<CustomPolicy>,
        now: &str,
    ) -> Result<Definition, GuardrailError> {
        check_length("name", &input.name, 1, 50)?;
        if !input
            .name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(GuardrailError::invalid(
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
            return Err(GuardrailError::invalid(
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
                BUILTIN_DENIED_TOPICS => "topicPolicyConfig",
                BUILTIN_CONTENT_FILTER => "contentPolicyConfig",
                BUILTIN_CONTEXTUAL_GROUNDING => "contextualGroundingPolicyConfig",
                _ => "customPolicies",
            };
            self.check_config(&call.plugin, call.config, field).await?;
        }
        Ok(definition)
    }

    async fn check_config(
        &self,
        plugin: &str,
        config: String,
        field: &str,
    ) -> Result<(), GuardrailError> {
        let probe = AssessRequest {
            source: Source::Input,
            content: Vec::new(),
            config,
        };
        match self.run_policy(plugin, probe).await {
            Ok(_) => Ok(()),
            // Only the plugin's own refusal is about the config; a trap or a timeout is the
            // plugin's failure and stays one.
            Err(CallError::Plugin { message, .. }) => Err(GuardrailError::invalid(field, message)),
            Err(other) => Err(GuardrailError::from_call(plugin, other)),
        }
    }

    fn find(&self, id: &GuardrailId) -> Result<GuardrailRecord, GuardrailError> {
        self.records.get(id.as_str())?.ok_or_else(|| missing(id))
    }
}

fn missing(id: &GuardrailId) -> GuardrailError {
    GuardrailError::NotFound(format!("Guardrail {id} was not found."))
}

/// A stored record's id (written only from a [`GuardrailId`], so not checked again).
fn stored_id(record: &GuardrailRecord) -> GuardrailId {
    GuardrailId::stored(&record.id)
}

fn version_of(
    record: &GuardrailRecord,
    version: GuardrailVersion,
) -> Result<&Definition, GuardrailError> {
    match version {
        GuardrailVersion::Draft => Ok(&record.draft),
        GuardrailVersion::Number(number) => record.versions.get(&number).ok_or_else(|| {
            GuardrailError::NotFound(format!("Guardrail {} has no version {number}.", record.id))
        }),
    }
}

/// The plugin calls a guardrail definition runs, in order.
fn policy_calls(definition: &Definition) -> Vec<PolicyCall> {
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
    if let Some(topics) = &policies.topic_policy_config {
        calls.push(PolicyCall {
            plugin: BUILTIN_DENIED_TOPICS.into(),
            config: serde_json::to_string(topics).unwrap_or_default(),
            usage: UsageKind::Topic,
        });
    }
    if let Some(content) = &policies.content_policy_config {
        calls.push(PolicyCall {
            plugin: BUILTIN_CONTENT_FILTER.into(),
            config: serde_json::to_string(content).unwrap_or_default(),
            usage: UsageKind::Content,
        });
    }
    if let Some(grounding) = &policies.contextual_grounding_policy_config {
        calls.push(PolicyCall {
            plugin: BUILTIN_CONTEXTUAL_GROUNDING.into(),
            config: serde_json::to_string(grounding).unwrap_or_default(),
            usage: UsageKind::ContextualGrounding,
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

fn validate_policies(policies: &Policies) -> Result<(), GuardrailError> {
    if let Some(word) = &policies.word_policy_config {
        if word.words_config.is_empty() && word.managed_word_lists_config.is_empty() {
            return Err(GuardrailError::invalid(
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
            return Err(GuardrailError::invalid(
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
        if topics.topics_config.is_empty() {
            return Err(GuardrailError::invalid(
                "topicPolicyConfig.topicsConfig",
                "Member must have length greater than or equal to 1",
            ));
        }
        if topics.topics_config.len() > MAX_TOPICS {
            return Err(GuardrailError::invalid(
                "topicPolicyConfig.topicsConfig",
                format!("a guardrail has at most {MAX_TOPICS} denied topics"),
            ));
        }
        for (i, t) in topics.topics_config.iter().enumerate() {
            let field = format!("topicPolicyConfig.topicsConfig.{i}.name");
            check_length(&field, &t.name, 1, 100)?;
            if !t
                .name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_ !?.".contains(c))
            {
                return Err(GuardrailError::invalid(
                    field,
                    "Member must satisfy regular expression pattern: [0-9a-zA-Z-_ !?.]+",
                ));
            }
            if t.examples.len() > MAX_TOPIC_EXAMPLES {
                return Err(GuardrailError::invalid(
                    format!("topicPolicyConfig.topicsConfig.{i}.examples"),
                    format!("Member must have length less than or equal to {MAX_TOPIC_EXAMPLES}"),
                ));
            }
            for (j, example) in t.examples.iter().enumerate() {
                check_length(
                    &format!("topicPolicyConfig.topicsConfig.{i}.examples.{j}"),
                    example,
                    1,
                    100,
                )?;
            }
            check_length(
                &format!("topicPolicyConfig.topicsConfig.{i}.definition"),
                &t.definition,
                1,
                200,
            )?;
        }
    }
    if let Some(content) = &policies.content_policy_config {
        if content.filters_config.is_empty() {
            return Err(GuardrailError::invalid(
                "contentPolicyConfig.filtersConfig",
                "Member must have length greater than or equal to 1",
            ));
        }
        for (i, f) in content.filters_config.iter().enumerate() {
            if content.filters_config[..i].iter().any(|g| g.kind == f.kind) {
                return Err(GuardrailError::invalid(
                    format!("contentPolicyConfig.filtersConfig.{i}.type"),
                    "each filter type may be configured once",
                ));
            }
            if f.kind == ContentFilterType::PromptAttack
                && f.output_strength != FilterStrength::None
            {
                return Err(GuardrailError::invalid(
                    format!("contentPolicyConfig.filtersConfig.{i}.outputStrength"),
                    "PROMPT_ATTACK applies to inputs only: its outputStrength must be NONE",
                ));
            }
        }
    }
    if let Some(grounding) = &policies.contextual_grounding_policy_config {
        for (i, f) in grounding.filters_config.iter().enumerate() {
            if !(0.0..=0.99).contains(&f.threshold) {
                return Err(GuardrailError::invalid(
                    format!("contextualGroundingPolicyConfig.filtersConfig.{i}.threshold"),
                    "Member must have value between 0 and 0.99",
                ));
            }
        }
    }
    Ok(())
}

fn check_length(field: &str, value: &str, min: usize, max: usize) -> Result<(), GuardrailError> {
    let len = value.chars().count();
    if len < min {
        return Err(GuardrailError::invalid(
            field,
            format!("Member must have length greater than or equal to {min}"),
        ));
    }
    if len > max {
        return Err(GuardrailError::invalid(
            field,
            format!("Member must have length less than or equal to {max}"),
        ));
    }
    Ok(())
}

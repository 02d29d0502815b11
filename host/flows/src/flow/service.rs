//! The flows service: drafts, preparation, immutable versions and aliases. Running a flow is
//! [`crate::flow::engine`].

use std::sync::Arc;

use mantle_guardrails::Guardrails;
use mantle_inference::Catalog;
use mantle_knowledge::Knowledge;
use mantle_plugins::Registry;
use mantle_store::{ArnScope, Store, Table};

use super::definition::{FlowDefinition, NodeConfiguration, PromptSource};
use super::input::{
    ConcurrencyConfiguration, ConcurrencyType, CreateFlowAliasInput, CreateFlowInput,
    CreateFlowVersionInput, ListInput, RoutingEntry, UpdateFlowAliasInput, UpdateFlowInput,
};
use super::output::{
    DeletedFlow, DeletedFlowAlias, DeletedFlowVersion, Flow, FlowAlias, FlowAliasPage, FlowPage,
    FlowStatus, FlowSummary, FlowVersion, FlowVersionPage, FlowVersionSummary, PreparedFlow,
    Validations,
};
use super::record::{FlowAliasRecord, FlowContent, FlowRecord, FlowVersionRecord, version_key};
use super::validate::{self, Details, FlowValidation, Severity};
use crate::prompt::check_description;
use crate::prompt::input::IncludedData;
use crate::token::{self, Claim, ClientTokenRecord};
use crate::{
    FlowAliasId, FlowAliasIdentifier, FlowId, FlowsError, PromptIdentifier, Prompts, Version, page,
};

/// What flows call: the services their nodes run on.
#[derive(Debug, Clone)]
pub struct FlowServices {
    pub prompts: Prompts,
    pub models: Arc<Catalog>,
    pub knowledge: Knowledge,
    pub guardrails: Guardrails,
    pub registry: Arc<Registry>,
}

/// The flows service. Cheap to clone; clones share the store and the running executions.
///
/// ```no_run
/// # fn example(flows: mantle_flows::Flows, id: mantle_flows::FlowId) -> Result<(), mantle_flows::FlowsError> {
/// let prepared = flows.prepare(&id)?;
/// println!("{} is {:?}", prepared.id, prepared.status);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Flows {
    pub(crate) inner: Arc<Inner>,
}

#[derive(Debug)]
pub(crate) struct Inner {
    pub(crate) store: Store,
    pub(crate) drafts: Table<FlowRecord>,
    pub(crate) versions: Table<FlowVersionRecord>,
    pub(crate) aliases: Table<FlowAliasRecord>,
    pub(crate) tokens: Table<ClientTokenRecord>,
    pub(crate) scope: ArnScope,
    pub(crate) services: FlowServices,
    pub(crate) executions: Table<super::execution::ExecutionRecord>,
    pub(crate) events: Table<super::execution::ExecutionEventRecord>,
    pub(crate) running: super::execution::Running,
}

/// Bedrock's pages of flow, version and alias summaries hold at most ten.
const MAX_PAGE: u32 = 10;

impl Flows {
    /// Opens the service over `store`, dropping versions and aliases a crash left behind
    /// their deleted flow.
    pub fn open(store: Store, scope: ArnScope, services: FlowServices) -> Result<Self, FlowsError> {
        let inner = Inner {
            drafts: store.table()?,
            versions: store.table()?,
            aliases: store.table()?,
            tokens: store.table()?,
            executions: store.table()?,
            events: store.table()?,
            running: super::execution::Running::default(),
            store,
            scope,
            services,
        };
        let mut orphans = 0;
        for (key, version) in inner.versions.all()? {
            if inner.drafts.get(&version.id)?.is_none() {
                inner.versions.delete(&key)?;
                orphans += 1;
            }
        }
        for (key, alias) in inner.aliases.all()? {
            if inner.drafts.get(&alias.flow_id)?.is_none() {
                inner.aliases.delete(&key)?;
                orphans += 1;
            }
        }
        if orphans > 0 {
            inner.store.flush()?;
            tracing::info!(orphans, "dropped versions and aliases of deleted flows");
        }
        let flows = Self {
            inner: Arc::new(inner),
        };
        flows.recover_executions()?;
        Ok(flows)
    }

    pub fn arn(&self, id: &str) -> String {
        self.inner.scope.arn("flow", id)
    }

    pub fn alias_arn(&self, flow: &str, alias: &str) -> String {
        format!("{}/alias/{alias}", self.arn(flow))
    }

    /// CreateFlow.
    pub fn create(&self, input: CreateFlowInput) -> Result<Flow, FlowsError> {
        let inner = &self.inner;
        // A request that is wrong claims no token: the corrected retry may use it.
        let content = FlowContent {
            name: input.name.clone(),
            description: input.description.clone(),
            execution_role_arn: input.execution_role_arn.clone(),
            customer_encryption_key_arn: input.customer_encryption_key_arn.clone(),
            definition: input.definition.clone(),
        };
        check_content(&content)?;
        crate::prompt::check_tags(input.tags.as_ref())?;
        let claim = token::claim(
            &inner.tokens,
            "CreateFlow",
            input.client_token.as_deref(),
            &input,
            || FlowId::new().to_string(),
        )?;
        let id = match claim {
            Claim::Replay(id) => {
                if let Some(record) = inner.drafts.get(&id)? {
                    return Ok(self.draft(&record, IncludedData::AllData, false));
                }
                id
            }
            Claim::New(id) => id,
        };
        self.check_name_free(&content.name, None)?;
        let now = mantle_store::now_rfc3339();
        let record = FlowRecord {
            id: id.clone(),
            content,
            status: FlowStatus::NotPrepared,
            tags: input.tags.unwrap_or_default(),
            created_at: now.clone(),
            updated_at: now,
            next_version: 1,
        };
        if !inner.drafts.insert_new(&id, &record)?
            && let Some(record) = inner.drafts.get(&id)?
        {
            return Ok(self.draft(&record, IncludedData::AllData, false));
        }
        inner.store.flush()?;
        tracing::info!(flow = %id, "flow created");
        Ok(self.draft(&record, IncludedData::AllData, false))
    }

    /// GetFlow, with the definition's validations.
    pub fn get(&self, id: &FlowId, included: IncludedData) -> Result<Flow, FlowsError> {
        Ok(self.draft(&self.find(id)?, included, true))
    }

    /// ListFlows.
    pub fn list(&self, input: &ListInput) -> Result<FlowPage, FlowsError> {
        let summaries = self
            .inner
            .drafts
            .all()?
            .into_iter()
            .map(|(_, r)| FlowSummary {
                name: r.content.name,
                description: r.content.description,
                arn: self.arn(&r.id),
                id: FlowId::stored(&r.id),
                status: r.status,
                created_at: r.created_at,
                updated_at: r.updated_at,
                version: "DRAFT",
            })
            .collect();
        let (flow_summaries, next_token) = page(
            summaries,
            input.max_results,
            MAX_PAGE,
            input.next_token.as_deref(),
        )?;
        Ok(FlowPage {
            flow_summaries,
            next_token,
        })
    }

    /// UpdateFlow: replaces the draft, which must be prepared again before it runs.
    pub fn update(&self, id: &FlowId, input: UpdateFlowInput) -> Result<Flow, FlowsError> {
        let content = FlowContent {
            name: input.name,
            description: input.description,
            execution_role_arn: input.execution_role_arn,
            customer_encryption_key_arn: input.customer_encryption_key_arn,
            definition: input.definition,
        };
        check_content(&content)?;
        self.check_name_free(&content.name, Some(id))?;
        let updated = self
            .inner
            .drafts
            .update::<FlowsError>(id.as_str(), |record| {
                let mut record = record.ok_or_else(|| not_found(id))?;
                record.content = content.clone();
                record.status = FlowStatus::NotPrepared;
                record.updated_at = mantle_store::now_rfc3339();
                Ok(Some(record))
            })?
            .ok_or_else(|| not_found(id))?;
        self.inner.store.flush()?;
        Ok(self.draft(&updated, IncludedData::AllData, false))
    }

    /// DeleteFlow: refused while aliases route to it, unless `skip_in_use_check`.
    pub fn delete(&self, id: &FlowId, skip_in_use_check: bool) -> Result<DeletedFlow, FlowsError> {
        let inner = &self.inner;
        self.find(id)?;
        let aliases = inner.aliases.scan_prefix(&format!("{id}/"))?;
        if !aliases.is_empty() && !skip_in_use_check {
            return Err(FlowsError::Conflict(format!(
                "The flow {id} has {} aliases; delete them first or set skipResourceInUseCheck.",
                aliases.len()
            )));
        }
        inner.drafts.delete(id.as_str())?;
        for (key, _) in aliases {
            inner.aliases.delete(&key)?;
        }
        for (key, _) in inner.versions.scan_prefix(&format!("{id}/"))? {
            inner.versions.delete(&key)?;
        }
        for (key, _) in inner.executions.scan_prefix(&format!("{id}/"))? {
            if let Some(abort) = inner.running.remove(&key) {
                abort.abort();
            }
            inner.executions.delete(&key)?;
        }
        for (key, _) in inner.events.scan_prefix(&format!("{id}/"))? {
            inner.events.delete(&key)?;
        }
        inner.store.flush()?;
        tracing::info!(flow = %id, "flow deleted");
        Ok(DeletedFlow { id: id.clone() })
    }

    /// ValidateFlowDefinition: the findings, without storing anything.
    pub fn validate(&self, definition: &FlowDefinition) -> Result<Validations, FlowsError> {
        validate::check_shape(definition, "definition")?;
        Ok(Validations {
            validations: validate::validations(definition),
        })
    }

    /// PrepareFlow: checks the draft against the graph rules and the resources it names
    /// (prompts, knowledge bases, models, plugins, guardrails). A draft with errors is marked
    /// `Failed` and the call answers a ValidationException listing them.
    pub fn prepare(&self, id: &FlowId) -> Result<PreparedFlow, FlowsError> {
        let record = self.find(id)?;
        let definition = record.content.definition.clone().unwrap_or_default();
        let mut findings = validate::validations(&definition);
        findings.extend(self.resource_findings(&definition));
        let errors: Vec<&FlowValidation> = findings
            .iter()
            .filter(|f| f.severity == Severity::Error)
            .collect();
        let status = if errors.is_empty() {
            FlowStatus::Prepared
        } else {
            FlowStatus::Failed
        };
        let updated_at = record.updated_at.clone();
        self.inner
            .drafts
            .update::<FlowsError>(id.as_str(), |current| {
                let mut current = current.ok_or_else(|| not_found(id))?;
                // A draft changed while it was checked keeps its own status.
                if current.updated_at == updated_at {
                    current.status = status;
                }
                Ok(Some(current))
            })?;
        self.inner.store.flush()?;
        if !errors.is_empty() {
            let reasons: Vec<&str> = errors.iter().map(|e| e.message.as_str()).collect();
            return Err(FlowsError::Validation {
                field: None,
                message: format!("The flow {id} cannot be prepared: {}", reasons.join(" ")),
            });
        }
        tracing::info!(flow = %id, "flow prepared");
        Ok(PreparedFlow {
            id: id.clone(),
            status,
        })
    }

    /// What the graph rules cannot see: whether the resources a definition names exist and
    /// fit it.
    fn resource_findings(&self, definition: &FlowDefinition) -> Vec<FlowValidation> {
        let services = &self.inner.services;
        let mut found = Vec::new();
        for node in &definition.nodes {
            let name = &node.name;
            let text_model = |model: &str| {
                services
                    .models
                    .text(model)
                    .err()
                    .map(|e| format!("The node {name} runs on {model}: {e}"))
            };
            match &node.configuration {
                Some(NodeConfiguration::Prompt(prompt)) => {
                    match &prompt.source_configuration {
                        PromptSource::Inline(inline) => {
                            if let Some(problem) = text_model(&inline.model_id) {
                                found.push(unspecified(problem));
                            }
                        }
                        PromptSource::Resource(resource) => {
                            let variant = PromptIdentifier::from_arn(&resource.prompt_arn)
                                .ok_or_else(|| {
                                    format!("{} is not a prompt ARN", resource.prompt_arn)
                                })
                                .and_then(|p| {
                                    services
                                        .prompts
                                        .variant(&p, None)
                                        .map_err(|e| e.to_string())
                                });
                            match variant {
                                Err(reason) => found.push(unspecified(format!(
                                    "The prompt of {name} cannot be used: {reason}"
                                ))),
                                Ok(variant) => {
                                    let mut inputs = Vec::new();
                                    validate::check_prompt_inputs(node, &variant, &mut inputs);
                                    found.extend(inputs);
                                    match variant.model_id.as_deref() {
                                        None => found.push(FlowValidation::error(
                                            format!(
                                                "The prompt of {name} names no model to run on."
                                            ),
                                            Details::Unspecified {},
                                        )),
                                        Some(model) => {
                                            if let Some(problem) = text_model(model) {
                                                found.push(FlowValidation::error(
                                                    problem,
                                                    Details::Unspecified {},
                                                ));
                                            }
                                        }
                                    }
                                }
                            }
                            continue;
                        }
                    }
                    if let Some(guardrail) = &prompt.guardrail_configuration
                        && let Err(reason) = super::engine::guardrail(services, guardrail)
                    {
                        found.push(unspecified(format!(
                            "The guardrail of {name} cannot be used: {reason}"
                        )));
                    }
                }
                Some(NodeConfiguration::KnowledgeBase(kb)) => {
                    let known = kb
                        .knowledge_base_id
                        .parse()
                        .ok()
                        .is_some_and(|id| services.knowledge.get_knowledge_base(&id).is_ok());
                    if !known {
                        found.push(unspecified(format!(
                            "The node {name} searches {}, which is not a knowledge base.",
                            kb.knowledge_base_id
                        )));
                    }
                    if let Some(model) = &kb.model_id
                        && let Some(problem) = text_model(model)
                    {
                        found.push(unspecified(problem));
                    }
                }
                Some(NodeConfiguration::LambdaFunction(lambda)) => {
                    if let Err(reason) = super::engine::lambda_plugin(services, &lambda.lambda_arn)
                    {
                        found.push(unspecified(format!("The node {name} cannot run: {reason}")));
                    }
                }
                Some(NodeConfiguration::Storage(super::definition::StorageNode {
                    service_configuration: s,
                }))
                | Some(NodeConfiguration::Retrieval(super::definition::RetrievalNode {
                    service_configuration: s,
                })) if !valid_bucket(s.bucket()) => {
                    found.push(unspecified(format!(
                        "The node {name} names the bucket {}, which is not a bucket name.",
                        s.bucket()
                    )));
                }
                Some(NodeConfiguration::Loop(inner)) => {
                    found.extend(self.resource_findings(&inner.definition));
                }
                _ => {}
            }
        }
        found
    }

    /// CreateFlowVersion: an immutable snapshot of the prepared draft.
    pub fn create_version(
        &self,
        id: &FlowId,
        input: CreateFlowVersionInput,
    ) -> Result<FlowVersion, FlowsError> {
        let inner = &self.inner;
        check_description(input.description.as_deref(), "description")?;
        let op = format!("CreateFlowVersion/{id}");
        let claim = token::claim(
            &inner.tokens,
            &op,
            input.client_token.as_deref(),
            &input,
            String::new,
        )?;
        if let Claim::Replay(key) = &claim
            && let Some(version) = inner.versions.get(key)?
        {
            return Ok(self.version(&version, IncludedData::AllData));
        }
        let mut snapshot = None;
        inner.drafts.update::<FlowsError>(id.as_str(), |record| {
            let mut record = record.ok_or_else(|| not_found(id))?;
            if record.status != FlowStatus::Prepared {
                return Err(FlowsError::invalid(
                    "flowIdentifier",
                    format!(
                        "the flow {id} is not prepared; call PrepareFlow before making a version"
                    ),
                ));
            }
            snapshot = Some((record.next_version, record.content.clone()));
            record.next_version += 1;
            Ok(Some(record))
        })?;
        let (number, mut content) = snapshot.ok_or_else(|| not_found(id))?;
        if input.description.is_some() {
            content.description = input.description;
        }
        let record = FlowVersionRecord {
            id: id.to_string(),
            version: number,
            content,
            created_at: mantle_store::now_rfc3339(),
        };
        let key = version_key(id.as_str(), number);
        inner.versions.put(&key, &record)?;
        token::settle(
            &inner.tokens,
            &op,
            &claim,
            input.client_token.as_deref(),
            &key,
        )?;
        inner.store.flush()?;
        tracing::info!(flow = %id, version = number, "flow version created");
        Ok(self.version(&record, IncludedData::AllData))
    }

    /// GetFlowVersion.
    pub fn get_version(
        &self,
        id: &FlowId,
        version: Version,
        included: IncludedData,
    ) -> Result<FlowVersion, FlowsError> {
        match version {
            Version::Number(n) => Ok(self.version(&self.find_version(id, n)?, included)),
            Version::Draft => {
                let draft = self.find(id)?;
                Ok(FlowVersion {
                    name: draft.content.name,
                    description: draft.content.description,
                    execution_role_arn: draft.content.execution_role_arn,
                    customer_encryption_key_arn: draft.content.customer_encryption_key_arn,
                    arn: self.arn(&draft.id),
                    id: FlowId::stored(&draft.id),
                    status: draft.status,
                    created_at: draft.created_at,
                    version: "DRAFT".into(),
                    definition: draft
                        .content
                        .definition
                        .filter(|_| included == IncludedData::AllData),
                })
            }
        }
    }

    /// ListFlowVersions: the draft, then the versions in number order.
    pub fn list_versions(
        &self,
        id: &FlowId,
        input: &ListInput,
    ) -> Result<FlowVersionPage, FlowsError> {
        let draft = self.find(id)?;
        let summaries = std::iter::once(FlowVersionSummary {
            id: id.clone(),
            arn: self.arn(id.as_str()),
            status: draft.status,
            created_at: draft.created_at,
            version: "DRAFT".into(),
        })
        .chain(
            self.inner
                .versions
                .scan_prefix(&format!("{id}/"))?
                .into_iter()
                .map(|(_, v)| FlowVersionSummary {
                    id: id.clone(),
                    arn: self.arn(id.as_str()),
                    status: FlowStatus::Prepared,
                    created_at: v.created_at,
                    version: v.version.to_string(),
                }),
        )
        .collect();
        let (flow_version_summaries, next_token) = page(
            summaries,
            input.max_results,
            MAX_PAGE,
            input.next_token.as_deref(),
        )?;
        Ok(FlowVersionPage {
            flow_version_summaries,
            next_token,
        })
    }

    /// DeleteFlowVersion: refused while an alias routes to it, unless `skip_in_use_check`.
    pub fn delete_version(
        &self,
        id: &FlowId,
        version: Version,
        skip_in_use_check: bool,
    ) -> Result<DeletedFlowVersion, FlowsError> {
        let Version::Number(n) = version else {
            return Err(FlowsError::invalid(
                "flowVersion",
                "the draft is deleted with its flow; name a numbered version",
            ));
        };
        self.find_version(id, n)?;
        let routed: Vec<String> = self
            .inner
            .aliases
            .scan_prefix(&format!("{id}/"))?
            .into_iter()
            .filter(|(_, a)| a.routing.iter().any(|r| r.flow_version == Some(version)))
            .map(|(_, a)| a.id)
            .collect();
        if !routed.is_empty() && !skip_in_use_check {
            return Err(FlowsError::Conflict(format!(
                "Version {n} of flow {id} is in use by the aliases {}.",
                routed.join(", ")
            )));
        }
        self.inner.versions.delete(&version_key(id.as_str(), n))?;
        self.inner.store.flush()?;
        Ok(DeletedFlowVersion {
            id: id.clone(),
            version: n.to_string(),
        })
    }

    /// CreateFlowAlias.
    pub fn create_alias(
        &self,
        id: &FlowId,
        input: CreateFlowAliasInput,
    ) -> Result<FlowAlias, FlowsError> {
        let inner = &self.inner;
        self.find(id)?;
        check_alias(
            &input.name,
            input.description.as_deref(),
            &input.routing_configuration,
            input.concurrency_configuration.as_ref(),
        )?;
        self.check_routing(id, &input.routing_configuration)?;
        crate::prompt::check_tags(input.tags.as_ref())?;
        let op = format!("CreateFlowAlias/{id}");
        let claim = token::claim(
            &inner.tokens,
            &op,
            input.client_token.as_deref(),
            &input,
            || format!("{id}/{}", FlowAliasId::new()),
        )?;
        let key = match claim {
            Claim::Replay(key) => {
                if let Some(alias) = inner.aliases.get(&key)? {
                    return Ok(self.alias(&alias));
                }
                key
            }
            Claim::New(key) => key,
        };
        self.check_alias_name_free(id, &input.name, None)?;
        let now = mantle_store::now_rfc3339();
        let alias_id = key.rsplit('/').next().unwrap_or_default().to_owned();
        let record = FlowAliasRecord {
            flow_id: id.to_string(),
            id: alias_id,
            name: input.name,
            description: input.description,
            routing: input.routing_configuration,
            concurrency: input.concurrency_configuration,
            tags: input.tags.unwrap_or_default(),
            created_at: now.clone(),
            updated_at: now,
        };
        if !inner.aliases.insert_new(&key, &record)?
            && let Some(existing) = inner.aliases.get(&key)?
        {
            return Ok(self.alias(&existing));
        }
        inner.store.flush()?;
        Ok(self.alias(&record))
    }

    /// GetFlowAlias; `TSTALIASID` is every flow's alias of its draft.
    pub fn get_alias(
        &self,
        id: &FlowId,
        alias: &FlowAliasIdentifier,
    ) -> Result<FlowAlias, FlowsError> {
        check_alias_flow(id, alias)?;
        if alias.id.is_test() {
            let draft = self.find(id)?;
            return Ok(FlowAlias {
                name: "TestAlias".into(),
                description: Some("The flow's working draft.".into()),
                routing_configuration: vec![RoutingEntry {
                    flow_version: Some(Version::Draft),
                }],
                concurrency_configuration: None,
                flow_id: id.clone(),
                id: alias.id.clone(),
                arn: self.alias_arn(id.as_str(), FlowAliasId::TEST),
                created_at: draft.created_at,
                updated_at: draft.updated_at,
            });
        }
        Ok(self.alias(&self.find_alias(id, &alias.id)?))
    }

    /// ListFlowAliases.
    pub fn list_aliases(
        &self,
        id: &FlowId,
        input: &ListInput,
    ) -> Result<FlowAliasPage, FlowsError> {
        self.find(id)?;
        let aliases = self
            .inner
            .aliases
            .scan_prefix(&format!("{id}/"))?
            .into_iter()
            .map(|(_, a)| self.alias(&a))
            .collect();
        let (flow_alias_summaries, next_token) = page(
            aliases,
            input.max_results,
            MAX_PAGE,
            input.next_token.as_deref(),
        )?;
        Ok(FlowAliasPage {
            flow_alias_summaries,
            next_token,
        })
    }

    /// UpdateFlowAlias.
    pub fn update_alias(
        &self,
        id: &FlowId,
        alias: &FlowAliasIdentifier,
        input: UpdateFlowAliasInput,
    ) -> Result<FlowAlias, FlowsError> {
        check_alias_flow(id, alias)?;
        if alias.id.is_test() {
            return Err(FlowsError::invalid(
                "aliasIdentifier",
                "the test alias always runs the draft",
            ));
        }
        check_alias(
            &input.name,
            input.description.as_deref(),
            &input.routing_configuration,
            input.concurrency_configuration.as_ref(),
        )?;
        self.check_routing(id, &input.routing_configuration)?;
        self.check_alias_name_free(id, &input.name, Some(&alias.id))?;
        let key = format!("{id}/{}", alias.id);
        let updated = self
            .inner
            .aliases
            .update::<FlowsError>(&key, |record| {
                let mut record = record.ok_or_else(|| alias_not_found(id, &alias.id))?;
                record.name = input.name.clone();
                record.description = input.description.clone();
                record.routing = input.routing_configuration.clone();
                record.concurrency = input.concurrency_configuration.clone();
                record.updated_at = mantle_store::now_rfc3339();
                Ok(Some(record))
            })?
            .ok_or_else(|| alias_not_found(id, &alias.id))?;
        self.inner.store.flush()?;
        Ok(self.alias(&updated))
    }

    /// DeleteFlowAlias.
    pub fn delete_alias(
        &self,
        id: &FlowId,
        alias: &FlowAliasIdentifier,
    ) -> Result<DeletedFlowAlias, FlowsError> {
        check_alias_flow(id, alias)?;
        if alias.id.is_test() {
            return Err(FlowsError::invalid(
                "aliasIdentifier",
                "the test alias cannot be deleted",
            ));
        }
        self.inner
            .aliases
            .delete(&format!("{id}/{}", alias.id))?
            .ok_or_else(|| alias_not_found(id, &alias.id))?;
        self.inner.store.flush()?;
        Ok(DeletedFlowAlias {
            flow_id: id.clone(),
            id: alias.id.clone(),
        })
    }

    /// What an alias runs: its definition, the version it is, and its node concurrency.
    pub(crate) fn resolve_alias(
        &self,
        id: &FlowId,
        alias: &FlowAliasIdentifier,
    ) -> Result<(FlowDefinition, Version, Option<ConcurrencyConfiguration>), FlowsError> {
        check_alias_flow(id, alias)?;
        let (version, concurrency) = if alias.id.is_test() {
            (Version::Draft, None)
        } else {
            let record = self.find_alias(id, &alias.id)?;
            let version = record
                .routing
                .first()
                .and_then(|r| r.flow_version)
                .unwrap_or(Version::Draft);
            (version, record.concurrency)
        };
        let definition = match version {
            Version::Draft => {
                let draft = self.find(id)?;
                if draft.status != FlowStatus::Prepared {
                    let reasons: Vec<String> = validate::validations(
                        &draft.content.definition.clone().unwrap_or_default(),
                    )
                    .into_iter()
                    .filter(|v| v.severity == Severity::Error)
                    .map(|v| v.message)
                    .collect();
                    return Err(FlowsError::Validation {
                        field: None,
                        message: format!(
                            "The flow {id} is not prepared (status {:?}); call PrepareFlow first.{}",
                            draft.status,
                            if reasons.is_empty() {
                                String::new()
                            } else {
                                format!(" {}", reasons.join(" "))
                            }
                        ),
                    });
                }
                draft.content.definition.unwrap_or_default()
            }
            Version::Number(n) => self
                .find_version(id, n)?
                .content
                .definition
                .unwrap_or_default(),
        };
        Ok((definition, version, concurrency))
    }

    pub(crate) fn services(&self) -> &FlowServices {
        &self.inner.services
    }

    pub(crate) fn find(&self, id: &FlowId) -> Result<FlowRecord, FlowsError> {
        self.inner
            .drafts
            .get(id.as_str())?
            .ok_or_else(|| not_found(id))
    }

    fn find_version(&self, id: &FlowId, n: u32) -> Result<FlowVersionRecord, FlowsError> {
        self.inner
            .versions
            .get(&version_key(id.as_str(), n))?
            .ok_or_else(|| {
                FlowsError::NotFound(format!("Version {n} of flow {id} does not exist."))
            })
    }

    fn find_alias(&self, id: &FlowId, alias: &FlowAliasId) -> Result<FlowAliasRecord, FlowsError> {
        self.inner
            .aliases
            .get(&format!("{id}/{alias}"))?
            .ok_or_else(|| alias_not_found(id, alias))
    }

    fn check_routing(&self, id: &FlowId, routing: &[RoutingEntry]) -> Result<(), FlowsError> {
        if let Some(Version::Number(n)) = routing.first().and_then(|r| r.flow_version) {
            self.find_version(id, n).map_err(|_| {
                FlowsError::invalid(
                    "routingConfiguration.0.flowVersion",
                    format!("the flow {id} has no version {n}"),
                )
            })?;
        }
        Ok(())
    }

    fn check_name_free(&self, name: &str, except: Option<&FlowId>) -> Result<(), FlowsError> {
        let taken = self
            .inner
            .drafts
            .all()?
            .into_iter()
            .any(|(_, r)| r.content.name == name && except.is_none_or(|e| e.as_str() != r.id));
        if taken {
            return Err(FlowsError::Conflict(format!(
                "A flow named {name} already exists."
            )));
        }
        Ok(())
    }

    fn check_alias_name_free(
        &self,
        id: &FlowId,
        name: &str,
        except: Option<&FlowAliasId>,
    ) -> Result<(), FlowsError> {
        let taken = self
            .inner
            .aliases
            .scan_prefix(&format!("{id}/"))?
            .into_iter()
            .any(|(_, a)| a.name == name && except.is_none_or(|e| e.as_str() != a.id));
        if taken {
            return Err(FlowsError::Conflict(format!(
                "The flow {id} already has an alias named {name}."
            )));
        }
        Ok(())
    }

    fn draft(&self, record: &FlowRecord, included: IncludedData, with_validations: bool) -> Flow {
        let definition = record.content.definition.clone();
        Flow {
            name: record.content.name.clone(),
            description: record.content.description.clone(),
            execution_role_arn: record.content.execution_role_arn.clone(),
            customer_encryption_key_arn: record.content.customer_encryption_key_arn.clone(),
            id: FlowId::stored(&record.id),
            arn: self.arn(&record.id),
            status: record.status,
            created_at: record.created_at.clone(),
            updated_at: record.updated_at.clone(),
            version: "DRAFT",
            validations: with_validations.then(|| {
                validate::validations(definition.as_ref().unwrap_or(&FlowDefinition::default()))
            }),
            definition: definition.filter(|_| included == IncludedData::AllData),
        }
    }

    fn version(&self, record: &FlowVersionRecord, included: IncludedData) -> FlowVersion {
        FlowVersion {
            name: record.content.name.clone(),
            description: record.content.description.clone(),
            execution_role_arn: record.content.execution_role_arn.clone(),
            customer_encryption_key_arn: record.content.customer_encryption_key_arn.clone(),
            id: FlowId::stored(&record.id),
            arn: self.arn(&record.id),
            status: FlowStatus::Prepared,
            created_at: record.created_at.clone(),
            version: record.version.to_string(),
            definition: record
                .content
                .definition
                .clone()
                .filter(|_| included == IncludedData::AllData),
        }
    }

    fn alias(&self, record: &FlowAliasRecord) -> FlowAlias {
        FlowAlias {
            name: record.name.clone(),
            description: record.description.clone(),
            routing_configuration: record.routing.clone(),
            concurrency_configuration: record.concurrency.clone(),
            flow_id: FlowId::stored(&record.flow_id),
            id: FlowAliasId::stored(&record.id),
            arn: self.alias_arn(&record.flow_id, &record.id),
            created_at: record.created_at.clone(),
            updated_at: record.updated_at.clone(),
        }
    }
}

fn unspecified(message: String) -> FlowValidation {
    FlowValidation::error(message, Details::Unspecified {})
}

fn not_found(id: &FlowId) -> FlowsError {
    FlowsError::NotFound(format!("Flow {id} does not exist."))
}

fn alias_not_found(id: &FlowId, alias: &FlowAliasId) -> FlowsError {
    FlowsError::NotFound(format!("Flow {id} has no alias {alias}."))
}

/// An alias given as an ARN names its flow too, which must be the one in the path.
fn check_alias_flow(id: &FlowId, alias: &FlowAliasIdentifier) -> Result<(), FlowsError> {
    match &alias.flow {
        Some(flow) if flow != id => Err(FlowsError::invalid(
            "aliasIdentifier",
            format!("the alias ARN names the flow {flow}, not {id}"),
        )),
        _ => Ok(()),
    }
}

fn check_content(content: &FlowContent) -> Result<(), FlowsError> {
    if !crate::prompt::is_name(&content.name) {
        return Err(FlowsError::invalid("name", crate::prompt::NAME_PATTERN));
    }
    check_description(content.description.as_deref(), "description")?;
    let role = &content.execution_role_arn;
    let role_ok = role.len() <= 2048
        && role.starts_with("arn:aws")
        && role
            .split_once(":iam::")
            .and_then(|(_, rest)| rest.split_once(":role/"))
            .is_some_and(|(account, name)| {
                (account.is_empty()
                    || (account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit())))
                    && !name.is_empty()
            });
    if !role_ok {
        return Err(FlowsError::invalid(
            "executionRoleArn",
            "Member must satisfy regular expression pattern: arn:aws(-[^:]+)?:iam::([0-9]{12})?:role/(service-role/)?.+",
        ));
    }
    if let Some(definition) = &content.definition {
        validate::check_shape(definition, "definition")?;
    }
    Ok(())
}

fn check_alias(
    name: &str,
    description: Option<&str>,
    routing: &[RoutingEntry],
    concurrency: Option<&ConcurrencyConfiguration>,
) -> Result<(), FlowsError> {
    if !crate::prompt::is_name(name) {
        return Err(FlowsError::invalid("name", crate::prompt::NAME_PATTERN));
    }
    check_description(description, "description")?;
    if routing.len() != 1 {
        return Err(FlowsError::invalid(
            "routingConfiguration",
            "Member must have length between 1 and 1",
        ));
    }
    if let Some(concurrency) = concurrency {
        match (concurrency.kind, concurrency.max_concurrency) {
            (ConcurrencyType::Manual, None) => {
                return Err(FlowsError::invalid(
                    "concurrencyConfiguration.maxConcurrency",
                    "a Manual concurrency configuration sets maxConcurrency",
                ));
            }
            (_, Some(n)) if !(1..=100).contains(&n) => {
                return Err(FlowsError::invalid(
                    "concurrencyConfiguration.maxConcurrency",
                    "Member must have value between 1 and 100",
                ));
            }
            _ => {}
        }
    }
    Ok(())
}

/// `[a-z0-9][.\-a-z0-9]{1,61}[a-z0-9]`.
fn valid_bucket(name: &str) -> bool {
    (3..=63).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-')
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name.ends_with(|c: char| c.is_ascii_alphanumeric())
}

//! The prompt-management service: drafts, immutable versions, and rendering a prompt for a
//! model call.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use mantle_store::{ArnScope, Store, Table};

use super::config::PromptVariant;
use super::input::{
    CreatePromptInput, CreatePromptVersionInput, IncludedData, ListPromptsInput, UpdatePromptInput,
};
use super::output::{DeletedPrompt, Prompt, PromptPage, PromptSummary};
use super::record::{PromptContent, PromptRecord, PromptVersionRecord, version_key};
use super::template::{self, NAME_PATTERN, RenderedPrompt, is_name};
use crate::token::{self, Claim, ClientTokenRecord};
use crate::{FlowsError, PromptId, PromptIdentifier, Version, page};

/// Prompt management. Cheap to clone; clones share the store.
///
/// ```no_run
/// # fn example(prompts: mantle_flows::Prompts) -> Result<(), mantle_flows::FlowsError> {
/// use mantle_flows::PromptIdentifier;
/// let prompt = PromptIdentifier::from_arn("arn:aws:bedrock:us-east-1:123456789012:prompt/PR12345678:1")
///     .expect("a prompt ARN");
/// let values = [("genre".to_owned(), "pop".to_owned())].into();
/// let rendered = prompts.render(&prompt, &values, "promptVariables")?;
/// println!("runs on {:?}: {:?}", rendered.model_id, rendered.messages);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Prompts {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    store: Store,
    drafts: Table<PromptRecord>,
    versions: Table<PromptVersionRecord>,
    tokens: Table<ClientTokenRecord>,
    scope: ArnScope,
}

/// Bedrock's page of prompt summaries holds at most ten.
const MAX_PAGE: u32 = 10;

impl Prompts {
    /// Opens the service over `store`, dropping versions a crash left behind their deleted
    /// prompt.
    pub fn open(store: Store, scope: ArnScope) -> Result<Self, FlowsError> {
        let inner = Inner {
            drafts: store.table()?,
            versions: store.table()?,
            tokens: store.table()?,
            store,
            scope,
        };
        let mut orphans = 0;
        for (key, version) in inner.versions.all()? {
            if inner.drafts.get(&version.id)?.is_none() {
                inner.versions.delete(&key)?;
                orphans += 1;
            }
        }
        if orphans > 0 {
            inner.store.flush()?;
            tracing::info!(orphans, "dropped versions of deleted prompts");
        }
        Ok(Self {
            inner: Arc::new(inner),
        })
    }

    /// `arn:aws:bedrock:{region}:{account}:prompt/{id}`, with `:{n}` for a version.
    pub fn arn(&self, id: &str, version: Version) -> String {
        let base = self.inner.scope.arn("prompt", id);
        match version {
            Version::Draft => base,
            Version::Number(n) => format!("{base}:{n}"),
        }
    }

    /// CreatePrompt.
    pub fn create(&self, input: CreatePromptInput) -> Result<Prompt, FlowsError> {
        let inner = &self.inner;
        // A request that is wrong claims no token: the corrected retry may use it.
        let content = PromptContent {
            name: input.name.clone(),
            description: input.description.clone(),
            customer_encryption_key_arn: input.customer_encryption_key_arn.clone(),
            default_variant: input.default_variant.clone(),
            variants: input.variants.clone(),
        };
        check_content(&content)?;
        check_tags(input.tags.as_ref())?;
        let claim = token::claim(
            &inner.tokens,
            "CreatePrompt",
            input.client_token.as_deref(),
            &input,
            || PromptId::new().to_string(),
        )?;
        let id = match claim {
            Claim::Replay(id) => {
                if let Some(record) = inner.drafts.get(&id)? {
                    return Ok(self.draft(&record, IncludedData::AllData));
                }
                id
            }
            Claim::New(id) => id,
        };
        self.check_name_free(&content.name, None)?;
        let now = mantle_store::now_rfc3339();
        let record = PromptRecord {
            id: id.clone(),
            content,
            tags: input.tags.unwrap_or_default(),
            created_at: now.clone(),
            updated_at: now,
            next_version: 1,
        };
        if !inner.drafts.insert_new(&id, &record)? {
            // A concurrent retry with the same token wrote it first.
            if let Some(record) = inner.drafts.get(&id)? {
                return Ok(self.draft(&record, IncludedData::AllData));
            }
        }
        inner.store.flush()?;
        tracing::info!(prompt = %id, "prompt created");
        Ok(self.draft(&record, IncludedData::AllData))
    }

    /// GetPrompt: the draft, or the version `version` (or the identifier's ARN) names.
    pub fn get(
        &self,
        identifier: &PromptIdentifier,
        version: Option<Version>,
        included: IncludedData,
    ) -> Result<Prompt, FlowsError> {
        match pick_version(identifier, version)? {
            Version::Draft => Ok(self.draft(&self.find(&identifier.id)?, included)),
            Version::Number(n) => {
                Ok(self.version(&self.find_version(&identifier.id, n)?, included))
            }
        }
    }

    /// ListPrompts: the draft of every prompt, or of one prompt its draft and then its versions.
    pub fn list(&self, input: &ListPromptsInput) -> Result<PromptPage, FlowsError> {
        let summaries: Vec<PromptSummary> = match &input.prompt_identifier {
            None => self
                .inner
                .drafts
                .all()?
                .into_iter()
                .map(|(_, r)| self.draft_summary(&r))
                .collect(),
            Some(identifier) => {
                let draft = self.find(&identifier.id)?;
                let versions = self.inner.versions.scan_prefix(&format!("{}/", draft.id))?;
                std::iter::once(self.draft_summary(&draft))
                    .chain(versions.into_iter().map(|(_, v)| PromptSummary {
                        name: v.content.name.clone(),
                        description: v.content.description.clone(),
                        arn: self.arn(&v.id, Version::Number(v.version)),
                        id: PromptId::stored(&v.id),
                        version: Version::Number(v.version),
                        created_at: v.created_at.clone(),
                        updated_at: v.created_at,
                    }))
                    .collect()
            }
        };
        let (prompt_summaries, next_token) = page(
            summaries,
            input.max_results,
            MAX_PAGE,
            input.next_token.as_deref(),
        )?;
        Ok(PromptPage {
            prompt_summaries,
            next_token,
        })
    }

    /// UpdatePrompt: replaces the draft's content. Versions are immutable.
    pub fn update(
        &self,
        identifier: &PromptIdentifier,
        input: UpdatePromptInput,
    ) -> Result<Prompt, FlowsError> {
        if identifier.version.is_some() {
            return Err(FlowsError::invalid(
                "promptIdentifier",
                "a prompt version cannot be changed; update the prompt's draft",
            ));
        }
        let content = PromptContent {
            name: input.name,
            description: input.description,
            customer_encryption_key_arn: input.customer_encryption_key_arn,
            default_variant: input.default_variant,
            variants: input.variants,
        };
        check_content(&content)?;
        self.check_name_free(&content.name, Some(&identifier.id))?;
        let updated = self
            .inner
            .drafts
            .update::<FlowsError>(identifier.id.as_str(), |record| {
                let mut record = record.ok_or_else(|| not_found(&identifier.id))?;
                record.content = content.clone();
                record.updated_at = mantle_store::now_rfc3339();
                Ok(Some(record))
            })?
            .ok_or_else(|| not_found(&identifier.id))?;
        self.inner.store.flush()?;
        Ok(self.draft(&updated, IncludedData::AllData))
    }

    /// DeletePrompt: one version, or the prompt with all its versions.
    pub fn delete(
        &self,
        identifier: &PromptIdentifier,
        version: Option<Version>,
    ) -> Result<DeletedPrompt, FlowsError> {
        let inner = &self.inner;
        let id = &identifier.id;
        match pick_version(identifier, version)? {
            Version::Number(n) => {
                self.find_version(id, n)?;
                inner.versions.delete(&version_key(id.as_str(), n))?;
                inner.store.flush()?;
                Ok(DeletedPrompt {
                    id: id.clone(),
                    version: Some(n.to_string()),
                })
            }
            Version::Draft if version == Some(Version::Draft) => Err(FlowsError::invalid(
                "promptVersion",
                "the draft is deleted with its prompt: leave promptVersion out",
            )),
            Version::Draft => {
                // The draft goes first, so the prompt is gone for readers at once; versions a
                // crash leaves behind are dropped when the service next opens.
                inner
                    .drafts
                    .delete(id.as_str())?
                    .ok_or_else(|| not_found(id))?;
                for (key, _) in inner.versions.scan_prefix(&format!("{id}/"))? {
                    inner.versions.delete(&key)?;
                }
                inner.store.flush()?;
                tracing::info!(prompt = %id, "prompt deleted");
                Ok(DeletedPrompt {
                    id: id.clone(),
                    version: None,
                })
            }
        }
    }

    /// CreatePromptVersion: an immutable snapshot of the draft, numbered after the last one.
    pub fn create_version(
        &self,
        identifier: &PromptIdentifier,
        input: CreatePromptVersionInput,
    ) -> Result<Prompt, FlowsError> {
        let inner = &self.inner;
        if identifier.version.is_some() {
            return Err(FlowsError::invalid(
                "promptIdentifier",
                "versions are made from the draft: name the prompt without a version",
            ));
        }
        check_description(input.description.as_deref(), "description")?;
        check_tags(input.tags.as_ref())?;
        let op = format!("CreatePromptVersion/{}", identifier.id);
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
        inner
            .drafts
            .update::<FlowsError>(identifier.id.as_str(), |record| {
                let mut record = record.ok_or_else(|| not_found(&identifier.id))?;
                snapshot = Some((record.next_version, record.content.clone()));
                record.next_version += 1;
                Ok(Some(record))
            })?;
        let (number, mut content) = snapshot.ok_or_else(|| not_found(&identifier.id))?;
        if input.description.is_some() {
            content.description = input.description;
        }
        let record = PromptVersionRecord {
            id: identifier.id.to_string(),
            version: number,
            content,
            tags: input.tags.unwrap_or_default(),
            created_at: mantle_store::now_rfc3339(),
        };
        let key = version_key(identifier.id.as_str(), number);
        inner.versions.put(&key, &record)?;
        token::settle(
            &inner.tokens,
            &op,
            &claim,
            input.client_token.as_deref(),
            &key,
        )?;
        inner.store.flush()?;
        tracing::info!(prompt = %identifier.id, version = number, "prompt version created");
        Ok(self.version(&record, IncludedData::AllData))
    }

    /// The variant a prompt runs: its default variant, or its only one.
    pub fn variant(
        &self,
        identifier: &PromptIdentifier,
        version: Option<Version>,
    ) -> Result<PromptVariant, FlowsError> {
        let content = match pick_version(identifier, version)? {
            Version::Draft => self.find(&identifier.id)?.content,
            Version::Number(n) => self.find_version(&identifier.id, n)?.content,
        };
        let chosen = match &content.default_variant {
            Some(name) => content.variants.iter().find(|v| &v.name == name),
            None => content.variants.first(),
        };
        chosen.cloned().ok_or_else(|| {
            FlowsError::invalid(
                "promptIdentifier",
                format!("the prompt {} has no variant to run", identifier.id),
            )
        })
    }

    /// Renders the prompt an identifier names (its ARN's version, else the draft) with
    /// `values`, which must give exactly its variables; errors about them name `field`.
    pub fn render(
        &self,
        identifier: &PromptIdentifier,
        values: &BTreeMap<String, String>,
        field: &str,
    ) -> Result<RenderedPrompt, FlowsError> {
        template::render(&self.variant(identifier, None)?, values, field)
    }

    fn find(&self, id: &PromptId) -> Result<PromptRecord, FlowsError> {
        self.inner
            .drafts
            .get(id.as_str())?
            .ok_or_else(|| not_found(id))
    }

    fn find_version(&self, id: &PromptId, n: u32) -> Result<PromptVersionRecord, FlowsError> {
        self.inner
            .versions
            .get(&version_key(id.as_str(), n))?
            .ok_or_else(|| {
                FlowsError::NotFound(format!("Version {n} of prompt {id} does not exist."))
            })
    }

    fn check_name_free(&self, name: &str, except: Option<&PromptId>) -> Result<(), FlowsError> {
        let taken = self
            .inner
            .drafts
            .all()?
            .into_iter()
            .any(|(_, r)| r.content.name == name && except.is_none_or(|e| e.as_str() != r.id));
        if taken {
            return Err(FlowsError::Conflict(format!(
                "A prompt named {name} already exists."
            )));
        }
        Ok(())
    }

    fn draft(&self, record: &PromptRecord, included: IncludedData) -> Prompt {
        prompt(
            &record.content,
            PromptId::stored(&record.id),
            self.arn(&record.id, Version::Draft),
            Version::Draft,
            &record.created_at,
            &record.updated_at,
            included,
        )
    }

    fn version(&self, record: &PromptVersionRecord, included: IncludedData) -> Prompt {
        let version = Version::Number(record.version);
        prompt(
            &record.content,
            PromptId::stored(&record.id),
            self.arn(&record.id, version),
            version,
            &record.created_at,
            &record.created_at,
            included,
        )
    }

    fn draft_summary(&self, record: &PromptRecord) -> PromptSummary {
        PromptSummary {
            name: record.content.name.clone(),
            description: record.content.description.clone(),
            id: PromptId::stored(&record.id),
            arn: self.arn(&record.id, Version::Draft),
            version: Version::Draft,
            created_at: record.created_at.clone(),
            updated_at: record.updated_at.clone(),
        }
    }
}

fn prompt(
    content: &PromptContent,
    id: PromptId,
    arn: String,
    version: Version,
    created_at: &str,
    updated_at: &str,
    included: IncludedData,
) -> Prompt {
    Prompt {
        name: content.name.clone(),
        description: content.description.clone(),
        customer_encryption_key_arn: content.customer_encryption_key_arn.clone(),
        default_variant: content.default_variant.clone(),
        variants: (included == IncludedData::AllData).then(|| content.variants.clone()),
        id,
        arn,
        version,
        created_at: created_at.to_owned(),
        updated_at: updated_at.to_owned(),
    }
}

fn not_found(id: &PromptId) -> FlowsError {
    FlowsError::NotFound(format!("Prompt {id} does not exist."))
}

/// The version a call means: `promptVersion` and an ARN's `:{n}` must agree when both are given.
fn pick_version(
    identifier: &PromptIdentifier,
    asked: Option<Version>,
) -> Result<Version, FlowsError> {
    match (identifier.version, asked) {
        (Some(in_arn), Some(asked)) if in_arn != asked => Err(FlowsError::invalid(
            "promptVersion",
            format!("the identifier names version {in_arn}, the request version {asked}"),
        )),
        (Some(version), _) | (None, Some(version)) => Ok(version),
        (None, None) => Ok(Version::Draft),
    }
}

/// bedrock-agent's descriptions: 1 to 200 characters when given.
pub(crate) fn check_description(description: Option<&str>, field: &str) -> Result<(), FlowsError> {
    match description {
        Some(d) if d.is_empty() || d.chars().count() > 200 => Err(FlowsError::invalid(
            field,
            "Member must have length between 1 and 200",
        )),
        _ => Ok(()),
    }
}

pub(crate) fn check_tags(tags: Option<&super::input::Tags>) -> Result<(), FlowsError> {
    let Some(tags) = tags else { return Ok(()) };
    for (key, value) in tags {
        if !(1..=128).contains(&key.chars().count()) {
            return Err(FlowsError::invalid(
                format!("tags.{key}"),
                "a tag key must have length between 1 and 128",
            ));
        }
        if value.chars().count() > 256 {
            return Err(FlowsError::invalid(
                format!("tags.{key}"),
                "a tag value must have length less than or equal to 256",
            ));
        }
    }
    Ok(())
}

fn check_content(content: &PromptContent) -> Result<(), FlowsError> {
    if !is_name(&content.name) {
        return Err(FlowsError::invalid("name", NAME_PATTERN));
    }
    check_description(content.description.as_deref(), "description")?;
    if content.variants.len() > 1 {
        return Err(FlowsError::invalid(
            "variants",
            "Member must have length less than or equal to 1",
        ));
    }
    let mut names = BTreeSet::new();
    for (i, variant) in content.variants.iter().enumerate() {
        template::check_variant(variant, &format!("variants.{i}"), true)?;
        names.insert(variant.name.as_str());
    }
    if let Some(default) = &content.default_variant {
        if !is_name(default) {
            return Err(FlowsError::invalid("defaultVariant", NAME_PATTERN));
        }
        if !names.contains(default.as_str()) {
            return Err(FlowsError::invalid(
                "defaultVariant",
                format!("no variant is named {default}"),
            ));
        }
    }
    Ok(())
}

//! Guardrails on Retrieve and RetrieveAndGenerate: the query is checked as input before
//! anything is searched, and a generated answer as output — with the retrieved chunks as its
//! grounding source and the question as its query, so contextual-grounding policies judge the
//! answer against what it was built from.

use mantle_guardrails::apply::{ContentBlock, TextContent, TextQualifier};
use mantle_guardrails::{ApplyInput, ContentSource, GuardrailId, GuardrailVersion, Verdict};
use serde::Serialize;

use crate::KnowledgeError;
use crate::retrieve::GuardrailReference;
use crate::service::Knowledge;

/// `guardrailAction` in Retrieve's and RetrieveAndGenerate's answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum GuardrailAction {
    Intervened,
    None,
}

impl GuardrailAction {
    pub(crate) fn of(verdict: &Verdict) -> Self {
        match verdict {
            Verdict::Pass => Self::None,
            Verdict::Masked(_) | Verdict::Blocked(_) => Self::Intervened,
        }
    }
}

/// A checked guardrail reference.
#[derive(Debug, Clone)]
pub(crate) struct Guard {
    id: GuardrailId,
    version: GuardrailVersion,
}

impl Guard {
    /// Parses `reference`, naming its fields under `field` (`guardrailConfiguration`).
    pub(crate) fn parse(
        reference: &GuardrailReference,
        field: &str,
    ) -> Result<Self, KnowledgeError> {
        let id = reference.guardrail_id.parse().map_err(|_| {
            KnowledgeError::invalid(
                format!("{field}.guardrailId"),
                "Member must satisfy regular expression pattern: (([a-z0-9]+)|(arn:aws(-[^:]+)?:bedrock:[a-z0-9-]{1,20}:[0-9]{12}:guardrail/[a-z0-9]+))",
            )
        })?;
        let version = reference.guardrail_version.parse().map_err(|_| {
            KnowledgeError::invalid(
                format!("{field}.guardrailVersion"),
                "Member must satisfy regular expression pattern: (([1-9][0-9]{0,7})|(DRAFT))",
            )
        })?;
        Ok(Self { id, version })
    }
}

impl Knowledge {
    /// The guardrail's verdict on a user's query.
    pub(crate) async fn guard_input(
        &self,
        guard: &Guard,
        text: &str,
    ) -> Result<Verdict, KnowledgeError> {
        self.verdict(
            guard,
            &ApplyInput::texts(ContentSource::Input, [text.to_owned()]),
        )
        .await
    }

    /// The guardrail's verdict on a generated answer, grounded in `sources`.
    pub(crate) async fn guard_output(
        &self,
        guard: &Guard,
        answer: &str,
        question: &str,
        sources: &[String],
    ) -> Result<Verdict, KnowledgeError> {
        let qualified = |text: &str, qualifier| {
            ContentBlock::Text(TextContent {
                text: text.to_owned(),
                qualifiers: vec![qualifier],
            })
        };
        let mut content = vec![ContentBlock::Text(TextContent {
            text: answer.to_owned(),
            qualifiers: Vec::new(),
        })];
        if !sources.is_empty() {
            content.push(qualified(
                &sources.join("\n\n"),
                TextQualifier::GroundingSource,
            ));
        }
        content.push(qualified(question, TextQualifier::Query));
        let input = ApplyInput {
            source: ContentSource::Output,
            content,
            output_scope: None,
        };
        self.verdict(guard, &input).await
    }

    async fn verdict(&self, guard: &Guard, input: &ApplyInput) -> Result<Verdict, KnowledgeError> {
        let outcome = self
            .inner
            .guardrails
            .apply(&guard.id, guard.version, input)
            .await?;
        Ok(outcome.verdict)
    }
}

//! ApplyGuardrail: run every policy plugin over the original texts, merge their findings, and
//! answer with a typed [`ApplyOutcome`] (which serializes as Bedrock's ApplyGuardrail response).
//!
//! Each policy sees the texts as the client sent them. Any finding whose action is `block`
//! blocks; `anonymize` findings from every policy merge into one rewrite per block (the
//! earliest, then longest, span wins where two overlap).

use std::time::Instant;

use mantle_plugins::plugin::guardrail_api::{
    Action, AssessRequest, Finding, PolicyKind, Qualifier, Source, TextBlock,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::GuardrailError;

/// The most text one ApplyGuardrail call may carry, summed over its blocks.
pub const MAX_TEXT_BYTES: usize = 256 * 1024;

/// ApplyGuardrail's request body.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ApplyInput {
    pub source: ContentSource,
    pub content: Vec<ContentBlock>,
    #[serde(default)]
    pub output_scope: Option<OutputScope>,
}

impl ApplyInput {
    /// Texts to check, each a plain guarded block: what a Converse call's guardrail assesses.
    pub fn texts(source: ContentSource, texts: impl IntoIterator<Item = String>) -> Self {
        Self {
            source,
            content: texts
                .into_iter()
                .map(|text| {
                    ContentBlock::Text(TextContent {
                        text,
                        qualifiers: Vec::new(),
                    })
                })
                .collect(),
            output_scope: None,
        }
    }
}

/// Whether the texts are a user's input or a model's output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ContentSource {
    Input,
    Output,
}

/// Which findings the assessment lists: only those that acted (the default), or all.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum OutputScope {
    Interventions,
    Full,
}

/// A content block: a union with exactly one member.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ContentBlock {
    Text(TextContent),
    /// Free JSON on the wire; refused, as no policy here reads images.
    Image(Value),
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TextContent {
    pub text: String,
    #[serde(default)]
    pub qualifiers: Vec<TextQualifier>,
}

/// What a text block is to the policies: grounding sources and queries are read, not guarded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TextQualifier {
    GroundingSource,
    Query,
    GuardContent,
}

/// One policy to run: which plugin, with which configuration, and what it is billed as.
#[derive(Debug, Clone)]
pub(crate) struct PolicyCall {
    pub(crate) plugin: String,
    pub(crate) config: String,
    pub(crate) usage: UsageKind,
}

/// The usage counter a policy's units go to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum UsageKind {
    Word,
    SensitiveInformation,
    SensitiveInformationFree,
    Topic,
    Content,
    ContextualGrounding,
    /// Team plugins are not a Bedrock policy and are not billed in Bedrock's usage.
    Custom,
}

impl ApplyInput {
    /// Checks the request and turns it into what policy plugins receive.
    pub(crate) fn to_assess_request(&self) -> Result<AssessRequest, GuardrailError> {
        if self.content.is_empty() {
            return Err(GuardrailError::invalid(
                "content",
                "Member must have length greater than or equal to 1",
            ));
        }
        let mut total = 0usize;
        let mut blocks = Vec::with_capacity(self.content.len());
        for (index, block) in self.content.iter().enumerate() {
            let ContentBlock::Text(text) = block else {
                return Err(GuardrailError::invalid(
                    format!("content.{index}.image"),
                    "image content is not supported by this server's guardrail policies",
                ));
            };
            total += text.text.len();
            blocks.push(TextBlock {
                text: text.text.clone(),
                qualifiers: text
                    .qualifiers
                    .iter()
                    .map(|q| match q {
                        TextQualifier::GroundingSource => Qualifier::GroundingSource,
                        TextQualifier::Query => Qualifier::Query,
                        TextQualifier::GuardContent => Qualifier::GuardContent,
                    })
                    .collect(),
            });
        }
        if total > MAX_TEXT_BYTES {
            return Err(GuardrailError::invalid(
                "content",
                format!("the texts total {total} bytes, more than the {MAX_TEXT_BYTES} allowed"),
            ));
        }
        Ok(AssessRequest {
            source: match self.source {
                ContentSource::Input => Source::Input,
                ContentSource::Output => Source::Output,
            },
            content: blocks,
            config: String::new(),
        })
    }
}

/// The findings of one policy call.
#[derive(Debug)]
pub(crate) struct PolicyFindings {
    /// The plugin that reported them, for errors.
    pub(crate) plugin: String,
    pub(crate) usage: UsageKind,
    pub(crate) findings: Vec<Finding>,
}

/// What the guardrail decided about the texts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Nothing to act on: the texts go through as they are.
    Pass,
    /// Findings were masked in place: one rewritten text per guarded block.
    Masked(Vec<String>),
    /// A policy blocked the texts: the guardrail's blocked message replaces them.
    Blocked(String),
}

impl Verdict {
    /// Bedrock's `actionReason` for it.
    pub fn reason(&self) -> Option<&'static str> {
        match self {
            Self::Pass => None,
            Self::Masked(_) => Some("Guardrail masked."),
            Self::Blocked(_) => Some("Guardrail blocked."),
        }
    }

    /// Bedrock's `action`: `NONE` or `GUARDRAIL_INTERVENED`.
    pub fn action(&self) -> &'static str {
        match self {
            Self::Pass => "NONE",
            Self::Masked(_) | Self::Blocked(_) => "GUARDRAIL_INTERVENED",
        }
    }

    /// The texts a client receives in place of its content (none when nothing changed).
    pub fn outputs(&self) -> &[String] {
        match self {
            Self::Pass => &[],
            Self::Masked(texts) => texts,
            Self::Blocked(message) => std::slice::from_ref(message),
        }
    }
}

/// ApplyGuardrail's result: the verdict and the one assessment that explains it. Serializes as
/// Bedrock's ApplyGuardrail response (`action`, `actionReason`, `outputs`, `assessments`,
/// `usage`, `guardrailCoverage`).
#[derive(Debug, Clone, PartialEq)]
pub struct ApplyOutcome {
    pub verdict: Verdict,
    pub assessment: GuardrailAssessment,
}

impl ApplyOutcome {
    pub fn usage(&self) -> &GuardrailUsage {
        &self.assessment.invocation_metrics.usage
    }

    pub fn coverage(&self) -> &GuardrailCoverage {
        &self.assessment.invocation_metrics.guardrail_coverage
    }
}

impl Serialize for ApplyOutcome {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Output<'a> {
            text: &'a str,
        }
        #[derive(Serialize)]
        #[serde(rename_all = "camelCase")]
        struct Wire<'a> {
            usage: &'a GuardrailUsage,
            action: &'static str,
            #[serde(skip_serializing_if = "Option::is_none")]
            action_reason: Option<&'static str>,
            outputs: Vec<Output<'a>>,
            assessments: [&'a GuardrailAssessment; 1],
            guardrail_coverage: &'a GuardrailCoverage,
        }
        Wire {
            usage: self.usage(),
            action: self.verdict.action(),
            action_reason: self.verdict.reason(),
            outputs: self
                .verdict
                .outputs()
                .iter()
                .map(|text| Output { text })
                .collect(),
            assessments: [&self.assessment],
            guardrail_coverage: self.coverage(),
        }
        .serialize(serializer)
    }
}

/// What one policy finding did, as an assessment reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PolicyAction {
    None,
    Anonymized,
    Blocked,
}

/// Every policy's findings for one check. A section is present only when it has entries.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GuardrailAssessment {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub topic_policy: Option<TopicPolicyAssessment>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content_policy: Option<ContentPolicyAssessment>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub word_policy: Option<WordPolicyAssessment>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sensitive_information_policy: Option<SensitiveInformationPolicyAssessment>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contextual_grounding_policy: Option<ContextualGroundingPolicyAssessment>,
    pub invocation_metrics: InvocationMetrics,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WordPolicyAssessment {
    pub custom_words: Vec<CustomWordMatch>,
    pub managed_word_lists: Vec<ManagedWordMatch>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CustomWordMatch {
    #[serde(rename = "match")]
    pub matched: String,
    pub action: PolicyAction,
    pub detected: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ManagedWordMatch {
    #[serde(rename = "match")]
    pub matched: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub action: PolicyAction,
    pub detected: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SensitiveInformationPolicyAssessment {
    pub pii_entities: Vec<PiiEntityMatch>,
    pub regexes: Vec<RegexMatch>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PiiEntityMatch {
    #[serde(rename = "match")]
    pub matched: String,
    /// A Bedrock PII type, or whatever type a team's plugin reports.
    #[serde(rename = "type")]
    pub kind: String,
    pub action: PolicyAction,
    pub detected: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RegexMatch {
    pub name: String,
    #[serde(rename = "match")]
    pub matched: String,
    pub regex: String,
    pub action: PolicyAction,
    pub detected: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TopicPolicyAssessment {
    pub topics: Vec<TopicMatch>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TopicMatch {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: crate::config::TopicType,
    pub action: PolicyAction,
    pub detected: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ContentPolicyAssessment {
    pub filters: Vec<ContentFilterMatch>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ContentFilterMatch {
    #[serde(rename = "type")]
    pub kind: String,
    pub confidence: String,
    pub filter_strength: String,
    pub action: PolicyAction,
    pub detected: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ContextualGroundingPolicyAssessment {
    pub filters: Vec<GroundingFilterMatch>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GroundingFilterMatch {
    #[serde(rename = "type")]
    pub kind: String,
    pub threshold: f64,
    pub score: f64,
    pub action: PolicyAction,
    pub detected: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InvocationMetrics {
    /// Milliseconds.
    pub guardrail_processing_latency: u64,
    pub usage: GuardrailUsage,
    pub guardrail_coverage: GuardrailCoverage,
}

/// Policy units billed for one check (a unit is up to 1000 characters of one guarded block).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GuardrailUsage {
    pub topic_policy_units: u64,
    pub content_policy_units: u64,
    pub word_policy_units: u64,
    pub sensitive_information_policy_units: u64,
    pub sensitive_information_policy_free_units: u64,
    pub contextual_grounding_policy_units: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GuardrailCoverage {
    pub text_characters: TextCharacters,
}

/// Characters guarded (not grounding sources or queries) out of all those sent.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct TextCharacters {
    pub guarded: u64,
    pub total: u64,
}

/// Builds ApplyGuardrail's outcome from every policy's findings.
pub(crate) fn respond(
    request: &AssessRequest,
    results: &[PolicyFindings],
    scope: OutputScope,
    blocked_message: &str,
    started: Instant,
) -> Result<ApplyOutcome, GuardrailError> {
    for result in results {
        for finding in &result.findings {
            check_span(request, &result.plugin, finding)?;
        }
    }
    let findings: Vec<&Finding> = results.iter().flat_map(|r| &r.findings).collect();
    let blocked = findings.iter().any(|f| blocks(f));
    let anonymized = findings
        .iter()
        .any(|f| f.action == Action::Anonymize && !blocks(f));

    let verdict = if blocked {
        Verdict::Blocked(blocked_message.to_owned())
    } else if anonymized {
        Verdict::Masked(
            request
                .content
                .iter()
                .enumerate()
                .filter(|(_, block)| is_guarded(block))
                .map(|(index, block)| rewrite(&block.text, index as u32, &findings))
                .collect(),
        )
    } else {
        Verdict::Pass
    };

    fn chars(block: &TextBlock) -> u64 {
        block.text.chars().count() as u64
    }
    let guarded: Vec<&TextBlock> = request.content.iter().filter(|b| is_guarded(b)).collect();
    let units: u64 = guarded.iter().map(|b| chars(b).div_ceil(1000).max(1)).sum();
    let units_for = |kind: UsageKind| {
        if results.iter().any(|r| r.usage == kind) {
            units
        } else {
            0
        }
    };
    let usage = GuardrailUsage {
        word_policy_units: units_for(UsageKind::Word),
        sensitive_information_policy_units: units_for(UsageKind::SensitiveInformation),
        sensitive_information_policy_free_units: units_for(UsageKind::SensitiveInformationFree),
        topic_policy_units: units_for(UsageKind::Topic),
        content_policy_units: units_for(UsageKind::Content),
        contextual_grounding_policy_units: units_for(UsageKind::ContextualGrounding),
    };
    let coverage = GuardrailCoverage {
        text_characters: TextCharacters {
            guarded: guarded.iter().copied().map(chars).sum(),
            total: request.content.iter().map(chars).sum(),
        },
    };
    let metrics = InvocationMetrics {
        guardrail_processing_latency: started.elapsed().as_millis() as u64,
        usage,
        guardrail_coverage: coverage,
    };
    Ok(ApplyOutcome {
        verdict,
        assessment: assess(&findings, scope, metrics),
    })
}

fn is_guarded(block: &TextBlock) -> bool {
    !block
        .qualifiers
        .iter()
        .any(|q| matches!(q, Qualifier::GroundingSource | Qualifier::Query))
}

/// Word, topic, content and grounding sections know only BLOCKED and NONE: an anonymize there
/// is treated as a block, so a policy can never leak what it asked to hide.
fn blocks(finding: &Finding) -> bool {
    match finding.action {
        Action::Block => true,
        Action::Anonymize => finding.policy != PolicyKind::SensitiveInformation,
        Action::None => false,
    }
}

fn check_span(
    request: &AssessRequest,
    plugin: &str,
    finding: &Finding,
) -> Result<(), GuardrailError> {
    let valid = request
        .content
        .get(finding.block as usize)
        .is_some_and(|block| {
            let (start, end) = (finding.span.start as usize, finding.span.end as usize);
            start <= end
                && end <= block.text.len()
                && block.text.is_char_boundary(start)
                && block.text.is_char_boundary(end)
        });
    if valid {
        Ok(())
    } else {
        Err(GuardrailError::PolicyFailed {
            plugin: plugin.to_owned(),
            message: format!(
                "it reported a finding ({}) outside its text block {}",
                finding.type_, finding.block
            ),
        })
    }
}

fn replacement(finding: &Finding) -> String {
    match (&finding.replacement, &finding.name) {
        (Some(replacement), _) => replacement.clone(),
        (None, Some(name)) if finding.type_ == "REGEX" => format!("{{{name}}}"),
        _ => format!("{{{}}}", finding.type_),
    }
}

/// `text` with every anonymizing finding of block `index` replaced.
fn rewrite(text: &str, index: u32, findings: &[&Finding]) -> String {
    let mut spans: Vec<&Finding> = findings
        .iter()
        .copied()
        .filter(|f| f.block == index && f.action == Action::Anonymize)
        .collect();
    spans.sort_by_key(|f| (f.span.start, std::cmp::Reverse(f.span.end)));
    let mut out = String::with_capacity(text.len());
    let mut at = 0usize;
    for finding in spans {
        let (start, end) = (finding.span.start as usize, finding.span.end as usize);
        if start < at {
            continue;
        }
        out.push_str(&text[at..start]);
        out.push_str(&replacement(finding));
        at = end;
    }
    out.push_str(&text[at..]);
    out
}

fn policy_action(finding: &Finding) -> PolicyAction {
    match finding.action {
        Action::None => PolicyAction::None,
        Action::Anonymize if finding.policy == PolicyKind::SensitiveInformation => {
            PolicyAction::Anonymized
        }
        Action::Anonymize | Action::Block => PolicyAction::Blocked,
    }
}

fn attribute<'a>(finding: &'a Finding, key: &str) -> Option<&'a str> {
    finding
        .attributes
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

/// The assessment: each policy section holds its findings (only those that acted, unless the
/// scope is `FULL`).
fn assess(
    findings: &[&Finding],
    scope: OutputScope,
    invocation_metrics: InvocationMetrics,
) -> GuardrailAssessment {
    let mut custom_words = Vec::new();
    let mut managed_words = Vec::new();
    let mut pii = Vec::new();
    let mut regexes = Vec::new();
    let mut topics = Vec::new();
    let mut content = Vec::new();
    let mut grounding = Vec::new();
    for finding in findings {
        if scope == OutputScope::Interventions && finding.action == Action::None {
            continue;
        }
        let action = policy_action(finding);
        let matched = finding.matched.clone();
        let kind = finding.type_.clone();
        match finding.policy {
            PolicyKind::Word if finding.type_ == "CUSTOM" => custom_words.push(CustomWordMatch {
                matched,
                action,
                detected: true,
            }),
            PolicyKind::Word => managed_words.push(ManagedWordMatch {
                matched,
                kind,
                action,
                detected: true,
            }),
            PolicyKind::SensitiveInformation => match &finding.name {
                Some(name) => regexes.push(RegexMatch {
                    name: name.clone(),
                    matched,
                    regex: attribute(finding, "regex").unwrap_or_default().to_owned(),
                    action,
                    detected: true,
                }),
                None => pii.push(PiiEntityMatch {
                    matched,
                    kind,
                    action,
                    detected: true,
                }),
            },
            PolicyKind::Topic => topics.push(TopicMatch {
                name: finding.name.clone().unwrap_or(kind),
                kind: crate::config::TopicType::Deny,
                action,
                detected: true,
            }),
            PolicyKind::Content => content.push(ContentFilterMatch {
                kind,
                confidence: attribute(finding, "confidence")
                    .unwrap_or("HIGH")
                    .to_owned(),
                filter_strength: attribute(finding, "filterStrength")
                    .unwrap_or("HIGH")
                    .to_owned(),
                action,
                detected: true,
            }),
            PolicyKind::ContextualGrounding => grounding.push(GroundingFilterMatch {
                kind,
                threshold: finding.threshold.unwrap_or_default(),
                score: finding.score.unwrap_or_default(),
                action,
                // A grounding filter is listed whatever its score; it detected a problem only
                // when the score fell below its threshold.
                detected: finding.score.unwrap_or_default() < finding.threshold.unwrap_or_default(),
            }),
        }
    }
    GuardrailAssessment {
        word_policy: (!custom_words.is_empty() || !managed_words.is_empty()).then_some(
            WordPolicyAssessment {
                custom_words,
                managed_word_lists: managed_words,
            },
        ),
        sensitive_information_policy: (!pii.is_empty() || !regexes.is_empty()).then_some(
            SensitiveInformationPolicyAssessment {
                pii_entities: pii,
                regexes,
            },
        ),
        topic_policy: (!topics.is_empty()).then_some(TopicPolicyAssessment { topics }),
        content_policy: (!content.is_empty())
            .then_some(ContentPolicyAssessment { filters: content }),
        contextual_grounding_policy: (!grounding.is_empty())
            .then_some(ContextualGroundingPolicyAssessment { filters: grounding }),
        invocation_metrics,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mantle_plugins::bindings::Span;

    fn finding(block: u32, start: u32, end: u32, kind: &str, action: Action) -> Finding {
        Finding {
            policy: PolicyKind::SensitiveInformation,
            type_: kind.into(),
            name: None,
            matched: String::new(),
            block,
            span: Span { start, end },
            action,
            replacement: None,
            score: None,
            threshold: None,
            attributes: vec![],
        }
    }

    #[test]
    fn overlapping_anonymizations_merge_earliest_longest_first() {
        let a = finding(0, 0, 5, "A", Action::Anonymize);
        let b = finding(0, 2, 9, "B", Action::Anonymize);
        let c = finding(0, 10, 12, "C", Action::Anonymize);
        let d = finding(1, 0, 1, "D", Action::Anonymize);
        assert_eq!(rewrite("0123456789ab", 0, &[&b, &a, &c, &d]), "{A}56789{C}");
    }

    #[test]
    fn a_block_in_any_policy_blocks_and_hides_the_text() {
        let request = AssessRequest {
            source: Source::Input,
            content: vec![TextBlock {
                text: "secret text".into(),
                qualifiers: vec![],
            }],
            config: String::new(),
        };
        let results = [
            PolicyFindings {
                plugin: "sensitive-information".into(),
                usage: UsageKind::SensitiveInformation,
                findings: vec![finding(0, 0, 6, "PIN", Action::Anonymize)],
            },
            PolicyFindings {
                plugin: "word-filter".into(),
                usage: UsageKind::Word,
                findings: vec![Finding {
                    policy: PolicyKind::Word,
                    type_: "CUSTOM".into(),
                    ..finding(0, 7, 11, "X", Action::Block)
                }],
            },
        ];
        let outcome = respond(
            &request,
            &results,
            OutputScope::Interventions,
            "no",
            Instant::now(),
        )
        .unwrap();
        assert_eq!(outcome.verdict, Verdict::Blocked("no".into()));
        assert_eq!(outcome.usage().word_policy_units, 1);
        let assessment = &outcome.assessment;
        assert_eq!(
            assessment.word_policy.as_ref().unwrap().custom_words[0].action,
            PolicyAction::Blocked
        );
        assert_eq!(
            assessment
                .sensitive_information_policy
                .as_ref()
                .unwrap()
                .pii_entities[0]
                .action,
            PolicyAction::Anonymized
        );
        // On the wire it is Bedrock's ApplyGuardrail response.
        let wire = serde_json::to_value(&outcome).unwrap();
        assert_eq!(wire["action"], "GUARDRAIL_INTERVENED");
        assert_eq!(wire["actionReason"], "Guardrail blocked.");
        assert_eq!(wire["outputs"], serde_json::json!([{ "text": "no" }]));
        assert_eq!(wire["usage"]["wordPolicyUnits"], 1);
        assert_eq!(
            wire["assessments"][0]["wordPolicy"]["customWords"][0]["action"],
            "BLOCKED"
        );
        assert_eq!(
            wire["assessments"][0]["invocationMetrics"]["guardrailCoverage"]["textCharacters"]["guarded"],
            11
        );
    }

    #[test]
    fn a_span_outside_its_block_is_an_error_not_a_panic() {
        let request = AssessRequest {
            source: Source::Input,
            content: vec![TextBlock {
                text: "é".into(),
                qualifiers: vec![],
            }],
            config: String::new(),
        };
        for bad in [
            finding(0, 0, 9, "X", Action::Anonymize),
            finding(0, 1, 2, "X", Action::Anonymize),
            finding(3, 0, 0, "X", Action::None),
        ] {
            let results = [PolicyFindings {
                plugin: "team".into(),
                usage: UsageKind::Custom,
                findings: vec![bad],
            }];
            let error =
                respond(&request, &results, OutputScope::Full, "", Instant::now()).unwrap_err();
            assert!(
                matches!(&error, GuardrailError::PolicyFailed { plugin, .. } if plugin == "team"),
                "{error}"
            );
        }
    }
}

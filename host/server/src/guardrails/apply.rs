//! ApplyGuardrail: run every policy plugin over the original texts, merge their findings, and
//! answer in Bedrock's shape.
//!
//! Each policy sees the texts as the client sent them. Any finding whose action is `block`
//! blocks; `anonymize` findings from every policy merge into one rewrite per block (the
//! earliest, then longest, span wins where two overlap).

use std::time::Instant;

use mantle_plugins::plugin::guardrail_api::{
    Action, AssessRequest, Finding, PolicyKind, Qualifier, Source, TextBlock,
};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::error::AwsError;

/// The most text one ApplyGuardrail call may carry, summed over its blocks.
pub const MAX_TEXT_BYTES: usize = 256 * 1024;

/// ApplyGuardrail's request body.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ApplyGuardrailRequest {
    pub source: ContentSource,
    pub content: Vec<ContentBlock>,
    #[serde(default)]
    pub output_scope: Option<OutputScope>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ContentSource {
    Input,
    Output,
}

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
    Image(Value),
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TextContent {
    pub text: String,
    #[serde(default)]
    pub qualifiers: Vec<WireQualifier>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WireQualifier {
    GroundingSource,
    Query,
    GuardContent,
}

/// One policy to run: which plugin, with which configuration, and what it is billed as.
#[derive(Debug, Clone)]
pub struct PolicyCall {
    pub plugin: String,
    pub config: String,
    pub usage: UsageKind,
}

/// The usage counter a policy's units go to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UsageKind {
    Word,
    SensitiveInformation,
    SensitiveInformationFree,
    /// Team plugins are not a Bedrock policy and are not billed in Bedrock's usage.
    Custom,
}

impl ApplyGuardrailRequest {
    /// Checks the request and turns it into what policy plugins receive.
    pub fn to_assess_request(&self) -> Result<AssessRequest, AwsError> {
        if self.content.is_empty() {
            return Err(AwsError::invalid_field(
                "content",
                "Member must have length greater than or equal to 1",
            ));
        }
        let mut total = 0usize;
        let mut blocks = Vec::with_capacity(self.content.len());
        for (index, block) in self.content.iter().enumerate() {
            let ContentBlock::Text(text) = block else {
                return Err(AwsError::invalid_field(
                    &format!("content.{index}.image"),
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
                        WireQualifier::GroundingSource => Qualifier::GroundingSource,
                        WireQualifier::Query => Qualifier::Query,
                        WireQualifier::GuardContent => Qualifier::GuardContent,
                    })
                    .collect(),
            });
        }
        if total > MAX_TEXT_BYTES {
            return Err(AwsError::invalid_field(
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
pub struct PolicyFindings {
    pub usage: UsageKind,
    pub findings: Vec<Finding>,
}

/// `actionReason` when a policy blocked the content (the output is the blocked message).
pub const BLOCKED: &str = "Guardrail blocked.";
/// `actionReason` when findings were masked in place (the output is the rewritten content).
pub const MASKED: &str = "Guardrail masked.";

/// Builds ApplyGuardrail's response from every policy's findings.
pub fn respond(
    request: &AssessRequest,
    results: &[PolicyFindings],
    scope: OutputScope,
    blocked_message: &str,
    started: Instant,
) -> Result<Value, AwsError> {
    let findings: Vec<&Finding> = results.iter().flat_map(|r| &r.findings).collect();
    for finding in &findings {
        check_span(request, finding)?;
    }
    let blocked = findings.iter().any(|f| blocks(f));
    let anonymized = findings
        .iter()
        .any(|f| f.action == Action::Anonymize && !blocks(f));

    let (action, reason, outputs) = if blocked {
        (
            "GUARDRAIL_INTERVENED",
            Some(BLOCKED),
            vec![json!({ "text": blocked_message })],
        )
    } else if anonymized {
        let outputs = request
            .content
            .iter()
            .enumerate()
            .filter(|(_, block)| is_guarded(block))
            .map(|(index, block)| json!({ "text": rewrite(&block.text, index as u32, &findings) }))
            .collect();
        ("GUARDRAIL_INTERVENED", Some(MASKED), outputs)
    } else {
        ("NONE", None, Vec::new())
    };

    let guarded_chars: usize = request
        .content
        .iter()
        .filter(|b| is_guarded(b))
        .map(|b| b.text.chars().count())
        .sum();
    let total_chars: usize = request.content.iter().map(|b| b.text.chars().count()).sum();
    let units: u64 = request
        .content
        .iter()
        .filter(|b| is_guarded(b))
        .map(|b| (b.text.chars().count() as u64).div_ceil(1000).max(1))
        .sum();
    let units_for = |kind: UsageKind| {
        if results.iter().any(|r| r.usage == kind) {
            units
        } else {
            0
        }
    };
    let usage = json!({
        "topicPolicyUnits": 0,
        "contentPolicyUnits": 0,
        "wordPolicyUnits": units_for(UsageKind::Word),
        "sensitiveInformationPolicyUnits": units_for(UsageKind::SensitiveInformation),
        "sensitiveInformationPolicyFreeUnits": units_for(UsageKind::SensitiveInformationFree),
        "contextualGroundingPolicyUnits": 0,
    });
    let coverage = json!({ "textCharacters": { "guarded": guarded_chars, "total": total_chars } });

    let mut assessment = sections(&findings, scope);
    assessment.insert(
        "invocationMetrics".into(),
        json!({
            "guardrailProcessingLatency": started.elapsed().as_millis() as u64,
            "usage": usage,
            "guardrailCoverage": coverage,
        }),
    );
    let mut response = json!({
        "usage": usage,
        "action": action,
        "outputs": outputs,
        "assessments": [Value::Object(assessment)],
        "guardrailCoverage": coverage,
    });
    if let Some(reason) = reason {
        response["actionReason"] = reason.into();
    }
    Ok(response)
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

fn check_span(request: &AssessRequest, finding: &Finding) -> Result<(), AwsError> {
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
        Err(AwsError::new(
            crate::error::ErrorCode::ModelError,
            format!(
                "A guardrail policy reported a finding ({}) outside its text block {}.",
                finding.type_, finding.block
            ),
        ))
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

fn wire_action(finding: &Finding) -> &'static str {
    match finding.action {
        Action::None => "NONE",
        Action::Anonymize if finding.policy == PolicyKind::SensitiveInformation => "ANONYMIZED",
        Action::Anonymize | Action::Block => "BLOCKED",
    }
}

fn attribute<'a>(finding: &'a Finding, key: &str) -> Option<&'a str> {
    finding
        .attributes
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

/// The assessment's policy sections, each present only when it has entries.
fn sections(findings: &[&Finding], scope: OutputScope) -> Map<String, Value> {
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
        let action = wire_action(finding);
        match finding.policy {
            PolicyKind::Word if finding.type_ == "CUSTOM" => custom_words.push(json!({
                "match": finding.matched, "action": action, "detected": true,
            })),
            PolicyKind::Word => managed_words.push(json!({
                "match": finding.matched, "type": finding.type_, "action": action, "detected": true,
            })),
            PolicyKind::SensitiveInformation => match &finding.name {
                Some(name) => regexes.push(json!({
                    "name": name,
                    "match": finding.matched,
                    "regex": attribute(finding, "regex").unwrap_or_default(),
                    "action": action,
                    "detected": true,
                })),
                None => pii.push(json!({
                    "match": finding.matched, "type": finding.type_, "action": action, "detected": true,
                })),
            },
            PolicyKind::Topic => topics.push(json!({
                "name": finding.name.clone().unwrap_or_else(|| finding.type_.clone()),
                "type": "DENY",
                "action": action,
                "detected": true,
            })),
            PolicyKind::Content => content.push(json!({
                "type": finding.type_,
                "confidence": attribute(finding, "confidence").unwrap_or("HIGH"),
                "filterStrength": attribute(finding, "filterStrength").unwrap_or("HIGH"),
                "action": action,
                "detected": true,
            })),
            PolicyKind::ContextualGrounding => grounding.push(json!({
                "type": finding.type_,
                "threshold": finding.threshold.unwrap_or_default(),
                "score": finding.score.unwrap_or_default(),
                "action": action,
                "detected": true,
            })),
        }
    }
    let mut out = Map::new();
    if !custom_words.is_empty() || !managed_words.is_empty() {
        out.insert(
            "wordPolicy".into(),
            json!({ "customWords": custom_words, "managedWordLists": managed_words }),
        );
    }
    if !pii.is_empty() || !regexes.is_empty() {
        out.insert(
            "sensitiveInformationPolicy".into(),
            json!({ "piiEntities": pii, "regexes": regexes }),
        );
    }
    if !topics.is_empty() {
        out.insert("topicPolicy".into(), json!({ "topics": topics }));
    }
    if !content.is_empty() {
        out.insert("contentPolicy".into(), json!({ "filters": content }));
    }
    if !grounding.is_empty() {
        out.insert(
            "contextualGroundingPolicy".into(),
            json!({ "filters": grounding }),
        );
    }
    out
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
                usage: UsageKind::SensitiveInformation,
                findings: vec![finding(0, 0, 6, "PIN", Action::Anonymize)],
            },
            PolicyFindings {
                usage: UsageKind::Word,
                findings: vec![Finding {
                    policy: PolicyKind::Word,
                    type_: "CUSTOM".into(),
                    ..finding(0, 7, 11, "X", Action::Block)
                }],
            },
        ];
        let response = respond(
            &request,
            &results,
            OutputScope::Interventions,
            "no",
            Instant::now(),
        )
        .unwrap();
        assert_eq!(response["action"], "GUARDRAIL_INTERVENED");
        assert_eq!(response["outputs"], json!([{ "text": "no" }]));
        assert_eq!(response["usage"]["wordPolicyUnits"], 1);
        let assessment = &response["assessments"][0];
        assert_eq!(
            assessment["wordPolicy"]["customWords"][0]["action"],
            "BLOCKED"
        );
        assert_eq!(
            assessment["sensitiveInformationPolicy"]["piiEntities"][0]["action"],
            "ANONYMIZED"
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
                usage: UsageKind::Custom,
                findings: vec![bad],
            }];
            assert!(respond(&request, &results, OutputScope::Full, "", Instant::now()).is_err());
        }
    }
}

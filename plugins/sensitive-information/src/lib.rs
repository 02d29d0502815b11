//! # sensitive-information
//!
//! Bedrock's `sensitiveInformationPolicy` as a Mantle guardrail plugin. The config is Bedrock's
//! `sensitiveInformationPolicyConfig`:
//!
//! ```json
//! {"piiEntitiesConfig": [{"type": "EMAIL", "action": "ANONYMIZE"},
//!                        {"type": "CREDIT_DEBIT_CARD_NUMBER", "inputAction": "BLOCK", "outputAction": "ANONYMIZE"}],
//!  "regexesConfig": [{"name": "ticket", "pattern": "TKT-\\d{6}", "action": "BLOCK"}]}
//! ```
//!
//! PII entities are found by hand-written single-pass scanners with validation (checksums,
//! ranges, context keywords) — see [`pii::DETECTED`] and `README.md` for what is found and how.
//! Custom regexes use the `regex` crate. Configs are parsed and compiled once and cached for the
//! life of the instance.

pub mod config;
pub mod detect;
pub mod pii;
pub mod validate;

use mantle_sdk::PluginError;
use mantle_sdk::guardrail::{AssessRequest, Assessment, Finding, Guest, PolicyKind, Span};

/// The sensitive-information policy.
#[derive(Debug)]
pub struct SensitiveInformation;

impl Guest for SensitiveInformation {
    fn assess(request: AssessRequest) -> Result<Assessment, PluginError> {
        let compiled = config::compiled(&request.config)?;
        let source = request.source;
        let scan_entities = compiled
            .entities
            .iter()
            .any(|actions| actions.for_source(source).is_some());
        let mut findings = Vec::new();
        for (index, block) in request.guarded_blocks() {
            let text = block.text.as_str();
            if scan_entities {
                for hit in detect::scan(text) {
                    if let Some(action) = compiled.entity(hit.kind).for_source(source) {
                        findings.push(
                            Finding::new(
                                PolicyKind::SensitiveInformation,
                                hit.kind.name(),
                                index,
                                hit.start,
                                &text[hit.start..hit.end],
                            )
                            .with_action(action),
                        );
                    }
                }
            }
            for custom in &compiled.regexes {
                let Some(action) = custom.actions.for_source(source) else {
                    continue;
                };
                for m in custom.regex.find_iter(text).filter(|m| !m.is_empty()) {
                    let mut finding = Finding::new(
                        PolicyKind::SensitiveInformation,
                        "REGEX",
                        index,
                        m.start(),
                        m.as_str(),
                    )
                    .with_name(&custom.name)
                    .with_action(action)
                    .with_replacement(&custom.replacement)
                    .with_attribute("regex", &custom.pattern);
                    finding.span = Span::at(m.start(), m.len());
                    findings.push(finding);
                }
            }
        }
        Ok(Assessment { findings })
    }
}

#[cfg(target_arch = "wasm32")]
mantle_sdk::export_guardrail!(SensitiveInformation);

#[cfg(test)]
mod tests;

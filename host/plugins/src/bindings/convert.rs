//! The one place where older WIT versions' types become the newest version's, and back.
//!
//! The host works in [`latest`](super::latest) types only. Calling an older plugin converts the
//! request down and the answer up; an older plugin's host import converts its arguments up,
//! runs the newest implementation, and converts the result down. Adding a version means adding
//! its conversions here and nowhere else.

use super::since_v0_1_0 as v1;
use super::since_v0_2_0 as v2;

use v1::chunker::exports::mantle::plugin::chunking as chunking1;
use v1::flow_node::exports::mantle::plugin::node as node1;
use v1::guardrail::exports::mantle::plugin::guardrail_policy as guard1;
use v1::host::mantle::plugin as host1;
use v1::tool::exports::mantle::plugin::tools as tools1;
use v2::chunker::exports::mantle::plugin::chunking as chunking2;
use v2::flow_node::exports::mantle::plugin::node as node2;
use v2::guardrail::exports::mantle::plugin::guardrail_policy as guard2;
use v2::host::mantle::plugin as host2;
use v2::tool::exports::mantle::plugin::tools as tools2;

// --- guardrail ---

impl From<&guard2::AssessRequest> for guard1::AssessRequest {
    fn from(r: &guard2::AssessRequest) -> Self {
        Self {
            source: match r.source {
                guard2::Source::Input => guard1::Source::Input,
                guard2::Source::Output => guard1::Source::Output,
            },
            content: r
                .content
                .iter()
                .map(|b| guard1::TextBlock {
                    text: b.text.clone(),
                    qualifiers: b
                        .qualifiers
                        .iter()
                        .map(|q| match q {
                            guard2::Qualifier::GroundingSource => {
                                guard1::Qualifier::GroundingSource
                            }
                            guard2::Qualifier::Query => guard1::Qualifier::Query,
                            guard2::Qualifier::GuardContent => guard1::Qualifier::GuardContent,
                        })
                        .collect(),
                })
                .collect(),
            config: r.config.clone(),
        }
    }
}

impl From<guard1::Assessment> for guard2::Assessment {
    fn from(a: guard1::Assessment) -> Self {
        Self {
            findings: a.findings.into_iter().map(Into::into).collect(),
        }
    }
}

impl From<guard1::Finding> for guard2::Finding {
    fn from(f: guard1::Finding) -> Self {
        Self {
            policy: match f.policy {
                guard1::PolicyKind::Word => guard2::PolicyKind::Word,
                guard1::PolicyKind::SensitiveInformation => {
                    guard2::PolicyKind::SensitiveInformation
                }
                guard1::PolicyKind::Topic => guard2::PolicyKind::Topic,
                guard1::PolicyKind::Content => guard2::PolicyKind::Content,
                guard1::PolicyKind::ContextualGrounding => guard2::PolicyKind::ContextualGrounding,
            },
            type_: f.type_,
            name: f.name,
            matched: f.matched,
            block: f.block,
            span: f.span,
            action: match f.action {
                guard1::Action::None => guard2::Action::None,
                guard1::Action::Anonymize => guard2::Action::Anonymize,
                guard1::Action::Block => guard2::Action::Block,
            },
            replacement: f.replacement,
            score: f.score,
            threshold: f.threshold,
            attributes: f.attributes,
        }
    }
}

// --- tool ---

impl From<tools1::ToolSpec> for tools2::ToolSpec {
    fn from(s: tools1::ToolSpec) -> Self {
        Self {
            name: s.name,
            description: s.description,
            input_schema: s.input_schema,
        }
    }
}

/// 0.1.0 had one attribute list, the session's.
impl From<&tools2::InvocationContext> for tools1::InvocationContext {
    fn from(c: &tools2::InvocationContext) -> Self {
        Self {
            session_id: c.session_id.clone(),
            agent_id: c.agent_id.clone(),
            attributes: c.session_attributes.clone(),
        }
    }
}

impl From<tools1::ToolResult> for tools2::ToolResult {
    fn from(r: tools1::ToolResult) -> Self {
        Self {
            content_type: match r.content_type {
                tools1::ContentType::Text => tools2::ContentType::Text,
                tools1::ContentType::Json => tools2::ContentType::Json,
            },
            body: r.body,
            is_error: r.is_error,
        }
    }
}

// --- chunker ---

impl From<&chunking2::Document> for chunking1::Document {
    fn from(d: &chunking2::Document) -> Self {
        Self {
            id: d.id.clone(),
            text: d.text.clone(),
            content_type: d.content_type.clone(),
            metadata: d.metadata.clone(),
        }
    }
}

impl From<chunking1::Chunk> for chunking2::Chunk {
    fn from(c: chunking1::Chunk) -> Self {
        Self {
            text: c.text,
            span: c.span,
            parent: c.parent,
            level: c.level,
            metadata: c.metadata,
        }
    }
}

// --- flow node ---

impl From<&node2::PortValue> for node1::PortValue {
    fn from(p: &node2::PortValue) -> Self {
        Self {
            name: p.name.clone(),
            value: p.value.clone(),
        }
    }
}

/// 0.1.0 outputs carried no type: it is the JSON value's own (a value that is not JSON is
/// refused later by the type check, as `string` wants a JSON string).
impl From<node1::PortValue> for node2::PortValue {
    fn from(p: node1::PortValue) -> Self {
        let type_ = match serde_json::from_str::<serde_json::Value>(&p.value) {
            Ok(serde_json::Value::Number(_)) => node2::PortType::Number,
            Ok(serde_json::Value::Bool(_)) => node2::PortType::Boolean,
            Ok(serde_json::Value::Object(_)) => node2::PortType::Object,
            Ok(serde_json::Value::Array(_)) => node2::PortType::Array,
            _ => node2::PortType::String,
        };
        Self {
            name: p.name,
            type_,
            value: p.value,
        }
    }
}

// --- host imports ---

impl From<host1::log::Level> for host2::log::Level {
    fn from(l: host1::log::Level) -> Self {
        match l {
            host1::log::Level::Trace => Self::Trace,
            host1::log::Level::Debug => Self::Debug,
            host1::log::Level::Info => Self::Info,
            host1::log::Level::Warn => Self::Warn,
            host1::log::Level::Error => Self::Error,
        }
    }
}

impl From<host1::models::ChatMessage> for host2::models::ChatMessage {
    fn from(m: host1::models::ChatMessage) -> Self {
        Self {
            role: m.role,
            text: m.text,
        }
    }
}

/// 0.1.0's `converse(model, messages, max-tokens, temperature)` is 0.2.0's `generate`.
pub(crate) fn generation_params(
    max_tokens: u32,
    temperature: f32,
) -> host2::models::GenerationParams {
    host2::models::GenerationParams {
        max_tokens,
        temperature: Some(temperature),
        top_p: None,
        stop_sequences: Vec::new(),
    }
}

impl From<host2::models::Generation> for host1::models::Generation {
    fn from(g: host2::models::Generation) -> Self {
        Self {
            text: g.text,
            stop_reason: g.stop_reason,
            input_tokens: g.input_tokens,
            output_tokens: g.output_tokens,
        }
    }
}

impl From<host2::knowledge::Retrieved> for host1::knowledge::Retrieved {
    fn from(r: host2::knowledge::Retrieved) -> Self {
        Self {
            text: r.text,
            score: r.score,
            location: r.location,
            metadata: r.metadata,
        }
    }
}

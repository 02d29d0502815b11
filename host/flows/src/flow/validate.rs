//! A flow definition's checks, in two layers as Bedrock has them:
//!
//! - [`check_shape`]: what the API refuses outright with a ValidationException naming the field
//!   (too many nodes or connections, a bad or repeated node name, a prompt node's template that
//!   breaks prompt rules). A definition that fails it is never stored.
//! - [`validations`]: what `GetFlow` and `ValidateFlowDefinition` report as `validations` and
//!   `PrepareFlow` refuses to prepare while any has severity `Error`: the graph (cycles,
//!   unreachable nodes, unknown sources and targets, types, missing defaults, malformed
//!   expressions, loop structure).

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};

use serde::Serialize;

use super::definition::{
    ConnectionConfiguration, ConnectionType, FlowConnection, FlowDefinition, FlowNode,
    InputCategory, IoType, NodeConfiguration, NodeType, PromptSource,
};
use super::expression::{Condition, InputPath};
use crate::FlowsError;
use crate::prompt::{PromptVariant, check_variant};

/// Bedrock's limits on one definition.
pub const MAX_NODES: usize = 40;
pub const MAX_CONNECTIONS: usize = 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Severity {
    Warning,
    Error,
}

/// One finding about a definition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FlowValidation {
    pub message: String,
    pub severity: Severity,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub details: Details,
}

/// `details`: a union whose member is the lowerCamel of the validation's type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase", rename_all_fields = "camelCase")]
pub enum Details {
    CyclicConnection {
        connection: String,
    },
    DuplicateConnections {
        source: String,
        target: String,
    },
    DuplicateConditionExpression {
        node: String,
        expression: String,
    },
    UnreachableNode {
        node: String,
    },
    UnknownConnectionSource {
        connection: String,
    },
    UnknownConnectionSourceOutput {
        connection: String,
    },
    UnknownConnectionTarget {
        connection: String,
    },
    UnknownConnectionTargetInput {
        connection: String,
    },
    UnknownConnectionCondition {
        connection: String,
    },
    MalformedConditionExpression {
        node: String,
        condition: String,
        cause: String,
    },
    MalformedNodeInputExpression {
        node: String,
        input: String,
        cause: String,
    },
    MismatchedNodeInputType {
        node: String,
        input: String,
        expected_type: IoType,
    },
    MismatchedNodeOutputType {
        node: String,
        output: String,
        expected_type: IoType,
    },
    IncompatibleConnectionDataType {
        connection: String,
    },
    MissingConnectionConfiguration {
        connection: String,
    },
    MissingDefaultCondition {
        node: String,
    },
    MissingEndingNodes {},
    MissingNodeConfiguration {
        node: String,
    },
    MissingNodeInput {
        node: String,
        input: String,
    },
    MissingNodeOutput {
        node: String,
        output: String,
    },
    MissingStartingNodes {},
    MultipleNodeInputConnections {
        node: String,
        input: String,
    },
    UnfulfilledNodeInput {
        node: String,
        input: String,
    },
    Unspecified {},
    UnknownNodeInput {
        node: String,
        input: String,
    },
    UnknownNodeOutput {
        node: String,
        output: String,
    },
    MissingLoopInputNode {
        loop_node: String,
    },
    MissingLoopControllerNode {
        loop_node: String,
    },
    MultipleLoopInputNodes {
        loop_node: String,
    },
    MultipleLoopControllerNodes {
        loop_node: String,
    },
    LoopIncompatibleNodeType {
        node: String,
        incompatible_node_type: NodeType,
        incompatible_node_name: String,
    },
    InvalidLoopBoundary {
        connection: String,
        source: String,
        target: String,
    },
}

impl Details {
    /// The validation type this detail belongs to (`CyclicConnection`, …).
    fn kind(&self) -> &'static str {
        match self {
            Self::CyclicConnection { .. } => "CyclicConnection",
            Self::DuplicateConnections { .. } => "DuplicateConnections",
            Self::DuplicateConditionExpression { .. } => "DuplicateConditionExpression",
            Self::UnreachableNode { .. } => "UnreachableNode",
            Self::UnknownConnectionSource { .. } => "UnknownConnectionSource",
            Self::UnknownConnectionSourceOutput { .. } => "UnknownConnectionSourceOutput",
            Self::UnknownConnectionTarget { .. } => "UnknownConnectionTarget",
            Self::UnknownConnectionTargetInput { .. } => "UnknownConnectionTargetInput",
            Self::UnknownConnectionCondition { .. } => "UnknownConnectionCondition",
            Self::MalformedConditionExpression { .. } => "MalformedConditionExpression",
            Self::MalformedNodeInputExpression { .. } => "MalformedNodeInputExpression",
            Self::MismatchedNodeInputType { .. } => "MismatchedNodeInputType",
            Self::MismatchedNodeOutputType { .. } => "MismatchedNodeOutputType",
            Self::IncompatibleConnectionDataType { .. } => "IncompatibleConnectionDataType",
            Self::MissingConnectionConfiguration { .. } => "MissingConnectionConfiguration",
            Self::MissingDefaultCondition { .. } => "MissingDefaultCondition",
            Self::MissingEndingNodes {} => "MissingEndingNodes",
            Self::MissingNodeConfiguration { .. } => "MissingNodeConfiguration",
            Self::MissingNodeInput { .. } => "MissingNodeInput",
            Self::MissingNodeOutput { .. } => "MissingNodeOutput",
            Self::MissingStartingNodes {} => "MissingStartingNodes",
            Self::MultipleNodeInputConnections { .. } => "MultipleNodeInputConnections",
            Self::UnfulfilledNodeInput { .. } => "UnfulfilledNodeInput",
            Self::Unspecified {} => "Unspecified",
            Self::UnknownNodeInput { .. } => "UnknownNodeInput",
            Self::UnknownNodeOutput { .. } => "UnknownNodeOutput",
            Self::MissingLoopInputNode { .. } => "MissingLoopInputNode",
            Self::MissingLoopControllerNode { .. } => "MissingLoopControllerNode",
            Self::MultipleLoopInputNodes { .. } => "MultipleLoopInputNodes",
            Self::MultipleLoopControllerNodes { .. } => "MultipleLoopControllerNodes",
            Self::LoopIncompatibleNodeType { .. } => "LoopIncompatibleNodeType",
            Self::InvalidLoopBoundary { .. } => "InvalidLoopBoundary",
        }
    }
}

impl FlowValidation {
    pub fn error(message: impl Into<String>, details: Details) -> Self {
        Self {
            message: message.into(),
            severity: Severity::Error,
            kind: details.kind(),
            details,
        }
    }

    pub fn warning(message: impl Into<String>, details: Details) -> Self {
        Self {
            severity: Severity::Warning,
            ..Self::error(message, details)
        }
    }
}

/// `[a-zA-Z]([_]?[0-9a-zA-Z]){1,max}`: node, port and condition names (max 50), connection
/// names (max 100).
pub(crate) fn is_flow_name(name: &str, max: usize) -> bool {
    let bytes = name.as_bytes();
    if bytes.is_empty() || !bytes[0].is_ascii_alphabetic() {
        return false;
    }
    let mut i = 1;
    let mut groups = 0;
    while i < bytes.len() {
        if bytes[i] == b'_' {
            i += 1;
        }
        if i >= bytes.len() || !bytes[i].is_ascii_alphanumeric() {
            return false;
        }
        i += 1;
        groups += 1;
    }
    (1..=max).contains(&groups)
}

fn name_rule(max: usize) -> String {
    format!("Member must satisfy regular expression pattern: [a-zA-Z]([_]?[0-9a-zA-Z]){{1,{max}}}")
}

/// The checks the API makes before storing a definition; `at` is its wire path (`definition`).
pub fn check_shape(definition: &FlowDefinition, at: &str) -> Result<(), FlowsError> {
    if definition.nodes.len() > MAX_NODES {
        return Err(FlowsError::invalid(
            format!("{at}.nodes"),
            format!("Member must have length less than or equal to {MAX_NODES}"),
        ));
    }
    if definition.connections.len() > MAX_CONNECTIONS {
        return Err(FlowsError::invalid(
            format!("{at}.connections"),
            format!("Member must have length less than or equal to {MAX_CONNECTIONS}"),
        ));
    }
    let mut names = BTreeSet::new();
    for (i, node) in definition.nodes.iter().enumerate() {
        let node_at = format!("{at}.nodes.{i}");
        if !is_flow_name(&node.name, 50) {
            return Err(FlowsError::invalid(
                format!("{node_at}.name"),
                name_rule(50),
            ));
        }
        if !names.insert(node.name.as_str()) {
            return Err(FlowsError::invalid(
                format!("{node_at}.name"),
                format!("two nodes are named {}", node.name),
            ));
        }
        if node.inputs.len() > 20 {
            return Err(FlowsError::invalid(
                format!("{node_at}.inputs"),
                "Member must have length less than or equal to 20",
            ));
        }
        if node.outputs.len() > 5 {
            return Err(FlowsError::invalid(
                format!("{node_at}.outputs"),
                "Member must have length less than or equal to 5",
            ));
        }
        let mut ports = BTreeSet::new();
        for (j, input) in node.inputs.iter().enumerate() {
            if !is_flow_name(&input.name, 50) {
                return Err(FlowsError::invalid(
                    format!("{node_at}.inputs.{j}.name"),
                    name_rule(50),
                ));
            }
            if !ports.insert(input.name.as_str()) {
                return Err(FlowsError::invalid(
                    format!("{node_at}.inputs.{j}.name"),
                    format!("two inputs of {} are named {}", node.name, input.name),
                ));
            }
            if !(1..=64).contains(&input.expression.chars().count()) {
                return Err(FlowsError::invalid(
                    format!("{node_at}.inputs.{j}.expression"),
                    "Member must have length between 1 and 64",
                ));
            }
        }
        let mut ports = BTreeSet::new();
        for (j, output) in node.outputs.iter().enumerate() {
            if !is_flow_name(&output.name, 50) {
                return Err(FlowsError::invalid(
                    format!("{node_at}.outputs.{j}.name"),
                    name_rule(50),
                ));
            }
            if !ports.insert(output.name.as_str()) {
                return Err(FlowsError::invalid(
                    format!("{node_at}.outputs.{j}.name"),
                    format!("two outputs of {} are named {}", node.name, output.name),
                ));
            }
        }
        check_configuration_shape(node, &node_at)?;
    }
    let mut connections = BTreeSet::new();
    for (i, connection) in definition.connections.iter().enumerate() {
        let conn_at = format!("{at}.connections.{i}");
        if !is_flow_name(&connection.name, 100) {
            return Err(FlowsError::invalid(
                format!("{conn_at}.name"),
                name_rule(100),
            ));
        }
        if !connections.insert(connection.name.as_str()) {
            return Err(FlowsError::invalid(
                format!("{conn_at}.name"),
                format!("two connections are named {}", connection.name),
            ));
        }
    }
    Ok(())
}

fn check_configuration_shape(node: &FlowNode, at: &str) -> Result<(), FlowsError> {
    let Some(configuration) = &node.configuration else {
        return Ok(());
    };
    let config_at = format!("{at}.configuration.{}", configuration.member());
    match configuration {
        NodeConfiguration::Condition(condition) => {
            if !(1..=5).contains(&condition.conditions.len()) {
                return Err(FlowsError::invalid(
                    format!("{config_at}.conditions"),
                    "Member must have length between 1 and 5",
                ));
            }
            for (i, c) in condition.conditions.iter().enumerate() {
                if !is_flow_name(&c.name, 50) {
                    return Err(FlowsError::invalid(
                        format!("{config_at}.conditions.{i}.name"),
                        name_rule(50),
                    ));
                }
                if c.expression
                    .as_ref()
                    .is_some_and(|e| !(1..=64).contains(&e.chars().count()))
                {
                    return Err(FlowsError::invalid(
                        format!("{config_at}.conditions.{i}.expression"),
                        "Member must have length between 1 and 64",
                    ));
                }
            }
        }
        NodeConfiguration::Prompt(prompt) => {
            if let PromptSource::Inline(inline) = &prompt.source_configuration {
                check_variant(
                    &inline_variant(inline),
                    &format!("{config_at}.sourceConfiguration.inline"),
                    false,
                )?;
            }
        }
        NodeConfiguration::KnowledgeBase(kb) => {
            if let Some(n) = kb.number_of_results
                && !(1..=100).contains(&n)
            {
                return Err(FlowsError::invalid(
                    format!("{config_at}.numberOfResults"),
                    "Member must have value between 1 and 100",
                ));
            }
        }
        NodeConfiguration::LoopController(controller) => {
            if let Some(n) = controller.max_iterations
                && !(1..=1000).contains(&n)
            {
                return Err(FlowsError::invalid(
                    format!("{config_at}.maxIterations"),
                    "Member must have value between 1 and 1000",
                ));
            }
        }
        NodeConfiguration::Loop(inner) => {
            check_shape(&inner.definition, &format!("{config_at}.definition"))?;
        }
        NodeConfiguration::InlineCode(code) if code.code.len() > 5_000_000 => {
            return Err(FlowsError::invalid(
                format!("{config_at}.code"),
                "Member must have length less than or equal to 5000000",
            ));
        }
        _ => {}
    }
    Ok(())
}

/// An inline prompt node's prompt as a variant.
pub(crate) fn inline_variant(inline: &super::definition::InlinePrompt) -> PromptVariant {
    PromptVariant {
        name: "inline".into(),
        template_type: inline.template_type,
        template_configuration: inline.template_configuration.clone(),
        model_id: Some(inline.model_id.clone()),
        inference_configuration: inline.inference_configuration.clone(),
        metadata: Vec::new(),
        additional_model_request_fields: inline.additional_model_request_fields.clone(),
        gen_ai_resource: None,
    }
}

/// A port a node type fixes: its name, its type (`None`: any) and whether it must be there.
struct Port {
    name: &'static str,
    kind: Option<IoType>,
    required: bool,
}

const fn port(name: &'static str, kind: Option<IoType>, required: bool) -> Port {
    Port {
        name,
        kind,
        required,
    }
}

/// The inputs and outputs a node's type fixes; `None` where the definition names its own.
fn fixed_ports(node: &FlowNode) -> (Option<Vec<Port>>, Option<Vec<Port>>) {
    use IoType::*;
    match node.kind {
        NodeType::Input => (Some(vec![]), Some(vec![port("document", None, true)])),
        NodeType::Output => (Some(vec![port("document", None, true)]), Some(vec![])),
        NodeType::KnowledgeBase => {
            let generates = matches!(&node.configuration,
                Some(NodeConfiguration::KnowledgeBase(kb)) if kb.model_id.is_some());
            let output = if generates {
                port("outputText", Some(String), true)
            } else {
                port("retrievalResults", Some(Array), true)
            };
            (
                Some(vec![port("retrievalQuery", Some(String), true)]),
                Some(vec![output]),
            )
        }
        NodeType::Condition => (None, Some(vec![])),
        NodeType::Lex => (
            Some(vec![port("inputText", Some(String), true)]),
            Some(vec![port("predictedIntent", Some(String), true)]),
        ),
        NodeType::Prompt => (
            None,
            Some(vec![port("modelCompletion", Some(String), true)]),
        ),
        NodeType::LambdaFunction => (None, Some(vec![port("functionResponse", None, true)])),
        NodeType::Storage => (
            Some(vec![
                port("content", None, true),
                port("objectKey", Some(String), true),
            ]),
            Some(vec![port("s3Uri", Some(String), true)]),
        ),
        NodeType::Retrieval => (
            Some(vec![port("objectKey", Some(String), true)]),
            Some(vec![port("s3Content", Some(String), true)]),
        ),
        NodeType::Agent => (
            Some(vec![
                port("agentInputText", Some(String), true),
                port("promptAttributes", Some(Object), false),
                port("sessionAttributes", Some(Object), false),
            ]),
            Some(vec![port("agentResponse", Some(String), true)]),
        ),
        NodeType::Iterator => (
            Some(vec![port("array", Some(Array), true)]),
            Some(vec![
                port("arrayItem", None, true),
                port("arraySize", Some(Number), false),
            ]),
        ),
        NodeType::Collector => (
            Some(vec![
                port("arrayItem", None, true),
                port("arraySize", Some(Number), true),
            ]),
            Some(vec![port("collectedArray", Some(Array), true)]),
        ),
        NodeType::InlineCode => (None, Some(vec![port("response", None, true)])),
        NodeType::Loop => (None, None),
        NodeType::LoopInput => (Some(vec![]), None),
        NodeType::LoopController => (None, Some(vec![])),
    }
}

/// Whether a node may be built by this server; the reason when not.
fn unsupported(node: &FlowNode) -> Option<&'static str> {
    match node.kind {
        NodeType::Lex => Some("Lex bots are not served by this server"),
        NodeType::Agent => Some("agents are not served by this server yet"),
        NodeType::InlineCode => Some(
            "inline Python code is not run by this server yet; use a LambdaFunction node on a flow-node plugin",
        ),
        _ => None,
    }
}

/// Every finding about `definition`, in the order Bedrock's checks run: nodes, then
/// connections, then the graph.
///
/// ```
/// use mantle_flows::flow::{FlowDefinition, validate::validations};
/// let empty = FlowDefinition::default();
/// let kinds: Vec<_> = validations(&empty).into_iter().map(|v| v.kind).collect();
/// assert_eq!(kinds, ["MissingStartingNodes", "MissingEndingNodes"]);
/// ```
pub fn validations(definition: &FlowDefinition) -> Vec<FlowValidation> {
    let mut found = Vec::new();
    check_level(definition, None, &mut found);
    found
}

/// The body of the loop node `looped`, or the flow itself when `None`.
fn check_level(
    definition: &FlowDefinition,
    looped: Option<(&FlowNode, &FlowDefinition)>,
    found: &mut Vec<FlowValidation>,
) {
    let nodes: HashMap<&str, &FlowNode> = definition
        .nodes
        .iter()
        .map(|n| (n.name.as_str(), n))
        .collect();
    let count = |kind: NodeType| definition.nodes.iter().filter(|n| n.kind == kind).count();
    match looped {
        None => {
            if count(NodeType::Input) == 0 {
                found.push(FlowValidation::error(
                    "The flow has no Input node to start from.",
                    Details::MissingStartingNodes {},
                ));
            } else if count(NodeType::Input) > 1 {
                found.push(FlowValidation::error(
                    "A flow has exactly one Input node.",
                    Details::Unspecified {},
                ));
            }
            if count(NodeType::Output) == 0 {
                found.push(FlowValidation::error(
                    "The flow has no Output node to end in.",
                    Details::MissingEndingNodes {},
                ));
            }
        }
        Some((loop_node, _)) => {
            let name = loop_node.name.clone();
            match count(NodeType::LoopInput) {
                0 => found.push(FlowValidation::error(
                    format!("The loop {name} has no LoopInput node."),
                    Details::MissingLoopInputNode {
                        loop_node: name.clone(),
                    },
                )),
                1 => {}
                _ => found.push(FlowValidation::error(
                    format!("The loop {name} has more than one LoopInput node."),
                    Details::MultipleLoopInputNodes {
                        loop_node: name.clone(),
                    },
                )),
            }
            match count(NodeType::LoopController) {
                0 => found.push(FlowValidation::error(
                    format!("The loop {name} has no LoopController node."),
                    Details::MissingLoopControllerNode {
                        loop_node: name.clone(),
                    },
                )),
                1 => {}
                _ => found.push(FlowValidation::error(
                    format!("The loop {name} has more than one LoopController node."),
                    Details::MultipleLoopControllerNodes {
                        loop_node: name.clone(),
                    },
                )),
            }
            for node in &definition.nodes {
                if matches!(
                    node.kind,
                    NodeType::Input
                        | NodeType::Condition
                        | NodeType::Iterator
                        | NodeType::Collector
                ) {
                    found.push(FlowValidation::error(
                        format!("A {:?} node cannot be inside the loop {name}.", node.kind),
                        Details::LoopIncompatibleNodeType {
                            node: name.clone(),
                            incompatible_node_type: node.kind,
                            incompatible_node_name: node.name.clone(),
                        },
                    ));
                }
            }
        }
    }
    for node in &definition.nodes {
        if looped.is_none() && matches!(node.kind, NodeType::LoopInput | NodeType::LoopController) {
            found.push(FlowValidation::error(
                format!(
                    "The {:?} node {} belongs inside a Loop node's definition.",
                    node.kind, node.name
                ),
                Details::Unspecified {},
            ));
        }
        check_node(node, looped, found);
    }
    check_connections(definition, &nodes, looped, found);
    check_graph(definition, &nodes, looped.is_some(), found);
}

fn check_node(
    node: &FlowNode,
    looped: Option<(&FlowNode, &FlowDefinition)>,
    found: &mut Vec<FlowValidation>,
) {
    let name = node.name.clone();
    if let Some(reason) = unsupported(node) {
        found.push(FlowValidation::error(
            format!("The node {name} cannot run: {reason}."),
            Details::Unspecified {},
        ));
    }
    let configured = node.configuration.as_ref();
    let matching = configured.is_some_and(|c| c.member() == node.kind.member());
    let optional = matches!(
        node.kind,
        NodeType::Input
            | NodeType::Output
            | NodeType::Iterator
            | NodeType::Collector
            | NodeType::LoopInput
    );
    if !(matching || optional && configured.is_none()) {
        found.push(FlowValidation::error(
            format!(
                "The {:?} node {name} needs a `{}` configuration.",
                node.kind,
                node.kind.member()
            ),
            Details::MissingNodeConfiguration { node: name.clone() },
        ));
    }
    for input in &node.inputs {
        if let Err(cause) = InputPath::parse(&input.expression) {
            found.push(FlowValidation::error(
                format!(
                    "The expression of input {} of {name} is malformed: {cause}.",
                    input.name
                ),
                Details::MalformedNodeInputExpression {
                    node: name.clone(),
                    input: input.name.clone(),
                    cause,
                },
            ));
        }
    }
    let (inputs, outputs) = fixed_ports(node);
    if let Some(ports) = &inputs {
        check_ports(node, ports, true, found);
    }
    if let Some(ports) = &outputs {
        check_ports(node, ports, false, found);
    }
    match node.configuration.as_ref().filter(|_| matching) {
        Some(NodeConfiguration::Condition(condition)) => {
            check_condition_node(node, &condition.conditions, found);
        }
        Some(NodeConfiguration::Prompt(prompt)) => {
            if let PromptSource::Inline(inline) = &prompt.source_configuration {
                check_prompt_inputs(node, &inline_variant(inline), found);
            }
        }
        Some(NodeConfiguration::LoopController(controller)) => {
            check_loop_controller(node, controller, looped, found);
        }
        Some(NodeConfiguration::Loop(inner)) => {
            check_level(&inner.definition, Some((node, &inner.definition)), found);
        }
        _ => {}
    }
}

fn check_ports(node: &FlowNode, ports: &[Port], inputs: bool, found: &mut Vec<FlowValidation>) {
    let name = &node.name;
    let declared: Vec<(&str, IoType)> = if inputs {
        node.inputs
            .iter()
            .map(|i| (i.name.as_str(), i.kind))
            .collect()
    } else {
        node.outputs
            .iter()
            .map(|o| (o.name.as_str(), o.kind))
            .collect()
    };
    for port in ports {
        match declared.iter().find(|(n, _)| *n == port.name) {
            None if port.required => found.push(FlowValidation::error(
                format!(
                    "The {:?} node {name} needs the {} `{}`.",
                    node.kind,
                    if inputs { "input" } else { "output" },
                    port.name
                ),
                if inputs {
                    Details::MissingNodeInput {
                        node: name.clone(),
                        input: port.name.into(),
                    }
                } else {
                    Details::MissingNodeOutput {
                        node: name.clone(),
                        output: port.name.into(),
                    }
                },
            )),
            Some((_, kind)) if port.kind.is_some_and(|k| k != *kind) => {
                let expected_type = port.kind.unwrap_or(*kind);
                found.push(FlowValidation::error(
                    format!(
                        "`{}` of {name} is of type {}.",
                        port.name,
                        expected_type.as_str()
                    ),
                    if inputs {
                        Details::MismatchedNodeInputType {
                            node: name.clone(),
                            input: port.name.into(),
                            expected_type,
                        }
                    } else {
                        Details::MismatchedNodeOutputType {
                            node: name.clone(),
                            output: port.name.into(),
                            expected_type,
                        }
                    },
                ));
            }
            _ => {}
        }
    }
    // A LambdaFunction node's plugin may answer ports besides `functionResponse` (a
    // flow-node plugin has named outputs); declaring them is how the flow reads them.
    let open = !inputs && node.kind == NodeType::LambdaFunction;
    for (port, _) in &declared {
        if !open && !ports.iter().any(|p| p.name == *port) {
            found.push(FlowValidation::error(
                format!(
                    "A {:?} node has no {} `{port}`.",
                    node.kind,
                    if inputs { "input" } else { "output" }
                ),
                if inputs {
                    Details::UnknownNodeInput {
                        node: name.clone(),
                        input: (*port).into(),
                    }
                } else {
                    Details::UnknownNodeOutput {
                        node: name.clone(),
                        output: (*port).into(),
                    }
                },
            ));
        }
    }
}

fn check_condition_node(
    node: &FlowNode,
    conditions: &[super::definition::FlowCondition],
    found: &mut Vec<FlowValidation>,
) {
    let name = &node.name;
    if !conditions.iter().any(|c| c.expression.is_none()) {
        found.push(FlowValidation::error(
            format!(
                "The condition node {name} has no default condition (one without an expression)."
            ),
            Details::MissingDefaultCondition { node: name.clone() },
        ));
    }
    let mut seen = BTreeSet::new();
    for condition in conditions {
        let Some(expression) = &condition.expression else {
            continue;
        };
        if !seen.insert(expression.as_str()) {
            found.push(FlowValidation::warning(
                format!("Two conditions of {name} have the expression `{expression}`; only the first can be taken."),
                Details::DuplicateConditionExpression { node: name.clone(), expression: expression.clone() },
            ));
        }
        let cause = match Condition::parse(expression) {
            Err(cause) => Some(cause),
            Ok(parsed) => parsed
                .inputs()
                .into_iter()
                .find(|input| node.input(input).is_none())
                .map(|input| format!("{name} has no input named {input}")),
        };
        if let Some(cause) = cause {
            found.push(FlowValidation::error(
                format!(
                    "The condition {} of {name} is malformed: {cause}.",
                    condition.name
                ),
                Details::MalformedConditionExpression {
                    node: name.clone(),
                    condition: condition.name.clone(),
                    cause,
                },
            ));
        }
    }
}

/// A prompt node's inputs are its prompt's variables, no more and no fewer.
pub(crate) fn check_prompt_inputs(
    node: &FlowNode,
    variant: &PromptVariant,
    found: &mut Vec<FlowValidation>,
) {
    let declared: BTreeSet<&str> = variant
        .template_configuration
        .input_variables()
        .iter()
        .filter_map(|v| v.name.as_deref())
        .collect();
    for variable in &declared {
        if node.input(variable).is_none() {
            found.push(FlowValidation::error(
                format!("The prompt of {} has the variable {variable}, which no input of the node gives.", node.name),
                Details::MissingNodeInput { node: node.name.clone(), input: (*variable).into() },
            ));
        }
    }
    for input in &node.inputs {
        if !declared.contains(input.name.as_str()) {
            found.push(FlowValidation::error(
                format!(
                    "The prompt of {} has no variable named {}.",
                    node.name, input.name
                ),
                Details::UnknownNodeInput {
                    node: node.name.clone(),
                    input: input.name.clone(),
                },
            ));
        }
    }
}

fn check_loop_controller(
    node: &FlowNode,
    controller: &super::definition::LoopControllerNode,
    looped: Option<(&FlowNode, &FlowDefinition)>,
    found: &mut Vec<FlowValidation>,
) {
    let name = &node.name;
    let condition = &controller.continue_condition;
    let cause = match condition.expression.as_deref().map(Condition::parse) {
        None => Some("a loop's continue condition needs an expression".to_owned()),
        Some(Err(cause)) => Some(cause),
        Some(Ok(parsed)) => parsed
            .inputs()
            .into_iter()
            .find_map(|input| match node.input(input) {
                None => Some(format!("{name} has no input named {input}")),
                Some(i) if i.category != Some(InputCategory::LoopCondition) => Some(format!(
                    "the input {input} of {name} is not of category LoopCondition"
                )),
                Some(_) => None,
            }),
    };
    if let Some(cause) = cause {
        found.push(FlowValidation::error(
            format!("The continue condition of {name} is malformed: {cause}."),
            Details::MalformedConditionExpression {
                node: name.clone(),
                condition: condition.name.clone(),
                cause,
            },
        ));
    }
    let Some((loop_node, body)) = looped else {
        return;
    };
    let loop_input = body.nodes.iter().find(|n| n.kind == NodeType::LoopInput);
    for input in &node.inputs {
        let unknown = match input.category {
            Some(InputCategory::ReturnValueToLoopStart) => {
                loop_input.is_some_and(|l| l.output(&input.name).is_none())
            }
            Some(InputCategory::ExitLoop) => loop_node.output(&input.name).is_none(),
            Some(InputCategory::LoopCondition) => false,
            None => true,
        };
        if unknown {
            found.push(FlowValidation::error(
                format!(
                    "The input {} of {name} feeds nothing: a ReturnValueToLoopStart input is named as an output of the LoopInput node, an ExitLoop input as an output of the loop {}, and every input has a category.",
                    input.name, loop_node.name
                ),
                Details::UnknownNodeInput { node: name.clone(), input: input.name.clone() },
            ));
        }
    }
    for output in &loop_node.outputs {
        let fed = node
            .inputs
            .iter()
            .any(|i| i.name == output.name && i.category == Some(InputCategory::ExitLoop));
        if !fed {
            found.push(FlowValidation::error(
                format!(
                    "The output {} of the loop {} is given by no ExitLoop input of {name}.",
                    output.name, loop_node.name
                ),
                Details::MissingNodeInput {
                    node: name.clone(),
                    input: output.name.clone(),
                },
            ));
        }
    }
}

fn check_connections(
    definition: &FlowDefinition,
    nodes: &HashMap<&str, &FlowNode>,
    looped: Option<(&FlowNode, &FlowDefinition)>,
    found: &mut Vec<FlowValidation>,
) {
    let mut seen = BTreeSet::new();
    let mut feeds: BTreeMap<(&str, &str), usize> = BTreeMap::new();
    for connection in &definition.connections {
        let name = connection.name.clone();
        let (source, target) = (
            nodes.get(connection.source.as_str()),
            nodes.get(connection.target.as_str()),
        );
        if looped.is_some() && (source.is_none() || target.is_none()) {
            found.push(FlowValidation::error(
                format!("The connection {name} crosses the boundary of its loop: a loop's body connects only its own nodes."),
                Details::InvalidLoopBoundary {
                    connection: name.clone(),
                    source: connection.source.clone(),
                    target: connection.target.clone(),
                },
            ));
            continue;
        }
        let Some(source) = source else {
            found.push(FlowValidation::error(
                format!(
                    "The connection {name} starts at {}, which is not a node.",
                    connection.source
                ),
                Details::UnknownConnectionSource { connection: name },
            ));
            continue;
        };
        let Some(target) = target else {
            found.push(FlowValidation::error(
                format!(
                    "The connection {name} ends at {}, which is not a node.",
                    connection.target
                ),
                Details::UnknownConnectionTarget { connection: name },
            ));
            continue;
        };
        if !seen.insert(format!(
            "{:?}|{}|{}|{:?}",
            connection.kind, connection.source, connection.target, connection.configuration
        )) {
            found.push(FlowValidation::warning(
                format!(
                    "The connection {name} repeats another from {} to {}.",
                    source.name, target.name
                ),
                Details::DuplicateConnections {
                    source: source.name.clone(),
                    target: target.name.clone(),
                },
            ));
        }
        match (connection.kind, &connection.configuration) {
            (ConnectionType::Data, Some(ConnectionConfiguration::Data(data))) => {
                let output = source.output(&data.source_output);
                let input = target.input(&data.target_input);
                if output.is_none() {
                    found.push(FlowValidation::error(
                        format!(
                            "The connection {name} reads {}, which {} does not output.",
                            data.source_output, source.name
                        ),
                        Details::UnknownConnectionSourceOutput {
                            connection: name.clone(),
                        },
                    ));
                }
                if input.is_none() {
                    found.push(FlowValidation::error(
                        format!(
                            "The connection {name} feeds {}, which is not an input of {}.",
                            data.target_input, target.name
                        ),
                        Details::UnknownConnectionTargetInput {
                            connection: name.clone(),
                        },
                    ));
                }
                if let (Some(output), Some(input)) = (output, input) {
                    *feeds
                        .entry((target.name.as_str(), input.name.as_str()))
                        .or_default() += 1;
                    // `$.data` passes the value as it is; a deeper path picks from inside an
                    // object or array, whose element types are known only when it runs.
                    let whole =
                        InputPath::parse(&input.expression).is_ok_and(|p| p.steps.is_empty());
                    let compatible = if whole {
                        output.kind == input.kind
                    } else {
                        matches!(output.kind, IoType::Object | IoType::Array)
                    };
                    if !compatible {
                        found.push(FlowValidation::error(
                            format!(
                                "The connection {name} carries {} {} into {} of {}, which expects {} through `{}`.",
                                output.kind.as_str(), output.name, input.name, target.name,
                                input.kind.as_str(), input.expression
                            ),
                            Details::IncompatibleConnectionDataType { connection: name.clone() },
                        ));
                    }
                }
            }
            (
                ConnectionType::Conditional,
                Some(ConnectionConfiguration::Conditional(conditional)),
            ) => {
                let known = matches!(&source.configuration,
                    Some(NodeConfiguration::Condition(c)) if c.conditions.iter().any(|c| c.name == conditional.condition));
                if !known {
                    found.push(FlowValidation::error(
                        format!("The connection {name} follows the condition {}, which {} does not have.", conditional.condition, source.name),
                        Details::UnknownConnectionCondition { connection: name.clone() },
                    ));
                }
            }
            (kind, _) => found.push(FlowValidation::error(
                format!(
                    "The {kind:?} connection {name} needs a `{}` configuration.",
                    match kind {
                        ConnectionType::Data => "data",
                        ConnectionType::Conditional => "conditional",
                    }
                ),
                Details::MissingConnectionConfiguration {
                    connection: name.clone(),
                },
            )),
        }
    }
    for node in &definition.nodes {
        for input in &node.inputs {
            match feeds.get(&(node.name.as_str(), input.name.as_str())) {
                // A loop controller's inputs are fed inside the body; the loop node's own
                // inputs from outside it.
                None => found.push(FlowValidation::error(
                    format!(
                        "No connection feeds the input {} of {}.",
                        input.name, node.name
                    ),
                    Details::UnfulfilledNodeInput {
                        node: node.name.clone(),
                        input: input.name.clone(),
                    },
                )),
                Some(n) if *n > 1 => found.push(FlowValidation::error(
                    format!(
                        "{n} connections feed the input {} of {}; an input has one.",
                        input.name, node.name
                    ),
                    Details::MultipleNodeInputConnections {
                        node: node.name.clone(),
                        input: input.name.clone(),
                    },
                )),
                Some(_) => {}
            }
        }
    }
}

/// Cycles and reachability over the connections between known nodes.
fn check_graph(
    definition: &FlowDefinition,
    nodes: &HashMap<&str, &FlowNode>,
    in_loop: bool,
    found: &mut Vec<FlowValidation>,
) {
    let edges: Vec<&FlowConnection> = definition
        .connections
        .iter()
        .filter(|c| nodes.contains_key(c.source.as_str()) && nodes.contains_key(c.target.as_str()))
        .collect();
    let mut out: HashMap<&str, Vec<&FlowConnection>> = HashMap::new();
    for edge in &edges {
        out.entry(edge.source.as_str()).or_default().push(edge);
    }
    // Depth-first search; an edge into a node on the current path closes a cycle.
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        Open,
        Done,
    }
    let mut marks: HashMap<&str, Mark> = HashMap::new();
    let mut cyclic = BTreeSet::new();
    for start in definition.nodes.iter().map(|n| n.name.as_str()) {
        if marks.contains_key(start) {
            continue;
        }
        let mut stack: Vec<(&str, usize)> = vec![(start, 0)];
        marks.insert(start, Mark::Open);
        while let Some((node, next)) = stack.pop() {
            let edges = out.get(node).map(Vec::as_slice).unwrap_or_default();
            if let Some(edge) = edges.get(next) {
                stack.push((node, next + 1));
                let target = edge.target.as_str();
                match marks.get(target) {
                    Some(Mark::Open) => {
                        cyclic.insert(edge.name.clone());
                    }
                    Some(Mark::Done) => {}
                    None => {
                        marks.insert(target, Mark::Open);
                        stack.push((target, 0));
                    }
                }
            } else {
                marks.insert(node, Mark::Done);
            }
        }
    }
    for connection in cyclic {
        found.push(FlowValidation::error(
            format!("The connection {connection} closes a cycle; only a Loop node repeats."),
            Details::CyclicConnection { connection },
        ));
    }
    let start_kind = if in_loop {
        NodeType::LoopInput
    } else {
        NodeType::Input
    };
    let Some(start) = definition.nodes.iter().find(|n| n.kind == start_kind) else {
        return;
    };
    let mut reached = BTreeSet::from([start.name.as_str()]);
    let mut queue = VecDeque::from([start.name.as_str()]);
    while let Some(node) = queue.pop_front() {
        for edge in out.get(node).map(Vec::as_slice).unwrap_or_default() {
            if reached.insert(edge.target.as_str()) {
                queue.push_back(edge.target.as_str());
            }
        }
    }
    for node in &definition.nodes {
        if !reached.contains(node.name.as_str()) {
            found.push(FlowValidation::warning(
                format!(
                    "The node {} cannot be reached from {}.",
                    node.name, start.name
                ),
                Details::UnreachableNode {
                    node: node.name.clone(),
                },
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn definition(value: serde_json::Value) -> FlowDefinition {
        serde_json::from_value(value).unwrap()
    }

    fn kinds(definition: &FlowDefinition) -> Vec<&'static str> {
        validations(definition)
            .into_iter()
            .map(|v| v.kind)
            .collect()
    }

    fn input_node() -> serde_json::Value {
        json!({"name": "Start", "type": "Input", "configuration": {"input": {}},
               "outputs": [{"name": "document", "type": "String"}]})
    }

    fn output_node(name: &str) -> serde_json::Value {
        json!({"name": name, "type": "Output", "configuration": {"output": {}},
               "inputs": [{"name": "document", "type": "String", "expression": "$.data"}]})
    }

    fn data(
        name: &str,
        source: &str,
        output: &str,
        target: &str,
        input: &str,
    ) -> serde_json::Value {
        json!({"name": name, "type": "Data", "source": source, "target": target,
               "configuration": {"data": {"sourceOutput": output, "targetInput": input}}})
    }

    #[test]
    fn a_straight_flow_is_clean() {
        let flow = definition(json!({
            "nodes": [input_node(), output_node("End")],
            "connections": [data("c1", "Start", "document", "End", "document")],
        }));
        assert_eq!(kinds(&flow), Vec::<&str>::new());
        assert!(check_shape(&flow, "definition").is_ok());
    }

    #[test]
    fn graph_findings() {
        let flow = definition(json!({
            "nodes": [input_node(), output_node("End"), output_node("Lost"),
                {"name": "Pick", "type": "Condition", "configuration": {"condition": {"conditions": [
                    {"name": "long", "expression": "text >"}, {"name": "other", "expression": "size > 2"}]}},
                 "inputs": [{"name": "text", "type": "Number", "expression": "data"}]}],
            "connections": [
                data("c1", "Start", "document", "End", "document"),
                data("c2", "Start", "document", "Pick", "text"),
                data("c3", "Start", "nope", "End", "document"),
                {"name": "c4", "type": "Conditional", "source": "Pick", "target": "Ghost",
                 "configuration": {"conditional": {"condition": "long"}}},
                {"name": "c5", "type": "Conditional", "source": "Pick", "target": "End",
                 "configuration": {"conditional": {"condition": "absent"}}},
                {"name": "c6", "type": "Data", "source": "End", "target": "Start"},
            ],
        }));
        let found = kinds(&flow);
        for expected in [
            "MissingDefaultCondition",
            "MalformedConditionExpression",
            "MalformedNodeInputExpression",
            "UnknownConnectionSourceOutput",
            "UnknownConnectionTarget",
            "UnknownConnectionCondition",
            "MissingConnectionConfiguration",
            "UnfulfilledNodeInput",
            "UnreachableNode",
            "CyclicConnection",
            "IncompatibleConnectionDataType",
        ] {
            assert!(
                found.contains(&expected),
                "{expected} missing from {found:?}"
            );
        }
        let malformed = validations(&flow)
            .into_iter()
            .filter(|v| v.kind == "MalformedConditionExpression")
            .count();
        assert_eq!(malformed, 2, "a syntax error and an unknown input");
    }

    #[test]
    fn loop_structure() {
        let flow = definition(json!({
            "nodes": [input_node(), output_node("End"),
                {"name": "Repeat", "type": "Loop", "configuration": {"loop": {"definition": {
                    "nodes": [{"name": "Begin", "type": "LoopInput", "configuration": {"loopInput": {}},
                               "outputs": [{"name": "text", "type": "String"}]},
                              {"name": "Inner", "type": "Input"}],
                    "connections": [data("l1", "Begin", "text", "End", "document")]}}},
                 "inputs": [{"name": "text", "type": "String", "expression": "$.data"}],
                 "outputs": [{"name": "result", "type": "String"}]}],
            "connections": [data("c1", "Start", "document", "Repeat", "text"),
                            data("c2", "Repeat", "result", "End", "document")],
        }));
        let found = kinds(&flow);
        for expected in [
            "MissingLoopControllerNode",
            "LoopIncompatibleNodeType",
            "InvalidLoopBoundary",
        ] {
            assert!(
                found.contains(&expected),
                "{expected} missing from {found:?}"
            );
        }
    }

    #[test]
    fn shape_errors_name_the_field() {
        let flow = definition(json!({"nodes": [input_node(), {"name": "x", "type": "Output"}]}));
        let error = check_shape(&flow, "definition").unwrap_err();
        assert!(
            matches!(&error, FlowsError::Validation { field: Some(f), .. } if f == "definition.nodes.1.name"),
            "{error}"
        );
        assert!(is_flow_name("Ab_1", 50) && !is_flow_name("a__b", 50) && !is_flow_name("1a", 50));
    }
}

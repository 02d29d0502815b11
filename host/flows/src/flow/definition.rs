//! A flow's definition as Bedrock defines it (`FlowDefinition`): nodes with typed inputs and
//! outputs, and the connections between them. The same shapes are stored, sent and received.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::prompt::config::{InferenceConfiguration, TemplateConfiguration, TemplateType};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FlowDefinition {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub nodes: Vec<FlowNode>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub connections: Vec<FlowConnection>,
}

impl FlowDefinition {
    pub fn node(&self, name: &str) -> Option<&FlowNode> {
        self.nodes.iter().find(|n| n.name == name)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FlowNode {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: NodeType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub configuration: Option<NodeConfiguration>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub inputs: Vec<NodeInput>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub outputs: Vec<NodeOutput>,
}

impl FlowNode {
    pub fn input(&self, name: &str) -> Option<&NodeInput> {
        self.inputs.iter().find(|i| i.name == name)
    }

    pub fn output(&self, name: &str) -> Option<&NodeOutput> {
        self.outputs.iter().find(|o| o.name == name)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum NodeType {
    Input,
    Output,
    KnowledgeBase,
    Condition,
    Lex,
    Prompt,
    LambdaFunction,
    Storage,
    Agent,
    Retrieval,
    Iterator,
    Collector,
    InlineCode,
    Loop,
    LoopInput,
    LoopController,
}

impl NodeType {
    /// The configuration member this type takes, as the wire spells it.
    pub fn member(self) -> &'static str {
        match self {
            Self::Input => "input",
            Self::Output => "output",
            Self::KnowledgeBase => "knowledgeBase",
            Self::Condition => "condition",
            Self::Lex => "lex",
            Self::Prompt => "prompt",
            Self::LambdaFunction => "lambdaFunction",
            Self::Storage => "storage",
            Self::Agent => "agent",
            Self::Retrieval => "retrieval",
            Self::Iterator => "iterator",
            Self::Collector => "collector",
            Self::InlineCode => "inlineCode",
            Self::Loop => "loop",
            Self::LoopInput => "loopInput",
            Self::LoopController => "loopController",
        }
    }

    /// The node type as the runtime's events name it (`flowOutputEvent.nodeType`).
    pub fn event_name(self) -> &'static str {
        match self {
            Self::Input => "FlowInputNode",
            Self::Output => "FlowOutputNode",
            Self::KnowledgeBase => "KnowledgeBaseNode",
            Self::Condition => "ConditionNode",
            Self::Lex => "LexNode",
            Self::Prompt => "PromptNode",
            Self::LambdaFunction => "LambdaFunctionNode",
            _ => "",
        }
    }
}

/// A node's configuration: a union whose member matches the node's type.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum NodeConfiguration {
    Input(Empty),
    Output(Empty),
    KnowledgeBase(KnowledgeBaseNode),
    Condition(ConditionNode),
    Lex(LexNode),
    Prompt(PromptNode),
    LambdaFunction(LambdaFunctionNode),
    Storage(StorageNode),
    Agent(AgentNode),
    Retrieval(RetrievalNode),
    Iterator(Empty),
    Collector(Empty),
    InlineCode(InlineCodeNode),
    Loop(LoopNode),
    LoopInput(Empty),
    LoopController(LoopControllerNode),
}

impl NodeConfiguration {
    /// The member's name, as the wire spells it.
    pub fn member(&self) -> &'static str {
        match self {
            Self::Input(_) => "input",
            Self::Output(_) => "output",
            Self::KnowledgeBase(_) => "knowledgeBase",
            Self::Condition(_) => "condition",
            Self::Lex(_) => "lex",
            Self::Prompt(_) => "prompt",
            Self::LambdaFunction(_) => "lambdaFunction",
            Self::Storage(_) => "storage",
            Self::Agent(_) => "agent",
            Self::Retrieval(_) => "retrieval",
            Self::Iterator(_) => "iterator",
            Self::Collector(_) => "collector",
            Self::InlineCode(_) => "inlineCode",
            Self::Loop(_) => "loop",
            Self::LoopInput(_) => "loopInput",
            Self::LoopController(_) => "loopController",
        }
    }
}

/// `{}`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Empty {}

/// Searches a knowledge base, and answers from what it found when `modelId` is set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct KnowledgeBaseNode {
    pub knowledge_base_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guardrail_configuration: Option<GuardrailConfiguration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub number_of_results: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt_template: Option<KnowledgeBasePromptTemplate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inference_configuration: Option<InferenceConfiguration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reranking_configuration: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub orchestration_configuration: Option<Value>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct KnowledgeBasePromptTemplate {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text_prompt_template: Option<String>,
}

/// A guardrail reference in bedrock-agent's spelling.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GuardrailConfiguration {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guardrail_identifier: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guardrail_version: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ConditionNode {
    pub conditions: Vec<FlowCondition>,
}

/// A named condition; the one without an expression is the default branch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FlowCondition {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expression: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LexNode {
    pub bot_alias_arn: String,
    pub locale_id: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PromptNode {
    pub source_configuration: PromptSource,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guardrail_configuration: Option<GuardrailConfiguration>,
}

/// Where a prompt node's prompt is: a union.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum PromptSource {
    Resource(PromptResource),
    Inline(Box<InlinePrompt>),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PromptResource {
    pub prompt_arn: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct InlinePrompt {
    pub template_type: TemplateType,
    pub template_configuration: TemplateConfiguration,
    pub model_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inference_configuration: Option<InferenceConfiguration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub additional_model_request_fields: Option<Value>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LambdaFunctionNode {
    pub lambda_arn: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StorageNode {
    pub service_configuration: S3Service,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RetrievalNode {
    pub service_configuration: S3Service,
}

/// `serviceConfiguration`: a union with one member.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum S3Service {
    S3(S3Bucket),
}

impl S3Service {
    pub fn bucket(&self) -> &str {
        match self {
            Self::S3(s3) => &s3.bucket_name,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct S3Bucket {
    pub bucket_name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AgentNode {
    pub agent_alias_arn: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct InlineCodeNode {
    pub code: String,
    pub language: CodeLanguage,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum CodeLanguage {
    #[serde(rename = "Python_3")]
    Python3,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LoopNode {
    pub definition: FlowDefinition,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LoopControllerNode {
    pub continue_condition: FlowCondition,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_iterations: Option<u32>,
}

/// The type of a port's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum IoType {
    String,
    Number,
    Boolean,
    Object,
    Array,
}

impl IoType {
    /// Whether `value` is of this type.
    pub fn admits(self, value: &Value) -> bool {
        match self {
            Self::String => value.is_string(),
            Self::Number => value.is_number(),
            Self::Boolean => value.is_boolean(),
            Self::Object => value.is_object(),
            Self::Array => value.is_array(),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::String => "String",
            Self::Number => "Number",
            Self::Boolean => "Boolean",
            Self::Object => "Object",
            Self::Array => "Array",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NodeInput {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: IoType,
    pub expression: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<InputCategory>,
}

/// What a loop controller's input is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum InputCategory {
    LoopCondition,
    ReturnValueToLoopStart,
    ExitLoop,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NodeOutput {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: IoType,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FlowConnection {
    #[serde(rename = "type")]
    pub kind: ConnectionType,
    pub name: String,
    pub source: String,
    pub target: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub configuration: Option<ConnectionConfiguration>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ConnectionType {
    Data,
    Conditional,
}

/// A connection's configuration: a union.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ConnectionConfiguration {
    Data(DataConnection),
    Conditional(ConditionalConnection),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DataConnection {
    pub source_output: String,
    pub target_input: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ConditionalConnection {
    pub condition: String,
}

//! The flow engine: InvokeFlow runs a prepared definition as a dataflow graph.
//!
//! A node runs once every input has a value (each read from its connection's source output
//! through the input's `$.data` expression and checked against its declared type) and, when
//! conditional connections lead to it, once one of them was taken. A node that can no longer
//! get its inputs (its source did not run, or its branch was not taken) is skipped, and so are
//! the nodes that depend on it. Ready nodes run concurrently, up to the alias's
//! `maxConcurrency`. Iterator nodes run the nodes between them and their Collector once per
//! element; Loop nodes run their body until the controller's `continueCondition` fails or
//! `maxIterations` is reached.
//!
//! Events go out as they happen: an Output node's `flowOutputEvent`, with `enableTrace` each
//! node's input and output traces and each condition's result, and at the end
//! `flowCompletionEvent` — only when every node that could run ran. A failing node ends the
//! run with [`FlowEvent::Failed`] naming it, and no completion.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::pin::Pin;
use std::sync::Arc;

use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;
use mantle_guardrails::{ApplyInput, ContentSource, Verdict};
use mantle_plugins::plugin::flow_node_api::{PortType, PortValue};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tokio::sync::mpsc;

use super::definition::{
    ConnectionConfiguration, ConnectionType, FlowDefinition, FlowNode, GuardrailConfiguration,
    InputCategory, IoType, KnowledgeBaseNode, NodeConfiguration, NodeType, PromptNode,
    PromptSource,
};
use super::expression::{Condition, InputPath};
use super::input::ConcurrencyType;
use super::service::{FlowServices, Flows};
use super::validate::inline_variant;
use crate::prompt::{PromptVariant, render};
use crate::{FlowAliasIdentifier, FlowId, FlowsError, PromptIdentifier};

/// InvokeFlow's body.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct InvokeFlowInput {
    pub inputs: Vec<FlowInput>,
    #[serde(default)]
    pub enable_trace: Option<bool>,
    #[serde(default)]
    pub execution_id: Option<String>,
    #[serde(default)]
    pub model_performance_configuration: Option<Value>,
}

/// The flow's input: the document for its Input node.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FlowInput {
    pub node_name: String,
    #[serde(default)]
    pub node_output_name: Option<String>,
    #[serde(default)]
    pub node_input_name: Option<String>,
    pub content: FlowContent,
}

/// A document: a union with one member.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum FlowContent {
    Document(Value),
}

/// What a running flow reports, in order.
#[derive(Debug)]
pub enum FlowEvent {
    /// An Output node's document.
    Output(OutputEvent),
    /// With `enableTrace`: what a node received, produced or decided.
    Trace(TraceEvent),
    /// Every node that could run ran.
    Completed,
    /// A node failed; the run stopped.
    Failed(FlowsError),
}

impl FlowEvent {
    /// The event-stream member this event is sent as.
    pub fn member(&self) -> &'static str {
        match self {
            Self::Output(_) => "flowOutputEvent",
            Self::Trace(_) => "flowTraceEvent",
            Self::Completed => "flowCompletionEvent",
            Self::Failed(_) => "exception",
        }
    }

    /// The event's payload, as the wire carries it (`Failed` is sent as an exception).
    pub fn payload(&self) -> Value {
        match self {
            Self::Output(output) => serde_json::to_value(output).unwrap_or_default(),
            Self::Trace(trace) => serde_json::to_value(trace).unwrap_or_default(),
            Self::Completed => json!({"completionReason": "SUCCESS"}),
            Self::Failed(error) => json!({"message": error.to_string()}),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OutputEvent {
    pub node_name: String,
    pub node_type: &'static str,
    pub content: FlowContent,
}

/// `flowTraceEvent`: `{"trace": {<member>: …}}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TraceEvent {
    pub trace: Trace,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase", rename_all_fields = "camelCase")]
pub enum Trace {
    NodeInputTrace {
        node_name: String,
        timestamp: String,
        fields: Vec<InputField>,
    },
    NodeOutputTrace {
        node_name: String,
        timestamp: String,
        fields: Vec<OutputField>,
    },
    ConditionNodeResultTrace {
        node_name: String,
        timestamp: String,
        satisfied_conditions: Vec<SatisfiedCondition>,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InputField {
    pub node_input_name: String,
    pub content: FlowContent,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OutputField {
    pub node_output_name: String,
    pub content: FlowContent,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SatisfiedCondition {
    pub condition_name: String,
}

/// A started run: its execution id and its events.
#[derive(Debug)]
pub struct FlowRun {
    pub execution_id: String,
    pub events: mpsc::Receiver<FlowEvent>,
    /// Stops the run where it is (StopFlowExecution).
    pub abort: tokio::task::AbortHandle,
}

/// What a node left for the nodes after it.
#[derive(Debug, Clone, PartialEq)]
enum State {
    /// It ran: its outputs, and for a condition node the condition it took (`None`: none).
    Done {
        outputs: BTreeMap<String, Value>,
        taken: Option<String>,
    },
    /// It could not run: an input's source was skipped or its branch not taken.
    Skipped,
}

type States = HashMap<String, State>;

/// A loop's iteration bound when its controller sets none (Bedrock's default).
const DEFAULT_MAX_ITERATIONS: u32 = 10;

/// One run's context, shared by its nodes.
struct Run {
    services: FlowServices,
    flow_arn: String,
    alias_arn: String,
    trace: bool,
    max_concurrency: usize,
    events: mpsc::Sender<FlowEvent>,
}

impl Run {
    async fn send(&self, event: FlowEvent) {
        // A client that went away stops caring; the run still ends on its own.
        let _ = self.events.send(event).await;
    }

    async fn trace(&self, trace: Trace) {
        if self.trace {
            self.send(FlowEvent::Trace(TraceEvent { trace })).await;
        }
    }
}

fn now() -> String {
    mantle_store::now_rfc3339()
}

fn failed(node: &str, message: impl std::fmt::Display) -> FlowsError {
    FlowsError::NodeFailed {
        node: node.to_owned(),
        message: message.to_string(),
    }
}

impl Flows {
    /// InvokeFlow: checks the input against the flow's Input node and starts the run; its
    /// events arrive on [`FlowRun::events`].
    pub fn invoke(
        &self,
        flow: &FlowId,
        alias: &FlowAliasIdentifier,
        input: InvokeFlowInput,
    ) -> Result<FlowRun, FlowsError> {
        let (definition, _, concurrency) = self.resolve_alias(flow, alias)?;
        if let Some(id) = &input.execution_id {
            // Only agent nodes wait for a user's answer, and this server runs none: no
            // execution is ever waiting to be continued.
            return Err(FlowsError::NotFound(format!(
                "No execution {id} of flow {flow} is waiting for input."
            )));
        }
        let [given] = input.inputs.as_slice() else {
            return Err(FlowsError::invalid(
                "inputs",
                "Member must have length between 1 and 1",
            ));
        };
        let start = definition
            .nodes
            .iter()
            .find(|n| n.kind == NodeType::Input)
            .ok_or_else(|| {
                FlowsError::invalid("inputs.0.nodeName", "the flow has no Input node")
            })?;
        if given.node_name != start.name {
            return Err(FlowsError::invalid(
                "inputs.0.nodeName",
                format!(
                    "the flow's Input node is {}, not {}",
                    start.name, given.node_name
                ),
            ));
        }
        let output = start.outputs.first().ok_or_else(|| {
            FlowsError::invalid("inputs.0.nodeName", "the Input node has no output")
        })?;
        if let Some(name) = &given.node_output_name
            && name != &output.name
        {
            return Err(FlowsError::invalid(
                "inputs.0.nodeOutputName",
                format!("the Input node's output is {}, not {name}", output.name),
            ));
        }
        let FlowContent::Document(document) = &given.content;
        if !output.kind.admits(document) {
            return Err(FlowsError::invalid(
                "inputs.0.content.document",
                format!(
                    "the Input node's {} is of type {}",
                    output.name,
                    output.kind.as_str()
                ),
            ));
        }
        let max_concurrency = match concurrency {
            Some(c) if c.kind == ConcurrencyType::Manual => c.max_concurrency.unwrap_or(1) as usize,
            _ => usize::MAX,
        };
        let (events, receiver) = mpsc::channel(64);
        let run = Arc::new(Run {
            services: self.services().clone(),
            flow_arn: self.arn(flow.as_str()),
            alias_arn: self.alias_arn(flow.as_str(), alias.id.as_str()),
            trace: input.enable_trace.unwrap_or(false),
            max_concurrency: max_concurrency.max(1),
            events,
        });
        let execution_id = uuid::Uuid::new_v4().to_string();
        let mut seeds = States::new();
        seeds.insert(
            start.name.clone(),
            State::Done {
                outputs: BTreeMap::from([(output.name.clone(), document.clone())]),
                taken: None,
            },
        );
        let start_name = start.name.clone();
        let output_name = output.name.clone();
        let document = document.clone();
        let flow_id = flow.clone();
        let task = tokio::spawn(async move {
            run.trace(Trace::NodeOutputTrace {
                node_name: start_name.clone(),
                timestamp: now(),
                fields: vec![OutputField {
                    node_output_name: output_name,
                    content: FlowContent::Document(document),
                }],
            })
            .await;
            let members: BTreeSet<String> = definition
                .nodes
                .iter()
                .filter(|n| n.name != start_name)
                .map(|n| n.name.clone())
                .collect();
            match run_graph(&run, &definition, members, seeds).await {
                Ok(_) => run.send(FlowEvent::Completed).await,
                Err(error) => {
                    tracing::info!(flow = %flow_id, %error, "flow run failed");
                    run.send(FlowEvent::Failed(error)).await;
                }
            }
        });
        Ok(FlowRun {
            execution_id,
            events: receiver,
            abort: task.abort_handle(),
        })
    }
}

type NodeFuture<'a> =
    Pin<Box<dyn Future<Output = (String, Result<State, FlowsError>)> + Send + 'a>>;

/// Whether a node can run now, will never run, or must wait.
enum Readiness {
    Ready(BTreeMap<String, Value>),
    Skipped,
    Waiting,
}

/// Runs `members` of `definition` to the end, over the states of nodes already resolved
/// (`states`: the Input node, or an iteration's or loop's seeds). Answers every state.
fn run_graph<'a>(
    run: &'a Run,
    definition: &'a FlowDefinition,
    members: BTreeSet<String>,
    mut states: States,
) -> Pin<Box<dyn Future<Output = Result<States, FlowsError>> + Send + 'a>> {
    Box::pin(async move {
        let mut pending = members.clone();
        // An iterator runs its body and collectors itself (keyed by the iterator); those
        // nodes are not run by this level.
        let mut owned: HashMap<String, BTreeSet<String>> = HashMap::new();
        let mut running: FuturesUnordered<NodeFuture<'a>> = FuturesUnordered::new();
        loop {
            let mut progressed = true;
            while progressed {
                progressed = false;
                for name in pending.clone() {
                    if owned.values().any(|nodes| nodes.contains(&name)) {
                        continue;
                    }
                    let Some(node) = definition.node(&name) else {
                        continue;
                    };
                    let waits_for_body = node.kind == NodeType::Iterator
                        && !body_feeders_resolved(definition, node, &states);
                    match readiness(definition, node, &states)? {
                        Readiness::Skipped => {
                            states.insert(name.clone(), State::Skipped);
                            pending.remove(&name);
                            progressed = true;
                        }
                        Readiness::Ready(_) if waits_for_body => {}
                        Readiness::Ready(inputs) if running.len() < run.max_concurrency => {
                            pending.remove(&name);
                            progressed = true;
                            if node.kind == NodeType::Iterator {
                                let (body, collectors) = iteration_body(definition, node);
                                owned.insert(
                                    name.clone(),
                                    body.iter().chain(collectors.iter()).cloned().collect(),
                                );
                                let snapshot = states.clone();
                                running.push(Box::pin(async move {
                                    let result = iterate(
                                        run, definition, node, inputs, body, collectors, snapshot,
                                    )
                                    .await;
                                    (name, result)
                                }));
                            } else {
                                running.push(Box::pin(async move {
                                    let result = run_node(run, node, inputs).await;
                                    (name, result)
                                }));
                            }
                        }
                        Readiness::Ready(_) | Readiness::Waiting => {}
                    }
                }
            }
            let Some((name, result)) = running.next().await else {
                break;
            };
            match result {
                Ok(State::Done { outputs, taken })
                    if definition
                        .node(&name)
                        .is_some_and(|n| n.kind == NodeType::Iterator) =>
                {
                    // An iteration answers the states of its collectors under their names and
                    // the iterator's own under its own; its body's states stay inside it.
                    for (collector, array) in outputs {
                        if collector == name {
                            continue;
                        }
                        states.insert(
                            collector.clone(),
                            State::Done {
                                outputs: BTreeMap::from([("collectedArray".to_owned(), array)]),
                                taken: None,
                            },
                        );
                        pending.remove(&collector);
                    }
                    for body in owned.remove(&name).unwrap_or_default() {
                        if pending.remove(&body) {
                            states.entry(body).or_insert(State::Skipped);
                        }
                    }
                    states.insert(
                        name,
                        State::Done {
                            outputs: BTreeMap::new(),
                            taken,
                        },
                    );
                }
                Ok(state) => {
                    states.insert(name, state);
                }
                Err(error) => return Err(error),
            }
        }
        for name in pending {
            states.entry(name).or_insert(State::Skipped);
        }
        Ok(states)
    })
}

/// The data connection feeding `input` of `node`, if any.
fn feeder<'a>(
    definition: &'a FlowDefinition,
    node: &str,
    input: &str,
) -> Option<(&'a str, &'a str)> {
    definition
        .connections
        .iter()
        .find_map(|c| match (&c.kind, &c.configuration) {
            (ConnectionType::Data, Some(ConnectionConfiguration::Data(data)))
                if c.target == node && data.target_input == input =>
            {
                Some((c.source.as_str(), data.source_output.as_str()))
            }
            _ => None,
        })
}

fn readiness(
    definition: &FlowDefinition,
    node: &FlowNode,
    states: &States,
) -> Result<Readiness, FlowsError> {
    let mut values = BTreeMap::new();
    for input in &node.inputs {
        let Some((source, output)) = feeder(definition, &node.name, &input.name) else {
            return Ok(Readiness::Skipped);
        };
        let value = match states.get(source) {
            None => return Ok(Readiness::Waiting),
            Some(State::Skipped) => return Ok(Readiness::Skipped),
            Some(State::Done { outputs, .. }) => match outputs.get(output) {
                None => return Ok(Readiness::Skipped),
                Some(value) => value,
            },
        };
        let path =
            InputPath::parse(&input.expression).map_err(|cause| failed(&node.name, cause))?;
        let picked = path.apply(value).ok_or_else(|| {
            failed(
                &node.name,
                format!(
                    "the expression {} of input {} finds nothing in {source}'s {output}",
                    input.expression, input.name
                ),
            )
        })?;
        if !input.kind.admits(picked) {
            return Err(failed(
                &node.name,
                format!(
                    "input {} is declared {} but received {picked}",
                    input.name,
                    input.kind.as_str()
                ),
            ));
        }
        values.insert(input.name.clone(), picked.clone());
    }
    let branches: Vec<(&str, &str)> = definition
        .connections
        .iter()
        .filter_map(|c| match (&c.kind, &c.configuration) {
            (ConnectionType::Conditional, Some(ConnectionConfiguration::Conditional(cond)))
                if c.target == node.name =>
            {
                Some((c.source.as_str(), cond.condition.as_str()))
            }
            _ => None,
        })
        .collect();
    if !branches.is_empty() {
        let mut undecided = false;
        let mut taken = false;
        for (source, condition) in &branches {
            match states.get(*source) {
                None => undecided = true,
                Some(State::Done { taken: Some(t), .. }) if t == condition => taken = true,
                Some(_) => {}
            }
        }
        if !taken {
            return Ok(if undecided {
                Readiness::Waiting
            } else {
                Readiness::Skipped
            });
        }
    }
    Ok(Readiness::Ready(values))
}

/// The nodes an iterator repeats: those reachable from it before a Collector, and the
/// collectors that end them.
fn iteration_body(
    definition: &FlowDefinition,
    iterator: &FlowNode,
) -> (BTreeSet<String>, BTreeSet<String>) {
    let mut body = BTreeSet::new();
    let mut collectors = BTreeSet::new();
    let mut queue = vec![iterator.name.as_str()];
    while let Some(at) = queue.pop() {
        for connection in definition.connections.iter().filter(|c| c.source == at) {
            let Some(target) = definition.node(&connection.target) else {
                continue;
            };
            if target.kind == NodeType::Collector {
                collectors.insert(target.name.clone());
            } else if target.name != iterator.name && body.insert(target.name.clone()) {
                queue.push(target.name.as_str());
            }
        }
    }
    (body, collectors)
}

/// Whether everything the iteration body reads from outside it has resolved.
fn body_feeders_resolved(
    definition: &FlowDefinition,
    iterator: &FlowNode,
    states: &States,
) -> bool {
    let (body, collectors) = iteration_body(definition, iterator);
    body.iter().chain(collectors.iter()).all(|name| {
        definition
            .connections
            .iter()
            .filter(|c| &c.target == name)
            .all(|c| {
                c.source == iterator.name
                    || body.contains(&c.source)
                    || states.contains_key(&c.source)
            })
    })
}

/// Runs an iterator's body once per element, then answers each collector's array (under the
/// collector's name).
async fn iterate(
    run: &Run,
    definition: &FlowDefinition,
    iterator: &FlowNode,
    inputs: BTreeMap<String, Value>,
    body: BTreeSet<String>,
    collectors: BTreeSet<String>,
    outer: States,
) -> Result<State, FlowsError> {
    let items = match inputs.get("array") {
        Some(Value::Array(items)) => items.clone(),
        _ => return Err(failed(&iterator.name, "the input array is not an array")),
    };
    trace_inputs(run, iterator, &inputs).await;
    let size = Value::from(items.len());
    let mut collected: BTreeMap<String, Vec<Value>> =
        collectors.iter().map(|c| (c.clone(), Vec::new())).collect();
    for item in items {
        let outputs = BTreeMap::from([
            ("arrayItem".to_owned(), item),
            ("arraySize".to_owned(), size.clone()),
        ]);
        trace_outputs(run, iterator, &outputs).await;
        let mut seeds = outer.clone();
        seeds.insert(
            iterator.name.clone(),
            State::Done {
                outputs,
                taken: None,
            },
        );
        let states = run_graph(run, definition, body.clone(), seeds).await?;
        for collector in &collectors {
            let Some(node) = definition.node(collector) else {
                continue;
            };
            // The collector's element arrives from the body; an iteration whose branch did
            // not reach it adds nothing.
            if let Readiness::Ready(values) = readiness(definition, node, &states)?
                && let Some(value) = values.get("arrayItem")
            {
                collected
                    .entry(collector.clone())
                    .or_default()
                    .push(value.clone());
            }
        }
    }
    let mut outputs = BTreeMap::new();
    for (collector, array) in collected {
        if let Some(node) = definition.node(&collector) {
            let out = BTreeMap::from([("collectedArray".to_owned(), Value::Array(array.clone()))]);
            trace_outputs(run, node, &out).await;
        }
        outputs.insert(collector, Value::Array(array));
    }
    Ok(State::Done {
        outputs,
        taken: None,
    })
}

async fn trace_inputs(run: &Run, node: &FlowNode, inputs: &BTreeMap<String, Value>) {
    if inputs.is_empty() {
        return;
    }
    run.trace(Trace::NodeInputTrace {
        node_name: node.name.clone(),
        timestamp: now(),
        fields: inputs
            .iter()
            .map(|(name, value)| InputField {
                node_input_name: name.clone(),
                content: FlowContent::Document(value.clone()),
            })
            .collect(),
    })
    .await;
}

async fn trace_outputs(run: &Run, node: &FlowNode, outputs: &BTreeMap<String, Value>) {
    if outputs.is_empty() {
        return;
    }
    run.trace(Trace::NodeOutputTrace {
        node_name: node.name.clone(),
        timestamp: now(),
        fields: outputs
            .iter()
            .map(|(name, value)| OutputField {
                node_output_name: name.clone(),
                content: FlowContent::Document(value.clone()),
            })
            .collect(),
    })
    .await;
}

/// Runs one node over its input values.
async fn run_node(
    run: &Run,
    node: &FlowNode,
    inputs: BTreeMap<String, Value>,
) -> Result<State, FlowsError> {
    trace_inputs(run, node, &inputs).await;
    let name = &node.name;
    let services = &run.services;
    let (outputs, taken) = match &node.configuration {
        None if node.kind == NodeType::Output => (output_node(run, node, &inputs).await, None),
        Some(NodeConfiguration::Output(_)) => (output_node(run, node, &inputs).await, None),
        Some(NodeConfiguration::Prompt(prompt)) => {
            let text = prompt_node(services, node, prompt, &inputs).await?;
            (
                BTreeMap::from([("modelCompletion".to_owned(), Value::String(text))]),
                None,
            )
        }
        Some(NodeConfiguration::Condition(condition)) => {
            // Conditions with an expression are tried in order; the default one (without an
            // expression) is taken when none holds.
            let mut taken = None;
            for c in &condition.conditions {
                let Some(expression) = &c.expression else {
                    continue;
                };
                let satisfied = Condition::parse(expression)
                    .map_err(|cause| failed(name, cause))?
                    .eval(&inputs)
                    .map_err(|e| failed(name, format!("condition {}: {e}", c.name)))?;
                if satisfied {
                    taken = Some(c.name.clone());
                    break;
                }
            }
            if taken.is_none() {
                taken = condition
                    .conditions
                    .iter()
                    .find(|c| c.expression.is_none())
                    .map(|c| c.name.clone());
            }
            run.trace(Trace::ConditionNodeResultTrace {
                node_name: name.clone(),
                timestamp: now(),
                satisfied_conditions: taken
                    .iter()
                    .map(|c| SatisfiedCondition {
                        condition_name: c.clone(),
                    })
                    .collect(),
            })
            .await;
            (BTreeMap::new(), taken)
        }
        Some(NodeConfiguration::KnowledgeBase(kb)) => {
            let query = inputs
                .get("retrievalQuery")
                .and_then(Value::as_str)
                .unwrap_or_default();
            (knowledge_base_node(services, node, kb, query).await?, None)
        }
        Some(NodeConfiguration::LambdaFunction(lambda)) => (
            lambda_node(run, node, &lambda.lambda_arn, &inputs).await?,
            None,
        ),
        Some(NodeConfiguration::Storage(storage)) => {
            let key = inputs
                .get("objectKey")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let uri = format!("s3://{}/{key}", storage.service_configuration.bucket());
            let bytes = match inputs.get("content") {
                Some(Value::String(text)) => text.clone().into_bytes(),
                Some(other) => other.to_string().into_bytes(),
                None => Vec::new(),
            };
            services
                .knowledge
                .put_object(&uri, bytes)
                .await
                .map_err(|e| failed(name, format!("cannot store {uri}: {e}")))?;
            (
                BTreeMap::from([("s3Uri".to_owned(), Value::String(uri))]),
                None,
            )
        }
        Some(NodeConfiguration::Retrieval(retrieval)) => {
            let key = inputs
                .get("objectKey")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let uri = format!("s3://{}/{key}", retrieval.service_configuration.bucket());
            let bytes = services
                .knowledge
                .get_object(&uri)
                .await
                .map_err(|e| failed(name, format!("cannot read {uri}: {e}")))?;
            let text = String::from_utf8(bytes)
                .map_err(|_| failed(name, format!("{uri} is not UTF-8 text")))?;
            (
                BTreeMap::from([("s3Content".to_owned(), Value::String(text))]),
                None,
            )
        }
        Some(NodeConfiguration::Loop(body)) => {
            (loop_node(run, node, &body.definition, &inputs).await?, None)
        }
        Some(NodeConfiguration::LoopController(controller)) => {
            let condition_inputs: BTreeMap<String, Value> = node
                .inputs
                .iter()
                .filter(|i| i.category == Some(InputCategory::LoopCondition))
                .filter_map(|i| inputs.get(&i.name).map(|v| (i.name.clone(), v.clone())))
                .collect();
            let expression = controller
                .continue_condition
                .expression
                .as_deref()
                .unwrap_or("false");
            let again = Condition::parse(expression)
                .map_err(|cause| failed(name, cause))?
                .eval(&condition_inputs)
                .map_err(|e| failed(name, e))?;
            (inputs.clone(), again.then(|| "continue".to_owned()))
        }
        _ => {
            return Err(failed(
                name,
                format!("{:?} nodes are not run by this server", node.kind),
            ));
        }
    };
    for output in &node.outputs {
        if let Some(value) = outputs.get(&output.name)
            && !output.kind.admits(value)
        {
            return Err(failed(
                name,
                format!(
                    "output {} is declared {} but the node produced {value}",
                    output.name,
                    output.kind.as_str()
                ),
            ));
        }
    }
    if node.kind != NodeType::LoopController {
        trace_outputs(run, node, &outputs).await;
    }
    Ok(State::Done { outputs, taken })
}

async fn output_node(
    run: &Run,
    node: &FlowNode,
    inputs: &BTreeMap<String, Value>,
) -> BTreeMap<String, Value> {
    if let Some(document) = inputs.get("document") {
        run.send(FlowEvent::Output(OutputEvent {
            node_name: node.name.clone(),
            node_type: NodeType::Output.event_name(),
            content: FlowContent::Document(document.clone()),
        }))
        .await;
    }
    BTreeMap::new()
}

/// A prompt variable's text: strings as they are, other values as compact JSON.
fn variable_text(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

async fn prompt_node(
    services: &FlowServices,
    node: &FlowNode,
    prompt: &PromptNode,
    inputs: &BTreeMap<String, Value>,
) -> Result<String, FlowsError> {
    let name = &node.name;
    let variant: PromptVariant = match &prompt.source_configuration {
        PromptSource::Inline(inline) => inline_variant(inline),
        PromptSource::Resource(resource) => {
            let identifier = PromptIdentifier::from_arn(&resource.prompt_arn).ok_or_else(|| {
                failed(name, format!("{} is not a prompt ARN", resource.prompt_arn))
            })?;
            services
                .prompts
                .variant(&identifier, None)
                .map_err(|e| failed(name, e))?
        }
    };
    let values: BTreeMap<String, String> = inputs
        .iter()
        .map(|(k, v)| (k.clone(), variable_text(v)))
        .collect();
    let rendered = render(&variant, &values, "inputs").map_err(|e| failed(name, e))?;
    let model_id = rendered
        .model_id
        .as_deref()
        .ok_or_else(|| failed(name, "the prompt names no model"))?;
    let model = services
        .models
        .text(model_id)
        .map_err(|e| failed(name, e))?;
    let guard = prompt
        .guardrail_configuration
        .as_ref()
        .map(|g| guardrail(services, g))
        .transpose()
        .map_err(|e| failed(name, e))?;
    if let Some((guardrails, id, version)) = &guard {
        let texts: Vec<String> = rendered
            .system
            .iter()
            .chain(rendered.messages.iter().flat_map(|m| &m.texts))
            .cloned()
            .collect();
        let outcome = guardrails
            .apply(
                id,
                *version,
                &ApplyInput::texts(ContentSource::Input, texts),
            )
            .await
            .map_err(|e| failed(name, e))?;
        if let Verdict::Blocked(message) = outcome.verdict {
            return Ok(message);
        }
    }
    let completion = async {
        model
            .generate(&rendered.generate_request())?
            .collect()
            .await
    }
    .await
    .map_err(|e| failed(name, e))?;
    let mut text = match &completion.tool_use {
        Some(call) => json!({"name": call.name, "input": call.input}).to_string(),
        None => completion.text.trim().to_owned(),
    };
    if let Some((guardrails, id, version)) = &guard {
        let outcome = guardrails
            .apply(
                id,
                *version,
                &ApplyInput::texts(ContentSource::Output, [text.clone()]),
            )
            .await
            .map_err(|e| failed(name, e))?;
        match outcome.verdict {
            Verdict::Pass => {}
            Verdict::Masked(texts) => text = texts.concat(),
            Verdict::Blocked(message) => text = message,
        }
    }
    Ok(text)
}

/// A node's guardrail reference, checked: the service, the id and the version.
pub(crate) fn guardrail(
    services: &FlowServices,
    config: &GuardrailConfiguration,
) -> Result<
    (
        mantle_guardrails::Guardrails,
        mantle_guardrails::GuardrailId,
        mantle_guardrails::GuardrailVersion,
    ),
    String,
> {
    let id: mantle_guardrails::GuardrailId = config
        .guardrail_identifier
        .as_deref()
        .unwrap_or_default()
        .parse()
        .map_err(|e: mantle_guardrails::GuardrailError| e.to_string())?;
    let version: mantle_guardrails::GuardrailVersion = config
        .guardrail_version
        .as_deref()
        .unwrap_or("DRAFT")
        .parse()
        .map_err(|e: mantle_guardrails::GuardrailError| e.to_string())?;
    services
        .guardrails
        .get(&id, version)
        .map_err(|e| e.to_string())?;
    Ok((services.guardrails.clone(), id, version))
}

async fn knowledge_base_node(
    services: &FlowServices,
    node: &FlowNode,
    kb: &KnowledgeBaseNode,
    query: &str,
) -> Result<BTreeMap<String, Value>, FlowsError> {
    let name = &node.name;
    let id: mantle_knowledge::KnowledgeBaseId =
        kb.knowledge_base_id.parse().map_err(|e| failed(name, e))?;
    let count = kb.number_of_results.unwrap_or(5) as usize;
    let Some(model) = &kb.model_id else {
        let results = services
            .knowledge
            .search(&id, &mantle_knowledge::SearchRequest::new(query, count))
            .await
            .map_err(|e| failed(name, e))?;
        let results = serde_json::to_value(results).map_err(|e| failed(name, e))?;
        return Ok(BTreeMap::from([("retrievalResults".to_owned(), results)]));
    };
    // RetrieveAndGenerate's own request shape, so its checks and defaults apply unchanged.
    let mut generation = serde_json::Map::new();
    if let Some(template) = kb
        .prompt_template
        .as_ref()
        .and_then(|t| t.text_prompt_template.as_ref())
    {
        generation.insert(
            "promptTemplate".into(),
            json!({"textPromptTemplate": template}),
        );
    }
    if let Some(inference) = &kb.inference_configuration {
        generation.insert(
            "inferenceConfig".into(),
            json!({"textInferenceConfig": inference.text()}),
        );
    }
    if let Some(guardrail) = &kb.guardrail_configuration {
        generation.insert(
            "guardrailConfiguration".into(),
            json!({"guardrailId": guardrail.guardrail_identifier, "guardrailVersion": guardrail.guardrail_version.as_deref().unwrap_or("DRAFT")}),
        );
    }
    let request = json!({
        "input": {"text": query},
        "retrieveAndGenerateConfiguration": {"type": "KNOWLEDGE_BASE", "knowledgeBaseConfiguration": {
            "knowledgeBaseId": kb.knowledge_base_id,
            "modelArn": model,
            "retrievalConfiguration": {"vectorSearchConfiguration": {"numberOfResults": count}},
            "generationConfiguration": generation,
        }},
    });
    let input: mantle_knowledge::RetrieveAndGenerateInput =
        serde_json::from_value(request).map_err(|e| failed(name, e))?;
    let answer = services
        .knowledge
        .retrieve_and_generate(&input)
        .await
        .map_err(|e| failed(name, e))?;
    Ok(BTreeMap::from([(
        "outputText".to_owned(),
        Value::String(answer.output.text),
    )]))
}

/// The flow-node plugin a Lambda ARN names: `arn:aws:lambda:{region}:{account}:function:{name}`
/// runs the installed plugin `name` (`name:{qualifier}` runs version `qualifier` when it is one).
pub(crate) fn lambda_plugin(
    services: &FlowServices,
    arn: &str,
) -> Result<Arc<mantle_plugins::LoadedPlugin>, String> {
    let function = arn
        .strip_prefix("arn:aws:lambda:")
        .and_then(|rest| rest.split_once(":function:"))
        .map(|(_, function)| function)
        .filter(|f| !f.is_empty())
        .ok_or_else(|| format!("{arn} is not a Lambda function ARN (arn:aws:lambda:<region>:<account>:function:<plugin>)"))?;
    let spec = match function.split_once(':') {
        Some((name, qualifier)) if semver::Version::parse(qualifier).is_ok() => {
            format!("{name}@{qualifier}")
        }
        Some((name, _)) => name.to_owned(),
        None => function.to_owned(),
    };
    let plugin = services
        .registry
        .resolve(&spec)
        .map_err(|e| e.to_string())?;
    let kind = plugin.manifest().kind;
    if kind != mantle_plugins::Kind::FlowNode {
        return Err(format!(
            "the plugin {spec} is a {} plugin, not a flow-node plugin",
            kind.as_str()
        ));
    }
    Ok(plugin)
}

fn port_type(kind: IoType) -> PortType {
    match kind {
        IoType::String => PortType::String,
        IoType::Number => PortType::Number,
        IoType::Boolean => PortType::Boolean,
        IoType::Object => PortType::Object,
        IoType::Array => PortType::Array,
    }
}

async fn lambda_node(
    run: &Run,
    node: &FlowNode,
    arn: &str,
    inputs: &BTreeMap<String, Value>,
) -> Result<BTreeMap<String, Value>, FlowsError> {
    let name = &node.name;
    let plugin = lambda_plugin(&run.services, arn).map_err(|e| failed(name, e))?;
    let ports: Vec<PortValue> = node
        .inputs
        .iter()
        .filter_map(|input| {
            inputs.get(&input.name).map(|value| PortValue {
                name: input.name.clone(),
                type_: port_type(input.kind),
                value: value.to_string(),
            })
        })
        .collect();
    // What Bedrock's Lambda event says besides the inputs: which flow and node this is.
    let config = json!({
        "messageVersion": "1.0",
        "flow": {"flowArn": run.flow_arn, "flowAliasArn": run.alias_arn},
        "node": {"name": name, "outputs": node.outputs.iter().map(|o| json!({"name": o.name, "type": o.kind.as_str()})).collect::<Vec<_>>()},
    });
    let outputs = plugin
        .run_node(&ports, &config.to_string())
        .await
        .map_err(|e| failed(name, e))?;
    let mut values = BTreeMap::new();
    for port in outputs {
        let value: Value = serde_json::from_str(&port.value).map_err(|e| failed(name, e))?;
        values.insert(port.name, value);
    }
    if !values.contains_key("functionResponse") {
        return Err(failed(
            name,
            format!(
                "the plugin {} answered no functionResponse output",
                plugin.manifest().name
            ),
        ));
    }
    Ok(values)
}

/// Runs a Loop node's body until its controller says stop, answering its ExitLoop values as
/// the loop's outputs.
async fn loop_node(
    run: &Run,
    node: &FlowNode,
    body: &FlowDefinition,
    inputs: &BTreeMap<String, Value>,
) -> Result<BTreeMap<String, Value>, FlowsError> {
    let name = &node.name;
    let entry = body
        .nodes
        .iter()
        .find(|n| n.kind == NodeType::LoopInput)
        .ok_or_else(|| failed(name, "the loop has no LoopInput node"))?;
    let controller = body
        .nodes
        .iter()
        .find(|n| n.kind == NodeType::LoopController)
        .ok_or_else(|| failed(name, "the loop has no LoopController node"))?;
    let max = match &controller.configuration {
        Some(NodeConfiguration::LoopController(c)) => {
            c.max_iterations.unwrap_or(DEFAULT_MAX_ITERATIONS)
        }
        _ => DEFAULT_MAX_ITERATIONS,
    };
    let members: BTreeSet<String> = body
        .nodes
        .iter()
        .filter(|n| n.kind != NodeType::LoopInput)
        .map(|n| n.name.clone())
        .collect();
    let mut carried: BTreeMap<String, Value> = entry
        .outputs
        .iter()
        .filter_map(|o| inputs.get(&o.name).map(|v| (o.name.clone(), v.clone())))
        .collect();
    for iteration in 1..=max {
        let mut seeds = States::new();
        seeds.insert(
            entry.name.clone(),
            State::Done {
                outputs: carried.clone(),
                taken: None,
            },
        );
        let states = run_graph(run, body, members.clone(), seeds).await?;
        let Some(State::Done { outputs, taken }) = states.get(&controller.name) else {
            return Err(failed(
                name,
                format!(
                    "iteration {iteration} did not reach the controller {}",
                    controller.name
                ),
            ));
        };
        let exits = |outputs: &BTreeMap<String, Value>| -> BTreeMap<String, Value> {
            controller
                .inputs
                .iter()
                .filter(|i| i.category == Some(InputCategory::ExitLoop))
                .filter_map(|i| outputs.get(&i.name).map(|v| (i.name.clone(), v.clone())))
                .collect()
        };
        if taken.is_none() || iteration == max {
            return Ok(exits(outputs));
        }
        for input in &controller.inputs {
            if input.category == Some(InputCategory::ReturnValueToLoopStart)
                && let Some(value) = outputs.get(&input.name)
            {
                carried.insert(input.name.clone(), value.clone());
            }
        }
    }
    Ok(BTreeMap::new())
}

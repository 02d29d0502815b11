//! Asynchronous flow executions (StartFlowExecution and its Get / List / ListEvents / Stop /
//! GetExecutionFlowSnapshot): the same engine as InvokeFlow, run in the background with every
//! node's inputs and outputs recorded as execution events in sled.
//!
//! An execution's record is written before it starts and its events as they happen, so what a
//! client was told survives a crash; an execution a previous process left `Running` is marked
//! `Failed` with that reason when the service opens (its recorded events stay), never left
//! running forever or silently restarted.

use std::collections::HashMap;
use std::sync::Mutex;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::definition::FlowDefinition;
use super::engine::{FlowContent, FlowEvent, FlowInput, InvokeFlowInput, Trace};
use super::input::ListInput;
use super::service::Flows;
use crate::{FlowAliasIdentifier, FlowId, FlowsError, page};

/// StartFlowExecution's body.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StartExecutionInput {
    pub inputs: Vec<FlowInput>,
    #[serde(default)]
    pub flow_execution_name: Option<String>,
    #[serde(default)]
    pub model_performance_configuration: Option<Value>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ExecutionStatus {
    Running,
    Succeeded,
    Failed,
    TimedOut,
    Aborted,
}

/// Which events ListFlowExecutionEvents lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum EventType {
    Node,
    Flow,
}

/// An execution, as GetFlowExecution answers it (and StopFlowExecution, StartFlowExecution in
/// part).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Execution {
    pub execution_arn: String,
    pub flow_identifier: String,
    pub flow_alias_identifier: String,
    pub flow_version: String,
    pub status: ExecutionStatus,
    pub started_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended_at: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<ExecutionError>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExecutionError {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_name: Option<String>,
    pub message: String,
}

/// ListFlowExecutions' summaries.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExecutionSummary {
    pub execution_arn: String,
    pub flow_identifier: String,
    pub flow_alias_identifier: String,
    pub flow_version: String,
    pub status: ExecutionStatus,
    pub created_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ended_at: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExecutionPage {
    pub flow_execution_summaries: Vec<ExecutionSummary>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExecutionEventPage {
    pub flow_execution_events: Vec<ExecutionEvent>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
}

/// StartFlowExecution's answer.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StartedExecution {
    pub execution_arn: String,
}

/// StopFlowExecution's answer.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StoppedExecution {
    pub execution_arn: String,
    pub status: ExecutionStatus,
}

/// GetExecutionFlowSnapshot's answer: the definition the execution ran, as a JSON string.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FlowSnapshot {
    pub definition: String,
    pub execution_role_arn: String,
    pub flow_alias_identifier: String,
    pub flow_identifier: String,
    pub flow_version: String,
}

/// One recorded event: a union whose member names what happened.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", rename_all_fields = "camelCase")]
pub enum ExecutionEvent {
    FlowInputEvent {
        node_name: String,
        timestamp: String,
        fields: Vec<Field>,
    },
    FlowOutputEvent {
        node_name: String,
        timestamp: String,
        fields: Vec<Field>,
    },
    NodeInputEvent {
        node_name: String,
        timestamp: String,
        fields: Vec<Field>,
    },
    NodeOutputEvent {
        node_name: String,
        timestamp: String,
        fields: Vec<Field>,
    },
    ConditionResultEvent {
        node_name: String,
        timestamp: String,
        satisfied_conditions: Vec<Value>,
    },
    NodeFailureEvent {
        node_name: String,
        timestamp: String,
        error_code: String,
        error_message: String,
    },
    FlowFailureEvent {
        timestamp: String,
        error_code: String,
        error_message: String,
    },
}

impl ExecutionEvent {
    fn kind(&self) -> EventType {
        match self {
            Self::FlowInputEvent { .. }
            | Self::FlowOutputEvent { .. }
            | Self::FlowFailureEvent { .. } => EventType::Flow,
            _ => EventType::Node,
        }
    }
}

/// A named value of an event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Field {
    pub name: String,
    pub content: FlowContent,
}

/// Keyed `{flowId}/{executionId}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ExecutionRecord {
    pub(crate) execution: Execution,
    pub(crate) flow_id: String,
    pub(crate) alias_id: String,
    pub(crate) execution_role_arn: String,
    pub(crate) definition: FlowDefinition,
}

impl mantle_store::Record for ExecutionRecord {
    const TREE: &'static str = "flow_executions";
    const SCHEMA_VERSION: u32 = 1;
}

/// Keyed `{flowId}/{executionId}/{sequence:08}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct ExecutionEventRecord {
    pub(crate) event: ExecutionEvent,
}

impl mantle_store::Record for ExecutionEventRecord {
    const TREE: &'static str = "flow_execution_events";
    const SCHEMA_VERSION: u32 = 1;
}

/// The executions running in this process, by record key.
#[derive(Debug, Default)]
pub(crate) struct Running(Mutex<HashMap<String, tokio::task::AbortHandle>>);

impl Running {
    /// Forgets a run, answering its handle if it was still running here.
    pub(crate) fn remove(&self, key: &str) -> Option<tokio::task::AbortHandle> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).remove(key)
    }
}

fn now() -> String {
    mantle_store::now_rfc3339()
}

/// An execution's id from its ARN or its bare id.
fn execution_id(identifier: &str) -> Result<&str, FlowsError> {
    let id = identifier
        .rsplit_once("/execution/")
        .map_or(identifier, |(_, id)| id);
    let valid =
        (1..=36).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    if valid {
        Ok(id)
    } else {
        Err(FlowsError::invalid(
            "executionIdentifier",
            "Member must satisfy regular expression pattern: ^[a-zA-Z0-9-]{1,36}$|^(arn:aws:bedrock:[a-z0-9-]{1,20}:[0-9]{12}:flow/[0-9a-zA-Z]{10}/alias/[0-9a-zA-Z]{10}/execution/[a-zA-Z0-9-]{1,36})$",
        ))
    }
}

impl Flows {
    /// Marks executions a previous process left running as failed.
    pub(crate) fn recover_executions(&self) -> Result<(), FlowsError> {
        let inner = &self.inner;
        let mut interrupted = 0;
        for (key, record) in inner.executions.all()? {
            if record.execution.status == ExecutionStatus::Running {
                inner.executions.update::<FlowsError>(&key, |r| {
                    Ok(r.map(|mut r| {
                        r.execution.status = ExecutionStatus::Failed;
                        r.execution.ended_at = Some(now());
                        r.execution.errors.push(ExecutionError {
                            node_name: None,
                            message: "The server stopped while the execution ran; start it again."
                                .into(),
                        });
                        r
                    }))
                })?;
                interrupted += 1;
            }
        }
        if interrupted > 0 {
            inner.store.flush()?;
            tracing::info!(
                interrupted,
                "flow executions interrupted by a restart marked Failed"
            );
        }
        Ok(())
    }

    fn execution_arn(&self, flow: &str, alias: &str, id: &str) -> String {
        format!("{}/execution/{id}", self.alias_arn(flow, alias))
    }

    /// StartFlowExecution: starts the run in the background and answers its ARN at once.
    pub fn start_execution(
        &self,
        flow: &FlowId,
        alias: &FlowAliasIdentifier,
        input: StartExecutionInput,
    ) -> Result<StartedExecution, FlowsError> {
        let inner = &self.inner;
        let id = match &input.flow_execution_name {
            Some(name) => execution_id(name)
                .map_err(|_| {
                    FlowsError::invalid(
                        "flowExecutionName",
                        "Member must satisfy regular expression pattern: ^[a-zA-Z0-9-]{1,36}$",
                    )
                })?
                .to_owned(),
            None => uuid::Uuid::new_v4().to_string(),
        };
        let (definition, version, _) = self.resolve_alias(flow, alias)?;
        let draft = self.find(flow)?;
        let key = format!("{flow}/{id}");
        let arn = self.execution_arn(flow.as_str(), alias.id.as_str(), &id);
        let document = input.inputs.first().map(|i| {
            let FlowContent::Document(d) = &i.content;
            (
                i.node_name.clone(),
                i.node_output_name
                    .clone()
                    .unwrap_or_else(|| "document".into()),
                d.clone(),
            )
        });
        let mut run = self.invoke(
            flow,
            alias,
            InvokeFlowInput {
                inputs: input.inputs,
                enable_trace: Some(true),
                execution_id: None,
                model_performance_configuration: input.model_performance_configuration,
            },
        )?;
        let record = ExecutionRecord {
            execution: Execution {
                execution_arn: arn.clone(),
                flow_identifier: flow.to_string(),
                flow_alias_identifier: alias.id.to_string(),
                flow_version: version.label(),
                status: ExecutionStatus::Running,
                started_at: now(),
                ended_at: None,
                errors: Vec::new(),
            },
            flow_id: flow.to_string(),
            alias_id: alias.id.to_string(),
            execution_role_arn: draft.content.execution_role_arn,
            definition,
        };
        if !inner.executions.insert_new(&key, &record)? {
            run.abort.abort();
            return Err(FlowsError::Conflict(format!(
                "The flow {flow} already has an execution named {id}."
            )));
        }
        inner.store.flush()?;
        self.inner
            .running
            .0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(key.clone(), run.abort.clone());
        let flows = self.clone();
        tokio::spawn(async move {
            let mut sequence = 0u64;
            let mut record_event = |event: ExecutionEvent| {
                let result = flows.inner.events.put(
                    &format!("{key}/{sequence:08}"),
                    &ExecutionEventRecord { event },
                );
                sequence += 1;
                if let Err(error) = result {
                    tracing::error!(%error, "cannot record a flow execution event");
                }
            };
            if let Some((node_name, name, document)) = document {
                record_event(ExecutionEvent::FlowInputEvent {
                    node_name,
                    timestamp: now(),
                    fields: vec![Field {
                        name,
                        content: FlowContent::Document(document),
                    }],
                });
            }
            let mut outcome = (ExecutionStatus::Failed, Vec::new());
            while let Some(event) = run.events.recv().await {
                match event {
                    FlowEvent::Trace(trace) => record_event(match trace.trace {
                        Trace::NodeInputTrace {
                            node_name,
                            timestamp,
                            fields,
                        } => ExecutionEvent::NodeInputEvent {
                            node_name,
                            timestamp,
                            fields: fields
                                .into_iter()
                                .map(|f| Field {
                                    name: f.node_input_name,
                                    content: f.content,
                                })
                                .collect(),
                        },
                        Trace::NodeOutputTrace {
                            node_name,
                            timestamp,
                            fields,
                        } => ExecutionEvent::NodeOutputEvent {
                            node_name,
                            timestamp,
                            fields: fields
                                .into_iter()
                                .map(|f| Field {
                                    name: f.node_output_name,
                                    content: f.content,
                                })
                                .collect(),
                        },
                        Trace::ConditionNodeResultTrace {
                            node_name,
                            timestamp,
                            satisfied_conditions,
                        } => ExecutionEvent::ConditionResultEvent {
                            node_name,
                            timestamp,
                            satisfied_conditions: satisfied_conditions
                                .into_iter()
                                .map(|c| serde_json::json!({"conditionName": c.condition_name}))
                                .collect(),
                        },
                    }),
                    FlowEvent::Output(output) => record_event(ExecutionEvent::FlowOutputEvent {
                        node_name: output.node_name,
                        timestamp: now(),
                        fields: vec![Field {
                            name: "document".into(),
                            content: output.content,
                        }],
                    }),
                    FlowEvent::Completed => outcome = (ExecutionStatus::Succeeded, Vec::new()),
                    FlowEvent::Failed(error) => {
                        let (node, message) = match &error {
                            FlowsError::NodeFailed { node, message } => {
                                (Some(node.clone()), message.clone())
                            }
                            other => (None, other.to_string()),
                        };
                        if let Some(node) = &node {
                            record_event(ExecutionEvent::NodeFailureEvent {
                                node_name: node.clone(),
                                timestamp: now(),
                                error_code: "DEPENDENCY_FAILED".into(),
                                error_message: message.clone(),
                            });
                        }
                        record_event(ExecutionEvent::FlowFailureEvent {
                            timestamp: now(),
                            error_code: if node.is_some() {
                                "NODE_EXECUTION_FAILED"
                            } else {
                                "INTERNAL_SERVER"
                            }
                            .into(),
                            error_message: error.to_string(),
                        });
                        outcome = (
                            ExecutionStatus::Failed,
                            vec![ExecutionError {
                                node_name: node,
                                message,
                            }],
                        );
                    }
                }
            }
            flows.finish_execution(&key, outcome.0, outcome.1);
        });
        Ok(StartedExecution { execution_arn: arn })
    }

    /// Records how an execution ended, unless it was stopped first.
    fn finish_execution(&self, key: &str, status: ExecutionStatus, errors: Vec<ExecutionError>) {
        let inner = &self.inner;
        inner
            .running
            .0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(key);
        let updated = inner.executions.update::<FlowsError>(key, |record| {
            Ok(record.map(|mut record| {
                if record.execution.status == ExecutionStatus::Running {
                    record.execution.status = status;
                    record.execution.ended_at = Some(now());
                    record.execution.errors = errors.clone();
                }
                record
            }))
        });
        if let Err(error) = updated
            .map(|_| ())
            .and_then(|()| inner.store.flush().map_err(FlowsError::from))
        {
            tracing::error!(%error, "cannot record the end of a flow execution");
        }
    }

    fn find_execution(
        &self,
        flow: &FlowId,
        alias: &FlowAliasIdentifier,
        identifier: &str,
    ) -> Result<(String, ExecutionRecord), FlowsError> {
        let id = execution_id(identifier)?;
        let key = format!("{flow}/{id}");
        let record = self
            .inner
            .executions
            .get(&key)?
            .filter(|r| r.alias_id == alias.id.as_str())
            .ok_or_else(|| {
                FlowsError::NotFound(format!(
                    "Flow {flow} alias {} has no execution {id}.",
                    alias.id
                ))
            })?;
        Ok((key, record))
    }

    /// GetFlowExecution.
    pub fn get_execution(
        &self,
        flow: &FlowId,
        alias: &FlowAliasIdentifier,
        execution: &str,
    ) -> Result<Execution, FlowsError> {
        Ok(self.find_execution(flow, alias, execution)?.1.execution)
    }

    /// ListFlowExecutions: a flow's executions, of one alias when given, newest first.
    pub fn list_executions(
        &self,
        flow: &FlowId,
        alias: Option<&FlowAliasIdentifier>,
        input: &ListInput,
    ) -> Result<ExecutionPage, FlowsError> {
        self.find(flow)?;
        let mut records: Vec<ExecutionRecord> = self
            .inner
            .executions
            .scan_prefix(&format!("{flow}/"))?
            .into_iter()
            .map(|(_, r)| r)
            .filter(|r| alias.is_none_or(|a| a.id.as_str() == r.alias_id))
            .collect();
        records.sort_by(|a, b| b.execution.started_at.cmp(&a.execution.started_at));
        let summaries = records
            .into_iter()
            .map(|r| ExecutionSummary {
                execution_arn: r.execution.execution_arn,
                flow_identifier: r.execution.flow_identifier,
                flow_alias_identifier: r.execution.flow_alias_identifier,
                flow_version: r.execution.flow_version,
                status: r.execution.status,
                created_at: r.execution.started_at,
                ended_at: r.execution.ended_at,
            })
            .collect();
        let (flow_execution_summaries, next_token) = page(
            summaries,
            input.max_results,
            10,
            input.next_token.as_deref(),
        )?;
        Ok(ExecutionPage {
            flow_execution_summaries,
            next_token,
        })
    }

    /// ListFlowExecutionEvents: an execution's events of one type, in the order they happened.
    pub fn list_execution_events(
        &self,
        flow: &FlowId,
        alias: &FlowAliasIdentifier,
        execution: &str,
        kind: EventType,
        input: &ListInput,
    ) -> Result<ExecutionEventPage, FlowsError> {
        let (key, _) = self.find_execution(flow, alias, execution)?;
        let events: Vec<ExecutionEvent> = self
            .inner
            .events
            .scan_prefix(&format!("{key}/"))?
            .into_iter()
            .map(|(_, r)| r.event)
            .filter(|e| e.kind() == kind)
            .collect();
        let (flow_execution_events, next_token) =
            page(events, input.max_results, 10, input.next_token.as_deref())?;
        Ok(ExecutionEventPage {
            flow_execution_events,
            next_token,
        })
    }

    /// StopFlowExecution: a running execution stops where it is and is `Aborted`.
    pub fn stop_execution(
        &self,
        flow: &FlowId,
        alias: &FlowAliasIdentifier,
        execution: &str,
    ) -> Result<StoppedExecution, FlowsError> {
        let (key, record) = self.find_execution(flow, alias, execution)?;
        if record.execution.status != ExecutionStatus::Running {
            return Err(FlowsError::Conflict(format!(
                "The execution is {:?}, not running.",
                record.execution.status
            )));
        }
        let updated = self
            .inner
            .executions
            .update::<FlowsError>(&key, |r| {
                Ok(r.map(|mut r| {
                    if r.execution.status == ExecutionStatus::Running {
                        r.execution.status = ExecutionStatus::Aborted;
                        r.execution.ended_at = Some(now());
                    }
                    r
                }))
            })?
            .ok_or_else(|| FlowsError::NotFound(format!("No execution {execution}.")))?;
        // Aborted first, then stopped: the run's own ending finds it no longer Running.
        if let Some(abort) = self
            .inner
            .running
            .0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&key)
        {
            abort.abort();
        }
        self.inner.store.flush()?;
        Ok(StoppedExecution {
            execution_arn: updated.execution.execution_arn,
            status: updated.execution.status,
        })
    }

    /// GetExecutionFlowSnapshot: the definition the execution ran.
    pub fn execution_snapshot(
        &self,
        flow: &FlowId,
        alias: &FlowAliasIdentifier,
        execution: &str,
    ) -> Result<FlowSnapshot, FlowsError> {
        let (_, record) = self.find_execution(flow, alias, execution)?;
        Ok(FlowSnapshot {
            definition: serde_json::to_string(&record.definition)
                .map_err(mantle_store::StoreError::from)?,
            execution_role_arn: record.execution_role_arn,
            flow_alias_identifier: record.execution.flow_alias_identifier,
            flow_identifier: record.execution.flow_identifier,
            flow_version: record.execution.flow_version,
        })
    }
}

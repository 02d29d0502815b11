//! Bedrock Flows over HTTP: the control plane (bedrock-agent) and InvokeFlow
//! (bedrock-agent-runtime), each handler a thin adapter over [`mantle_flows::Flows`]. Answers
//! are flat, creates answer 201, PrepareFlow 202, and errors use bedrock-agent's dialect.
//!
//! Route hazards of one port serving both services (../shared/BEDROCK_AGENT_API.md §7):
//! `POST /flows/{id}/` (PrepareFlow) and `POST /flows/validate-definition` differ by their
//! trailing slash, kept significant; `GET …/aliases/{alias}` is GetFlowAlias and `POST` on the
//! same path InvokeFlow.

mod wire;

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode};
use axum::response::IntoResponse;
use mantle_flows::Flows;
use mantle_flows::flow::execution::StartExecutionInput;
use mantle_flows::flow::input::{
    CreateFlowAliasInput, CreateFlowInput, CreateFlowVersionInput, ListInput, UpdateFlowAliasInput,
    UpdateFlowInput, ValidateFlowDefinitionInput,
};
use mantle_flows::flow::{FlowEvent, InvokeFlowInput};

use crate::api::operation::{delete, get, post, put};
use crate::error::AwsError;
use crate::extract::{AgentJson, AgentPath, AwsQuery};
use crate::state::AppState;
use wire::{
    DeleteQuery, EventsQuery, ExecutionPath, ExecutionsQuery, FlowAliasPath, FlowPath,
    FlowVersionPath, IncludedQuery, ListQuery,
};

/// The flow routes, each with its Bedrock operation name.
pub(crate) fn router() -> Router<AppState> {
    const FLOW: &str = "/flows/{flowIdentifier}";
    const EXECUTION: &str =
        "/flows/{flowIdentifier}/aliases/{aliasIdentifier}/executions/{executionIdentifier}";
    Router::new()
        .route(
            "/flows/",
            post("CreateFlow", create_flow).merge(get("ListFlows", list_flows)),
        )
        .route(
            "/flows/validate-definition",
            post("ValidateFlowDefinition", validate_flow_definition),
        )
        .route(
            &format!("{FLOW}/"),
            get("GetFlow", get_flow)
                .merge(put("UpdateFlow", update_flow))
                .merge(delete("DeleteFlow", delete_flow))
                .merge(post("PrepareFlow", prepare_flow)),
        )
        .route(
            &format!("{FLOW}/versions"),
            post("CreateFlowVersion", create_flow_version)
                .merge(get("ListFlowVersions", list_flow_versions)),
        )
        .route(
            &format!("{FLOW}/versions/{{flowVersion}}/"),
            get("GetFlowVersion", get_flow_version)
                .merge(delete("DeleteFlowVersion", delete_flow_version)),
        )
        .route(
            &format!("{FLOW}/aliases"),
            post("CreateFlowAlias", create_flow_alias)
                .merge(get("ListFlowAliases", list_flow_aliases)),
        )
        .route(
            &format!("{FLOW}/aliases/{{aliasIdentifier}}"),
            get("GetFlowAlias", get_flow_alias)
                .merge(put("UpdateFlowAlias", update_flow_alias))
                .merge(delete("DeleteFlowAlias", delete_flow_alias))
                .merge(post("InvokeFlow", invoke_flow)),
        )
        .route(
            &format!("{FLOW}/executions"),
            get("ListFlowExecutions", list_flow_executions),
        )
        .route(
            &format!("{FLOW}/aliases/{{aliasIdentifier}}/executions"),
            post("StartFlowExecution", start_flow_execution),
        )
        .route(EXECUTION, get("GetFlowExecution", get_flow_execution))
        .route(
            &format!("{EXECUTION}/events"),
            get("ListFlowExecutionEvents", list_flow_execution_events),
        )
        .route(
            &format!("{EXECUTION}/stop"),
            post("StopFlowExecution", stop_flow_execution),
        )
        .route(
            &format!("{EXECUTION}/flowsnapshot"),
            get("GetExecutionFlowSnapshot", get_execution_flow_snapshot),
        )
}

fn list_input(query: ListQuery) -> Result<ListInput, AwsError> {
    Ok(ListInput::try_from(query)?)
}

/// `POST /flows/` → 201.
async fn create_flow(
    State(flows): State<Flows>,
    AgentJson(input): AgentJson<CreateFlowInput>,
) -> Result<impl IntoResponse, AwsError> {
    Ok((StatusCode::CREATED, Json(flows.create(input)?)))
}

/// `GET /flows/?maxResults=&nextToken=`.
async fn list_flows(
    State(flows): State<Flows>,
    AwsQuery(query): AwsQuery<ListQuery>,
) -> Result<impl IntoResponse, AwsError> {
    Ok(Json(flows.list(&list_input(query)?)?))
}

/// `GET /flows/{flowIdentifier}/?includedData=`.
async fn get_flow(
    State(flows): State<Flows>,
    AgentPath(path): AgentPath<FlowPath>,
    AwsQuery(query): AwsQuery<IncludedQuery>,
) -> Result<impl IntoResponse, AwsError> {
    Ok(Json(
        flows.get(&path.flow_identifier, query.included_data()?)?,
    ))
}

/// `PUT /flows/{flowIdentifier}/`.
async fn update_flow(
    State(flows): State<Flows>,
    AgentPath(path): AgentPath<FlowPath>,
    AgentJson(input): AgentJson<UpdateFlowInput>,
) -> Result<impl IntoResponse, AwsError> {
    Ok(Json(flows.update(&path.flow_identifier, input)?))
}

/// `DELETE /flows/{flowIdentifier}/?skipResourceInUseCheck=`.
async fn delete_flow(
    State(flows): State<Flows>,
    AgentPath(path): AgentPath<FlowPath>,
    AwsQuery(query): AwsQuery<DeleteQuery>,
) -> Result<impl IntoResponse, AwsError> {
    Ok(Json(flows.delete(&path.flow_identifier, query.skip()?)?))
}

/// `POST /flows/{flowIdentifier}/` → 202.
async fn prepare_flow(
    State(flows): State<Flows>,
    AgentPath(path): AgentPath<FlowPath>,
) -> Result<impl IntoResponse, AwsError> {
    Ok((
        StatusCode::ACCEPTED,
        Json(flows.prepare(&path.flow_identifier)?),
    ))
}

/// `POST /flows/validate-definition`.
async fn validate_flow_definition(
    State(flows): State<Flows>,
    AgentJson(input): AgentJson<ValidateFlowDefinitionInput>,
) -> Result<impl IntoResponse, AwsError> {
    Ok(Json(flows.validate(&input.definition)?))
}

/// `POST /flows/{flowIdentifier}/versions` → 201.
async fn create_flow_version(
    State(flows): State<Flows>,
    AgentPath(path): AgentPath<FlowPath>,
    AgentJson(input): AgentJson<CreateFlowVersionInput>,
) -> Result<impl IntoResponse, AwsError> {
    Ok((
        StatusCode::CREATED,
        Json(flows.create_version(&path.flow_identifier, input)?),
    ))
}

/// `GET /flows/{flowIdentifier}/versions`.
async fn list_flow_versions(
    State(flows): State<Flows>,
    AgentPath(path): AgentPath<FlowPath>,
    AwsQuery(query): AwsQuery<ListQuery>,
) -> Result<impl IntoResponse, AwsError> {
    Ok(Json(flows.list_versions(
        &path.flow_identifier,
        &list_input(query)?,
    )?))
}

/// `GET /flows/{flowIdentifier}/versions/{flowVersion}/`.
async fn get_flow_version(
    State(flows): State<Flows>,
    AgentPath(path): AgentPath<FlowVersionPath>,
    AwsQuery(query): AwsQuery<IncludedQuery>,
) -> Result<impl IntoResponse, AwsError> {
    let version = flows.get_version(
        &path.flow_identifier,
        path.flow_version,
        query.included_data()?,
    )?;
    Ok(Json(version))
}

/// `DELETE /flows/{flowIdentifier}/versions/{flowVersion}/`.
async fn delete_flow_version(
    State(flows): State<Flows>,
    AgentPath(path): AgentPath<FlowVersionPath>,
    AwsQuery(query): AwsQuery<DeleteQuery>,
) -> Result<impl IntoResponse, AwsError> {
    let deleted = flows.delete_version(&path.flow_identifier, path.flow_version, query.skip()?)?;
    Ok(Json(deleted))
}

/// `POST /flows/{flowIdentifier}/aliases` → 201.
async fn create_flow_alias(
    State(flows): State<Flows>,
    AgentPath(path): AgentPath<FlowPath>,
    AgentJson(input): AgentJson<CreateFlowAliasInput>,
) -> Result<impl IntoResponse, AwsError> {
    Ok((
        StatusCode::CREATED,
        Json(flows.create_alias(&path.flow_identifier, input)?),
    ))
}

/// `GET /flows/{flowIdentifier}/aliases`.
async fn list_flow_aliases(
    State(flows): State<Flows>,
    AgentPath(path): AgentPath<FlowPath>,
    AwsQuery(query): AwsQuery<ListQuery>,
) -> Result<impl IntoResponse, AwsError> {
    Ok(Json(flows.list_aliases(
        &path.flow_identifier,
        &list_input(query)?,
    )?))
}

/// `GET /flows/{flowIdentifier}/aliases/{aliasIdentifier}`.
async fn get_flow_alias(
    State(flows): State<Flows>,
    AgentPath(path): AgentPath<FlowAliasPath>,
) -> Result<impl IntoResponse, AwsError> {
    Ok(Json(flows.get_alias(
        &path.flow_identifier,
        &path.alias_identifier,
    )?))
}

/// `PUT /flows/{flowIdentifier}/aliases/{aliasIdentifier}`.
async fn update_flow_alias(
    State(flows): State<Flows>,
    AgentPath(path): AgentPath<FlowAliasPath>,
    AgentJson(input): AgentJson<UpdateFlowAliasInput>,
) -> Result<impl IntoResponse, AwsError> {
    let alias = flows.update_alias(&path.flow_identifier, &path.alias_identifier, input)?;
    Ok(Json(alias))
}

/// `DELETE /flows/{flowIdentifier}/aliases/{aliasIdentifier}`.
async fn delete_flow_alias(
    State(flows): State<Flows>,
    AgentPath(path): AgentPath<FlowAliasPath>,
) -> Result<impl IntoResponse, AwsError> {
    Ok(Json(flows.delete_alias(
        &path.flow_identifier,
        &path.alias_identifier,
    )?))
}

/// bedrock-agent-runtime `POST /flows/{flowIdentifier}/aliases/{flowAliasIdentifier}`: the
/// run's events as an event stream, its execution id in `x-amz-bedrock-flow-execution-id`.
async fn invoke_flow(
    State(flows): State<Flows>,
    AgentPath(path): AgentPath<FlowAliasPath>,
    AgentJson(input): AgentJson<InvokeFlowInput>,
) -> Result<impl IntoResponse, AwsError> {
    let mut run = flows.invoke(&path.flow_identifier, &path.alias_identifier, input)?;
    let (frames, mut response) = crate::api::stream::eventstream_response();
    if let Ok(value) = HeaderValue::from_str(&run.execution_id) {
        response
            .headers_mut()
            .insert("x-amz-bedrock-flow-execution-id", value);
    }
    tokio::spawn(async move {
        while let Some(event) = run.events.recv().await {
            let frame = match event {
                FlowEvent::Failed(error) => {
                    let error = AwsError::from(error);
                    crate::eventstream::exception(&error.event_exception_type(), &error.message)
                }
                event => crate::eventstream::event(event.member(), &event.payload()),
            };
            if frames.send(frame).is_err() {
                return;
            }
        }
    });
    Ok(response)
}

/// bedrock-agent-runtime `POST …/aliases/{flowAliasIdentifier}/executions`.
async fn start_flow_execution(
    State(flows): State<Flows>,
    AgentPath(path): AgentPath<FlowAliasPath>,
    AgentJson(input): AgentJson<StartExecutionInput>,
) -> Result<impl IntoResponse, AwsError> {
    let started = flows.start_execution(&path.flow_identifier, &path.alias_identifier, input)?;
    Ok(Json(started))
}

/// `GET …/executions/{executionIdentifier}`.
async fn get_flow_execution(
    State(flows): State<Flows>,
    AgentPath(path): AgentPath<ExecutionPath>,
) -> Result<impl IntoResponse, AwsError> {
    let execution = flows.get_execution(
        &path.flow_identifier,
        &path.alias_identifier,
        &path.execution_identifier,
    )?;
    Ok(Json(execution))
}

/// `GET /flows/{flowIdentifier}/executions?flowAliasIdentifier=&maxResults=&nextToken=`.
async fn list_flow_executions(
    State(flows): State<Flows>,
    AgentPath(path): AgentPath<FlowPath>,
    AwsQuery(query): AwsQuery<ExecutionsQuery>,
) -> Result<impl IntoResponse, AwsError> {
    let alias = query.alias()?;
    let page = flows.list_executions(&path.flow_identifier, alias.as_ref(), &query.list()?)?;
    Ok(Json(page))
}

/// `GET …/executions/{executionIdentifier}/events?eventType=`.
async fn list_flow_execution_events(
    State(flows): State<Flows>,
    AgentPath(path): AgentPath<ExecutionPath>,
    AwsQuery(query): AwsQuery<EventsQuery>,
) -> Result<impl IntoResponse, AwsError> {
    let page = flows.list_execution_events(
        &path.flow_identifier,
        &path.alias_identifier,
        &path.execution_identifier,
        query.event_type()?,
        &query.list()?,
    )?;
    Ok(Json(page))
}

/// `POST …/executions/{executionIdentifier}/stop`.
async fn stop_flow_execution(
    State(flows): State<Flows>,
    AgentPath(path): AgentPath<ExecutionPath>,
) -> Result<impl IntoResponse, AwsError> {
    let stopped = flows.stop_execution(
        &path.flow_identifier,
        &path.alias_identifier,
        &path.execution_identifier,
    )?;
    Ok(Json(stopped))
}

/// `GET …/executions/{executionIdentifier}/flowsnapshot`.
async fn get_execution_flow_snapshot(
    State(flows): State<Flows>,
    AgentPath(path): AgentPath<ExecutionPath>,
) -> Result<impl IntoResponse, AwsError> {
    let snapshot = flows.execution_snapshot(
        &path.flow_identifier,
        &path.alias_identifier,
        &path.execution_identifier,
    )?;
    Ok(Json(snapshot))
}

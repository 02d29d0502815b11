//! Bedrock Prompt management over HTTP (bedrock-agent), each handler a thin adapter over
//! [`mantle_flows::Prompts`]. Answers are flat (the prompt's fields at the top level), creates
//! answer 201, and errors use bedrock-agent's dialect (`AgentJson`, `AgentPath`).
//!
//! Running a prompt is not here: Converse and InvokeModel take a prompt ARN as `modelId`
//! (`crate::api::converse::prompt`).

mod wire;

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use mantle_flows::Prompts;
use mantle_flows::prompt::input::{
    CreatePromptInput, CreatePromptVersionInput, ListPromptsInput, UpdatePromptInput,
};

use crate::api::operation::{delete, get, post, put};
use crate::error::AwsError;
use crate::extract::{AgentJson, AgentPath, AwsQuery};
use crate::state::AppState;
use wire::{ListQuery, PromptPath, VersionQuery};
pub(crate) use wire::{included_data, max_results};

/// The prompt routes, each with its Bedrock operation name. The trailing slashes are boto3's.
pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/prompts/",
            post("CreatePrompt", create_prompt).merge(get("ListPrompts", list_prompts)),
        )
        .route(
            "/prompts/{promptIdentifier}/",
            get("GetPrompt", get_prompt)
                .merge(put("UpdatePrompt", update_prompt))
                .merge(delete("DeletePrompt", delete_prompt)),
        )
        .route(
            "/prompts/{promptIdentifier}/versions",
            post("CreatePromptVersion", create_prompt_version),
        )
}

/// `POST /prompts/` → 201.
async fn create_prompt(
    State(prompts): State<Prompts>,
    AgentJson(input): AgentJson<CreatePromptInput>,
) -> Result<impl IntoResponse, AwsError> {
    Ok((StatusCode::CREATED, Json(prompts.create(input)?)))
}

/// `GET /prompts/?promptIdentifier=&maxResults=&nextToken=`.
async fn list_prompts(
    State(prompts): State<Prompts>,
    AwsQuery(query): AwsQuery<ListQuery>,
) -> Result<impl IntoResponse, AwsError> {
    let input = ListPromptsInput::try_from(query)?;
    Ok(Json(prompts.list(&input)?))
}

/// `GET /prompts/{promptIdentifier}/?promptVersion=&includedData=`.
async fn get_prompt(
    State(prompts): State<Prompts>,
    AgentPath(path): AgentPath<PromptPath>,
    AwsQuery(query): AwsQuery<VersionQuery>,
) -> Result<impl IntoResponse, AwsError> {
    let prompt = prompts.get(
        &path.prompt_identifier,
        query.version()?,
        query.included_data()?,
    )?;
    Ok(Json(prompt))
}

/// `PUT /prompts/{promptIdentifier}/`.
async fn update_prompt(
    State(prompts): State<Prompts>,
    AgentPath(path): AgentPath<PromptPath>,
    AgentJson(input): AgentJson<UpdatePromptInput>,
) -> Result<impl IntoResponse, AwsError> {
    Ok(Json(prompts.update(&path.prompt_identifier, input)?))
}

/// `DELETE /prompts/{promptIdentifier}/?promptVersion=`.
async fn delete_prompt(
    State(prompts): State<Prompts>,
    AgentPath(path): AgentPath<PromptPath>,
    AwsQuery(query): AwsQuery<VersionQuery>,
) -> Result<impl IntoResponse, AwsError> {
    Ok(Json(
        prompts.delete(&path.prompt_identifier, query.version()?)?,
    ))
}

/// `POST /prompts/{promptIdentifier}/versions` → 201.
async fn create_prompt_version(
    State(prompts): State<Prompts>,
    AgentPath(path): AgentPath<PromptPath>,
    AgentJson(input): AgentJson<CreatePromptVersionInput>,
) -> Result<impl IntoResponse, AwsError> {
    Ok((
        StatusCode::CREATED,
        Json(prompts.create_version(&path.prompt_identifier, input)?),
    ))
}

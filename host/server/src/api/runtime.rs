//! Where the bedrock-runtime model operations and the OpenAI-compatible surface are routed,
//! each with its operation name. The handlers live in their own modules.

use axum::Router;

use crate::api::operation::{get, post};
use crate::api::{converse, count_tokens, invoke_model, openai};
use crate::state::AppState;

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/model/{modelId}/converse",
            post("Converse", converse::converse),
        )
        .route(
            "/model/{modelId}/converse-stream",
            post("ConverseStream", converse::converse_stream),
        )
        .route(
            "/model/{modelId}/invoke",
            post("InvokeModel", invoke_model::invoke_model),
        )
        .route(
            "/model/{modelId}/invoke-with-response-stream",
            post(
                "InvokeModelWithResponseStream",
                invoke_model::invoke_model_with_response_stream,
            ),
        )
        .route(
            "/model/{modelId}/count-tokens",
            post("CountTokens", count_tokens::count_tokens),
        )
        .route(
            "/v1/chat/completions",
            post("OpenAIChatCompletions", openai::chat_completions),
        )
        .route(
            "/v1/embeddings",
            post("OpenAIEmbeddings", openai::embeddings),
        )
        .route("/v1/models", get("OpenAIModels", openai::models))
}

//! bedrock-runtime CountTokens `POST /model/{modelId}/count-tokens`: the tokens a Converse or
//! InvokeModel request would feed the model, counted exactly as generation would.

use axum::Json;
use axum::extract::{Path, State};
use axum::response::IntoResponse;
use base64::Engine as _;
use mantle_inference::Served;
use serde::Deserialize;
use serde_json::{Value, json};

use super::blocking;
use super::converse::ConverseRequest;
use super::invoke_model::{EmbeddingBody, TextBody, embedding_body_error, text_body_error};
use crate::error::AwsError;
use crate::extract::{AwsJson, parse_json};
use crate::state::AppState;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct CountTokensRequest {
    input: CountTokensInput,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
enum CountTokensInput {
    InvokeModel(InvokeModelTokens),
    Converse(Value),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct InvokeModelTokens {
    /// The InvokeModel body, base64 as the SDKs send blobs.
    body: String,
}

pub(crate) async fn count_tokens(
    State(app): State<AppState>,
    Path(model_id): Path<String>,
    AwsJson(request): AwsJson<CountTokensRequest>,
) -> Result<impl IntoResponse, AwsError> {
    let served = app.models.resolve(&model_id)?.clone();
    let count = blocking(move || match (served, request.input) {
        (Served::Text(model), CountTokensInput::Converse(converse)) => {
            let request: ConverseRequest = parse_json(converse.to_string().as_bytes())?;
            let mapped = request.to_generate()?;
            model
                .count_tokens(&mapped.request)
                .map_err(|e| mapped.names.error(e))
        }
        (Served::Text(model), CountTokensInput::InvokeModel(invoke)) => {
            let body: TextBody = parse_json(&decode_body(&invoke.body)?)?;
            model
                .count_tokens(&body.to_generate())
                .map_err(text_body_error)
        }
        (Served::Embedding(model), CountTokensInput::InvokeModel(invoke)) => {
            let body: EmbeddingBody = parse_json(&decode_body(&invoke.body)?)?;
            model
                .count_tokens(&body.input_text)
                .map_err(embedding_body_error)
        }
        (Served::Embedding(_), CountTokensInput::Converse(_)) => Err(AwsError::invalid_field(
            "input.converse",
            "an embedding model does not take Converse input",
        )),
    })
    .await?;
    Ok(Json(json!({ "inputTokens": count })))
}

fn decode_body(body: &str) -> Result<Vec<u8>, AwsError> {
    base64::engine::general_purpose::STANDARD
        .decode(body)
        .map_err(|e| AwsError::invalid_field("input.invokeModel.body", format!("not base64: {e}")))
}

//! bedrock-runtime ApplyGuardrail:
//! `POST /guardrail/{guardrailIdentifier}/version/{guardrailVersion}/apply`.

use axum::Json;
use axum::extract::{Path, State};
use axum::response::IntoResponse;

use super::blocking;
use crate::error::AwsError;
use crate::extract::AwsJson;
use crate::guardrails::apply::ApplyGuardrailRequest;
use crate::state::AppState;

pub async fn apply_guardrail(
    State(app): State<AppState>,
    Path((identifier, version)): Path<(String, String)>,
    AwsJson(request): AwsJson<ApplyGuardrailRequest>,
) -> Result<impl IntoResponse, AwsError> {
    let guardrails = app.guardrails.clone();
    let body = blocking(move || guardrails.apply(&identifier, &version, &request)).await?;
    Ok(Json(body))
}

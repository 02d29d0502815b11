//! bedrock ListFoundationModels `GET /foundation-models`, and the OpenAI-style model list.

use axum::Json;
use axum::extract::State;
use axum::response::IntoResponse;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::api::operation;
use crate::error::AwsError;
use crate::extract::AwsQuery;
use crate::state::AppState;
use mantle_inference::{ModelKind, Served};

pub(crate) fn router() -> axum::Router<AppState> {
    axum::Router::new().route(
        "/foundation-models",
        operation::get("ListFoundationModels", list_foundation_models),
    )
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Filters {
    by_provider: Option<String>,
    by_customization_type: Option<String>,
    by_output_modality: Option<String>,
    by_inference_type: Option<String>,
}

fn summary(app: &AppState, served: &Served) -> Value {
    let info = served.info();
    let (input, output) = match info.kind {
        ModelKind::Text => (vec!["TEXT"], vec!["TEXT"]),
        ModelKind::Embedding => (vec!["TEXT"], vec!["EMBEDDING"]),
    };
    json!({
        "modelArn": format!("arn:aws:bedrock:{}::foundation-model/{}", app.settings.identity.region, info.id),
        "modelId": info.id,
        "modelName": info.name,
        "providerName": info.provider,
        "inputModalities": input,
        "outputModalities": output,
        "responseStreamingSupported": info.kind == ModelKind::Text,
        "customizationsSupported": [],
        "inferenceTypesSupported": ["ON_DEMAND"],
        "modelLifecycle": { "status": "ACTIVE" },
    })
}

pub async fn list_foundation_models(
    State(app): State<AppState>,
    AwsQuery(filters): AwsQuery<Filters>,
) -> Result<impl IntoResponse, AwsError> {
    if let Some(modality) = &filters.by_output_modality
        && !["TEXT", "IMAGE", "EMBEDDING"].contains(&modality.as_str())
    {
        return Err(AwsError::invalid_field(
            "byOutputModality",
            "Member must satisfy enum value set: [TEXT, IMAGE, EMBEDDING]",
        ));
    }
    if let Some(kind) = &filters.by_inference_type
        && !["ON_DEMAND", "PROVISIONED"].contains(&kind.as_str())
    {
        return Err(AwsError::invalid_field(
            "byInferenceType",
            "Member must satisfy enum value set: [ON_DEMAND, PROVISIONED]",
        ));
    }
    let summaries: Vec<Value> = app
        .models
        .list()
        .map(|served| summary(&app, served))
        .filter(|s| {
            filters.by_provider.as_ref().is_none_or(|p| {
                s["providerName"]
                    .as_str()
                    .is_some_and(|name| name.eq_ignore_ascii_case(p))
            })
        })
        .filter(|s| {
            filters.by_output_modality.as_ref().is_none_or(|m| {
                s["outputModalities"]
                    .as_array()
                    .is_some_and(|a| a.iter().any(|v| v == m.as_str()))
            })
        })
        .filter(|_| {
            filters
                .by_inference_type
                .as_deref()
                .is_none_or(|t| t == "ON_DEMAND")
        })
        .filter(|_| filters.by_customization_type.is_none())
        .collect();
    Ok(Json(json!({ "modelSummaries": summaries })))
}

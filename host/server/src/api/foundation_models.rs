//! bedrock's model catalog: ListFoundationModels `GET /foundation-models`, GetFoundationModel
//! `GET /foundation-models/{modelIdentifier}`, ListInferenceProfiles `GET /inference-profiles`
//! and GetInferenceProfile `GET /inference-profiles/{inferenceProfileIdentifier}`.
//!
//! Served models appear under their own ids; each `[model-aliases]` entry of the settings file
//! appears too, as a foundation model or — when its id starts with a geography such as `us.` —
//! as a system-defined inference profile whose model is the served one.

use axum::Json;
use axum::extract::{Path, State};
use axum::response::IntoResponse;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::api::operation;
use crate::error::AwsError;
use crate::extract::AwsQuery;
use crate::state::AppState;
use mantle_inference::{ModelKind, Served};

pub(crate) fn router() -> axum::Router<AppState> {
    axum::Router::new()
        .route(
            "/foundation-models",
            operation::get("ListFoundationModels", list_foundation_models),
        )
        .route(
            "/foundation-models/{modelIdentifier}",
            operation::get("GetFoundationModel", get_foundation_model),
        )
        .route(
            "/inference-profiles",
            operation::get("ListInferenceProfiles", list_inference_profiles),
        )
        .route(
            "/inference-profiles/{inferenceProfileIdentifier}",
            operation::get("GetInferenceProfile", get_inference_profile),
        )
}

/// Geographies that Bedrock's cross-region inference-profile ids start with.
const GEOGRAPHIES: &[&str] = &["us", "us-gov", "eu", "apac", "jp", "au", "ca", "global"];

/// Whether `id` names an inference profile (`us.anthropic.claude-…`) rather than a model.
pub(crate) fn is_inference_profile(id: &str) -> bool {
    id.split_once('.')
        .is_some_and(|(geo, rest)| GEOGRAPHIES.contains(&geo) && rest.contains('.'))
}

/// The provider's name as Bedrock brands it, from a Bedrock model id's first segment.
fn provider_of(id: &str) -> Option<&'static str> {
    let provider = id.split('.').next()?;
    Some(match provider {
        "amazon" => "Amazon",
        "anthropic" => "Anthropic",
        "meta" => "Meta",
        "mistral" => "Mistral AI",
        "cohere" => "Cohere",
        "ai21" => "AI21 Labs",
        "deepseek" => "DeepSeek",
        "openai" => "OpenAI",
        "qwen" => "Qwen",
        "writer" => "Writer",
        "stability" => "Stability AI",
        _ => return None,
    })
}

/// The id inside a foundation-model or inference-profile ARN, or the id itself.
fn strip_arn<'a>(identifier: &'a str, resource: &str) -> &'a str {
    match identifier.split_once(resource) {
        Some((prefix, id)) if prefix.starts_with("arn:aws") => id,
        _ => identifier,
    }
}

/// A FoundationModelSummary / FoundationModelDetails (same members) for `served` under `id`.
fn summary(app: &AppState, id: &str, served: &Served) -> Value {
    let info = served.info();
    let (input, output) = match info.kind {
        ModelKind::Text => (vec!["TEXT"], vec!["TEXT"]),
        ModelKind::Embedding => (vec!["TEXT"], vec!["EMBEDDING"]),
    };
    let provider = if id == info.id {
        info.provider.as_str()
    } else {
        provider_of(id).unwrap_or(&info.provider)
    };
    json!({
        "modelArn": model_arn(app, id),
        "modelId": id,
        "modelName": if id == info.id { info.name.clone() } else { format!("{} (served by {})", id, info.name) },
        "providerName": provider,
        "inputModalities": input,
        "outputModalities": output,
        "responseStreamingSupported": info.kind == ModelKind::Text,
        "customizationsSupported": [],
        "inferenceTypesSupported": ["ON_DEMAND"],
        "modelLifecycle": { "status": "ACTIVE" },
    })
}

fn model_arn(app: &AppState, id: &str) -> String {
    format!(
        "arn:aws:bedrock:{}::foundation-model/{id}",
        app.settings.identity.region
    )
}

/// Every foundation model: served ones, then aliases that are not inference profiles.
fn foundation_models(app: &AppState) -> impl Iterator<Item = (&str, &Served)> {
    app.models
        .list()
        .map(|served| (served.info().id.as_str(), served))
        .chain(
            app.models
                .aliases()
                .filter(|(alias, _)| !is_inference_profile(alias)),
        )
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Filters {
    by_provider: Option<String>,
    by_customization_type: Option<String>,
    by_output_modality: Option<String>,
    by_inference_type: Option<String>,
}

pub(crate) async fn list_foundation_models(
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
    let summaries: Vec<Value> = foundation_models(&app)
        .map(|(id, served)| summary(&app, id, served))
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

pub(crate) async fn get_foundation_model(
    State(app): State<AppState>,
    Path(identifier): Path<String>,
) -> Result<impl IntoResponse, AwsError> {
    let id = strip_arn(&identifier, ":foundation-model/");
    let details = foundation_models(&app)
        .find(|(model_id, _)| *model_id == id)
        .map(|(model_id, served)| summary(&app, model_id, served))
        .ok_or_else(|| {
            // Bedrock's words for it.
            AwsError::not_found(
                "Could not resolve the foundation model from the provided model identifier.",
            )
        })?;
    Ok(Json(json!({ "modelDetails": details })))
}

/// An InferenceProfileSummary (GetInferenceProfile's response has the same members).
fn inference_profile(app: &AppState, id: &str, served: &Served) -> Value {
    let identity = &app.settings.identity;
    json!({
        "inferenceProfileId": id,
        "inferenceProfileArn": format!(
            "arn:aws:bedrock:{}:{}:inference-profile/{id}",
            identity.region, identity.account
        ),
        "inferenceProfileName": id,
        "description": format!("Routes {id} to {}.", served.info().id),
        "models": [{ "modelArn": model_arn(app, &served.info().id) }],
        "status": "ACTIVE",
        "type": "SYSTEM_DEFINED",
    })
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ProfileFilters {
    max_results: Option<String>,
    next_token: Option<String>,
    #[serde(rename = "type")]
    type_equals: Option<String>,
}

pub(crate) async fn list_inference_profiles(
    State(app): State<AppState>,
    AwsQuery(filters): AwsQuery<ProfileFilters>,
) -> Result<impl IntoResponse, AwsError> {
    let max_results = match &filters.max_results {
        None => 1000,
        Some(text) => text
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=1000).contains(n))
            .ok_or_else(|| {
                AwsError::invalid_field("maxResults", "Member must have value between 1 and 1000")
            })?,
    };
    let system_defined = match filters.type_equals.as_deref() {
        None | Some("SYSTEM_DEFINED") => true,
        Some("APPLICATION") => false,
        Some(_) => {
            return Err(AwsError::invalid_field(
                "typeEquals",
                "Member must satisfy enum value set: [SYSTEM_DEFINED, APPLICATION]",
            ));
        }
    };
    let profiles: Vec<Value> = app
        .models
        .aliases()
        .filter(|(alias, _)| system_defined && is_inference_profile(alias))
        .map(|(alias, served)| inference_profile(&app, alias, served))
        .collect();
    // The token is the index of the next profile; the list is in id order, fixed at start.
    let start = match &filters.next_token {
        None => 0,
        Some(token) => token
            .parse::<usize>()
            .ok()
            .filter(|&n| n <= profiles.len())
            .ok_or_else(|| AwsError::invalid_field("nextToken", "is not a token this API gave"))?,
    };
    let end = (start + max_results).min(profiles.len());
    let mut body = json!({ "inferenceProfileSummaries": &profiles[start..end] });
    if end < profiles.len() {
        body["nextToken"] = json!(end.to_string());
    }
    Ok(Json(body))
}

pub(crate) async fn get_inference_profile(
    State(app): State<AppState>,
    Path(identifier): Path<String>,
) -> Result<impl IntoResponse, AwsError> {
    let id = strip_arn(&identifier, ":inference-profile/");
    app.models
        .aliases()
        .find(|(alias, _)| *alias == id && is_inference_profile(alias))
        .map(|(alias, served)| Json(inference_profile(&app, alias, served)))
        .ok_or_else(|| {
            AwsError::not_found(format!(
                "The inference profile {identifier} does not exist."
            ))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn geography_prefixed_ids_are_inference_profiles() {
        assert!(is_inference_profile(
            "us.anthropic.claude-3-haiku-20240307-v1:0"
        ));
        assert!(is_inference_profile("global.amazon.nova-lite-v1:0"));
        assert!(is_inference_profile("apac.meta.llama3-8b-instruct-v1:0"));
        assert!(!is_inference_profile(
            "anthropic.claude-3-haiku-20240307-v1:0"
        ));
        assert!(!is_inference_profile("us.nothing-after-the-geography"));
        assert!(!is_inference_profile("hf.smollm2-135m-instruct-v1:0"));
    }

    #[test]
    fn providers_are_branded_as_bedrock_brands_them() {
        assert_eq!(provider_of("meta.llama3-8b-instruct-v1:0"), Some("Meta"));
        assert_eq!(provider_of("amazon.nova-lite-v1:0"), Some("Amazon"));
        assert_eq!(provider_of("hf.smollm2-135m-instruct-v1:0"), None);
    }
}

//! Authentication and authorization at the edge, in two layers:
//!
//! - [`authenticate`] wraps every route: it reads the whole body (SigV4 signs its hash), checks
//!   the signature or bearer API key with [`mantle_access::Access`], and leaves the [`Caller`]
//!   in the request's extensions. `/health` stays open, for load balancers.
//! - [`authorize`] runs on each route, where the operation's name and path are known: it maps
//!   them to an IAM action (`bedrock:InvokeModel`) and resource ARN and asks the caller's
//!   policies. The admin API needs the admin key.
//!
//! With auth off (a loopback server's default) neither layer does anything.

use std::sync::Arc;
use std::time::SystemTime;

use axum::RequestExt;
use axum::body::Body;
use axum::extract::{RawPathParams, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use mantle_access::{Access, AccessError, Principal, SignedRequest};
use mantle_store::ArnScope;

use crate::api::openai::OpenAiError;
use crate::error::AwsError;

/// Whether requests must be authenticated, and the keys they are checked against.
#[derive(Debug, Clone)]
pub struct Auth {
    pub access: Access,
    pub enabled: bool,
    scope: Arc<ArnScope>,
    max_body: usize,
}

impl Auth {
    pub fn new(access: Access, enabled: bool, scope: ArnScope, max_body: usize) -> Self {
        Self {
            access,
            enabled,
            scope: Arc::new(scope),
            max_body,
        }
    }
}

/// The authenticated caller of a request, and the region and account its resources are in.
#[derive(Debug, Clone)]
pub(crate) struct Caller {
    pub(crate) principal: Arc<Principal>,
    scope: Arc<ArnScope>,
}

impl Caller {
    /// The ARN of foundation model or inference profile `id` (as it appears in a `modelId`).
    pub(crate) fn model_arn(&self, id: &str) -> String {
        model_arn(&self.scope, id)
    }

    /// The ARN of this account's resource `kind/id` (`knowledge-base/KB12345678`); an ARN
    /// stays as it is.
    pub(crate) fn arn(&self, kind: &str, id: &str) -> String {
        own_arn(&self.scope, kind, id)
    }
}

/// The outer layer: who is calling.
pub(crate) async fn authenticate(
    State(auth): State<Auth>,
    request: Request,
    next: Next,
) -> Response {
    if !auth.enabled || request.uri().path() == "/health" {
        return next.run(request).await;
    }
    let openai = request.uri().path().starts_with("/v1/");
    let refuse = |error: AwsError| {
        if openai {
            OpenAiError::from(error).into_response()
        } else {
            error.into_response()
        }
    };
    let (mut parts, body) = request.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, auth.max_body).await else {
        return refuse(AwsError::validation(
            "The request body is larger than this server accepts.",
        ));
    };
    let signed = SignedRequest {
        method: &parts.method,
        uri: &parts.uri,
        headers: &parts.headers,
        body: &bytes,
    };
    let principal = match auth.access.authenticate(&signed, SystemTime::now()) {
        Ok(principal) => principal,
        Err(error) => {
            tracing::debug!(%error, path = parts.uri.path(), "request not authenticated");
            return refuse(error.into());
        }
    };
    parts.extensions.insert(Caller {
        principal,
        scope: auth.scope.clone(),
    });
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

/// What an operation needs of its caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Needs {
    /// IAM action `bedrock:{operation}` on the resource named by the path.
    Bedrock,
    /// This IAM action on the resource named by the path.
    Action(&'static str),
    /// The admin key.
    Admin,
    /// Checked by the handler, which knows the resource only from the body (OpenAI's `model`).
    InHandler,
    /// Nothing beyond being authenticated.
    Nothing,
}

/// The IAM action each operation is authorized as: Bedrock's own for its operations (Converse
/// is `bedrock:InvokeModel`, as in AWS), the admin key for Mantle's admin API and metrics.
fn needs(operation: &'static str) -> Needs {
    match operation {
        "Health" => Needs::Nothing,
        "Converse" => Needs::Action("bedrock:InvokeModel"),
        "ConverseStream" => Needs::Action("bedrock:InvokeModelWithResponseStream"),
        "OpenAIChatCompletions" | "OpenAIEmbeddings" => Needs::InHandler,
        "OpenAIModels" => Needs::Action("bedrock:ListFoundationModels"),
        "Metrics" => Needs::Admin,
        admin if admin.starts_with("Admin") => Needs::Admin,
        _ => Needs::Bedrock,
    }
}

/// The per-route layer: may this caller run `operation` on what the path names?
pub(crate) async fn authorize(
    operation: &'static str,
    mut request: Request,
    next: Next,
) -> Response {
    let Some(caller) = request.extensions().get::<Caller>().cloned() else {
        return next.run(request).await;
    };
    let allowed = match needs(operation) {
        Needs::Nothing | Needs::InHandler => Ok(()),
        Needs::Admin => caller.principal.require_admin(operation),
        needs @ (Needs::Bedrock | Needs::Action(_)) => {
            let resource = match request.extract_parts::<RawPathParams>().await {
                Ok(params) => resource_arn(&caller.scope, &params),
                Err(_) => "*".to_owned(),
            };
            let action = match needs {
                Needs::Action(action) => action.to_owned(),
                _ => format!("bedrock:{operation}"),
            };
            caller.principal.authorize(&action, &resource)
        }
    };
    match allowed {
        Ok(()) => next.run(request).await,
        Err(error) => {
            let error = AwsError::from(error);
            if request.uri().path().starts_with("/v1/") {
                OpenAiError::from(error).into_response()
            } else {
                error.into_response()
            }
        }
    }
}

/// The ARN of the resource a route's path names, as IAM policies name it; `*` for operations
/// on no one resource (the List operations, Create before the id exists).
fn resource_arn(scope: &ArnScope, params: &RawPathParams) -> String {
    let get = |name: &str| params.iter().find(|(n, _)| *n == name).map(|(_, v)| v);
    let own = |kind: &str, id: &str| own_arn(scope, kind, id);
    if let Some(model) = get("modelId").or_else(|| get("modelIdentifier")) {
        return model_arn(scope, model);
    }
    if let Some(profile) = get("inferenceProfileIdentifier") {
        return own("inference-profile", profile);
    }
    if let Some(guardrail) = get("guardrailIdentifier") {
        return own("guardrail", guardrail);
    }
    if let Some(kb) = get("knowledgeBaseId") {
        return own("knowledge-base", kb);
    }
    if let Some(prompt) = get("promptIdentifier") {
        return own("prompt", prompt);
    }
    if let Some(flow) = get("flowIdentifier") {
        let flow = own("flow", flow);
        return match get("aliasIdentifier").or_else(|| get("flowAliasIdentifier")) {
            Some(alias) if alias.starts_with("arn:") => alias.to_owned(),
            Some(alias) => format!("{flow}/alias/{alias}"),
            None => flow,
        };
    }
    "*".to_owned()
}

/// `id` as the ARN of this account's `kind`; an ARN stays as it is.
fn own_arn(scope: &ArnScope, kind: &str, id: &str) -> String {
    if id.starts_with("arn:") {
        id.to_owned()
    } else {
        scope.arn(kind, id)
    }
}

/// A `modelId` as an ARN: an ARN stays as it is (a prompt, a provisioned model, a profile); an
/// inference-profile id is the account's profile; anything else is a foundation model, whose
/// ARN has no account.
fn model_arn(scope: &ArnScope, id: &str) -> String {
    if id.starts_with("arn:") {
        id.to_owned()
    } else if crate::api::foundation_models::is_inference_profile(id) {
        scope.arn("inference-profile", id)
    } else {
        scope.foundation_model_arn(id)
    }
}

/// Access failures as AWS answers them: 403s with the codes botocore raises by name.
impl From<AccessError> for AwsError {
    fn from(error: AccessError) -> Self {
        use crate::error::ErrorCode;
        match error {
            AccessError::MissingAuthentication => {
                Self::new(ErrorCode::MissingAuthenticationToken, error.to_string())
            }
            AccessError::UnrecognizedClient(message) => {
                Self::new(ErrorCode::UnrecognizedClient, message)
            }
            AccessError::IncompleteSignature(message) => {
                Self::new(ErrorCode::IncompleteSignature, message)
            }
            AccessError::InvalidSignature(message) => {
                Self::new(ErrorCode::InvalidSignature, message)
            }
            AccessError::AccessDenied(message) => Self::new(ErrorCode::AccessDenied, message),
            AccessError::Validation { field, message } => Self::invalid_field(&field, message),
            AccessError::NotFound(message) => Self::not_found(message),
            AccessError::Conflict(message) => Self::conflict(message),
            AccessError::Store(error) => error.into(),
            AccessError::Seal(message) => {
                tracing::error!(%message, "key sealing failed");
                Self::internal("The server could not read its keys.")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_operation_kind_is_authorized_as_aws_names_it() {
        assert_eq!(needs("Converse"), Needs::Action("bedrock:InvokeModel"));
        assert_eq!(
            needs("ConverseStream"),
            Needs::Action("bedrock:InvokeModelWithResponseStream")
        );
        assert_eq!(needs("AdminCreateKey"), Needs::Admin);
        assert_eq!(needs("Metrics"), Needs::Admin);
        assert_eq!(needs("GetFlow"), Needs::Bedrock);
    }

    #[test]
    fn model_ids_become_the_arns_policies_name() {
        let scope = ArnScope {
            region: "eu-west-1".into(),
            account: "123456789012".into(),
        };
        assert_eq!(
            model_arn(&scope, "hf.smollm2-135m-instruct-v1:0"),
            "arn:aws:bedrock:eu-west-1::foundation-model/hf.smollm2-135m-instruct-v1:0"
        );
        assert_eq!(
            model_arn(&scope, "us.anthropic.claude-3-haiku-20240307-v1:0"),
            "arn:aws:bedrock:eu-west-1:123456789012:inference-profile/us.anthropic.claude-3-haiku-20240307-v1:0"
        );
        let prompt = "arn:aws:bedrock:eu-west-1:123456789012:prompt/PROMPT1234:1";
        assert_eq!(model_arn(&scope, prompt), prompt);
    }
}

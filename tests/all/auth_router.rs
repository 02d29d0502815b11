//! Authentication and authorization through the router, without a socket: requests signed with
//! SigV4 the way the SDKs sign them (`mantle_access::sign_request`, aws-sigv4 underneath), API
//! keys as bearer tokens, the admin key, and IAM-style policies on the resource each operation
//! touches.

use std::time::{Duration, SystemTime};

use axum::body::Body;
use axum::http::{Request, StatusCode};
use mantle_access::{ClientCredentials, sign_request};
use mantle_server::settings::AuthMode;
use serde_json::{Value, json};

use mantle_tests::RouterApp;

const ADMIN: &str = "admin-key-for-the-router-tests";
const MODEL: &str = "hf.smollm2-135m-instruct-v1:0";

fn app() -> RouterApp {
    RouterApp::with_settings(|settings| {
        settings.auth = AuthMode::Required;
        settings.admin_key = Some(ADMIN.into());
    })
}

struct Key {
    id: String,
    secret: String,
    api_key: String,
}

fn request(method: &str, path: &str, body: &Value) -> Request<Vec<u8>> {
    let body = if body.is_null() {
        Vec::new()
    } else {
        body.to_string().into_bytes()
    };
    Request::builder()
        .method(method)
        .uri(path)
        .header("host", "127.0.0.1:8080")
        .header("content-type", "application/json")
        .body(body)
        .unwrap()
}

fn signed(key: &Key, at: SystemTime, method: &str, path: &str, body: &Value) -> Request<Vec<u8>> {
    let mut request = request(method, path, body);
    sign_request(
        &mut request,
        ClientCredentials::new(&key.id, &key.secret, None),
        "us-east-1",
        at,
    )
    .unwrap();
    request
}

fn bearer(token: &str, method: &str, path: &str, body: &Value) -> Request<Vec<u8>> {
    let mut request = request(method, path, body);
    request
        .headers_mut()
        .insert("authorization", format!("Bearer {token}").parse().unwrap());
    request
}

fn send(app: &RouterApp, request: Request<Vec<u8>>) -> (StatusCode, String, Value) {
    let (status, headers, bytes) = app.send_request(request.map(Body::from));
    let code = headers
        .get("x-amzn-ErrorType")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let json = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    (status, code, json)
}

fn create_key(app: &RouterApp, name: &str, policies: Option<Value>) -> Key {
    let mut body = json!({ "name": name });
    if let Some(policies) = policies {
        body["policies"] = policies;
    }
    let (status, _, key) = send(app, bearer(ADMIN, "POST", "/admin/keys", &body));
    assert_eq!(status, StatusCode::CREATED, "{key}");
    Key {
        id: key["accessKeyId"].as_str().unwrap().into(),
        secret: key["secretAccessKey"].as_str().unwrap().into(),
        api_key: key["apiKey"].as_str().unwrap().into(),
    }
}

/// A path segment as boto3 sends an ARN: every reserved character percent-encoded.
fn encoded(arn: &str) -> String {
    arn.replace(':', "%3A").replace('/', "%2F")
}

#[test]
fn unsigned_wrongly_signed_expired_and_unknown_requests_get_aws_codes() {
    let app = app();
    let now = SystemTime::now();
    let (status, _, health) = send(&app, request("GET", "/health", &Value::Null));
    assert_eq!(status, StatusCode::OK, "{health}");
    let (status, code, _) = send(&app, request("GET", "/guardrails", &Value::Null));
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::FORBIDDEN, "MissingAuthenticationTokenException")
    );

    let key = create_key(&app, "alice", None);
    let (status, _, listed) = send(
        &app,
        signed(&key, now, "GET", "/guardrails?maxResults=5", &Value::Null),
    );
    assert_eq!(status, StatusCode::OK, "{listed}");

    let wrong = Key {
        secret: "not-the-secret".into(),
        ..key_copy(&key)
    };
    let (status, code, body) = send(
        &app,
        signed(&wrong, now, "GET", "/guardrails", &Value::Null),
    );
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::FORBIDDEN, "InvalidSignatureException"),
        "{body}"
    );

    let old = now - Duration::from_secs(20 * 60);
    let (_, code, body) = send(&app, signed(&key, old, "GET", "/guardrails", &Value::Null));
    assert_eq!(code, "InvalidSignatureException");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("Signature expired"),
        "{body}"
    );

    let body = json!({"input": {"converse": {"messages": [{"role": "user", "content": [{"text": "hi"}]}]}}});
    let path = format!("/model/{MODEL}/count-tokens");
    let mut tampered = signed(&key, now, "POST", &path, &body);
    *tampered.body_mut() = json!({"input": {"converse": {"messages": [{"role": "user", "content": [{"text": "bye"}]}]}}})
        .to_string()
        .into_bytes();
    let (_, code, _) = send(&app, tampered);
    assert_eq!(code, "InvalidSignatureException");
    let (status, _, counted) = send(&app, signed(&key, now, "POST", &path, &body));
    assert_eq!(status, StatusCode::OK, "{counted}");

    let stranger = Key {
        id: "AKIAAAAAAAAAAAAAAAAA".into(),
        ..key_copy(&key)
    };
    let (_, code, _) = send(
        &app,
        signed(&stranger, now, "GET", "/guardrails", &Value::Null),
    );
    assert_eq!(code, "UnrecognizedClientException");
    let (_, code, _) = send(
        &app,
        bearer("ABSKnot-a-key", "GET", "/guardrails", &Value::Null),
    );
    assert_eq!(code, "UnrecognizedClientException");

    // A disabled key authenticates nothing until it is enabled again.
    let (status, _, _) = send(
        &app,
        bearer(ADMIN, "POST", "/admin/keys/alice/disable", &Value::Null),
    );
    assert_eq!(status, StatusCode::OK);
    let (_, code, _) = send(&app, signed(&key, now, "GET", "/guardrails", &Value::Null));
    assert_eq!(code, "UnrecognizedClientException");
    send(
        &app,
        bearer(ADMIN, "POST", "/admin/keys/alice/enable", &Value::Null),
    );
    let (status, _, _) = send(&app, signed(&key, now, "GET", "/guardrails", &Value::Null));
    assert_eq!(status, StatusCode::OK);
}

fn key_copy(key: &Key) -> Key {
    Key {
        id: key.id.clone(),
        secret: key.secret.clone(),
        api_key: key.api_key.clone(),
    }
}

#[test]
fn policies_decide_per_action_and_resource_and_the_admin_api_needs_the_admin_key() {
    let app = app();
    let now = SystemTime::now();
    let model_arn = format!("arn:aws:bedrock:us-east-1::foundation-model/{MODEL}");
    let reader = create_key(
        &app,
        "reader",
        Some(json!([{
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Action": ["bedrock:List*", "bedrock:Get*"], "Resource": "*"},
                {"Effect": "Allow", "Action": "bedrock:CountTokens", "Resource": model_arn},
                {"Effect": "Deny", "Action": "bedrock:*", "Resource": "arn:aws:bedrock:*:*:guardrail/*"}
            ]
        }])),
    );
    let (status, _, _) = send(
        &app,
        signed(&reader, now, "GET", "/foundation-models", &Value::Null),
    );
    assert_eq!(status, StatusCode::OK);

    // The model named by ARN in the path (double-encoded in the signature, as boto3 signs it).
    let body = json!({"input": {"converse": {"messages": [{"role": "user", "content": [{"text": "hi"}]}]}}});
    let by_arn = format!("/model/{}/count-tokens", encoded(&model_arn));
    let (status, _, counted) = send(&app, signed(&reader, now, "POST", &by_arn, &body));
    assert_eq!(status, StatusCode::OK, "{counted}");

    let converse = json!({"messages": [{"role": "user", "content": [{"text": "hi"}]}]});
    let (status, code, denied) = send(
        &app,
        signed(
            &reader,
            now,
            "POST",
            &format!("/model/{MODEL}/converse"),
            &converse,
        ),
    );
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::FORBIDDEN, "AccessDeniedException")
    );
    assert_eq!(
        denied["message"],
        format!(
            "User: arn:aws:iam::000000000000:user/reader is not authorized to perform: bedrock:InvokeModel on resource: {model_arn} because no identity-based policy allows the bedrock:InvokeModel action"
        )
    );

    let (_, code, denied) = send(
        &app,
        signed(&reader, now, "GET", "/guardrails/gr123", &Value::Null),
    );
    assert_eq!(code, "AccessDeniedException");
    assert!(
        denied["message"]
            .as_str()
            .unwrap()
            .contains("on resource: arn:aws:bedrock:us-east-1:000000000000:guardrail/gr123 with an explicit deny"),
        "{denied}"
    );

    // RetrieveAndGenerate names its knowledge base and model in the body; both are checked.
    let rag = json!({
        "input": {"text": "what is mantle?"},
        "retrieveAndGenerateConfiguration": {
            "type": "KNOWLEDGE_BASE",
            "knowledgeBaseConfiguration": {"knowledgeBaseId": "KB12345678", "modelArn": model_arn},
        },
    });
    let rag_key = create_key(
        &app,
        "rag",
        Some(
            json!([{"Statement": {"Effect": "Allow", "Action": ["bedrock:RetrieveAndGenerate", "bedrock:InvokeModel"], "Resource": "*"}}]),
        ),
    );
    let (status, code, denied) = send(
        &app,
        signed(&rag_key, now, "POST", "/retrieveAndGenerate", &rag),
    );
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::FORBIDDEN, "AccessDeniedException"),
        "{denied}"
    );
    assert!(
        denied["message"].as_str().unwrap().contains(
            "bedrock:Retrieve on resource: arn:aws:bedrock:us-east-1:000000000000:knowledge-base/KB12345678"
        ),
        "{denied}"
    );

    // The OpenAI surface: the API key as bearer token, under the same policy, OpenAI's codes.
    let embed = json!({"model": "hf.all-minilm-l6-v2-v1:0", "input": "hello"});
    let (status, _, denied) = send(
        &app,
        bearer(&reader.api_key, "POST", "/v1/embeddings", &embed),
    );
    assert_eq!(status, StatusCode::FORBIDDEN, "{denied}");
    assert_eq!(denied["error"]["type"], "permission_error");
    let (status, _, refused) = send(&app, bearer("ABSKwrong", "POST", "/v1/embeddings", &embed));
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{refused}");
    let embedder = create_key(
        &app,
        "embedder",
        Some(
            json!([{"Statement": {"Effect": "Allow", "Action": "bedrock:InvokeModel", "Resource": "arn:aws:bedrock:*::foundation-model/hf.all-minilm-*"}}]),
        ),
    );
    let (status, _, embedded) = send(
        &app,
        bearer(&embedder.api_key, "POST", "/v1/embeddings", &embed),
    );
    assert_eq!(status, StatusCode::OK, "{embedded}");

    // Keys, however broad their policy, are not the admin key.
    let full = create_key(&app, "full", None);
    let (status, code, _) = send(&app, signed(&full, now, "GET", "/admin/keys", &Value::Null));
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::FORBIDDEN, "AccessDeniedException")
    );
    let (_, code, _) = send(
        &app,
        bearer(&full.api_key, "GET", "/admin/plugins", &Value::Null),
    );
    assert_eq!(code, "AccessDeniedException");
    let (status, _, keys) = send(&app, bearer(ADMIN, "GET", "/admin/keys", &Value::Null));
    assert_eq!(status, StatusCode::OK);
    let names: Vec<&str> = keys["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["embedder", "full", "rag", "reader"]);
    assert!(!keys.to_string().contains(&full.secret));

    // A bad policy is refused whole, naming the field.
    let (status, code, bad) = send(
        &app,
        bearer(
            ADMIN,
            "POST",
            "/admin/keys",
            &json!({"name": "bad", "policies": [{"Statement": {"Effect": "Allow", "Resource": "*"}}]}),
        ),
    );
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::BAD_REQUEST, "ValidationException"),
        "{bad}"
    );
    assert!(bad["message"].as_str().unwrap().contains("Action"), "{bad}");
    let (status, _, _) = send(&app, bearer(ADMIN, "GET", "/admin/keys/bad", &Value::Null));
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[test]
fn a_network_address_without_an_admin_key_is_refused_unless_the_operator_opts_out() {
    // Each start gets its own data dir: a refused start must not depend on an earlier one.
    let start = |configure: &dyn Fn(&mut mantle_server::settings::Settings)| {
        let data = tempfile::tempdir().unwrap();
        let mut settings = mantle_tests::test_settings(data.path());
        settings.listen = "0.0.0.0:0".parse().unwrap();
        configure(&mut settings);
        mantle_server::app::build_state(settings).map(|state| state.auth.enabled)
    };
    let error = start(&|_| {}).unwrap_err().to_string();
    assert!(
        error.contains("MANTLE_ADMIN_KEY") && error.contains("--insecure-no-auth"),
        "{error}"
    );
    let error = start(&|s| s.auth = AuthMode::Off).unwrap_err().to_string();
    assert!(error.contains("--insecure-no-auth"), "{error}");
    assert!(!start(&|s| s.insecure_no_auth = true).unwrap());
    assert!(start(&|s| s.admin_key = Some("a-long-enough-admin-key".into())).unwrap());
    assert!(start(&|s| s.auth = AuthMode::Required).unwrap());
}

//! Prompt management through the router, without a socket: flat 201 answers, versions,
//! idempotent client tokens, bedrock-agent's error dialect, and a prompt ARN run as Converse's
//! and InvokeModel's `modelId` on the real model.

use axum::http::StatusCode;
use serde_json::{Value, json};

use mantle_tests::RouterApp;

const MODEL: &str = "hf.smollm2-135m-instruct-v1:0";
const TOKEN: &str = "token-0123456789-0123456789-0123456789";

fn prompt_body(name: &str, text: &str, variables: &[&str]) -> Value {
    json!({
        "name": name,
        "defaultVariant": "v1",
        "variants": [{
            "name": "v1",
            "templateType": "TEXT",
            "modelId": MODEL,
            "inferenceConfiguration": {"text": {"maxTokens": 6, "temperature": 0.0}},
            "templateConfiguration": {"text": {
                "text": text,
                "inputVariables": variables.iter().map(|v| json!({"name": v})).collect::<Vec<_>>(),
            }},
        }],
    })
}

fn error_type(headers: &axum::http::HeaderMap) -> &str {
    headers["x-amzn-ErrorType"].to_str().unwrap()
}

/// A path segment as boto3 sends an ARN: every reserved character percent-encoded.
fn encoded(arn: &str) -> String {
    arn.replace(':', "%3A").replace('/', "%2F")
}

#[test]
fn prompts_crud_versions_and_errors() {
    let app = RouterApp::new();
    let (status, _, created) = app.call(
        "POST",
        "/prompts/",
        Some(prompt_body("song", "Name a {{genre}} song.", &["genre"])),
    );
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let id = created["id"].as_str().unwrap().to_owned();
    assert_eq!(created["version"], "DRAFT");
    assert!(
        created["arn"]
            .as_str()
            .unwrap()
            .ends_with(&format!(":prompt/{id}"))
    );
    assert_eq!(
        created["variants"][0]["templateConfiguration"]["text"]["text"],
        "Name a {{genre}} song."
    );

    // A placeholder the variant does not declare is refused, naming the text that holds it.
    let (status, headers, body) = app.call(
        "POST",
        "/prompts/",
        Some(prompt_body("other", "Hi {{who}}", &[])),
    );
    assert_eq!(
        (status, error_type(&headers)),
        (StatusCode::BAD_REQUEST, "ValidationException")
    );
    assert_eq!(
        body["fieldList"][0]["name"],
        "variants.0.templateConfiguration.text.text"
    );
    // The name is taken: 409 in bedrock-agent.
    let (status, headers, _) = app.call("POST", "/prompts/", Some(prompt_body("song", "x", &[])));
    assert_eq!(
        (status, error_type(&headers)),
        (StatusCode::CONFLICT, "ConflictException")
    );
    // A body member the API does not have names itself.
    let mut unknown = prompt_body("unknown", "x", &[]);
    unknown["variants"][0]["temperature"] = json!(1);
    let (status, _, body) = app.call("POST", "/prompts/", Some(unknown));
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body["fieldList"][0]["name"]
            .as_str()
            .unwrap()
            .starts_with("variants"),
        "{body}"
    );

    // Versions snapshot the draft; the draft changes on, the versions do not.
    let versions = format!("/prompts/{id}/versions");
    let (status, _, v1) = app.call("POST", &versions, Some(json!({"description": "first"})));
    assert_eq!(status, StatusCode::CREATED, "{v1}");
    assert_eq!(
        (v1["version"].as_str(), v1["description"].as_str()),
        (Some("1"), Some("first"))
    );
    let (status, _, updated) = app.call(
        "PUT",
        &format!("/prompts/{id}/"),
        Some(prompt_body(
            "song",
            "Name a {{genre}} song from {{year}}.",
            &["genre", "year"],
        )),
    );
    assert_eq!(status, StatusCode::OK, "{updated}");
    let (_, _, v2) = app.call("POST", &versions, Some(json!({})));
    assert_eq!(v2["version"], "2");
    let v1_arn = v1["arn"].as_str().unwrap().to_owned();
    let (status, _, got) = app.call("GET", &format!("/prompts/{}/", encoded(&v1_arn)), None);
    assert_eq!(status, StatusCode::OK, "{got}");
    assert_eq!(
        got["variants"][0]["templateConfiguration"]["text"]["text"],
        "Name a {{genre}} song."
    );
    let (_, _, got) = app.call(
        "GET",
        &format!("/prompts/{id}/?promptVersion=2&includedData=METADATA_ONLY"),
        None,
    );
    assert_eq!(got["version"], "2");
    assert!(got.get("variants").is_none(), "{got}");
    let (status, _, _) = app.call(
        "GET",
        &format!("/prompts/{}/?promptVersion=2", encoded(&v1_arn)),
        None,
    );
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "the ARN's version and promptVersion disagree"
    );

    let (_, _, listed) = app.call("GET", &format!("/prompts/?promptIdentifier={id}"), None);
    let listed: Vec<&str> = listed["promptSummaries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["version"].as_str().unwrap())
        .collect();
    assert_eq!(listed, ["DRAFT", "1", "2"]);
    let (_, _, paged) = app.call("GET", "/prompts/?maxResults=1", None);
    assert_eq!(paged["promptSummaries"].as_array().unwrap().len(), 1);
    let (status, _, _) = app.call("GET", "/prompts/?maxResults=0", None);
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // A retried create with the same client token answers what the first made; a different
    // request under that token is a conflict.
    let mut with_token = prompt_body("tokened", "Hello", &[]);
    with_token["clientToken"] = json!(TOKEN);
    let (_, _, first) = app.call("POST", "/prompts/", Some(with_token.clone()));
    let (status, _, again) = app.call("POST", "/prompts/", Some(with_token.clone()));
    assert_eq!((status, &again["id"]), (StatusCode::CREATED, &first["id"]));
    with_token["description"] = json!("changed");
    let (status, _, _) = app.call("POST", "/prompts/", Some(with_token));
    assert_eq!(status, StatusCode::CONFLICT);

    // Deleting one version, then the prompt.
    let (status, _, deleted) = app.call("DELETE", &format!("/prompts/{id}/?promptVersion=1"), None);
    assert_eq!(
        (status, deleted),
        (StatusCode::OK, json!({"id": id, "version": "1"}))
    );
    let (status, headers, _) = app.call("GET", &format!("/prompts/{id}/?promptVersion=1"), None);
    assert_eq!(
        (status, error_type(&headers)),
        (StatusCode::NOT_FOUND, "ResourceNotFoundException")
    );
    let (status, _, deleted) = app.call("DELETE", &format!("/prompts/{id}/"), None);
    assert_eq!((status, deleted), (StatusCode::OK, json!({"id": id})));
    let (status, _, _) = app.call("GET", &format!("/prompts/{id}/?promptVersion=2"), None);
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _, body) = app.call("GET", "/prompts/bad!/", None);
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["fieldList"][0]["name"], "promptIdentifier");
}

#[test]
fn a_prompt_arn_runs_as_a_model() {
    let app = RouterApp::new();
    let mut body = prompt_body(
        "capital",
        "What is the capital of {{country}}?",
        &["country"],
    );
    body["variants"][0]["templateType"] = json!("CHAT");
    body["variants"][0]["templateConfiguration"] = json!({"chat": {
        "system": [{"text": "Answer with one word."}],
        "messages": [{"role": "user", "content": [{"text": "What is the capital of {{country}}?"}]}],
        "inputVariables": [{"name": "country"}],
    }});
    let (status, _, created) = app.call("POST", "/prompts/", Some(body));
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let (_, _, version) = app.call(
        "POST",
        &format!("/prompts/{}/versions", created["id"].as_str().unwrap()),
        None,
    );
    let arn = version["arn"].as_str().unwrap().to_owned();
    let converse = format!("/model/{}/converse", encoded(&arn));

    let variables = json!({"promptVariables": {"country": {"text": "France"}}});
    let (status, _, answer) = app.call("POST", &converse, Some(variables.clone()));
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert!(
        answer["output"]["message"]["content"][0]["text"].is_string(),
        "{answer}"
    );
    // maxTokens 6 comes from the prompt's inference configuration.
    assert!(
        answer["usage"]["outputTokens"].as_u64().unwrap() <= 6,
        "{answer}"
    );

    // The same answer through the draft's ARN (no version) and greedy decoding.
    let (_, _, draft) = app.call(
        "POST",
        &format!(
            "/model/{}/converse",
            encoded(created["arn"].as_str().unwrap())
        ),
        Some(variables.clone()),
    );
    assert_eq!(draft["output"], answer["output"]);

    let (status, headers, error) =
        app.call("POST", &converse, Some(json!({"promptVariables": {}})));
    assert_eq!(
        (status, error_type(&headers)),
        (StatusCode::BAD_REQUEST, "ValidationException")
    );
    assert!(
        error["message"].as_str().unwrap().contains("country"),
        "{error}"
    );
    assert!(
        error.get("fieldList").is_none(),
        "bedrock-runtime has no fieldList: {error}"
    );
    let (status, _, error) = app.call(
        "POST",
        &converse,
        Some(json!({"promptVariables": {"country": {"text": "Peru"}, "city": {"text": "Lima"}}})),
    );
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        error["message"].as_str().unwrap().contains("city"),
        "{error}"
    );
    let (status, _, error) = app.call(
        "POST",
        &converse,
        Some(json!({"promptVariables": {"country": {"text": "Peru"}}, "system": [{"text": "no"}]})),
    );
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        error["message"].as_str().unwrap().contains("'system'"),
        "{error}"
    );
    let missing = arn.replace(created["id"].as_str().unwrap(), "PR00000000");
    let (status, headers, _) = app.call(
        "POST",
        &format!("/model/{}/converse", encoded(&missing)),
        Some(variables.clone()),
    );
    assert_eq!(
        (status, error_type(&headers)),
        (StatusCode::NOT_FOUND, "ResourceNotFoundException")
    );

    let (status, _, invoked) = app.call(
        "POST",
        &format!("/model/{}/invoke", encoded(&arn)),
        Some(variables),
    );
    assert_eq!(status, StatusCode::OK, "{invoked}");
    assert_eq!(
        invoked["generation"],
        answer["output"]["message"]["content"][0]["text"]
    );
}

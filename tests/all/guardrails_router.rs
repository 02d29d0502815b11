//! Guardrails through the router, without a socket (`tower::ServiceExt::oneshot`): the control
//! plane, ApplyGuardrail, the AWS error contract, and the operation names routes carry.

use axum::http::StatusCode;
use serde_json::{Value, json};

use mantle_tests::RouterApp as App;

fn app() -> App {
    App::new()
}

/// Creates a guardrail through the router, answering its id.
trait CreateGuardrail {
    fn create(&self, body: Value) -> String;
}

impl CreateGuardrail for App {
    fn create(&self, body: Value) -> String {
        let (status, _, created) = self.call("POST", "/guardrails", Some(body));
        assert_eq!(status, StatusCode::ACCEPTED, "{created}");
        created["guardrailId"].as_str().unwrap().to_owned()
    }
}

fn guardrail(name: &str) -> Value {
    json!({
        "name": name,
        "blockedInputMessaging": "Sorry, I cannot help with that.",
        "blockedOutputsMessaging": "Sorry, I cannot answer that.",
        "wordPolicyConfig": {
            "wordsConfig": [{ "text": "project aurora" }],
            "managedWordListsConfig": [{ "type": "PROFANITY" }]
        },
        "sensitiveInformationPolicyConfig": {
            "piiEntitiesConfig": [
                { "type": "EMAIL", "action": "ANONYMIZE" },
                { "type": "US_SOCIAL_SECURITY_NUMBER", "action": "BLOCK" },
                { "type": "NAME", "action": "ANONYMIZE" }
            ],
            "regexesConfig": [{ "name": "ticket", "pattern": "TICKET-[0-9]{4}", "action": "ANONYMIZE" }]
        }
    })
}

fn apply(app: &App, id: &str, version: &str, text: &str) -> Value {
    let (status, _, body) = app.call(
        "POST",
        &format!("/guardrail/{id}/version/{version}/apply"),
        Some(json!({ "source": "INPUT", "content": [{ "text": { "text": text } }] })),
    );
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

#[test]
fn apply_anonymizes_blocks_and_passes() {
    let app = app();
    let id = app.create(guardrail("router-apply"));

    let masked = apply(
        &app,
        &id,
        "DRAFT",
        "Mail bob@example.com about TICKET-1234.",
    );
    assert_eq!(masked["action"], "GUARDRAIL_INTERVENED");
    assert_eq!(masked["outputs"][0]["text"], "Mail {EMAIL} about {ticket}.");
    let sensitive = &masked["assessments"][0]["sensitiveInformationPolicy"];
    assert_eq!(sensitive["piiEntities"][0]["type"], "EMAIL");
    assert_eq!(sensitive["piiEntities"][0]["action"], "ANONYMIZED");
    assert_eq!(sensitive["regexes"][0]["name"], "ticket");
    assert_eq!(masked["usage"]["sensitiveInformationPolicyUnits"], 1);

    let blocked = apply(
        &app,
        &id,
        "DRAFT",
        "Is Project  Aurora on track? SSN 123-45-6789",
    );
    assert_eq!(blocked["action"], "GUARDRAIL_INTERVENED");
    assert_eq!(
        blocked["outputs"][0]["text"],
        "Sorry, I cannot help with that."
    );
    assert_eq!(
        blocked["assessments"][0]["wordPolicy"]["customWords"][0]["action"],
        "BLOCKED"
    );

    let clean = apply(&app, &id, "DRAFT", "What a lovely day.");
    assert_eq!(clean["action"], "NONE");
    assert_eq!(clean["outputs"], json!([]));
}

#[test]
fn versions_are_frozen_copies_of_the_draft() {
    let app = app();
    let id = app.create(guardrail("router-versions"));
    let (status, _, version) = app.call(
        "POST",
        &format!("/guardrails/{id}"),
        Some(json!({"description": "v1"})),
    );
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(version["version"], "1");

    let mut changed = guardrail("router-versions");
    changed["wordPolicyConfig"] = json!({ "wordsConfig": [{ "text": "lovely" }] });
    let (status, _, _) = app.call("PUT", &format!("/guardrails/{id}"), Some(changed));
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(
        apply(&app, &id, "DRAFT", "a lovely day")["action"],
        "GUARDRAIL_INTERVENED"
    );
    assert_eq!(apply(&app, &id, "1", "a lovely day")["action"], "NONE");

    let (_, _, v1) = app.call("GET", &format!("/guardrails/{id}?guardrailVersion=1"), None);
    assert_eq!(v1["version"], "1");
    assert_eq!(v1["description"], "v1");
    assert_eq!(v1["wordPolicy"]["words"][0]["text"], "project aurora");
    let (_, _, listed) = app.call(
        "GET",
        &format!("/guardrails?guardrailIdentifier={id}"),
        None,
    );
    assert_eq!(listed["guardrails"].as_array().unwrap().len(), 2);

    let (status, _, _) = app.call(
        "DELETE",
        &format!("/guardrails/{id}?guardrailVersion=1"),
        None,
    );
    assert_eq!(status, StatusCode::ACCEPTED);
    let (status, _, body) = app.call("GET", &format!("/guardrails/{id}?guardrailVersion=1"), None);
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
}

fn assert_error(
    app: &App,
    method: &str,
    path: &str,
    body: Option<Value>,
    code: &str,
    status: u16,
    needle: &str,
) {
    let (got, headers, body) = app.call(method, path, body);
    assert_eq!(got.as_u16(), status, "{body}");
    assert_eq!(headers["x-amzn-errortype"], code);
    assert!(headers.contains_key("x-amzn-requestid"));
    assert_eq!(body["__type"], code);
    let message = body["message"].as_str().unwrap();
    assert!(
        message.contains(needle),
        "{message:?} should mention {needle:?}"
    );
}

#[test]
fn bad_input_gets_bedrock_errors_naming_the_field_and_writes_nothing() {
    let app = app();
    let id = app.create(guardrail("router-errors"));

    let mut bad_enum = guardrail("bad-enum");
    bad_enum["wordPolicyConfig"]["wordsConfig"][0]["inputAction"] = json!("MAYBE");
    assert_error(
        &app,
        "POST",
        "/guardrails",
        Some(bad_enum),
        "ValidationException",
        400,
        "wordPolicyConfig.wordsConfig[0].inputAction",
    );

    let mut bad_regex = guardrail("bad-regex");
    bad_regex["sensitiveInformationPolicyConfig"]["regexesConfig"][0]["pattern"] =
        json!("([unclosed");
    assert_error(
        &app,
        "POST",
        "/guardrails",
        Some(bad_regex),
        "ValidationException",
        400,
        "sensitiveInformationPolicyConfig",
    );

    assert_error(
        &app,
        "POST",
        "/guardrails",
        Some(json!({"name": "x"})),
        "ValidationException",
        400,
        "blockedInputMessaging",
    );
    assert_error(
        &app,
        "POST",
        "/guardrails",
        Some(guardrail("router-errors")),
        "ConflictException",
        400,
        "router-errors",
    );

    let (_, _, listed) = app.call("GET", "/guardrails", None);
    let names: Vec<&str> = listed["guardrails"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["router-errors"],
        "failed creates leave nothing behind"
    );

    let apply_path = format!("/guardrail/{id}/version/DRAFT/apply");
    assert_error(
        &app,
        "POST",
        "/guardrail/nosuchguardrail/version/DRAFT/apply",
        Some(json!({"source": "INPUT", "content": [{"text": {"text": "x"}}]})),
        "ResourceNotFoundException",
        404,
        "nosuchguardrail",
    );
    assert_error(
        &app,
        "POST",
        &format!("/guardrail/{id}/version/7/apply"),
        Some(json!({"source": "INPUT", "content": [{"text": {"text": "x"}}]})),
        "ResourceNotFoundException",
        404,
        "version 7",
    );
    assert_error(
        &app,
        "POST",
        &apply_path,
        Some(json!({"source": "SIDEWAYS", "content": [{"text": {"text": "x"}}]})),
        "ValidationException",
        400,
        "source",
    );
    assert_error(
        &app,
        "POST",
        &apply_path,
        Some(json!({"source": "INPUT", "content": []})),
        "ValidationException",
        400,
        "content",
    );
    let huge = "a".repeat(300 * 1024);
    assert_error(
        &app,
        "POST",
        &apply_path,
        Some(json!({"source": "INPUT", "content": [{"text": {"text": huge}}]})),
        "ValidationException",
        400,
        "content",
    );
    assert_error(
        &app,
        "GET",
        "/no/such/operation",
        None,
        "UnknownOperationException",
        404,
        "/no/such/operation",
    );
}

#[test]
fn a_failing_custom_policy_fails_only_its_request() {
    let app = app();
    let id = app.create(guardrail("router-hostile"));
    let plugins_dir = app.data_dir().join("plugins");
    let registry_dir =
        mantle_tests::install_dir(&mantle_tests::fixture("infinite-loop"), &plugins_dir);
    assert!(registry_dir.exists());
    // Without the watcher, a rescan happens through the admin API's install path; use it.
    let manifest = std::fs::read_to_string(registry_dir.join("plugin.toml")).unwrap();
    let wasm = std::fs::read(registry_dir.join("plugin.wasm")).unwrap();
    use base64::Engine as _;
    let (status, _, body) = app.call(
        "POST",
        "/admin/plugins",
        Some(json!({
            "manifest": manifest,
            "component": base64::engine::general_purpose::STANDARD.encode(wasm),
            "replace": true,
        })),
    );
    assert_eq!(status, StatusCode::CREATED, "{body}");
    // Attaching runs the plugin on no content to check its config: it loops, so it is refused.
    let (status, headers, body) = app.call(
        "PUT",
        &format!("/admin/guardrails/{id}/custom-policies"),
        Some(json!({"policies": [{"plugin": "infinite-loop"}]})),
    );
    assert_eq!(status.as_u16(), 408, "{body}");
    assert_eq!(headers["x-amzn-errortype"], "ModelTimeoutException");
    // The guardrail still works.
    assert_eq!(
        apply(&app, &id, "DRAFT", "bob@example.com")["action"],
        "GUARDRAIL_INTERVENED"
    );
}

#[test]
fn a_bad_path_parameter_is_a_validation_exception_naming_it() {
    let app = app();
    let id = app.create(guardrail("router-paths"));
    let body = json!({"source": "INPUT", "content": [{"text": {"text": "x"}}]});
    for (method, path, body, needle) in [
        (
            "GET",
            "/guardrails/Not_An_Id".to_owned(),
            None,
            "guardrailIdentifier",
        ),
        // Percent-decodes to bytes that are not UTF-8.
        (
            "DELETE",
            "/guardrails/%FF%FE".to_owned(),
            None,
            "guardrailIdentifier",
        ),
        (
            "POST",
            format!("/guardrail/{id}/version/0/apply"),
            Some(body.clone()),
            "guardrailVersion",
        ),
        (
            "POST",
            "/guardrail/UPPER/version/DRAFT/apply".to_owned(),
            Some(body),
            "guardrailIdentifier",
        ),
        (
            "GET",
            format!("/guardrails/{id}?guardrailVersion=DRAFTY"),
            None,
            "guardrailVersion",
        ),
        (
            "PUT",
            "/admin/guardrails/no_such/custom-policies".to_owned(),
            Some(json!({"policies": []})),
            "guardrailIdentifier",
        ),
    ] {
        assert_error(
            &app,
            method,
            &path,
            body,
            "ValidationException",
            400,
            needle,
        );
    }
}

#[test]
fn metrics_label_each_request_with_the_operation_named_on_its_route() {
    mantle_server::telemetry::init_metrics();
    let app = app();
    let id = app.create(guardrail("router-metrics"));
    apply(&app, &id, "DRAFT", "What a lovely day.");
    let (status, _, _) = app.call("DELETE", "/admin/plugins/nosuch@9.9.9", None);
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _, _) = app.call("GET", "/no/such/operation", None);
    assert_eq!(status, StatusCode::NOT_FOUND);
    // A path that exists with a method it does not serve belongs to no operation either.
    let (status, headers, body) = app.send("PATCH", "/guardrails", None);
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    // Bedrock-shaped like every other error, not a bare status.
    assert_eq!(headers["x-amzn-errortype"], "UnknownOperationException");
    let body: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(body["message"], "No operation matches PATCH /guardrails");

    let (status, headers, text) = app.send("GET", "/metrics", None);
    assert_eq!(status, StatusCode::OK);
    assert!(
        headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    let text = String::from_utf8(text.to_vec()).unwrap();
    for series in [
        r#"mantle_requests_total{operation="CreateGuardrail",status="202"}"#,
        r#"mantle_requests_total{operation="ApplyGuardrail",status="200"}"#,
        r#"mantle_requests_total{operation="AdminRemovePlugin",status="404"}"#,
        r#"mantle_requests_total{operation="UnknownOperation",status="404"}"#,
        r#"mantle_requests_total{operation="UnknownOperation",status="405"}"#,
        r#"mantle_request_duration_seconds_count{operation="ApplyGuardrail"}"#,
    ] {
        assert!(text.contains(series), "{series} missing from:\n{text}");
    }
}

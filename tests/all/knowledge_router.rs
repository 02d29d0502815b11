//! Knowledge bases through the router, without a socket: routes told apart by method and
//! trailing slash, status codes, bedrock-agent's error dialect (409, `fieldList`) for both
//! handler errors and rejections, and the operation names in `/metrics`.

use axum::http::StatusCode;
use serde_json::{Value, json};

use mantle_tests::RouterApp;

fn kb_body(name: &str) -> Value {
    json!({
        "name": name,
        "roleArn": "arn:aws:iam::123456789012:role/kb",
        "knowledgeBaseConfiguration": {
            "type": "VECTOR",
            "vectorKnowledgeBaseConfiguration": {"embeddingModelArn": "hf.all-minilm-l6-v2-v1:0"}
        }
    })
}

fn error_type(headers: &axum::http::HeaderMap) -> &str {
    headers["x-amzn-ErrorType"].to_str().unwrap()
}

#[test]
fn routes_statuses_and_the_agent_error_dialect() {
    mantle_server::telemetry::init_metrics();
    let app = RouterApp::new();
    let (status, _, created) = app.call("PUT", "/knowledgebases/", Some(kb_body("routes")));
    assert_eq!(status, StatusCode::ACCEPTED, "{created}");
    let kb = created["knowledgeBase"]["knowledgeBaseId"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(created["knowledgeBase"]["status"], "ACTIVE");

    // The trailing slash is the route: without it, CreateKnowledgeBase is not an operation.
    let (status, headers, _) = app.call("PUT", "/knowledgebases", Some(kb_body("x")));
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(error_type(&headers), "UnknownOperationException");

    let (status, _, listed) = app.call("POST", "/knowledgebases/", None);
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        listed["knowledgeBaseSummaries"][0]["knowledgeBaseId"],
        kb.as_str()
    );

    let (status, _, ds) = app.call(
        "PUT",
        &format!("/knowledgebases/{kb}/datasources/"),
        Some(json!({"name": "inline", "dataSourceConfiguration": {"type": "CUSTOM"}})),
    );
    assert_eq!(status, StatusCode::OK, "{ds}");
    let ds = ds["dataSource"]["dataSourceId"]
        .as_str()
        .unwrap()
        .to_owned();

    // Same name again: ConflictException is 409 in bedrock-agent (400 in bedrock).
    let (status, headers, _) = app.call(
        "PUT",
        &format!("/knowledgebases/{kb}/datasources/"),
        Some(json!({"name": "inline", "dataSourceConfiguration": {"type": "CUSTOM"}})),
    );
    assert_eq!(
        (status, error_type(&headers)),
        (StatusCode::CONFLICT, "ConflictException")
    );

    // PUT …/documents ingests, POST …/documents lists.
    let documents = format!("/knowledgebases/{kb}/datasources/{ds}/documents");
    let doc = json!({"documents": [{"content": {"dataSourceType": "CUSTOM", "custom": {
        "customDocumentIdentifier": {"id": "a"}, "sourceType": "IN_LINE",
        "inlineContent": {"type": "TEXT", "textContent": {"data": "Backups are kept for 35 days."}}}}}]});
    let (status, _, ingested) = app.call("PUT", &documents, Some(doc));
    assert_eq!(status, StatusCode::ACCEPTED, "{ingested}");
    assert_eq!(ingested["documentDetails"][0]["status"], "INDEXED");
    let (status, _, listed) = app.call("POST", &documents, None);
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        listed["documentDetails"][0]["identifier"]["custom"]["id"],
        "a"
    );

    // A body that does not parse: ValidationException with a fieldList naming the member.
    let (status, headers, body) = app.call(
        "PUT",
        "/knowledgebases/",
        Some(json!({"name": "x", "roleArn": "r", "knowledgeBaseConfiguration": {"type": "GRAPH"}})),
    );
    assert_eq!(
        (status, error_type(&headers)),
        (StatusCode::BAD_REQUEST, "ValidationException")
    );
    assert_eq!(
        body["fieldList"][0]["name"], "knowledgeBaseConfiguration.type",
        "{body}"
    );

    // A bad path parameter, in the same dialect.
    let (status, _, body) = app.call("GET", "/knowledgebases/bad%20id%21", None);
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["fieldList"][0]["name"], "knowledgeBaseId", "{body}");

    let (status, headers, _) = app.call(
        "GET",
        &format!("/knowledgebases/{kb}/datasources/DSMISSING0"),
        None,
    );
    assert_eq!(
        (status, error_type(&headers)),
        (StatusCode::NOT_FOUND, "ResourceNotFoundException")
    );

    let (status, _, results) = app.call(
        "POST",
        &format!("/knowledgebases/{kb}/retrieve"),
        Some(json!({"retrievalQuery": {"text": "how long are backups kept"}})),
    );
    assert_eq!(status, StatusCode::OK, "{results}");
    assert_eq!(
        results["retrievalResults"][0]["location"]["customDocumentLocation"]["id"],
        "a"
    );

    let (status, _, job) = app.call(
        "PUT",
        &format!("/knowledgebases/{kb}/datasources/{ds}/ingestionjobs/"),
        None,
    );
    assert_eq!(status, StatusCode::ACCEPTED, "{job}");
    assert_eq!(job["ingestionJob"]["status"], "STARTING");

    let (status, _, deleted) = app.call("DELETE", &format!("/knowledgebases/{kb}"), None);
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(
        deleted,
        json!({"knowledgeBaseId": kb, "status": "DELETING"})
    );

    let (_, _, metrics) = app.send("GET", "/metrics", None);
    let metrics = String::from_utf8_lossy(&metrics);
    for operation in [
        "CreateKnowledgeBase",
        "IngestKnowledgeBaseDocuments",
        "ListKnowledgeBaseDocuments",
        "Retrieve",
    ] {
        assert!(
            metrics.contains(&format!("operation=\"{operation}\"")),
            "{operation} missing from /metrics"
        );
    }
}

/// A tool plugin granted `knowledge` searches a knowledge base through the import, the way an
/// agent's action group or a flow node will.
#[test]
fn plugins_search_knowledge_bases_through_the_knowledge_import() {
    let data = mantle_tests::data_dir_with_builtins();
    mantle_tests::install_dir(
        &mantle_tests::fixture("host-calls"),
        &data.path().join("plugins"),
    );
    let settings = mantle_tests::test_settings(data.path());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let state = mantle_server::app::build_state(settings).unwrap();
        let knowledge = &state.knowledge;
        let kb = knowledge
            .create_knowledge_base(serde_json::from_value(kb_body("tools")).unwrap())
            .unwrap()
            .knowledge_base_id;
        let ds = knowledge
            .create_data_source(
                &kb,
                serde_json::from_value(json!({"name": "d", "dataSourceConfiguration": {"type": "CUSTOM"}})).unwrap(),
            )
            .unwrap()
            .data_source_id;
        let documents = json!({"documents": [
            {"content": {"dataSourceType": "CUSTOM", "custom": {"customDocumentIdentifier": {"id": "vpn"},
                "sourceType": "IN_LINE", "inlineContent": {"type": "TEXT", "textContent": {"data": "The VPN password rotates on the first Monday of each month."}}}}},
            {"content": {"dataSourceType": "CUSTOM", "custom": {"customDocumentIdentifier": {"id": "lunch"},
                "sourceType": "IN_LINE", "inlineContent": {"type": "TEXT", "textContent": {"data": "The cafeteria serves lunch from noon to two."}}}}},
        ]});
        knowledge
            .ingest_documents(&kb, &ds, serde_json::from_value(documents).unwrap())
            .await
            .unwrap();

        let plugin = state.registry.resolve("host-calls").unwrap();
        let input = json!({"knowledge_base_id": kb.as_str(), "query": "when does the VPN password change?", "max_results": 1});
        let result = plugin
            .invoke_tool("retrieve", &input.to_string(), &crate::plugin_worlds::session("s"))
            .await
            .unwrap();
        let body: Value = serde_json::from_str(&result.body).unwrap();
        let results = body["results"].as_array().unwrap();
        assert_eq!(results.len(), 1, "{body}");
        assert_eq!(results[0]["location"], "vpn");
        assert!(results[0]["text"].as_str().unwrap().contains("first Monday"));

        // An unknown knowledge base is the plugin's error to handle, not the host's.
        let input = json!({"knowledge_base_id": "KBMISSING0", "query": "q", "max_results": 1});
        let error = plugin
            .invoke_tool("retrieve", &input.to_string(), &crate::plugin_worlds::session("s"))
            .await
            .unwrap_err();
        assert!(error.to_string().contains("KBMISSING0"), "{error}");
    });
}

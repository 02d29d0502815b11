//! Flows through the router, without a socket: the control plane's statuses and route hazards,
//! validations, versions and aliases, and InvokeFlow running real nodes — the model, a
//! knowledge base, a flow-node plugin, the bucket root — with its event stream decoded.

use axum::http::StatusCode;
use serde_json::{Value, json};

use mantle_tests::{RouterApp, event_stream};

const MODEL: &str = "hf.smollm2-135m-instruct-v1:0";
const ROLE: &str = "arn:aws:iam::123456789012:role/flows";
const ORDER_TOTAL: &str = "arn:aws:lambda:us-east-1:123456789012:function:order-total";

fn error_type(headers: &axum::http::HeaderMap) -> &str {
    headers["x-amzn-ErrorType"].to_str().unwrap()
}

fn input_node(kind: &str) -> Value {
    json!({"name": "Start", "type": "Input", "configuration": {"input": {}},
           "outputs": [{"name": "document", "type": kind}]})
}

fn output_node(name: &str, kind: &str) -> Value {
    json!({"name": name, "type": "Output", "configuration": {"output": {}},
           "inputs": [{"name": "document", "type": kind, "expression": "$.data"}]})
}

fn data(name: &str, source: &str, output: &str, target: &str, input: &str) -> Value {
    json!({"name": name, "type": "Data", "source": source, "target": target,
           "configuration": {"data": {"sourceOutput": output, "targetInput": input}}})
}

fn conditional(name: &str, source: &str, condition: &str, target: &str) -> Value {
    json!({"name": name, "type": "Conditional", "source": source, "target": target,
           "configuration": {"conditional": {"condition": condition}}})
}

/// Creates and prepares a flow; answers its id.
fn prepared(app: &RouterApp, name: &str, definition: Value) -> String {
    let (status, _, flow) = app.call(
        "POST",
        "/flows/",
        Some(json!({"name": name, "executionRoleArn": ROLE, "definition": definition})),
    );
    assert_eq!(status, StatusCode::CREATED, "{flow}");
    let id = flow["id"].as_str().unwrap().to_owned();
    let (status, _, prepared) = app.call("POST", &format!("/flows/{id}/"), None);
    assert_eq!(status, StatusCode::ACCEPTED, "{prepared}");
    assert_eq!(prepared["status"], "Prepared");
    id
}

/// Runs a flow through its test alias; answers the decoded events.
fn invoke(app: &RouterApp, id: &str, document: Value, trace: bool) -> Vec<(String, Value)> {
    let (status, headers, body) = app.send(
        "POST",
        &format!("/flows/{id}/aliases/TSTALIASID"),
        Some(
            json!({"inputs": [{"nodeName": "Start", "nodeOutputName": "document",
                                "content": {"document": document}}],
                    "enableTrace": trace}),
        ),
    );
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
    assert!(headers.contains_key("x-amz-bedrock-flow-execution-id"));
    event_stream(&body)
}

fn outputs(events: &[(String, Value)]) -> Vec<(String, Value)> {
    events
        .iter()
        .filter(|(kind, _)| kind == "flowOutputEvent")
        .map(|(_, e)| {
            (
                e["nodeName"].as_str().unwrap().to_owned(),
                e["content"]["document"].clone(),
            )
        })
        .collect()
}

fn completed(events: &[(String, Value)]) -> bool {
    events.last().is_some_and(|(kind, e)| {
        kind == "flowCompletionEvent" && e["completionReason"] == "SUCCESS"
    })
}

#[test]
fn control_plane_versions_aliases_and_route_hazards() {
    let app = RouterApp::new();
    let echo = json!({"nodes": [input_node("String"), output_node("End", "String")],
                      "connections": [data("c1", "Start", "document", "End", "document")]});
    let (status, _, flow) = app.call(
        "POST",
        "/flows/",
        Some(json!({"name": "echo", "executionRoleArn": ROLE, "definition": echo})),
    );
    assert_eq!(status, StatusCode::CREATED, "{flow}");
    let id = flow["id"].as_str().unwrap().to_owned();
    assert_eq!(
        (flow["status"].as_str(), flow["version"].as_str()),
        (Some("NotPrepared"), Some("DRAFT"))
    );

    // An unprepared flow does not run.
    let (status, headers, _) = app.call(
        "POST",
        &format!("/flows/{id}/aliases/TSTALIASID"),
        Some(json!({"inputs": [{"nodeName": "Start", "content": {"document": "hi"}}]})),
    );
    assert_eq!(
        (status, error_type(&headers)),
        (StatusCode::BAD_REQUEST, "ValidationException")
    );

    // The trailing slash tells PrepareFlow from ValidateFlowDefinition.
    let (status, _, valid) = app.call(
        "POST",
        "/flows/validate-definition",
        Some(json!({"definition": {"nodes": [input_node("String")]}})),
    );
    assert_eq!(status, StatusCode::OK, "{valid}");
    assert_eq!(valid["validations"][0]["type"], "MissingEndingNodes");
    assert_eq!(valid["validations"][0]["severity"], "Error");
    assert_eq!(
        valid["validations"][0]["details"],
        json!({"missingEndingNodes": {}})
    );
    let (status, _, prepared) = app.call("POST", &format!("/flows/{id}/"), None);
    assert_eq!(
        (status, &prepared["status"]),
        (StatusCode::ACCEPTED, &json!("Prepared"))
    );
    let (_, _, got) = app.call("GET", &format!("/flows/{id}/"), None);
    assert_eq!(
        (
            got["status"].as_str(),
            got["validations"].as_array().map(Vec::len)
        ),
        (Some("Prepared"), Some(0))
    );

    // A bad node name is refused before anything is stored, naming the field.
    let (status, _, body) = app.call(
        "PUT",
        &format!("/flows/{id}/"),
        Some(json!({"name": "echo", "executionRoleArn": ROLE,
                    "definition": {"nodes": [{"name": "bad name", "type": "Input"}]}})),
    );
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["fieldList"][0]["name"], "definition.nodes.0.name");

    let (status, _, v1) = app.call(
        "POST",
        &format!("/flows/{id}/versions"),
        Some(json!({"description": "one"})),
    );
    assert_eq!(
        (status, v1["version"].as_str()),
        (StatusCode::CREATED, Some("1")),
        "{v1}"
    );
    assert_eq!(v1["definition"], echo);
    let (status, _, alias) = app.call(
        "POST",
        &format!("/flows/{id}/aliases"),
        Some(
            json!({"name": "live", "routingConfiguration": [{"flowVersion": "1"}],
                    "concurrencyConfiguration": {"type": "Manual", "maxConcurrency": 2}}),
        ),
    );
    assert_eq!(status, StatusCode::CREATED, "{alias}");
    let alias_id = alias["id"].as_str().unwrap().to_owned();
    assert!(
        alias["arn"]
            .as_str()
            .unwrap()
            .ends_with(&format!("flow/{id}/alias/{alias_id}"))
    );
    let (status, _, _) = app.call(
        "POST",
        &format!("/flows/{id}/aliases"),
        Some(json!({"name": "ghost", "routingConfiguration": [{"flowVersion": "7"}]})),
    );
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "an alias routes to a version that exists"
    );

    // Editing the draft unprepares it; the version and its alias run unchanged.
    let (_, _, updated) = app.call(
        "PUT",
        &format!("/flows/{id}/"),
        Some(json!({"name": "echo", "executionRoleArn": ROLE, "description": "edited", "definition": echo})),
    );
    assert_eq!(updated["status"], "NotPrepared");
    let (status, _, body) = app.send(
        "POST",
        &format!("/flows/{id}/aliases/{alias_id}"),
        Some(json!({"inputs": [{"nodeName": "Start", "content": {"document": "through the alias"}}]})),
    );
    assert_eq!(status, StatusCode::OK);
    let events = event_stream(&body);
    assert_eq!(
        outputs(&events),
        [("End".to_owned(), json!("through the alias"))]
    );
    assert!(completed(&events));

    // Executions: none yet; an unknown one is 404; a bad event type names the parameter.
    let (status, _, listed) = app.call("GET", &format!("/flows/{id}/executions"), None);
    assert_eq!(
        (status, listed),
        (StatusCode::OK, json!({"flowExecutionSummaries": []}))
    );
    let execution = format!("/flows/{id}/aliases/TSTALIASID/executions/none-such");
    let (status, headers, _) = app.call("GET", &execution, None);
    assert_eq!(
        (status, error_type(&headers)),
        (StatusCode::NOT_FOUND, "ResourceNotFoundException")
    );
    let (status, _, body) = app.call(
        "GET",
        &format!("{execution}/events?eventType=Everything"),
        None,
    );
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");

    let (_, _, versions) = app.call("GET", &format!("/flows/{id}/versions"), None);
    let labels: Vec<&str> = versions["flowVersionSummaries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["version"].as_str().unwrap())
        .collect();
    assert_eq!(labels, ["DRAFT", "1"]);
    let (status, headers, _) = app.call("DELETE", &format!("/flows/{id}/versions/1/"), None);
    assert_eq!(
        (status, error_type(&headers)),
        (StatusCode::CONFLICT, "ConflictException")
    );
    let (_, _, aliases) = app.call("GET", &format!("/flows/{id}/aliases"), None);
    assert_eq!(aliases["flowAliasSummaries"][0]["name"], "live");
    let (status, _, deleted) = app.call("DELETE", &format!("/flows/{id}/aliases/{alias_id}"), None);
    assert_eq!(
        (status, deleted),
        (StatusCode::OK, json!({"flowId": id, "id": alias_id}))
    );
    let (status, _, _) = app.call("DELETE", &format!("/flows/{id}/versions/1/"), None);
    assert_eq!(status, StatusCode::OK);
    let (status, _, _) = app.call("GET", &format!("/flows/{id}/versions/1/"), None);
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _, _) = app.call("DELETE", &format!("/flows/{id}/"), None);
    assert_eq!(status, StatusCode::OK);
    let (status, headers, _) = app.call("GET", &format!("/flows/{id}/"), None);
    assert_eq!(
        (status, error_type(&headers)),
        (StatusCode::NOT_FOUND, "ResourceNotFoundException")
    );
}

#[test]
fn a_condition_takes_one_branch_and_traces_it() {
    let app = RouterApp::new();
    let id = prepared(
        &app,
        "routing",
        json!({
            "nodes": [input_node("Object"), output_node("High", "Object"), output_node("Low", "Object"),
                {"name": "Check", "type": "Condition", "configuration": {"condition": {"conditions": [
                    {"name": "big", "expression": "score > 5 and tag != \"test\""}, {"name": "default"}]}},
                 "inputs": [{"name": "score", "type": "Number", "expression": "$.data.score"},
                            {"name": "tag", "type": "String", "expression": "$.data.tag"}]}],
            "connections": [
                data("c1", "Start", "document", "Check", "score"),
                data("c2", "Start", "document", "Check", "tag"),
                data("c3", "Start", "document", "High", "document"),
                data("c4", "Start", "document", "Low", "document"),
                conditional("c5", "Check", "big", "High"),
                conditional("c6", "Check", "default", "Low"),
            ],
        }),
    );
    let events = invoke(&app, &id, json!({"score": 9, "tag": "prod"}), true);
    assert_eq!(
        outputs(&events),
        [("High".to_owned(), json!({"score": 9, "tag": "prod"}))]
    );
    assert!(completed(&events));
    let condition = events
        .iter()
        .find_map(|(_, e)| e["trace"].get("conditionNodeResultTrace"))
        .unwrap();
    assert_eq!(
        condition["satisfiedConditions"],
        json!([{"conditionName": "big"}])
    );
    let events = invoke(&app, &id, json!({"score": 9, "tag": "test"}), false);
    assert_eq!(outputs(&events)[0].0, "Low");
    assert!(
        events.iter().all(|(kind, _)| kind != "flowTraceEvent"),
        "no traces unless asked"
    );

    // A value of the wrong type fails the run, naming the node, and nothing reports success.
    let events = invoke(&app, &id, json!({"score": "high", "tag": "x"}), false);
    let (kind, error) = events.last().unwrap();
    assert_eq!(kind, "dependencyFailedException", "{events:?}");
    assert!(
        error["message"].as_str().unwrap().contains("Check"),
        "{error}"
    );
    assert!(!completed(&events));
}

#[test]
fn a_prompt_node_runs_the_model() {
    let app = RouterApp::new();
    let id = prepared(
        &app,
        "greeting",
        json!({
            "nodes": [input_node("String"), output_node("End", "String"),
                {"name": "Greet", "type": "Prompt", "configuration": {"prompt": {"sourceConfiguration": {"inline": {
                    "templateType": "TEXT", "modelId": MODEL,
                    "inferenceConfiguration": {"text": {"maxTokens": 5, "temperature": 0.0}},
                    "templateConfiguration": {"text": {"text": "Say hello to {{name}}.", "inputVariables": [{"name": "name"}]}}}}}},
                 "inputs": [{"name": "name", "type": "String", "expression": "$.data"}],
                 "outputs": [{"name": "modelCompletion", "type": "String"}]}],
            "connections": [data("c1", "Start", "document", "Greet", "name"),
                            data("c2", "Greet", "modelCompletion", "End", "document")],
        }),
    );
    let events = invoke(&app, &id, json!("Ada"), true);
    let found = outputs(&events);
    assert_eq!(found.len(), 1, "{events:?}");
    assert!(!found[0].1.as_str().unwrap().is_empty());
    assert!(completed(&events));
    let inputs = events
        .iter()
        .find_map(|(_, e)| {
            e["trace"]
                .get("nodeInputTrace")
                .filter(|t| t["nodeName"] == "Greet")
        })
        .unwrap();
    assert_eq!(
        inputs["fields"][0],
        json!({"nodeInputName": "name", "content": {"document": "Ada"}})
    );

    // A prompt node whose inputs are not its prompt's variables does not prepare.
    let (_, _, flow) = app.call("POST", "/flows/", Some(json!({"name": "mismatch", "executionRoleArn": ROLE, "definition": {
        "nodes": [input_node("String"), output_node("End", "String"),
            {"name": "Greet", "type": "Prompt", "configuration": {"prompt": {"sourceConfiguration": {"inline": {
                "templateType": "TEXT", "modelId": MODEL,
                "templateConfiguration": {"text": {"text": "Hi {{who}}", "inputVariables": [{"name": "who"}]}}}}}},
             "inputs": [{"name": "name", "type": "String", "expression": "$.data"}],
             "outputs": [{"name": "modelCompletion", "type": "String"}]}],
        "connections": [data("c1", "Start", "document", "Greet", "name"),
                        data("c2", "Greet", "modelCompletion", "End", "document")]}})));
    let flow_id = flow["id"].as_str().unwrap();
    let (status, _, error) = app.call("POST", &format!("/flows/{flow_id}/"), None);
    assert_eq!(status, StatusCode::BAD_REQUEST, "{error}");
    assert!(
        error["message"].as_str().unwrap().contains("who"),
        "{error}"
    );
    let (_, _, got) = app.call("GET", &format!("/flows/{flow_id}/"), None);
    assert_eq!(got["status"], "Failed");
}

#[test]
fn an_iterator_runs_a_plugin_per_element_and_collects() {
    let app = RouterApp::with_fixtures(&["order-total"]);
    let id = prepared(
        &app,
        "pricing",
        json!({
            "nodes": [input_node("Array"), output_node("End", "Array"),
                {"name": "Each", "type": "Iterator", "configuration": {"iterator": {}},
                 "inputs": [{"name": "array", "type": "Array", "expression": "$.data"}],
                 "outputs": [{"name": "arrayItem", "type": "Object"}, {"name": "arraySize", "type": "Number"}]},
                {"name": "Price", "type": "LambdaFunction", "configuration": {"lambdaFunction": {"lambdaArn": ORDER_TOTAL}},
                 "inputs": [{"name": "order", "type": "Object", "expression": "$.data"}],
                 "outputs": [{"name": "functionResponse", "type": "Number"}]},
                {"name": "Gather", "type": "Collector", "configuration": {"collector": {}},
                 "inputs": [{"name": "arrayItem", "type": "Number", "expression": "$.data"},
                            {"name": "arraySize", "type": "Number", "expression": "$.data"}],
                 "outputs": [{"name": "collectedArray", "type": "Array"}]}],
            "connections": [
                data("c1", "Start", "document", "Each", "array"),
                data("c2", "Each", "arrayItem", "Price", "order"),
                data("c3", "Price", "functionResponse", "Gather", "arrayItem"),
                data("c4", "Each", "arraySize", "Gather", "arraySize"),
                data("c5", "Gather", "collectedArray", "End", "document"),
            ],
        }),
    );
    let orders = json!([
        {"items": [{"price": 2.5, "quantity": 4}]},
        {"items": [{"price": 1, "quantity": 3}], "discount": 0.5},
    ]);
    let events = invoke(&app, &id, orders, false);
    assert_eq!(outputs(&events), [("End".to_owned(), json!([10.0, 1.5]))]);
    assert!(completed(&events));

    // A plugin that traps fails its node's run, not the server.
    let events = invoke(&app, &id, json!([{"items": []}, {"trap": true}]), false);
    let (kind, error) = events.last().unwrap();
    assert_eq!(kind, "dependencyFailedException");
    assert!(
        error["message"].as_str().unwrap().contains("Price"),
        "{error}"
    );
    let events = invoke(&app, &id, json!([]), false);
    assert_eq!(outputs(&events), [("End".to_owned(), json!([]))]);
}

#[test]
fn a_loop_repeats_until_its_controller_stops_it() {
    let app = RouterApp::with_fixtures(&["order-total"]);
    let body = json!({
        "nodes": [
            {"name": "Round", "type": "LoopInput", "configuration": {"loopInput": {}},
             "outputs": [{"name": "order", "type": "Object"}]},
            {"name": "Price", "type": "LambdaFunction", "configuration": {"lambdaFunction": {"lambdaArn": ORDER_TOTAL}},
             "inputs": [{"name": "order", "type": "Object", "expression": "$.data"}],
             "outputs": [{"name": "functionResponse", "type": "Number"}, {"name": "nextOrder", "type": "Object"}]},
            {"name": "Decide", "type": "LoopController", "configuration": {"loopController": {
                "continueCondition": {"name": "tooDear", "expression": "total > 5"}, "maxIterations": 20}},
             "inputs": [{"name": "total", "type": "Number", "expression": "$.data", "category": "LoopCondition"},
                        {"name": "order", "type": "Object", "expression": "$.data", "category": "ReturnValueToLoopStart"},
                        {"name": "price", "type": "Number", "expression": "$.data", "category": "ExitLoop"}]}],
        "connections": [
            data("l1", "Round", "order", "Price", "order"),
            data("l2", "Price", "functionResponse", "Decide", "total"),
            data("l3", "Price", "nextOrder", "Decide", "order"),
            data("l4", "Price", "functionResponse", "Decide", "price"),
        ],
    });
    let id = prepared(
        &app,
        "haggle",
        json!({
            "nodes": [input_node("Object"), output_node("End", "Number"),
                {"name": "Haggle", "type": "Loop", "configuration": {"loop": {"definition": body}},
                 "inputs": [{"name": "order", "type": "Object", "expression": "$.data"}],
                 "outputs": [{"name": "price", "type": "Number"}]}],
            "connections": [data("c1", "Start", "document", "Haggle", "order"),
                            data("c2", "Haggle", "price", "End", "document")],
        }),
    );
    // 10 at no discount, then 9, 8, … until the price is no longer over 5.
    let events = invoke(&app, &id, json!({"items": [{"price": 10}]}), false);
    assert_eq!(outputs(&events), [("End".to_owned(), json!(5.0))]);
    assert!(completed(&events));
}

#[test]
fn knowledge_base_storage_and_retrieval_nodes() {
    let app = RouterApp::new();
    let (_, _, kb) = app.call("PUT", "/knowledgebases/", Some(json!({
        "name": "handbook", "roleArn": ROLE,
        "knowledgeBaseConfiguration": {"type": "VECTOR",
            "vectorKnowledgeBaseConfiguration": {"embeddingModelArn": "hf.all-minilm-l6-v2-v1:0"}}})));
    let kb = kb["knowledgeBase"]["knowledgeBaseId"]
        .as_str()
        .unwrap()
        .to_owned();
    let (_, _, ds) = app.call(
        "PUT",
        &format!("/knowledgebases/{kb}/datasources/"),
        Some(json!({"name": "inline", "dataSourceConfiguration": {"type": "CUSTOM"}})),
    );
    let ds = ds["dataSource"]["dataSourceId"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, _, _) = app.call("PUT", &format!("/knowledgebases/{kb}/datasources/{ds}/documents"), Some(json!({
        "documents": [{"content": {"dataSourceType": "CUSTOM", "custom": {
            "customDocumentIdentifier": {"id": "backups"}, "sourceType": "IN_LINE",
            "inlineContent": {"type": "TEXT", "textContent": {"data": "Backups are kept for 35 days."}}}}}]})));
    assert_eq!(status, StatusCode::ACCEPTED);
    std::fs::create_dir_all(app.data_dir().join("buckets/flow-notes")).unwrap();

    let id = prepared(
        &app,
        "lookup",
        json!({
            "nodes": [input_node("Object"), output_node("Found", "Array"), output_node("Stored", "String"),
                {"name": "Search", "type": "KnowledgeBase",
                 "configuration": {"knowledgeBase": {"knowledgeBaseId": kb, "numberOfResults": 1}},
                 "inputs": [{"name": "retrievalQuery", "type": "String", "expression": "$.data.question"}],
                 "outputs": [{"name": "retrievalResults", "type": "Array"}]},
                {"name": "Keep", "type": "Storage",
                 "configuration": {"storage": {"serviceConfiguration": {"s3": {"bucketName": "flow-notes"}}}},
                 "inputs": [{"name": "content", "type": "String", "expression": "$.data.question"},
                            {"name": "objectKey", "type": "String", "expression": "$.data.key"}],
                 "outputs": [{"name": "s3Uri", "type": "String"}]}],
            "connections": [
                data("c1", "Start", "document", "Search", "retrievalQuery"),
                data("c2", "Search", "retrievalResults", "Found", "document"),
                data("c3", "Start", "document", "Keep", "content"),
                data("c4", "Start", "document", "Keep", "objectKey"),
                data("c5", "Keep", "s3Uri", "Stored", "document"),
            ],
        }),
    );
    let events = invoke(
        &app,
        &id,
        json!({"question": "How long are backups kept?", "key": "notes/q1.txt"}),
        false,
    );
    assert!(completed(&events), "{events:?}");
    let found: std::collections::BTreeMap<String, Value> = outputs(&events).into_iter().collect();
    assert_eq!(
        found["Found"][0]["content"]["text"],
        "Backups are kept for 35 days."
    );
    assert_eq!(found["Stored"], "s3://flow-notes/notes/q1.txt");
    assert_eq!(
        std::fs::read_to_string(app.data_dir().join("buckets/flow-notes/notes/q1.txt")).unwrap(),
        "How long are backups kept?"
    );

    let id = prepared(
        &app,
        "recall",
        json!({
            "nodes": [input_node("String"), output_node("End", "String"),
                {"name": "Read", "type": "Retrieval",
                 "configuration": {"retrieval": {"serviceConfiguration": {"s3": {"bucketName": "flow-notes"}}}},
                 "inputs": [{"name": "objectKey", "type": "String", "expression": "$.data"}],
                 "outputs": [{"name": "s3Content", "type": "String"}]}],
            "connections": [data("c1", "Start", "document", "Read", "objectKey"),
                            data("c2", "Read", "s3Content", "End", "document")],
        }),
    );
    let events = invoke(&app, &id, json!("notes/q1.txt"), false);
    assert_eq!(
        outputs(&events),
        [("End".to_owned(), json!("How long are backups kept?"))]
    );
    let events = invoke(&app, &id, json!("notes/missing.txt"), false);
    assert_eq!(events.last().unwrap().0, "dependencyFailedException");
}

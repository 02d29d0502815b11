//! `cargo xtask bench flows`: the flow engine's own cost, in process (the flows service, no
//! HTTP), each figure beside a baseline run in the same process.
//!
//! - Engine overhead per node: a chain of K condition nodes (each a real node the engine
//!   schedules, reads inputs for, evaluates and traces nothing for) between Input and Output,
//!   against the bare Input → Output flow; (chain − bare) / K is the cost of one node, with no
//!   model or plugin time in it.
//! - A 10-node flow of code nodes end to end: ten LambdaFunction nodes on the `order-total`
//!   flow-node plugin in a chain, against the same ten plugin calls made directly
//!   (`LoadedPlugin::run_node`, what the engine calls): the difference is what the engine adds.

use std::time::{Duration, Instant};

use mantle_flows::flow::{FlowEvent, InvokeFlowInput};
use mantle_flows::{FlowAliasIdentifier, FlowId, Flows};
use mantle_plugins::plugin::flow_node_api::{PortType, PortValue};
use mantle_tests::{data_dir_with_builtins, fixture, install_dir, test_settings};
use serde_json::{Value, json};

const ROLE: &str = "arn:aws:iam::123456789012:role/bench";
const ORDER_TOTAL: &str = "arn:aws:lambda:us-east-1:123456789012:function:order-total";
const CHAIN: usize = 8;
const ITERATIONS: usize = 400;

fn data(name: &str, source: &str, output: &str, target: &str, input: &str) -> Value {
    json!({"name": name, "type": "Data", "source": source, "target": target,
           "configuration": {"data": {"sourceOutput": output, "targetInput": input}}})
}

fn start(kind: &str) -> Value {
    json!({"name": "Start", "type": "Input", "configuration": {"input": {}},
           "outputs": [{"name": "document", "type": kind}]})
}

fn end(kind: &str) -> Value {
    json!({"name": "End", "type": "Output", "configuration": {"output": {}},
           "inputs": [{"name": "document", "type": kind, "expression": "$.data"}]})
}

fn bare() -> Value {
    json!({"nodes": [start("Number"), end("Number")],
           "connections": [data("c0", "Start", "document", "End", "document")]})
}

/// Input → C1 → … → CK → Output: each condition reads the input and waits on the one before.
fn condition_chain(k: usize) -> Value {
    let mut nodes = vec![start("Number"), end("Number")];
    let mut connections = vec![data("c0", "Start", "document", "End", "document")];
    for i in 1..=k {
        nodes.push(json!({"name": format!("C{i}"), "type": "Condition",
            "configuration": {"condition": {"conditions": [{"name": "big", "expression": "num > 1000000"}, {"name": "default"}]}},
            "inputs": [{"name": "num", "type": "Number", "expression": "$.data"}]}));
        connections.push(data(
            &format!("d{i}"),
            "Start",
            "document",
            &format!("C{i}"),
            "num",
        ));
        let target = if i == k {
            "End".to_owned()
        } else {
            format!("C{}", i + 1)
        };
        connections.push(
            json!({"name": format!("k{i}"), "type": "Conditional", "source": format!("C{i}"),
            "target": target, "configuration": {"conditional": {"condition": "default"}}}),
        );
    }
    json!({"nodes": nodes, "connections": connections})
}

/// Input → L1 → … → L10 → Output, each order-total node pricing the order the last one
/// discounted.
fn lambda_chain() -> Value {
    let mut nodes = vec![start("Object"), end("Number")];
    let mut connections = Vec::new();
    for i in 1..=10 {
        nodes.push(json!({"name": format!("L{i}"), "type": "LambdaFunction",
            "configuration": {"lambdaFunction": {"lambdaArn": ORDER_TOTAL}},
            "inputs": [{"name": "order", "type": "Object", "expression": "$.data"}],
            "outputs": [{"name": "functionResponse", "type": "Number"}, {"name": "nextOrder", "type": "Object"}]}));
        let source = if i == 1 {
            ("Start".to_owned(), "document")
        } else {
            (format!("L{}", i - 1), "nextOrder")
        };
        connections.push(data(
            &format!("c{i}"),
            &source.0,
            source.1,
            &format!("L{i}"),
            "order",
        ));
    }
    connections.push(data("c11", "L10", "functionResponse", "End", "document"));
    json!({"nodes": nodes, "connections": connections})
}

fn prepared(flows: &Flows, name: &str, definition: Value) -> FlowId {
    let input = serde_json::from_value(
        json!({"name": name, "executionRoleArn": ROLE, "definition": definition}),
    )
    .unwrap();
    let id = flows.create(input).unwrap().id;
    flows.prepare(&id).unwrap();
    id
}

async fn run_once(flows: &Flows, id: &FlowId, document: &Value) {
    let alias: FlowAliasIdentifier = "TSTALIASID".parse().unwrap();
    let input: InvokeFlowInput = serde_json::from_value(json!({
        "inputs": [{"nodeName": "Start", "nodeOutputName": "document", "content": {"document": document}}]}))
    .unwrap();
    let mut run = flows.invoke(id, &alias, input).unwrap();
    let mut completed = false;
    while let Some(event) = run.events.recv().await {
        match event {
            FlowEvent::Completed => completed = true,
            FlowEvent::Failed(error) => panic!("flow failed: {error}"),
            _ => {}
        }
    }
    assert!(completed);
}

fn percentiles(mut samples: Vec<Duration>) -> (Duration, Duration) {
    samples.sort();
    let at = |q: f64| samples[((samples.len() as f64 * q) as usize).min(samples.len() - 1)];
    (at(0.50), at(0.99))
}

fn timed(
    runtime: &tokio::runtime::Runtime,
    iterations: usize,
    mut f: impl AsyncFnMut(),
) -> (Duration, Duration) {
    runtime.block_on(async {
        for _ in 0..iterations / 10 {
            f().await;
        }
        let mut samples = Vec::with_capacity(iterations);
        for _ in 0..iterations {
            let started = Instant::now();
            f().await;
            samples.push(started.elapsed());
        }
        percentiles(samples)
    })
}

fn micros(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

fn main() {
    let data_dir = data_dir_with_builtins();
    install_dir(&fixture("order-total"), &data_dir.path().join("plugins"));
    let state = mantle_server::app::build_state(test_settings(data_dir.path())).unwrap();
    let flows = state.flows.clone();
    // The server's runtime shape: plugin calls and the engine's tasks on the async workers.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let _guard = runtime.enter();

    let bare_id = prepared(&flows, "bare", bare());
    let chain_id = prepared(&flows, "chain", condition_chain(CHAIN));
    let number = json!(7);
    let (bare_p50, bare_p99) = timed(&runtime, ITERATIONS, async || {
        run_once(&flows, &bare_id, &number).await
    });
    let (chain_p50, chain_p99) = timed(&runtime, ITERATIONS, async || {
        run_once(&flows, &chain_id, &number).await
    });
    let per_node = (micros(chain_p50) - micros(bare_p50)) / CHAIN as f64;
    println!(
        "flows/engine-overhead  Input→Output p50 {:.1} µs p99 {:.1} µs (baseline)",
        micros(bare_p50),
        micros(bare_p99)
    );
    println!(
        "flows/engine-overhead  Input→{CHAIN} conditions→Output p50 {:.1} µs p99 {:.1} µs ({:.2}× the baseline): {per_node:.1} µs per node (goal ≤ 100 µs)",
        micros(chain_p50),
        micros(chain_p99),
        micros(chain_p50) / micros(bare_p50)
    );

    let lambda_id = prepared(&flows, "lambdas", lambda_chain());
    let order = json!({"items": [{"price": 12.5, "quantity": 3}, {"price": 4}]});
    let plugin = state.registry.resolve("order-total").unwrap();
    // On a worker thread, as the engine's run task is, so both sides pay the same hand-off.
    let (direct_p50, direct_p99) = timed(&runtime, ITERATIONS / 4, async || {
        let plugin = plugin.clone();
        let mut current = order.clone();
        tokio::spawn(async move {
            for _ in 0..10 {
                let ports = [PortValue {
                    name: "order".into(),
                    type_: PortType::Object,
                    value: current.to_string(),
                }];
                let outputs = plugin
                    .run_node(&ports, r#"{"messageVersion":"1.0"}"#)
                    .await
                    .unwrap();
                let next = outputs.iter().find(|p| p.name == "nextOrder").unwrap();
                current = serde_json::from_str(&next.value).unwrap();
            }
        })
        .await
        .unwrap();
    });
    let (flow_p50, flow_p99) = timed(&runtime, ITERATIONS / 4, async || {
        run_once(&flows, &lambda_id, &order).await
    });
    println!(
        "flows/10-code-nodes    ten direct plugin calls p50 {:.1} µs p99 {:.1} µs (baseline)",
        micros(direct_p50),
        micros(direct_p99)
    );
    println!(
        "flows/10-code-nodes    the 10-node flow end to end p50 {:.1} µs p99 {:.1} µs ({:.2}× the baseline; engine {:.1} µs per node)",
        micros(flow_p50),
        micros(flow_p99),
        micros(flow_p50) / micros(direct_p50),
        (micros(flow_p50) - micros(direct_p50)) / 10.0
    );
}

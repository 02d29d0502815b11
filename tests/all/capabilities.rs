//! Host capabilities reached through a real component (`plugins/fixtures/host-calls`):
//! outbound HTTP under its allow-list, the kv quota, a tool call's session context, and
//! instance reuse as a manifest setting.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use mantle_plugins::CallError;
use mantle_plugins::LoadedPlugin;
use mantle_plugins::plugin::tool_api::ToolResult;
use mantle_tests::fixture;
use serde_json::{Value, json};

use crate::plugin_worlds::session;
use crate::{block, engine, load, services};

/// A plain HTTP/1.1 server on 127.0.0.1: `/hello` answers a greeting, `/big` 8 KiB with its
/// length declared, `/big-undeclared` 8 KiB without. Counts the requests it receives.
struct LocalServer {
    port: u16,
    requests: Arc<AtomicUsize>,
}

impl LocalServer {
    fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let requests = Arc::new(AtomicUsize::new(0));
        let seen = requests.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") && stream.read(&mut byte).unwrap_or(0) == 1 {
                    head.push(byte[0]);
                }
                seen.fetch_add(1, Ordering::SeqCst);
                let head = String::from_utf8_lossy(&head);
                let path = head.split_whitespace().nth(1).unwrap_or("/");
                let big = "x".repeat(8 * 1024);
                let response = match path {
                    "/hello" => "HTTP/1.1 200 OK\r\ncontent-length: 22\r\nconnection: close\r\n\r\nhello from 127.0.0.1 !".to_owned(),
                    "/big" => format!("HTTP/1.1 200 OK\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{big}", big.len()),
                    "/big-undeclared" => format!("HTTP/1.1 200 OK\r\nconnection: close\r\n\r\n{big}"),
                    _ => "HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n".to_owned(),
                };
                let _ = stream.write_all(response.as_bytes());
            }
        });
        Self { port, requests }
    }

    fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }
}

fn invoke(plugin: &LoadedPlugin, tool: &str, input: Value) -> Result<Value, CallError> {
    let result: ToolResult = block(plugin.invoke_tool(tool, &input.to_string(), &session("s")))?;
    Ok(serde_json::from_str(&result.body).unwrap())
}

fn plugin_error(result: Result<Value, CallError>) -> (String, String) {
    match result {
        Err(CallError::Plugin { code, message, .. }) => (code, message),
        other => panic!("expected a plugin error, got {other:?}"),
    }
}

#[test]
fn outbound_http_reaches_allowed_hosts_only() {
    let server = LocalServer::start();
    let port = server.port;
    let plugin = load(&fixture("host-calls")).unwrap();

    let ok = invoke(
        &plugin,
        "fetch",
        json!({"url": format!("http://127.0.0.1:{port}/hello")}),
    )
    .unwrap();
    assert_eq!(ok["status"], 200);
    assert_eq!(ok["body"], "hello from 127.0.0.1 !");
    assert_eq!(server.requests(), 1);

    // Not on the allow-list (the same server, by another name), and a method not granted:
    // refused in the host, so the server never sees them.
    for input in [
        json!({"url": format!("http://localhost:{port}/hello")}),
        json!({"url": format!("http://127.0.0.1:{port}/hello"), "method": "POST"}),
    ] {
        let (code, message) = plugin_error(invoke(&plugin, "fetch", input.clone()));
        assert_eq!(code, "http-error", "{input}");
        assert!(message.contains("HttpRequestDenied"), "{input}: {message}");
    }
    assert_eq!(server.requests(), 1);

    // Over `max-response-kib = 4`: a declared length is refused before the body is read, an
    // undeclared one is cut off at the cap (the guest sees its read fail, never the 8 KiB).
    let (_, message) = plugin_error(invoke(
        &plugin,
        "fetch",
        json!({"url": format!("http://127.0.0.1:{port}/big")}),
    ));
    assert!(message.contains("HttpResponseBodySize"), "{message}");
    let (_, message) = plugin_error(invoke(
        &plugin,
        "fetch",
        json!({"url": format!("http://127.0.0.1:{port}/big-undeclared")}),
    ));
    assert!(message.contains("reading the body failed"), "{message}");
}

#[test]
fn the_kv_store_has_a_quota() {
    // kv-kib = 2 (2048 bytes of keys plus values), kv-keys = 8.
    let plugin = load(&fixture("host-calls")).unwrap();
    let put = |key: &str, bytes: usize| invoke(&plugin, "put", json!({"key": key, "bytes": bytes}));
    put("a", 1000).unwrap();
    put("b", 1000).unwrap();
    let (code, message) = plugin_error(put("c", 1000));
    assert_eq!(code, "quota-exceeded");
    assert!(message.contains("2048 bytes"), "{message}");
    // Replacing a value counts the new size, not both.
    put("a", 1040).unwrap();
    put("b", 1).unwrap();
    for key in ["c", "d", "e", "f", "g", "h"] {
        put(key, 1).unwrap();
    }
    let (code, message) = plugin_error(put("i", 1));
    assert_eq!(code, "quota-exceeded");
    assert!(message.contains("8 keys"), "{message}");
}

#[test]
fn a_tool_call_sees_its_session_context() {
    let plugin = load(&fixture("host-calls")).unwrap();
    let mut context = session("session-7");
    context.agent_name = Some("support-agent".into());
    context.action_group = Some("billing".into());
    context.session_attributes = vec![("tenant".into(), "acme".into())];
    context.prompt_session_attributes = vec![("tenant".into(), "acme-eu".into())];
    let result = block(plugin.invoke_tool("context", "{}", &context)).unwrap();
    let body: Value = serde_json::from_str(&result.body).unwrap();
    assert_eq!(body["sessionId"], "session-7");
    assert_eq!(body["agentName"], "support-agent");
    assert_eq!(body["actionGroup"], "billing");
    // The prompt's attribute wins over the session's, as in Bedrock Agents.
    assert_eq!(body["tenant"], "acme-eu");
}

#[test]
fn instances_are_fresh_per_call_unless_the_manifest_opts_in() {
    let fresh = load(&fixture("host-calls")).unwrap();
    for _ in 0..3 {
        assert_eq!(
            invoke(&fresh, "instance-calls", json!({})).unwrap()["calls"],
            1
        );
    }

    let dir = tempfile::tempdir().unwrap();
    let source = fixture("host-calls");
    std::fs::copy(source.join("plugin.wasm"), dir.path().join("plugin.wasm")).unwrap();
    let manifest = std::fs::read_to_string(source.join("plugin.toml")).unwrap();
    let manifest = manifest.replacen(
        "\n[capabilities]",
        "instance-reuse = \"warm\"\n\n[capabilities]",
        1,
    );
    std::fs::write(dir.path().join("plugin.toml"), manifest).unwrap();
    let warm = LoadedPlugin::load_dir(dir.path(), &engine(), &services()).unwrap();
    let counts: Vec<Value> = (0..3)
        .map(|_| invoke(&warm, "instance-calls", json!({})).unwrap()["calls"].clone())
        .collect();
    assert_eq!(counts, [json!(1), json!(2), json!(3)]);
}

/// The `models` capability with the server's real models (MiniLM and SmolLM2 from the model
/// dir), through a component.
#[test]
fn a_plugin_embeds_counts_tokens_and_generates_with_the_hosts_models() {
    use mantle_inference::Catalog;
    use mantle_inference::catalog::{MINILM_ID, SMOLLM2_ID};
    use mantle_inference::plugin_models::PluginModels;

    let catalog = Catalog::load_defaults(&mantle_models::model_dir::default_model_dir());
    assert!(
        catalog.resolve(MINILM_ID).is_ok() && catalog.resolve(SMOLLM2_ID).is_ok(),
        "the default models are missing: run `cargo xtask setup`"
    );
    let services = Arc::new(mantle_plugins::HostServices {
        models: Some(Arc::new(PluginModels::new(Arc::new(catalog)))),
        kv: Some(Arc::new(mantle_plugins::MemoryKv::default())),
        ..Default::default()
    });
    let plugin = LoadedPlugin::load_dir(&fixture("host-calls"), &engine(), &services).unwrap();

    let texts = [
        "a cat sat on the mat",
        "a kitten sat on the rug",
        "quarterly tax filing",
    ];
    let embedded = invoke(
        &plugin,
        "embed",
        json!({"model": MINILM_ID, "texts": texts}),
    )
    .unwrap();
    let vectors: Vec<Vec<f32>> = serde_json::from_value(embedded["vectors"].clone()).unwrap();
    assert_eq!(vectors.len(), 3);
    assert!(vectors.iter().all(|v| v.len() == 384));
    let cosine = |a: &[f32], b: &[f32]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f32>();
    // Real embeddings: the two sentences about cats are closer than either is to taxes.
    assert!(cosine(&vectors[0], &vectors[1]) > cosine(&vectors[0], &vectors[2]) + 0.2);

    let counted = invoke(
        &plugin,
        "count-tokens",
        json!({"model": MINILM_ID, "text": "hello world"}),
    )
    .unwrap();
    assert!(counted["tokens"].as_u64().unwrap() >= 2, "{counted}");

    let generated = invoke(
        &plugin,
        "generate",
        json!({"model": SMOLLM2_ID, "prompt": "Say hello.", "max_tokens": 8}),
    )
    .unwrap();
    let output = generated["outputTokens"].as_u64().unwrap();
    assert!((1..=8).contains(&output), "{generated}");
    assert!(
        !generated["text"].as_str().unwrap().is_empty(),
        "{generated}"
    );

    // An embedding model cannot generate: the plugin gets the host's error, not a crash.
    let (code, _) = plugin_error(invoke(
        &plugin,
        "generate",
        json!({"model": MINILM_ID, "prompt": "x", "max_tokens": 4}),
    ));
    assert_eq!(code, "host-error");
}

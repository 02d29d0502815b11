//! `cargo xtask bench knowledge`, its HTTP part: Retrieve against a real server on a loopback
//! port — the wire, the query's embedding, the search, the response — as a client sees it,
//! beside the query embedding alone in process (the floor any Retrieve has on this model).
//!
//! A knowledge base of `MANTLE_BENCH_DOCS` (default 1,000) short generated documents, ingested
//! through IngestKnowledgeBaseDocuments; then sequential Retrieve calls (one client, keep-alive),
//! HYBRID (the default) and SEMANTIC, p50/p99 over 200 queries after 20 untimed ones.

use std::time::{Duration, Instant};

use mantle_inference::Catalog;
use mantle_server::serve::serve_on;
use mantle_server::settings::Settings;
use serde_json::{Value, json};

const MINILM: &str = "arn:aws:bedrock:us-east-1::foundation-model/hf.all-minilm-l6-v2-v1:0";
const QUERIES: usize = 200;

const SUBJECTS: &[&str] = &[
    "Database backups",
    "The on-call engineer",
    "Holiday requests",
    "The office",
    "Access keys",
    "Support tickets",
    "Release notes",
    "The staging cluster",
    "Visitor badges",
    "Expense reports",
];
const PREDICATES: &[&str] = &[
    "are kept for thirty days in a second region",
    "must acknowledge a page within fifteen minutes",
    "need approval two weeks ahead",
    "opens at nine and closes at six",
    "are rotated every quarter by the security team",
    "are answered within one business hour",
    "list every change that reached production",
    "is rebuilt from scratch every Sunday night",
    "are collected at reception on arrival",
    "are paid at the end of each month",
];

fn sentence(i: usize) -> String {
    let subject = SUBJECTS[i % SUBJECTS.len()];
    let predicate = PREDICATES[(i / SUBJECTS.len() + i * 7) % PREDICATES.len()];
    format!("{subject} {predicate} (policy {i}).")
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn call(
    client: &reqwest::blocking::Client,
    method: reqwest::Method,
    url: &str,
    body: Value,
) -> Value {
    let response = client.request(method, url).json(&body).send().unwrap();
    let status = response.status();
    let text = response.text().unwrap();
    assert!(status.is_success(), "{url}: {status} {text}");
    serde_json::from_str(&text).unwrap()
}

fn main() {
    let docs: usize = std::env::var("MANTLE_BENCH_DOCS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000);
    let dir = tempfile::tempdir().unwrap();
    let mut settings = Settings::new("127.0.0.1:0".parse().unwrap(), dir.path().to_owned());
    settings.watch_plugins = false;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = runtime.spawn(serve_on(listener, settings, async {
        let _ = stopped.await;
    }));

    let client = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(120))
        .build()
        .unwrap();
    let started = Instant::now();
    while client.get(format!("{url}/health")).send().is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "the server did not start"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let kb = call(
        &client,
        reqwest::Method::PUT,
        &format!("{url}/knowledgebases/"),
        json!({
            "name": "bench", "roleArn": "arn:aws:iam::000000000000:role/kb",
            "knowledgeBaseConfiguration": {"type": "VECTOR", "vectorKnowledgeBaseConfiguration": {"embeddingModelArn": MINILM}},
        }),
    )["knowledgeBase"]["knowledgeBaseId"]
        .as_str()
        .unwrap()
        .to_owned();
    let ds = call(
        &client,
        reqwest::Method::PUT,
        &format!("{url}/knowledgebases/{kb}/datasources/"),
        json!({"name": "inline", "dataSourceConfiguration": {"type": "CUSTOM"}}),
    )["dataSource"]["dataSourceId"]
        .as_str()
        .unwrap()
        .to_owned();
    let started = Instant::now();
    for batch in (0..docs).collect::<Vec<_>>().chunks(10) {
        let documents: Vec<Value> = batch
            .iter()
            .map(|&i| {
                json!({"content": {"dataSourceType": "CUSTOM", "custom": {
                    "customDocumentIdentifier": {"id": format!("doc{i}")}, "sourceType": "IN_LINE",
                    "inlineContent": {"type": "TEXT", "textContent": {"data": sentence(i)}}}}})
            })
            .collect();
        call(
            &client,
            reqwest::Method::PUT,
            &format!("{url}/knowledgebases/{kb}/datasources/{ds}/documents"),
            json!({"documents": documents}),
        );
    }
    let ingest_s = started.elapsed().as_secs_f64();

    let queries: Vec<String> = (0..QUERIES + 20)
        .map(|i| {
            format!(
                "How long are {} kept, and who approves them? ({i})",
                SUBJECTS[i % SUBJECTS.len()].to_lowercase()
            )
        })
        .collect();
    let mut figures = Vec::new();
    for search_type in ["HYBRID", "SEMANTIC"] {
        let mut times = Vec::with_capacity(QUERIES);
        for (i, query) in queries.iter().enumerate() {
            let body = json!({
                "retrievalQuery": {"text": query},
                "retrievalConfiguration": {"vectorSearchConfiguration": {"numberOfResults": 5, "overrideSearchType": search_type}},
            });
            let started = Instant::now();
            let results = call(
                &client,
                reqwest::Method::POST,
                &format!("{url}/knowledgebases/{kb}/retrieve"),
                body,
            );
            let elapsed = started.elapsed().as_secs_f64() * 1e3;
            assert_eq!(results["retrievalResults"].as_array().unwrap().len(), 5);
            if i >= 20 {
                times.push(elapsed);
            }
        }
        times.sort_by(f64::total_cmp);
        figures.push((
            search_type,
            percentile(&times, 0.5),
            percentile(&times, 0.99),
        ));
    }

    // The query's embedding alone, in process: what every Retrieve pays before searching.
    let catalog = Catalog::load_defaults(&mantle_models::model_dir::default_model_dir());
    let model = catalog.embedding(MINILM).unwrap();
    let mut times = Vec::with_capacity(QUERIES);
    for (i, query) in queries.iter().enumerate() {
        let started = Instant::now();
        model.embed_blocking(std::slice::from_ref(query)).unwrap();
        if i >= 20 {
            times.push(started.elapsed().as_secs_f64() * 1e3);
        }
    }
    times.sort_by(f64::total_cmp);
    let (embed_p50, embed_p99) = (percentile(&times, 0.5), percentile(&times, 0.99));

    println!(
        "\nRetrieve over HTTP: {docs} documents ingested in {ingest_s:.1} s, {QUERIES} queries, 5 results, one client"
    );
    for (search_type, p50, p99) in figures {
        println!(
            "  {search_type:<8} p50 {p50:.2} ms, p99 {p99:.2} ms ({:.2}× the embedding alone at p50)",
            p50 / embed_p50
        );
    }
    println!(
        "  MiniLM query embedding alone, in process: p50 {embed_p50:.2} ms, p99 {embed_p99:.2} ms"
    );
    let _ = stop.send(());
    runtime.block_on(server).unwrap().unwrap();
}

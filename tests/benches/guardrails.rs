//! `cargo xtask bench guardrails`: ApplyGuardrail with word + PII + regex policies.
//!
//! - in process (the guardrail service, no HTTP): p50 / p99 on 1 KB and 10 KB texts, with a
//!   baseline run side by side — the same chain on a guardrail whose policies match nothing
//!   in a text of the same size is not a fair baseline, so the baseline is one plugin call
//!   (word filter alone), and the chain is reported as a ratio of it;
//! - over HTTP on a real server at concurrency 16: requests per second, beside `GET /health`
//!   at the same concurrency as the baseline for the server's own overhead.
//!
//! Criterion measures the in-process means; percentiles come from a separate timed pass.

use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput};
use mantle_guardrails::{ApplyInput, GuardrailId, GuardrailVersion, Guardrails};
use mantle_server::settings::Settings;
use mantle_tests::{TestServer, data_dir_with_builtins};
use serde_json::{Value, json};

const SENTENCES: &[&str] = &[
    "Our quarterly review covered the roadmap, hiring plans and the migration of billing.",
    "Please reach the on-call engineer at oncall@example.com if the dashboard turns red.",
    "The customer quoted ticket TICKET-4821 and asked for a refund of the last invoice.",
    "Nothing in this paragraph is sensitive; it only describes the weather and the office.",
    "Call the front desk at (415) 555-0132 before noon to book the large meeting room.",
    "The deployment finished without errors and latency stayed flat through the evening.",
];

fn text(bytes: usize) -> String {
    let mut out = String::new();
    let mut i = 0;
    while out.len() < bytes {
        out.push_str(SENTENCES[i % SENTENCES.len()]);
        out.push(' ');
        i += 1;
    }
    out.truncate(bytes);
    out
}

fn full_guardrail() -> Value {
    json!({
        "name": "bench",
        "blockedInputMessaging": "blocked",
        "blockedOutputsMessaging": "blocked",
        "wordPolicyConfig": {
            "wordsConfig": [{ "text": "project aurora" }, { "text": "falcon" }],
            "managedWordListsConfig": [{ "type": "PROFANITY" }]
        },
        "sensitiveInformationPolicyConfig": {
            "piiEntitiesConfig": [
                { "type": "EMAIL", "action": "ANONYMIZE" },
                { "type": "PHONE", "action": "ANONYMIZE" },
                { "type": "CREDIT_DEBIT_CARD_NUMBER", "action": "BLOCK" },
                { "type": "US_SOCIAL_SECURITY_NUMBER", "action": "BLOCK" },
                { "type": "IP_ADDRESS", "action": "ANONYMIZE" },
                { "type": "AWS_ACCESS_KEY", "action": "BLOCK" }
            ],
            "regexesConfig": [{ "name": "ticket", "pattern": "TICKET-[0-9]{4}", "action": "ANONYMIZE" }]
        }
    })
}

fn word_only_guardrail() -> Value {
    json!({
        "name": "bench-word",
        "blockedInputMessaging": "blocked",
        "blockedOutputsMessaging": "blocked",
        "wordPolicyConfig": { "wordsConfig": [{ "text": "project aurora" }, { "text": "falcon" }] }
    })
}

fn request(text: &str) -> ApplyInput {
    serde_json::from_value(json!({ "source": "INPUT", "content": [{ "text": { "text": text } }] }))
        .unwrap()
}

fn create(runtime: &tokio::runtime::Runtime, guardrails: &Guardrails, body: Value) -> GuardrailId {
    let input = serde_json::from_value(body).unwrap();
    runtime
        .block_on(guardrails.create(input))
        .unwrap()
        .guardrail_id
}

fn percentiles(mut samples: Vec<Duration>) -> (Duration, Duration) {
    samples.sort();
    let at = |q: f64| samples[((samples.len() as f64 * q) as usize).min(samples.len() - 1)];
    (at(0.50), at(0.99))
}

fn timed(iterations: usize, mut f: impl FnMut()) -> (Duration, Duration) {
    for _ in 0..iterations / 10 {
        f();
    }
    let samples = (0..iterations)
        .map(|_| {
            let started = Instant::now();
            f();
            started.elapsed()
        })
        .collect();
    percentiles(samples)
}

fn micros(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

fn http_rate(url: &str, body: Option<&Value>, concurrency: usize, duration: Duration) -> f64 {
    let deadline = Instant::now() + duration;
    let counts: Vec<usize> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..concurrency)
            .map(|_| {
                scope.spawn(|| {
                    let client = reqwest::blocking::Client::new();
                    let mut done = 0;
                    while Instant::now() < deadline {
                        let response = match body {
                            Some(body) => client.post(url).json(body).send(),
                            None => client.get(url).send(),
                        }
                        .expect("request");
                        assert!(response.status().is_success(), "{}", response.status());
                        drop(response.bytes());
                        done += 1;
                    }
                    done
                })
            })
            .collect();
        workers.into_iter().map(|w| w.join().unwrap()).collect()
    });
    counts.iter().sum::<usize>() as f64 / duration.as_secs_f64()
}

fn main() {
    let data = data_dir_with_builtins();
    let mut settings = Settings::new("127.0.0.1:0".parse().unwrap(), data.path().to_owned());
    settings.watch_plugins = false;
    let state = mantle_server::app::build_state(settings).unwrap();
    let guardrails = state.guardrails.clone();
    // The service is async (plugin calls run on the blocking pool), as the server calls it.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let full = create(&runtime, &guardrails, full_guardrail());
    let word = create(&runtime, &guardrails, word_only_guardrail());
    let apply = |id: &GuardrailId, req: &ApplyInput| {
        runtime
            .block_on(guardrails.apply(id, GuardrailVersion::Draft, req))
            .unwrap()
    };

    let mut criterion = Criterion::default()
        .configure_from_args()
        .sample_size(50)
        .measurement_time(Duration::from_secs(3))
        .warm_up_time(Duration::from_secs(1));
    let mut group = criterion.benchmark_group("apply_guardrail_in_process");
    for size in [1024usize, 10 * 1024] {
        let req = request(&text(size));
        group.throughput(Throughput::Bytes(size as u64));
        group.bench_with_input(BenchmarkId::new("word+pii+regex", size), &req, |b, req| {
            b.iter(|| apply(&full, req))
        });
        group.bench_with_input(
            BenchmarkId::new("baseline:word-only", size),
            &req,
            |b, req| b.iter(|| apply(&word, req)),
        );
    }
    group.finish();

    println!("\nApplyGuardrail in process, 2000 calls each (µs):");
    println!(
        "{:<8} {:>12} {:>12} {:>16} {:>16} {:>10}",
        "text", "chain p50", "chain p99", "baseline p50", "baseline p99", "ratio p50"
    );
    for size in [1024usize, 10 * 1024] {
        let req = request(&text(size));
        let (c50, c99) = timed(2000, || drop(apply(&full, &req)));
        let (b50, b99) = timed(2000, || drop(apply(&word, &req)));
        println!(
            "{:<8} {:>12.1} {:>12.1} {:>16.1} {:>16.1} {:>10.2}",
            format!("{} KB", size / 1024),
            micros(c50),
            micros(c99),
            micros(b50),
            micros(b99),
            c50.as_secs_f64() / b50.as_secs_f64()
        );
    }
    drop(state);

    let server = TestServer::start(data_dir_with_builtins());
    let client = reqwest::blocking::Client::new();
    let created: Value = client
        .post(server.url("/guardrails"))
        .json(&full_guardrail())
        .send()
        .unwrap()
        .json()
        .unwrap();
    let id = created["guardrailId"].as_str().unwrap();
    let apply_url = server.url(&format!("/guardrail/{id}/version/DRAFT/apply"));
    let body = json!({ "source": "INPUT", "content": [{ "text": { "text": text(1024) } }] });
    let window = Duration::from_secs(5);
    let _ = http_rate(&apply_url, Some(&body), 16, Duration::from_secs(1));
    let apply_rate = http_rate(&apply_url, Some(&body), 16, window);
    let health_rate = http_rate(&server.url("/health"), None, 16, window);
    println!(
        "\nOver HTTP, concurrency 16, 1 KB text, {}s each (client and server share the machine):",
        window.as_secs()
    );
    println!("  ApplyGuardrail        {apply_rate:>8.0} req/s");
    println!("  baseline GET /health  {health_rate:>8.0} req/s");
    println!("  ratio                 {:>8.2}", apply_rate / health_rate);
}

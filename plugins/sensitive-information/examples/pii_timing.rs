//! Per-call cost of the sensitive-information policy on a 1 KiB text, natively.
//!
//! `cargo run --release --example pii_timing -p mantle-plugin-sensitive-information`

use std::hint::black_box;
use std::time::Instant;

use mantle_plugin_sensitive_information::{SensitiveInformation, config, detect, pii::PiiType};
use mantle_sdk::guardrail::Guest;
use serde_json::json;

fn per_call(iterations: u32, mut f: impl FnMut()) -> f64 {
    for _ in 0..iterations / 10 {
        f();
    }
    let started = Instant::now();
    for _ in 0..iterations {
        f();
    }
    started.elapsed().as_secs_f64() * 1e6 / f64::from(iterations)
}

fn main() {
    let sentence = [
        "Hello support team, my name is Jane and I need help with my account. ",
        "You can reach me at jane.doe@example.com or call (555) 234-5678 after 5pm. ",
        "My card 4111 1111 1111 1111 was charged twice on 12/03 for the same order #88213. ",
        "The server at 192.168.10.24 keeps rejecting my login, see https://status.example.com/incidents. ",
        "For the refund, the routing number is 021000021 and the account number 123456789012. ",
        "I was told the invoice would arrive within 3 business days, but it has been 2 weeks now. ",
        "Please do not share my SSN 536-22-8765 with anyone else. Thanks a lot for your help! ",
    ]
    .concat();
    let text: String = sentence.repeat(2)[..1024].to_owned();
    let prose: String =
        "The quick brown fox jumps over the lazy dog near the old mill by the river. ".repeat(14)
            [..1024]
            .to_owned();
    let entities: Vec<_> = PiiType::ALL
        .iter()
        .map(|t| json!({"type": t.name(), "action": "ANONYMIZE"}))
        .collect();
    let all = json!({"piiEntitiesConfig": entities, "regexesConfig": [{"name": "order", "pattern": "#\\d{5}", "action": "ANONYMIZE"}]});
    let request = mantle_sdk::testkit::input(&[&text], all.clone());
    let config_string = all.to_string();
    let n = 20_000;
    println!("1 KiB text with PII, every type and one regex enabled (native, release):");
    println!(
        "  assess (incl. request clone):  {:6.2} µs",
        per_call(n, || {
            black_box(SensitiveInformation::assess(black_box(request.clone())).unwrap());
        })
    );
    println!(
        "  request clone alone:           {:6.2} µs",
        per_call(n, || {
            black_box(black_box(&request).clone());
        })
    );
    println!(
        "  cached config lookup:          {:6.2} µs",
        per_call(n, || {
            black_box(config::compiled(black_box(&config_string)).unwrap());
        })
    );
    println!(
        "  PII scan:                      {:6.2} µs",
        per_call(n, || {
            black_box(detect::scan(black_box(&text)));
        })
    );
    println!(
        "  PII scan of plain prose:       {:6.2} µs",
        per_call(n, || {
            black_box(detect::scan(black_box(&prose)));
        })
    );
    let compiled = config::compiled(&config_string).unwrap();
    println!(
        "  regex:                         {:6.2} µs",
        per_call(n, || {
            black_box(
                compiled.regexes[0]
                    .regex
                    .find_iter(black_box(&text))
                    .count(),
            );
        })
    );
}

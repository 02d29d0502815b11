//! `cargo xtask bench gateway`: what authentication and authorization cost per request, beside
//! the same requests to the same app with auth off, in one process.
//!
//! - Through the whole router (`tower::ServiceExt::oneshot`, no socket): `GET
//!   /foundation-models/{id}` unsigned with auth off (the baseline), SigV4-signed with auth on,
//!   and with an API key as bearer token. Requests are signed before the clock starts: signing
//!   is the client's cost. The difference of medians is the gateway's cost.
//! - The checks alone: `Access::authenticate` (SigV4 recomputation) then `Principal::authorize`
//!   against a key holding a ten-statement policy.
//!
//! The quota part of the "auth + policy + quota" goal is not built yet.

use std::time::{Duration, Instant, SystemTime};

use axum::body::Body;
use axum::http::Request;
use http_body_util::BodyExt;
use mantle_access::{
    ClientCredentials, CreateKeyInput, PolicyDocument, SignedRequest, sign_request,
};
use mantle_server::settings::AuthMode;
use mantle_tests::{data_dir_with_builtins, test_settings};
use serde_json::json;
use tower::ServiceExt;

const ITERATIONS: usize = 3000;
const MODEL: &str = "hf.smollm2-135m-instruct-v1:0";
const ADMIN: &str = "gateway-bench-admin-key";

fn percentile(samples: &mut [Duration], p: f64) -> Duration {
    samples.sort();
    samples[((samples.len() - 1) as f64 * p) as usize]
}

fn micros(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

fn plain(path: &str) -> Request<Vec<u8>> {
    Request::builder()
        .method("GET")
        .uri(path)
        .header("host", "127.0.0.1:8080")
        .body(Vec::new())
        .unwrap()
}

/// Runs each request through the router, timing each; p50 and p99.
fn through(
    runtime: &tokio::runtime::Runtime,
    router: &axum::Router,
    requests: Vec<Request<Vec<u8>>>,
) -> (Duration, Duration) {
    let mut samples = Vec::with_capacity(requests.len());
    runtime.block_on(async {
        for request in requests {
            let request = request.map(Body::from);
            let start = Instant::now();
            let response = router.clone().oneshot(request).await.unwrap();
            let status = response.status();
            let _ = response.into_body().collect().await.unwrap();
            samples.push(start.elapsed());
            assert!(status.is_success(), "{status}");
        }
    });
    (
        percentile(&mut samples, 0.5),
        percentile(&mut samples, 0.99),
    )
}

fn main() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let path = format!("/foundation-models/{MODEL}");

    let off_data = data_dir_with_builtins();
    let off = mantle_server::app::build_state(test_settings(off_data.path())).unwrap();
    let off_router = mantle_server::app::router(off);

    let on_data = data_dir_with_builtins();
    let mut settings = test_settings(on_data.path());
    settings.auth = AuthMode::Required;
    settings.admin_key = Some(ADMIN.into());
    let on = mantle_server::app::build_state(settings).unwrap();
    let access = on.auth.access.clone();
    // Ten statements, the matching Allow last, so each request walks the whole policy.
    let mut statements: Vec<_> = (0..9)
        .map(|i| json!({"Effect": "Allow", "Action": format!("bedrock:Other{i}*"), "Resource": format!("arn:aws:bedrock:*:*:guardrail/g{i}*")}))
        .collect();
    statements.push(json!({"Effect": "Allow", "Action": "bedrock:Get*", "Resource": "arn:aws:bedrock:*::foundation-model/*"}));
    let policy: PolicyDocument =
        serde_json::from_value(json!({"Version": "2012-10-17", "Statement": statements})).unwrap();
    let key = access
        .create_key(CreateKeyInput {
            policies: Some(vec![policy]),
            ..CreateKeyInput::named("bench")
        })
        .unwrap();
    let on_router = mantle_server::app::router(on);
    let credentials = ClientCredentials::new(&key.access_key_id, &key.secret_access_key, None);
    let now = SystemTime::now();
    let sign = |mut request: Request<Vec<u8>>| {
        sign_request(&mut request, credentials, "us-east-1", now).unwrap();
        request
    };

    // Warm both apps (the catalog, allocator, caches) before measuring.
    through(
        &runtime,
        &off_router,
        (0..200).map(|_| plain(&path)).collect(),
    );
    through(
        &runtime,
        &on_router,
        (0..200).map(|_| sign(plain(&path))).collect(),
    );

    let (off_p50, off_p99) = through(
        &runtime,
        &off_router,
        (0..ITERATIONS).map(|_| plain(&path)).collect(),
    );
    let (sig_p50, sig_p99) = through(
        &runtime,
        &on_router,
        (0..ITERATIONS).map(|_| sign(plain(&path))).collect(),
    );
    let bearer = |mut request: Request<Vec<u8>>| {
        request.headers_mut().insert(
            "authorization",
            format!("Bearer {}", key.api_key).parse().unwrap(),
        );
        request
    };
    let (api_p50, api_p99) = through(
        &runtime,
        &on_router,
        (0..ITERATIONS).map(|_| bearer(plain(&path))).collect(),
    );

    // The checks alone, on one signed request.
    let request = sign(plain(&path));
    let (parts, body) = request.into_parts();
    let resource = format!("arn:aws:bedrock:us-east-1::foundation-model/{MODEL}");
    let mut checks = Vec::with_capacity(ITERATIONS);
    for _ in 0..ITERATIONS {
        let start = Instant::now();
        let principal = access
            .authenticate(
                &SignedRequest {
                    method: &parts.method,
                    uri: &parts.uri,
                    headers: &parts.headers,
                    body: &body,
                },
                now,
            )
            .unwrap();
        principal
            .authorize("bedrock:GetFoundationModel", &resource)
            .unwrap();
        checks.push(start.elapsed());
    }
    let (check_p50, check_p99) = (percentile(&mut checks, 0.5), percentile(&mut checks, 0.99));

    println!(
        "gateway: GET {path}, {ITERATIONS} requests each, through the router without a socket"
    );
    println!(
        "  auth off (baseline)       p50 {:8.1} µs   p99 {:8.1} µs",
        micros(off_p50),
        micros(off_p99)
    );
    for (name, p50, p99) in [
        ("SigV4 + 10-stmt policy", sig_p50, sig_p99),
        ("API key + 10-stmt policy", api_p50, api_p99),
    ] {
        println!(
            "  {name:<26}p50 {:8.1} µs   p99 {:8.1} µs   ×{:.2} of baseline, +{:.1} µs p50",
            micros(p50),
            micros(p99),
            p50.as_secs_f64() / off_p50.as_secs_f64(),
            micros(p50.saturating_sub(off_p50)),
        );
    }
    println!(
        "  checks alone (authenticate SigV4 + authorize): p50 {:.1} µs, p99 {:.1} µs (goal p50 ≤ 50 µs)",
        micros(check_p50),
        micros(check_p99)
    );
}

//! Shared helpers for Mantle's integration tests and benchmarks: where the built plugins are,
//! and a real server on a random loopback port.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// The repository root.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ is in the repository")
        .to_path_buf()
}

/// The built-in plugins, laid out by `cargo xtask build-plugins`.
pub fn plugin_dist() -> PathBuf {
    let dist = repo_root().join("plugins/dist");
    assert!(
        dist.is_dir(),
        "{} is missing: run `cargo xtask build-plugins` (or `cargo xtask test`)",
        dist.display()
    );
    dist
}

/// The hostile and team fixture plugins.
pub fn fixture_dist() -> PathBuf {
    let dist = repo_root().join("plugins/dist-fixtures");
    assert!(
        dist.is_dir(),
        "{} is missing: run `cargo xtask build-plugins` (or `cargo xtask test`)",
        dist.display()
    );
    dist
}

/// The folder of one fixture plugin by name (its newest version when several).
pub fn fixture(name: &str) -> PathBuf {
    let mut found: Vec<PathBuf> = std::fs::read_dir(fixture_dist())
        .expect("fixture dist readable")
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.split('@').next() == Some(name))
        })
        .collect();
    found.sort();
    found
        .pop()
        .unwrap_or_else(|| panic!("fixture {name} not built"))
}

/// Copies a plugin folder into `plugins_dir` the way an operator should: write beside, rename.
pub fn install_dir(plugin: &Path, plugins_dir: &Path) -> PathBuf {
    let name = plugin.file_name().expect("plugin folder has a name");
    let staging = plugins_dir.join(format!(".staging-{}", name.to_string_lossy()));
    std::fs::create_dir_all(&staging).unwrap();
    for file in ["plugin.toml", "plugin.wasm"] {
        std::fs::copy(plugin.join(file), staging.join(file)).unwrap();
    }
    let target = plugins_dir.join(name);
    let _ = std::fs::remove_dir_all(&target);
    std::fs::rename(&staging, &target).unwrap();
    target
}

/// A data dir whose plugins folder holds every built-in plugin.
pub fn data_dir_with_builtins() -> tempfile::TempDir {
    let data = tempfile::tempdir().unwrap();
    let plugins = data.path().join("plugins");
    std::fs::create_dir_all(&plugins).unwrap();
    for entry in std::fs::read_dir(plugin_dist()).unwrap().flatten() {
        install_dir(&entry.path(), &plugins);
    }
    data
}

/// A real server on a random loopback port, stopped on drop.
#[derive(Debug)]
pub struct TestServer {
    pub address: SocketAddr,
    pub data: tempfile::TempDir,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl TestServer {
    /// Starts a server over `data` (see [`data_dir_with_builtins`]).
    pub fn start(data: tempfile::TempDir) -> Self {
        let settings = mantle_server::settings::Settings::new(
            "127.0.0.1:0".parse().unwrap(),
            data.path().to_owned(),
        );
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let (ready, address) = std::sync::mpsc::channel();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                ready.send(listener.local_addr().unwrap()).unwrap();
                mantle_server::serve::serve_on(listener, settings, async {
                    let _ = stopped.await;
                })
                .await
                .unwrap();
            });
        });
        let address = address.recv().unwrap();
        let server = Self {
            address,
            data,
            stop: Some(stop),
            thread: Some(thread),
        };
        server.wait_ready();
        server
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.address)
    }

    fn wait_ready(&self) {
        let client = reqwest::blocking::Client::new();
        for _ in 0..600 {
            if client
                .get(self.url("/health"))
                .send()
                .is_ok_and(|r| r.status().is_success())
            {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        panic!("server did not become ready");
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Settings for an app built in-process over `data_dir`: a random loopback port, no plugin
/// folder watcher.
pub fn test_settings(data_dir: &Path) -> mantle_server::settings::Settings {
    let mut settings =
        mantle_server::settings::Settings::new("127.0.0.1:0".parse().unwrap(), data_dir.to_owned());
    settings.watch_plugins = false;
    settings
}

/// The whole app's router over a fresh data dir with the built-in plugins, called without a
/// socket (`tower::ServiceExt::oneshot`).
#[derive(Debug)]
pub struct RouterApp {
    router: axum::Router,
    data: tempfile::TempDir,
}

impl Default for RouterApp {
    fn default() -> Self {
        Self::new()
    }
}

impl RouterApp {
    pub fn new() -> Self {
        Self::with_fixtures(&[])
    }

    /// The app with these fixture plugins installed beside the built-ins.
    pub fn with_fixtures(fixtures: &[&str]) -> Self {
        Self::build(fixtures, |_| {})
    }

    /// The app with the built-ins, its settings changed by `configure` first.
    pub fn with_settings(configure: impl FnOnce(&mut mantle_server::settings::Settings)) -> Self {
        Self::build(&[], configure)
    }

    fn build(
        fixtures: &[&str],
        configure: impl FnOnce(&mut mantle_server::settings::Settings),
    ) -> Self {
        let data = data_dir_with_builtins();
        for name in fixtures {
            install_dir(&fixture(name), &data.path().join("plugins"));
        }
        let mut settings = test_settings(data.path());
        configure(&mut settings);
        let state = mantle_server::app::build_state(settings).unwrap();
        Self {
            router: mantle_server::app::router(state),
            data,
        }
    }

    /// The data dir the app serves.
    pub fn data_dir(&self) -> &Path {
        self.data.path()
    }

    /// One request; the status, headers and raw body of its answer.
    pub fn send(
        &self,
        method: &str,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> (
        axum::http::StatusCode,
        axum::http::HeaderMap,
        axum::body::Bytes,
    ) {
        let request = axum::http::Request::builder()
            .method(method)
            .uri(path)
            .header("content-type", "application/json")
            .body(match body {
                Some(body) => axum::body::Body::from(body.to_string()),
                None => axum::body::Body::empty(),
            })
            .unwrap();
        self.send_request(request)
    }

    /// One request built by the caller (signed, say); the status, headers and raw body.
    pub fn send_request(
        &self,
        request: axum::http::Request<axum::body::Body>,
    ) -> (
        axum::http::StatusCode,
        axum::http::HeaderMap,
        axum::body::Bytes,
    ) {
        use http_body_util::BodyExt;
        use tower::ServiceExt;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let response = self.router.clone().oneshot(request).await.unwrap();
            let status = response.status();
            let headers = response.headers().clone();
            let bytes = response.into_body().collect().await.unwrap().to_bytes();
            (status, headers, bytes)
        })
    }

    /// One request whose answer is JSON (or empty, read as `null`).
    pub fn call(
        &self,
        method: &str,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> (
        axum::http::StatusCode,
        axum::http::HeaderMap,
        serde_json::Value,
    ) {
        let (status, headers, bytes) = self.send(method, path, body);
        let json = if bytes.is_empty() {
            serde_json::Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap()
        };
        (status, headers, json)
    }
}

/// The messages of an `application/vnd.amazon.eventstream` body: each one's `:event-type` (or
/// `:exception-type` for an exception) and its JSON payload.
pub fn event_stream(mut bytes: &[u8]) -> Vec<(String, serde_json::Value)> {
    let mut messages = Vec::new();
    let be = |b: &[u8]| u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize;
    while bytes.len() >= 16 {
        let total = be(&bytes[0..4]);
        let headers_len = be(&bytes[4..8]);
        let (message, rest) = bytes.split_at(total);
        let mut headers = &message[12..12 + headers_len];
        let mut kind = String::new();
        while !headers.is_empty() {
            let name_len = headers[0] as usize;
            let name = std::str::from_utf8(&headers[1..1 + name_len])
                .unwrap()
                .to_owned();
            let value_len =
                u16::from_be_bytes([headers[2 + name_len], headers[3 + name_len]]) as usize;
            let value =
                std::str::from_utf8(&headers[4 + name_len..4 + name_len + value_len]).unwrap();
            if name == ":event-type" || name == ":exception-type" {
                kind = value.to_owned();
            }
            headers = &headers[4 + name_len + value_len..];
        }
        let payload = &message[12 + headers_len..total - 4];
        messages.push((
            kind,
            serde_json::from_slice(payload).unwrap_or(serde_json::Value::Null),
        ));
        bytes = rest;
    }
    messages
}

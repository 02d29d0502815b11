//! What the service tests and the ingestion bench share: the real default models, the real
//! plugins from `plugins/dist` installed into a registry, the service opened over a directory
//! as the server opens it, and an ingestion job run to its end.

// Each user takes what it needs.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use mantle_guardrails::Guardrails;
use mantle_inference::Catalog;
use mantle_inference::plugin_models::PluginModels;
use mantle_knowledge::{ArnScope, DataSourceId, Knowledge, KnowledgeBaseId, KnowledgeDirs};
use mantle_plugins::{EngineConfig, HostServices, PluginEngine, Registry};
use mantle_store::Store;

pub(crate) const MINILM: &str =
    "arn:aws:bedrock:us-east-1::foundation-model/hf.all-minilm-l6-v2-v1:0";

pub(crate) fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

pub(crate) fn models() -> Arc<Catalog> {
    static MODELS: OnceLock<Arc<Catalog>> = OnceLock::new();
    MODELS
        .get_or_init(|| {
            let catalog = Catalog::load_defaults(&mantle_models::model_dir::default_model_dir());
            assert!(
                catalog.embedding(MINILM).is_ok(),
                "the default models are missing: run `cargo xtask setup`"
            );
            Arc::new(catalog)
        })
        .clone()
}

/// The plugins these tests use, as `cargo xtask build-plugins` lays them out: built-ins from
/// `plugins/dist`, test fixtures from `plugins/dist-fixtures`.
pub(crate) const PLUGINS: [&str; 4] = [
    "fixed-size-chunker",
    "semantic-chunker",
    "word-filter",
    "sensitive-information",
];
pub(crate) const FIXTURES: [&str; 1] = ["chunk-transform"];

pub(crate) fn registry(plugins: &Path) -> Arc<Registry> {
    install(plugins, "plugins/dist", &PLUGINS);
    install(plugins, "plugins/dist-fixtures", &FIXTURES);
    let engine = Arc::new(
        PluginEngine::new(EngineConfig {
            cache_dir: Some(Path::new(env!("CARGO_TARGET_TMPDIR")).join("knowledge-components")),
            ..Default::default()
        })
        .unwrap(),
    );
    let services = HostServices {
        models: Some(Arc::new(PluginModels::new(models()))),
        ..Default::default()
    };
    Registry::open(engine, Arc::new(services), plugins.to_owned()).unwrap()
}

pub(crate) fn install(plugins: &Path, dist: &str, names: &[&str]) {
    let dist = repo().join(dist);
    let built: Vec<std::fs::DirEntry> = std::fs::read_dir(&dist)
        .unwrap_or_else(|_| {
            panic!(
                "{} is missing: run `cargo xtask build-plugins`",
                dist.display()
            )
        })
        .flatten()
        .collect();
    for &name in names {
        let plugin = built
            .iter()
            .find(|e| {
                e.file_name()
                    .to_string_lossy()
                    .starts_with(&format!("{name}@"))
            })
            .unwrap_or_else(|| panic!("the {name} plugin is built"));
        let target = plugins.join(plugin.file_name());
        std::fs::create_dir_all(&target).unwrap();
        for file in ["plugin.toml", "plugin.wasm"] {
            std::fs::copy(plugin.path().join(file), target.join(file)).unwrap();
        }
    }
}

/// The knowledge service over `dir` (store in `db/`, plugins in `plugins/`, buckets and
/// indexes as `KnowledgeDirs::under` lays them out) and the guardrail service beside it, as the
/// server wires them. Opening it again over the same `dir` is what a restarted server does.
pub(crate) fn open_service(dir: &Path) -> (Knowledge, Guardrails) {
    let store = Store::open(&dir.join("db")).unwrap();
    let registry = registry(&dir.join("plugins"));
    let scope = ArnScope {
        region: "eu-west-3".into(),
        account: "123456789012".into(),
    };
    let guardrails = Guardrails::new(store.clone(), registry.clone(), scope.clone()).unwrap();
    let knowledge = Knowledge::open(
        store,
        registry,
        models(),
        guardrails.clone(),
        scope,
        KnowledgeDirs::under(dir),
    )
    .unwrap();
    (knowledge, guardrails)
}

/// Starts an ingestion job and waits for its final state.
pub(crate) async fn finish(
    knowledge: &Knowledge,
    kb: &KnowledgeBaseId,
    ds: &DataSourceId,
) -> mantle_knowledge::IngestionJob {
    let job = knowledge
        .start_ingestion_job(kb, ds, Default::default())
        .unwrap();
    for _ in 0..6000 {
        let now = knowledge
            .get_ingestion_job(kb, ds, &job.ingestion_job_id)
            .unwrap();
        if now.status.is_final() {
            return now;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    panic!("the ingestion job did not finish");
}

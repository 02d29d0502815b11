//! The guardrail service without a socket: real built-in policy plugins from `plugins/dist`
//! (and the hostile fixtures from `plugins/dist-fixtures`, both laid out by
//! `cargo xtask build-plugins`), a temporary sled store, no HTTP.

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use mantle_guardrails::{
    ApplyInput, ArnScope, ContentSource, CreateVersionInput, CustomPolicy, GuardrailError,
    GuardrailId, GuardrailInput, GuardrailVersion, Guardrails, ListInput, OutputScope, Verdict,
    apply::PolicyAction,
};
use mantle_plugins::{EngineConfig, HostServices, MemoryKv, PluginEngine, Registry};
use mantle_store::Store;
use serde_json::{Value, json};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn dist(name: &str) -> PathBuf {
    let dir = repo().join("plugins").join(name);
    assert!(
        dir.is_dir(),
        "{} is missing: run `cargo xtask build-plugins`",
        dir.display()
    );
    dir
}

fn engine() -> Arc<PluginEngine> {
    static ENGINE: OnceLock<Arc<PluginEngine>> = OnceLock::new();
    ENGINE
        .get_or_init(|| {
            let cache = Path::new(env!("CARGO_TARGET_TMPDIR")).join("guardrails-components");
            Arc::new(
                PluginEngine::new(EngineConfig {
                    cache_dir: Some(cache),
                    ..Default::default()
                })
                .unwrap(),
            )
        })
        .clone()
}

/// Copies plugin folders into `plugins` (the registry's directory).
fn install(plugins: &Path, from: &Path, only: impl Fn(&str) -> bool) {
    for entry in std::fs::read_dir(from).unwrap().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') || !only(&name) {
            continue;
        }
        let target = plugins.join(&name);
        std::fs::create_dir_all(&target).unwrap();
        for file in ["plugin.toml", "plugin.wasm"] {
            std::fs::copy(entry.path().join(file), target.join(file)).unwrap();
        }
    }
}

struct Fixture {
    guardrails: Guardrails,
    store: Store,
    _plugins: tempfile::TempDir,
}

/// The service over a fresh store, with the built-in plugins and the named fixtures. Loading a
/// plugin instantiates it under its deadline from synchronous code (`mantle_plugins::block_on`),
/// which steps off a multi-threaded runtime's worker: hence the tests' runtime flavour.
fn service_with(fixtures: &[&str]) -> Fixture {
    let plugins = tempfile::tempdir().unwrap();
    install(plugins.path(), &dist("dist"), |_| true);
    install(plugins.path(), &dist("dist-fixtures"), |name| {
        fixtures.iter().any(|f| name.split('@').next() == Some(f))
    });
    let services = Arc::new(HostServices {
        kv: Some(Arc::new(MemoryKv::default())),
        ..Default::default()
    });
    let registry = Registry::open(engine(), services, plugins.path().to_owned()).unwrap();
    let store = Store::temporary().unwrap();
    let scope = ArnScope {
        region: "eu-west-3".into(),
        account: "123456789012".into(),
    };
    Fixture {
        guardrails: Guardrails::new(store.clone(), registry, scope).unwrap(),
        store,
        _plugins: plugins,
    }
}

fn service() -> Fixture {
    service_with(&[])
}

fn input(body: Value) -> GuardrailInput {
    serde_json::from_value(body).unwrap()
}

fn guardrail(name: &str) -> Value {
    json!({
        "name": name,
        "blockedInputMessaging": "Sorry, I cannot help with that.",
        "blockedOutputsMessaging": "Sorry, I cannot answer that.",
        "wordPolicyConfig": {
            "wordsConfig": [{ "text": "project aurora" }],
            "managedWordListsConfig": [{ "type": "PROFANITY" }]
        },
        "sensitiveInformationPolicyConfig": {
            "piiEntitiesConfig": [
                { "type": "EMAIL", "action": "ANONYMIZE" },
                { "type": "US_SOCIAL_SECURITY_NUMBER", "action": "BLOCK" }
            ],
            "regexesConfig": [{ "name": "ticket", "pattern": "TICKET-[0-9]{4}", "action": "ANONYMIZE" }]
        }
    })
}

async fn create(guardrails: &Guardrails, name: &str) -> GuardrailId {
    guardrails
        .create(input(guardrail(name)))
        .await
        .unwrap()
        .guardrail_id
}

fn text(source: ContentSource, text: &str) -> ApplyInput {
    ApplyInput::texts(source, [text.to_owned()])
}

fn field_of(error: &GuardrailError) -> Option<&str> {
    match error {
        GuardrailError::Validation { field, .. } => field.as_deref(),
        _ => None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apply_masks_blocks_and_passes_with_the_builtin_plugins() {
    let f = service();
    let id = create(&f.guardrails, "apply").await;
    let draft = GuardrailVersion::Draft;

    let masked = f
        .guardrails
        .apply(
            &id,
            draft,
            &text(
                ContentSource::Input,
                "Mail bob@example.com about TICKET-1234.",
            ),
        )
        .await
        .unwrap();
    assert_eq!(
        masked.verdict,
        Verdict::Masked(vec!["Mail {EMAIL} about {ticket}.".into()])
    );
    let sensitive = masked.assessment.sensitive_information_policy.unwrap();
    assert_eq!(sensitive.pii_entities[0].kind, "EMAIL");
    assert_eq!(sensitive.pii_entities[0].matched, "bob@example.com");
    assert_eq!(sensitive.pii_entities[0].action, PolicyAction::Anonymized);
    assert_eq!(sensitive.regexes[0].name, "ticket");
    assert!(masked.assessment.word_policy.is_none());
    let usage = &masked.assessment.invocation_metrics.usage;
    assert_eq!(
        (
            usage.word_policy_units,
            usage.sensitive_information_policy_units
        ),
        (1, 1)
    );

    // Input and output blocks answer with their own messages.
    let secret = "Is Project  Aurora on track?";
    let blocked = f
        .guardrails
        .apply(&id, draft, &text(ContentSource::Input, secret))
        .await
        .unwrap();
    assert_eq!(
        blocked.verdict,
        Verdict::Blocked("Sorry, I cannot help with that.".into())
    );
    let words = blocked.assessment.word_policy.unwrap();
    assert_eq!(words.custom_words[0].action, PolicyAction::Blocked);
    let blocked = f
        .guardrails
        .apply(&id, draft, &text(ContentSource::Output, secret))
        .await
        .unwrap();
    assert_eq!(
        blocked.verdict,
        Verdict::Blocked("Sorry, I cannot answer that.".into())
    );

    let clean = f
        .guardrails
        .apply(
            &id,
            draft,
            &text(ContentSource::Input, "a@b.io wrote hello"),
        )
        .await;
    assert!(matches!(clean.unwrap().verdict, Verdict::Masked(_)));
    let pass = f
        .guardrails
        .apply(
            &id,
            draft,
            &text(ContentSource::Input, "What a lovely day."),
        )
        .await
        .unwrap();
    assert_eq!(pass.verdict, Verdict::Pass);
    assert!(pass.verdict.outputs().is_empty());
    assert_eq!(pass.verdict.action(), "NONE");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn output_scope_full_lists_findings_that_did_not_act() {
    let f = service();
    let body = json!({
        "name": "scope",
        "blockedInputMessaging": "no",
        "blockedOutputsMessaging": "no",
        "sensitiveInformationPolicyConfig": {
            "piiEntitiesConfig": [{ "type": "EMAIL", "action": "NONE" }]
        }
    });
    let id = f.guardrails.create(input(body)).await.unwrap().guardrail_id;
    let mut request = text(ContentSource::Input, "write to a@b.io");
    let quiet = f
        .guardrails
        .apply(&id, GuardrailVersion::Draft, &request)
        .await
        .unwrap();
    assert_eq!(quiet.verdict, Verdict::Pass);
    assert!(quiet.assessment.sensitive_information_policy.is_none());
    request.output_scope = Some(OutputScope::Full);
    let full = f
        .guardrails
        .apply(&id, GuardrailVersion::Draft, &request)
        .await
        .unwrap();
    assert_eq!(full.verdict, Verdict::Pass);
    let pii = full
        .assessment
        .sensitive_information_policy
        .unwrap()
        .pii_entities;
    assert_eq!(pii[0].action, PolicyAction::None);
    // No PII entities configured beyond EMAIL-as-NONE still bills the PII policy.
    assert_eq!(
        full.assessment
            .invocation_metrics
            .usage
            .sensitive_information_policy_units,
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_names_the_field_and_writes_nothing() {
    let f = service();
    let cases: Vec<(Value, &str)> = vec![
        (
            json!({ "name": "has spaces", "blockedInputMessaging": "x", "blockedOutputsMessaging": "x" }),
            "name",
        ),
        (
            json!({ "name": "n", "blockedInputMessaging": "", "blockedOutputsMessaging": "x" }),
            "blockedInputMessaging",
        ),
        (
            json!({ "name": "n", "blockedInputMessaging": "x", "blockedOutputsMessaging": "x",
                    "wordPolicyConfig": {} }),
            "wordPolicyConfig",
        ),
        (
            json!({ "name": "n", "blockedInputMessaging": "x", "blockedOutputsMessaging": "x",
                    "wordPolicyConfig": { "wordsConfig": [{ "text": "" }] } }),
            "wordPolicyConfig.wordsConfig.0.text",
        ),
        // Only the plugin knows the regex does not compile: it is asked before anything is stored.
        (
            json!({ "name": "n", "blockedInputMessaging": "x", "blockedOutputsMessaging": "x",
                    "sensitiveInformationPolicyConfig": { "regexesConfig": [
                        { "name": "r", "pattern": "([unclosed", "action": "BLOCK" }] } }),
            "sensitiveInformationPolicyConfig",
        ),
        (
            json!({ "name": "n", "blockedInputMessaging": "x", "blockedOutputsMessaging": "x",
                    "contextualGroundingPolicyConfig": { "filtersConfig": [
                        { "type": "GROUNDING", "threshold": 1.5 }] } }),
            "contextualGroundingPolicyConfig.filtersConfig.0.threshold",
        ),
        (
            json!({ "name": "n", "blockedInputMessaging": "x", "blockedOutputsMessaging": "x",
                    "automatedReasoningPolicyConfig": { "policies": [] } }),
            "automatedReasoningPolicyConfig",
        ),
    ];
    for (body, field) in cases {
        let error = f.guardrails.create(input(body)).await.unwrap_err();
        assert_eq!(field_of(&error), Some(field), "{error}");
    }
    let page = f.guardrails.list(&ListInput::default()).unwrap();
    assert!(page.guardrails.is_empty(), "{page:?}");

    let id = create(&f.guardrails, "kept").await;
    let apply_errors = [
        (ApplyInput::texts(ContentSource::Input, []), "content"),
        (
            text(ContentSource::Input, &"a".repeat(300 * 1024)),
            "content",
        ),
    ];
    for (request, field) in apply_errors {
        let error = f
            .guardrails
            .apply(&id, GuardrailVersion::Draft, &request)
            .await
            .unwrap_err();
        assert_eq!(field_of(&error), Some(field), "{error}");
    }
    let image: ApplyInput = serde_json::from_value(json!({
        "source": "INPUT",
        "content": [{ "text": { "text": "x" } }, { "image": { "format": "png" } }]
    }))
    .unwrap();
    let error = f
        .guardrails
        .apply(&id, GuardrailVersion::Draft, &image)
        .await
        .unwrap_err();
    assert_eq!(field_of(&error), Some("content.1.image"));

    let error = f
        .guardrails
        .list(&ListInput {
            max_results: Some(0),
            ..Default::default()
        })
        .unwrap_err();
    assert_eq!(field_of(&error), Some("maxResults"));
    let error = "Has-Capitals".parse::<GuardrailId>().unwrap_err();
    assert_eq!(field_of(&error), Some("guardrailIdentifier"));
    let error = "0".parse::<GuardrailVersion>().unwrap_err();
    assert_eq!(field_of(&error), Some("guardrailVersion"));
    // A DRAFT goes only with its guardrail.
    let error = f
        .guardrails
        .delete(&id, Some(GuardrailVersion::Draft))
        .unwrap_err();
    assert_eq!(field_of(&error), Some("guardrailVersion"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn names_are_unique_and_missing_guardrails_are_not_found() {
    let f = service();
    let first = create(&f.guardrails, "taken").await;
    let error = f
        .guardrails
        .create(input(guardrail("taken")))
        .await
        .unwrap_err();
    assert!(
        matches!(&error, GuardrailError::Conflict(m) if m.contains("taken")),
        "{error}"
    );
    let second = create(&f.guardrails, "other").await;
    let error = f
        .guardrails
        .update(&second, input(guardrail("taken")))
        .await
        .unwrap_err();
    assert!(matches!(error, GuardrailError::Conflict(_)), "{error}");
    // Renaming to its own name is no conflict.
    f.guardrails
        .update(&first, input(guardrail("taken")))
        .await
        .unwrap();

    let nobody: GuardrailId = "nosuchguardrail".parse().unwrap();
    let error = f
        .guardrails
        .get(&nobody, GuardrailVersion::Draft)
        .unwrap_err();
    assert!(matches!(&error, GuardrailError::NotFound(m) if m.contains("nosuchguardrail")));
    let error = f
        .guardrails
        .apply(
            &first,
            GuardrailVersion::Number(7),
            &text(ContentSource::Input, "x"),
        )
        .await
        .unwrap_err();
    assert!(matches!(&error, GuardrailError::NotFound(m) if m.contains("version 7")));
    assert!(matches!(
        f.guardrails.delete(&nobody, None),
        Err(GuardrailError::NotFound(_))
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn versions_are_frozen_copies_and_retries_with_a_token_are_answered_once() {
    let f = service();
    let mut request = guardrail("versions");
    request["clientRequestToken"] = json!("once");
    let created = f.guardrails.create(input(request.clone())).await.unwrap();
    let retried = f.guardrails.create(input(request)).await.unwrap();
    assert_eq!(created, retried);
    let id = created.guardrail_id;
    assert_eq!(
        created.guardrail_arn,
        format!("arn:aws:bedrock:eu-west-3:123456789012:guardrail/{id}")
    );

    let version = CreateVersionInput {
        description: Some("v1".into()),
        client_request_token: Some("v1-token".into()),
    };
    let v1 = f.guardrails.create_version(&id, version.clone()).unwrap();
    assert_eq!(v1.version, GuardrailVersion::Number(1));
    assert_eq!(f.guardrails.create_version(&id, version).unwrap(), v1);

    let mut changed = guardrail("versions");
    changed["wordPolicyConfig"] = json!({ "wordsConfig": [{ "text": "lovely" }] });
    f.guardrails.update(&id, input(changed)).await.unwrap();
    let lovely = text(ContentSource::Input, "a lovely day");
    let on_draft = f
        .guardrails
        .apply(&id, GuardrailVersion::Draft, &lovely)
        .await
        .unwrap();
    assert!(matches!(on_draft.verdict, Verdict::Blocked(_)));
    let on_v1 = f.guardrails.apply(&id, v1.version, &lovely).await.unwrap();
    assert_eq!(on_v1.verdict, Verdict::Pass);

    let detail = f.guardrails.get(&id, v1.version).unwrap();
    assert_eq!(detail.description.as_deref(), Some("v1"));
    assert_eq!(detail.word_policy.unwrap().words[0].text, "project aurora");
    let wire =
        serde_json::to_value(f.guardrails.get(&id, GuardrailVersion::Draft).unwrap()).unwrap();
    assert_eq!(wire["version"], "DRAFT");
    assert_eq!(wire["status"], "READY");
    assert_eq!(wire["wordPolicy"]["words"][0]["text"], "lovely");
    assert_eq!(
        wire["sensitiveInformationPolicy"]["piiEntities"][0]["type"],
        "EMAIL"
    );

    let listed = f
        .guardrails
        .list(&ListInput {
            guardrail_identifier: Some(id.clone()),
            ..Default::default()
        })
        .unwrap();
    let versions: Vec<GuardrailVersion> = listed.guardrails.iter().map(|s| s.version).collect();
    assert_eq!(
        versions,
        [GuardrailVersion::Draft, GuardrailVersion::Number(1)]
    );

    f.guardrails.delete(&id, Some(v1.version)).unwrap();
    assert!(matches!(
        f.guardrails.get(&id, v1.version),
        Err(GuardrailError::NotFound(_))
    ));
    // Numbers are never reused.
    let v2 = f
        .guardrails
        .create_version(&id, CreateVersionInput::default())
        .unwrap();
    assert_eq!(v2.version, GuardrailVersion::Number(2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_versions_each_get_their_own_number() {
    let f = service();
    let id = create(&f.guardrails, "contended").await;
    let tasks: Vec<_> = (0..16)
        .map(|_| {
            let guardrails = f.guardrails.clone();
            let id = id.clone();
            tokio::task::spawn_blocking(move || {
                guardrails
                    .create_version(&id, CreateVersionInput::default())
                    .unwrap()
                    .version
            })
        })
        .collect();
    let mut numbers = Vec::new();
    for task in tasks {
        match task.await.unwrap() {
            GuardrailVersion::Number(n) => numbers.push(n),
            GuardrailVersion::Draft => panic!("a version is numbered"),
        }
    }
    numbers.sort_unstable();
    assert_eq!(numbers, (1..=16).collect::<Vec<u32>>());
    let listed = f
        .guardrails
        .list(&ListInput {
            guardrail_identifier: Some(id),
            max_results: Some(1000),
            next_token: None,
        })
        .unwrap();
    assert_eq!(listed.guardrails.len(), 17);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_pages_with_a_token() {
    let f = service();
    for name in ["page-a", "page-b", "page-c"] {
        create(&f.guardrails, name).await;
    }
    let first = f
        .guardrails
        .list(&ListInput {
            max_results: Some(2),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(first.guardrails.len(), 2);
    let rest = f
        .guardrails
        .list(&ListInput {
            max_results: Some(2),
            next_token: first.next_token.clone(),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(rest.guardrails.len(), 1);
    assert_eq!(rest.next_token, None);
    let error = f
        .guardrails
        .list(&ListInput {
            next_token: Some("garbage".into()),
            ..Default::default()
        })
        .unwrap_err();
    assert_eq!(field_of(&error), Some("nextToken"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn custom_policies_are_checked_and_a_failing_one_fails_only_its_request() {
    let f = service_with(&["custom-bank-policy", "infinite-loop", "panic"]);
    let id = create(&f.guardrails, "custom").await;
    let attach = |plugin: &str, config: Value| {
        f.guardrails.set_custom_policies(
            &id,
            vec![CustomPolicy {
                plugin: plugin.into(),
                config,
            }],
        )
    };
    let error = attach("no-such-plugin", Value::Null).await.unwrap_err();
    assert_eq!(field_of(&error), Some("policies.0.plugin"));
    let error = attach("keyword-tool", Value::Null).await.unwrap_err();
    assert_eq!(field_of(&error), Some("policies.0.plugin"), "{error}");
    let error = attach("infinite-loop", Value::Null).await.unwrap_err();
    assert!(
        matches!(error, GuardrailError::PolicyTimeout { .. }),
        "{error}"
    );
    let error = attach("panic", Value::Null).await.unwrap_err();
    assert!(
        matches!(error, GuardrailError::PolicyFailed { .. }),
        "{error}"
    );
    let too_many = vec![
        CustomPolicy {
            plugin: "custom-bank-policy@0.1.0".into(),
            config: json!({ "action": "BLOCK" }),
        };
        mantle_guardrails::MAX_CUSTOM_POLICIES + 1
    ];
    let error = f
        .guardrails
        .set_custom_policies(&id, too_many)
        .await
        .unwrap_err();
    assert_eq!(field_of(&error), Some("policies"));

    let set = attach("custom-bank-policy@0.1.0", json!({ "action": "ANONYMIZE" }))
        .await
        .unwrap();
    assert_eq!(set.custom_policies.len(), 1);
    let outcome = f
        .guardrails
        .apply(
            &id,
            GuardrailVersion::Draft,
            &text(
                ContentSource::Input,
                "Move it to ACME-9876543210 and mail a@b.io",
            ),
        )
        .await
        .unwrap();
    assert_eq!(
        outcome.verdict,
        Verdict::Masked(vec!["Move it to {ACME_ACCOUNT} and mail {EMAIL}".into()])
    );
    // Updating the Bedrock policies keeps the attached plugin.
    f.guardrails
        .update(&id, input(guardrail("custom")))
        .await
        .unwrap();
    let detail = f.guardrails.get(&id, GuardrailVersion::Draft).unwrap();
    assert_eq!(detail.custom_policies[0].plugin, "custom-bank-policy@0.1.0");
    // Team plugins are not billed as Bedrock policies.
    assert_eq!(
        outcome
            .assessment
            .invocation_metrics
            .usage
            .topic_policy_units,
        0
    );
}

/// A guardrail as this service's first release wrote it must still load and apply.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_written_by_earlier_builds_still_load() {
    let f = service();
    let stored = json!({
        "v": 1,
        "data": {
            "id": "legacy0000001",
            "createdAt": "2026-11-26T01:02:03.456789Z",
            "draft": {
                "name": "legacy",
                "policies": {
                    "sensitiveInformationPolicyConfig": {
                        "piiEntitiesConfig": [{ "type": "EMAIL", "action": "ANONYMIZE" }]
                    }
                },
                "customPolicies": [{ "plugin": "word-filter", "config": { "wordsConfig": [{ "text": "falcon" }] } }],
                "blockedInputMessaging": "in",
                "blockedOutputsMessaging": "out",
                "updatedAt": "2026-11-26T01:02:03.456789Z"
            },
            "versions": { "1": {
                "name": "legacy",
                "description": "first",
                "policies": {},
                "blockedInputMessaging": "in",
                "blockedOutputsMessaging": "out",
                "updatedAt": "2026-11-26T01:05:00Z"
            } },
            "nextVersion": 2
        }
    });
    f.store
        .tree("guardrails")
        .unwrap()
        .insert("legacy0000001", serde_json::to_vec(&stored).unwrap())
        .unwrap();
    let id: GuardrailId = "legacy0000001".parse().unwrap();
    let detail = f.guardrails.get(&id, GuardrailVersion::Number(1)).unwrap();
    assert_eq!(detail.description.as_deref(), Some("first"));
    assert_eq!(detail.created_at, "2026-11-26T01:02:03.456789Z");
    let outcome = f
        .guardrails
        .apply(
            &id,
            GuardrailVersion::Draft,
            &text(ContentSource::Output, "mail a@b.io"),
        )
        .await
        .unwrap();
    assert_eq!(
        outcome.verdict,
        Verdict::Masked(vec!["mail {EMAIL}".into()])
    );
    let outcome = f
        .guardrails
        .apply(
            &id,
            GuardrailVersion::Draft,
            &text(ContentSource::Output, "the falcon flies"),
        )
        .await
        .unwrap();
    assert_eq!(outcome.verdict, Verdict::Blocked("out".into()));
    // The next version continues the stored numbering.
    let v = f
        .guardrails
        .create_version(&id, CreateVersionInput::default())
        .unwrap();
    assert_eq!(v.version, GuardrailVersion::Number(2));
}

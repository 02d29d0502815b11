//! Prompt management over a temporary store, no socket: versions are immutable snapshots with
//! numbers never reused, concurrent version creation hands out distinct numbers, a client
//! token survives a crash between its claim and the write, and records an earlier build wrote
//! still load.

use std::collections::BTreeMap;
use std::sync::Arc;

use mantle_flows::prompt::input::{
    CreatePromptInput, CreatePromptVersionInput, IncludedData, ListPromptsInput,
};
use mantle_flows::{FlowsError, PromptIdentifier, Prompts, Version};
use mantle_store::{ArnScope, Store};
use serde_json::json;

fn scope() -> ArnScope {
    ArnScope {
        region: "us-east-1".into(),
        account: "123456789012".into(),
    }
}

fn input(name: &str, text: &str, token: Option<&str>) -> CreatePromptInput {
    let mut value = json!({
        "name": name,
        "variants": [{"name": "main", "templateType": "TEXT", "modelId": "hf.smollm2-135m-instruct-v1:0",
            "templateConfiguration": {"text": {"text": text, "inputVariables": [{"name": "topic"}]}}}],
    });
    if let Some(token) = token {
        value["clientToken"] = json!(token);
    }
    serde_json::from_value(value).unwrap()
}

fn identifier(id: &str) -> PromptIdentifier {
    id.parse().unwrap()
}

#[test]
fn versions_are_snapshots_and_numbers_are_never_reused() {
    let prompts = Prompts::open(Store::temporary().unwrap(), scope()).unwrap();
    let created = prompts
        .create(input("notes", "About {{topic}}.", None))
        .unwrap();
    let id = identifier(created.id.as_str());
    let v1 = prompts
        .create_version(&id, CreatePromptVersionInput::default())
        .unwrap();
    assert_eq!(v1.version, Version::Number(1));
    let update = serde_json::from_value(json!({"name": "notes", "variants": [{"name": "main", "templateType": "TEXT",
        "templateConfiguration": {"text": {"text": "Changed {{topic}}.", "inputVariables": [{"name": "topic"}]}}}]})).unwrap();
    prompts.update(&id, update).unwrap();
    let values = BTreeMap::from([("topic".to_owned(), "tides".to_owned())]);
    let old = prompts
        .render(&v1.arn.parse().unwrap(), &values, "promptVariables")
        .unwrap();
    assert_eq!(old.messages[0].texts, ["About tides."]);
    let draft = prompts.render(&id, &values, "promptVariables").unwrap();
    assert_eq!(draft.messages[0].texts, ["Changed tides."]);

    prompts.delete(&id, Some(Version::Number(1))).unwrap();
    let v2 = prompts
        .create_version(&id, CreatePromptVersionInput::default())
        .unwrap();
    assert_eq!(
        v2.version,
        Version::Number(2),
        "a deleted number is not handed out again"
    );
    let listed = prompts
        .list(&ListPromptsInput {
            prompt_identifier: Some(id.clone()),
            ..Default::default()
        })
        .unwrap();
    let versions: Vec<Version> = listed.prompt_summaries.iter().map(|s| s.version).collect();
    assert_eq!(versions, [Version::Draft, Version::Number(2)]);
    assert!(matches!(
        prompts.get(&id, Some(Version::Number(1)), IncludedData::AllData),
        Err(FlowsError::NotFound(_))
    ));
}

#[test]
fn concurrent_versions_get_distinct_numbers() {
    let prompts = Arc::new(Prompts::open(Store::temporary().unwrap(), scope()).unwrap());
    let created = prompts.create(input("busy", "{{topic}}", None)).unwrap();
    let id = identifier(created.id.as_str());
    let threads: Vec<_> = (0..8)
        .map(|_| {
            let prompts = prompts.clone();
            let id = id.clone();
            std::thread::spawn(move || {
                prompts
                    .create_version(&id, CreatePromptVersionInput::default())
                    .unwrap()
                    .version
            })
        })
        .collect();
    let mut numbers: Vec<Version> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    numbers.sort();
    assert_eq!(numbers, (1..=8).map(Version::Number).collect::<Vec<_>>());
}

#[test]
fn a_client_token_answers_the_first_call_even_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let token = "tok-0123456789-0123456789-0123456789";
    let first_id = {
        let prompts = Prompts::open(Store::open(dir.path()).unwrap(), scope()).unwrap();
        prompts
            .create(input("tokened", "{{topic}}", Some(token)))
            .unwrap()
            .id
    };
    let prompts = Prompts::open(Store::open(dir.path()).unwrap(), scope()).unwrap();
    let again = prompts
        .create(input("tokened", "{{topic}}", Some(token)))
        .unwrap();
    assert_eq!(again.id, first_id);
    // A wrong request claims nothing: corrected, the same token makes the prompt.
    let fresh = "tok-9876543210-9876543210-9876543210";
    let wrong = prompts.create(input("bad name!", "{{topic}}", Some(fresh)));
    assert!(
        matches!(wrong, Err(FlowsError::Validation { .. })),
        "{wrong:?}"
    );
    assert!(
        prompts
            .create(input("corrected", "{{topic}}", Some(fresh)))
            .is_ok()
    );
    let different = prompts.create(input("tokened", "Other {{topic}}", Some(token)));
    assert!(
        matches!(different, Err(FlowsError::Conflict(_))),
        "{different:?}"
    );
    assert!(matches!(
        prompts.create(input("tokened", "{{topic}}", Some("short"))),
        Err(FlowsError::Validation { field: Some(f), .. }) if f == "clientToken"
    ));
}

#[test]
fn records_written_by_earlier_builds_still_load() {
    // A draft and a version as schema 1 of this build wrote them.
    let store = Store::temporary().unwrap();
    let draft = store.tree("prompts").unwrap();
    draft
        .insert("PR12345678", json!({"v": 1, "data": {
            "id": "PR12345678", "name": "kept", "defaultVariant": "main",
            "variants": [{"name": "main", "templateType": "CHAT", "modelId": "m",
                "templateConfiguration": {"chat": {"messages": [{"role": "user", "content": [{"text": "Hi {{who}}"}]}],
                    "inputVariables": [{"name": "who"}]}}}],
            "createdAt": "2026-12-01T00:00:00Z", "updatedAt": "2026-12-01T00:00:00Z", "nextVersion": 2}})
            .to_string()
            .as_bytes())
        .unwrap();
    store
        .tree("prompt_versions")
        .unwrap()
        .insert(
            "PR12345678/00001",
            json!({"v": 1, "data": {
            "id": "PR12345678", "version": 1, "name": "kept",
            "variants": [{"name": "main", "templateType": "TEXT",
                "templateConfiguration": {"text": {"text": "Old"}}}],
            "createdAt": "2026-12-01T00:00:00Z"}})
            .to_string()
            .as_bytes(),
        )
        .unwrap();
    let prompts = Prompts::open(store, scope()).unwrap();
    let id = identifier("PR12345678");
    let values = BTreeMap::from([("who".to_owned(), "Ada".to_owned())]);
    assert_eq!(
        prompts.render(&id, &values, "v").unwrap().messages[0].texts,
        ["Hi Ada"]
    );
    let version = prompts
        .get(&id, Some(Version::Number(1)), IncludedData::AllData)
        .unwrap();
    assert_eq!(version.name, "kept");
    let v2 = prompts
        .create_version(&id, CreatePromptVersionInput::default())
        .unwrap();
    assert_eq!(v2.version, Version::Number(2));
}

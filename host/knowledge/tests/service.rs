//! The knowledge-base service without a socket: the real chunker plugin from `plugins/dist`
//! (laid out by `cargo xtask build-plugins`), the real default models (fetched by
//! `cargo xtask setup`), a sled store in a temporary directory, no HTTP.

use mantle_guardrails::Guardrails;
use mantle_knowledge::output::{DocumentStatus, IngestionJobStatus};
use mantle_knowledge::{
    DataSourceId, Knowledge, KnowledgeBaseId, KnowledgeError, ListInput, RagEvent,
    RetrieveAndGenerateInput, RetrieveInput,
};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

mod common;
#[path = "service/web.rs"]
mod web;

use common::{MINILM, finish, models, open_service};

const SMOLLM2: &str = "hf.smollm2-135m-instruct-v1:0";

/// A service over a store and bucket root in `dir`; opening it again over the same `dir` is
/// what a restarted server does.
struct Fixture {
    dir: tempfile::TempDir,
}

impl Fixture {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("buckets")).unwrap();
        std::fs::create_dir_all(dir.path().join("plugins")).unwrap();
        Self { dir }
    }

    fn open(&self) -> Knowledge {
        self.open_with_guardrails().0
    }

    /// The service and the guardrail service beside it, as the server wires them.
    fn open_with_guardrails(&self) -> (Knowledge, Guardrails) {
        open_service(self.dir.path())
    }

    fn put_object(&self, bucket: &str, key: &str, bytes: &[u8]) {
        let path = self.dir.path().join("buckets").join(bucket).join(key);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, bytes).unwrap();
    }
}

/// A text's tokens for the embedding model, which sizes the chunks.
fn tokens(text: &str) -> usize {
    models()
        .embedding(MINILM)
        .unwrap()
        .count_tokens(text)
        .unwrap()
}

fn parse<T: DeserializeOwned>(value: Value) -> T {
    serde_json::from_value(value).unwrap()
}

fn field_of(error: KnowledgeError) -> String {
    match error {
        KnowledgeError::Validation {
            field: Some(field), ..
        } => field,
        other => panic!("expected a validation error naming a field, got {other:?}"),
    }
}

fn kb_body(name: &str) -> Value {
    json!({
        "name": name,
        "roleArn": "arn:aws:iam::123456789012:role/kb",
        "knowledgeBaseConfiguration": {
            "type": "VECTOR",
            "vectorKnowledgeBaseConfiguration": {"embeddingModelArn": MINILM}
        }
    })
}

fn create_kb(knowledge: &Knowledge) -> KnowledgeBaseId {
    knowledge
        .create_knowledge_base(parse(kb_body("handbook")))
        .unwrap()
        .knowledge_base_id
}

fn create_ds(knowledge: &Knowledge, kb: &KnowledgeBaseId, body: Value) -> DataSourceId {
    knowledge
        .create_data_source(kb, parse(body))
        .unwrap()
        .data_source_id
}

fn custom_ds(knowledge: &Knowledge, kb: &KnowledgeBaseId) -> DataSourceId {
    create_ds(
        knowledge,
        kb,
        json!({"name": "inline", "dataSourceConfiguration": {"type": "CUSTOM"}}),
    )
}

fn inline_doc(id: &str, text: &str, attributes: Value) -> Value {
    let mut doc = json!({
        "content": {
            "dataSourceType": "CUSTOM",
            "custom": {
                "customDocumentIdentifier": {"id": id},
                "sourceType": "IN_LINE",
                "inlineContent": {"type": "TEXT", "textContent": {"data": text}}
            }
        }
    });
    if attributes.as_array().is_some_and(|a| !a.is_empty()) {
        doc["metadata"] = json!({"type": "IN_LINE_ATTRIBUTE", "inlineAttributes": attributes});
    }
    doc
}

async fn retrieve(knowledge: &Knowledge, kb: &KnowledgeBaseId, body: Value) -> Vec<Value> {
    let input: RetrieveInput = parse(body);
    let output = knowledge.retrieve(kb, &input).await.unwrap();
    serde_json::to_value(output).unwrap()["retrievalResults"]
        .as_array()
        .unwrap()
        .clone()
}

fn query(text: &str, search: Value) -> Value {
    json!({"retrievalQuery": {"text": text}, "retrievalConfiguration": {"vectorSearchConfiguration": search}})
}

const DOCS: [(&str, &str, i64, &str); 3] = [
    (
        "backups",
        "Database backups are taken every night at 02:00 UTC and kept for 35 days in a second region.",
        2024,
        "ops",
    ),
    (
        "holidays",
        "Employees get 25 days of paid holiday a year, and unused days carry over until March.",
        2023,
        "hr",
    ),
    (
        "oncall",
        "The on-call engineer is paged by the alerting system and must acknowledge within 15 minutes.",
        2024,
        "ops",
    ),
];

async fn ingest_handbook(knowledge: &Knowledge, kb: &KnowledgeBaseId, ds: &DataSourceId) {
    let documents: Vec<Value> = DOCS
        .iter()
        .map(|(id, text, year, team)| {
            inline_doc(
                id,
                text,
                json!([
                    {"key": "year", "value": {"type": "NUMBER", "numberValue": year}},
                    {"key": "team", "value": {"type": "STRING", "stringValue": team}},
                ]),
            )
        })
        .collect();
    let details = knowledge
        .ingest_documents(kb, ds, parse(json!({"documents": documents})))
        .await
        .unwrap();
    let details = serde_json::to_value(details).unwrap();
    for detail in details["documentDetails"].as_array().unwrap() {
        assert_eq!(detail["status"], "INDEXED", "{detail}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_configurations_name_their_field_and_write_nothing() {
    let fixture = Fixture::new();
    let knowledge = fixture.open();
    let mut body = kb_body("kb");
    body["knowledgeBaseConfiguration"]["vectorKnowledgeBaseConfiguration"]["embeddingModelConfiguration"] =
        json!({"bedrockEmbeddingModelConfiguration": {"dimensions": 1024}});
    let error = knowledge.create_knowledge_base(parse(body)).unwrap_err();
    assert!(error.to_string().contains("384"), "{error}");
    assert_eq!(
        field_of(error),
        "knowledgeBaseConfiguration.vectorKnowledgeBaseConfiguration.embeddingModelConfiguration.bedrockEmbeddingModelConfiguration.dimensions"
    );

    let mut body = kb_body("kb");
    body["storageConfiguration"] = json!({"type": "PINECONE", "pineconeConfiguration": {}});
    let error = knowledge.create_knowledge_base(parse(body)).unwrap_err();
    assert!(error.to_string().contains("PINECONE"), "{error}");
    assert_eq!(field_of(error), "storageConfiguration.type");

    let mut body = kb_body("kb");
    body["knowledgeBaseConfiguration"]["vectorKnowledgeBaseConfiguration"]["embeddingModelArn"] =
        json!(SMOLLM2);
    let error = knowledge.create_knowledge_base(parse(body)).unwrap_err();
    assert_eq!(
        field_of(error),
        "knowledgeBaseConfiguration.vectorKnowledgeBaseConfiguration.embeddingModelArn"
    );
    let error = knowledge
        .create_knowledge_base(parse(kb_body("bad name!")))
        .unwrap_err();
    assert_eq!(field_of(error), "name");
    let page = knowledge
        .list_knowledge_bases(&ListInput::default())
        .unwrap();
    assert!(
        page.knowledge_base_summaries.is_empty(),
        "a failed create wrote a record"
    );

    let kb = create_kb(&knowledge);
    let bad_chunking = [
        (
            json!({"chunkingStrategy": "FIXED_SIZE"}),
            "vectorIngestionConfiguration.chunkingConfiguration.fixedSizeChunkingConfiguration",
        ),
        (
            json!({"chunkingStrategy": "FIXED_SIZE", "fixedSizeChunkingConfiguration": {"maxTokens": 300, "overlapPercentage": 100}}),
            "vectorIngestionConfiguration.chunkingConfiguration.fixedSizeChunkingConfiguration.overlapPercentage",
        ),
        (
            json!({"chunkingStrategy": "HIERARCHICAL", "hierarchicalChunkingConfiguration": {"levelConfigurations": [{"maxTokens": 300}], "overlapTokens": 60}}),
            "vectorIngestionConfiguration.chunkingConfiguration.hierarchicalChunkingConfiguration.levelConfigurations",
        ),
        (
            json!({"chunkingStrategy": "NONE", "fixedSizeChunkingConfiguration": {"maxTokens": 300, "overlapPercentage": 20}}),
            "vectorIngestionConfiguration.chunkingConfiguration.fixedSizeChunkingConfiguration",
        ),
        (
            json!({"chunkingStrategy": "SEMANTIC"}),
            "vectorIngestionConfiguration.chunkingConfiguration.semanticChunkingConfiguration",
        ),
        (
            json!({"chunkingStrategy": "SEMANTIC", "semanticChunkingConfiguration": {"maxTokens": 300, "bufferSize": 2, "breakpointPercentileThreshold": 95}}),
            "vectorIngestionConfiguration.chunkingConfiguration.semanticChunkingConfiguration.bufferSize",
        ),
        (
            json!({"chunkingStrategy": "SEMANTIC", "semanticChunkingConfiguration": {"maxTokens": 300, "bufferSize": 0, "breakpointPercentileThreshold": 40}}),
            "vectorIngestionConfiguration.chunkingConfiguration.semanticChunkingConfiguration.breakpointPercentileThreshold",
        ),
    ];
    for (chunking, field) in bad_chunking {
        let body = json!({
            "name": "docs",
            "dataSourceConfiguration": {"type": "CUSTOM"},
            "vectorIngestionConfiguration": {"chunkingConfiguration": chunking}
        });
        let error = knowledge.create_data_source(&kb, parse(body)).unwrap_err();
        assert_eq!(field_of(error), field);
    }
    let transformation = |arn: &str, uri: &str| {
        json!({
            "name": "docs",
            "dataSourceConfiguration": {"type": "CUSTOM"},
            "vectorIngestionConfiguration": {"customTransformationConfiguration": {
                "intermediateStorage": {"s3Location": {"uri": uri}},
                "transformations": [{
                    "stepToApply": "POST_CHUNKING",
                    "transformationFunction": {"transformationLambdaConfiguration": {"lambdaArn": arn}}
                }]
            }}
        })
    };
    let error = knowledge
        .create_data_source(
            &kb,
            parse(transformation("chunk-transform", "s3://scratch")),
        )
        .unwrap_err();
    assert_eq!(
        field_of(error),
        "vectorIngestionConfiguration.customTransformationConfiguration.transformations.0.transformationFunction.transformationLambdaConfiguration.lambdaArn"
    );
    let error = knowledge
        .create_data_source(
            &kb,
            parse(transformation(
                "arn:aws:lambda:eu-west-3:123456789012:function:chunk-transform",
                "/tmp/scratch",
            )),
        )
        .unwrap_err();
    assert_eq!(
        field_of(error),
        "vectorIngestionConfiguration.customTransformationConfiguration.intermediateStorage.s3Location.uri"
    );
    let body = json!({"name": "docs", "dataSourceConfiguration": {"type": "S3", "s3Configuration": {"bucketArn": "arn:aws:s3:::Bad_Bucket"}}});
    let error = knowledge.create_data_source(&kb, parse(body)).unwrap_err();
    assert_eq!(
        field_of(error),
        "dataSourceConfiguration.s3Configuration.bucketArn"
    );
    let page = knowledge
        .list_data_sources(&kb, &ListInput::default())
        .unwrap();
    assert!(page.data_source_summaries.is_empty());

    let missing: KnowledgeBaseId = "KBMISSING0".parse().unwrap();
    assert!(matches!(
        knowledge.get_knowledge_base(&missing),
        Err(KnowledgeError::NotFound(_))
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ingested_documents_are_retrieved_by_meaning_and_filtered_inside_the_search() {
    let fixture = Fixture::new();
    let knowledge = fixture.open();
    let kb = create_kb(&knowledge);
    let ds = custom_ds(&knowledge, &kb);
    ingest_handbook(&knowledge, &kb, &ds).await;

    let results = retrieve(
        &knowledge,
        &kb,
        query("How long do we keep database backups?", json!({})),
    )
    .await;
    assert_eq!(results.len(), 3);
    assert_eq!(
        results[0]["location"]["customDocumentLocation"]["id"],
        "backups"
    );
    assert_eq!(results[0]["location"]["type"], "CUSTOM");
    assert_eq!(results[0]["metadata"]["team"], "ops");
    assert_eq!(
        results[0]["metadata"]["x-amz-bedrock-kb-data-source-id"],
        ds.as_str()
    );
    let scores: Vec<f64> = results
        .iter()
        .map(|r| r["score"].as_f64().unwrap())
        .collect();
    assert!(
        scores.windows(2).all(|w| w[0] >= w[1]) && scores[0] <= 1.0,
        "{scores:?}"
    );

    // The best match is filtered out; the filter still fills numberOfResults from the rest.
    let hr_or_2023 = json!({"numberOfResults": 1, "filter": {"orAll": [
        {"equals": {"key": "team", "value": "hr"}},
        {"lessThan": {"key": "year", "value": 2024}},
    ]}});
    let results = retrieve(
        &knowledge,
        &kb,
        query("How long do we keep database backups?", hr_or_2023),
    )
    .await;
    assert_eq!(results.len(), 1);
    assert_eq!(
        results[0]["location"]["customDocumentLocation"]["id"],
        "holidays"
    );

    let error = knowledge
        .retrieve(
            &kb,
            &parse(query("x", json!({"filter": {"equals": {"key": "year", "value": 1}, "in": {"key": "year", "value": [1]}}}))),
        )
        .await
        .unwrap_err();
    assert_eq!(
        field_of(error),
        "retrievalConfiguration.vectorSearchConfiguration.filter"
    );

    // Deleted documents leave the index at once.
    knowledge
        .delete_documents(
            &kb,
            &ds,
            &parse(json!({"documentIdentifiers": [{"dataSourceType": "CUSTOM", "custom": {"id": "backups"}}]})),
        )
        .unwrap();
    let results = retrieve(&knowledge, &kb, query("database backups", json!({}))).await;
    assert!(
        results
            .iter()
            .all(|r| r["location"]["customDocumentLocation"]["id"] != "backups")
    );
    let details = knowledge
        .get_documents(
            &kb,
            &ds,
            &parse(json!({"documentIdentifiers": [
                {"dataSourceType": "CUSTOM", "custom": {"id": "backups"}},
                {"dataSourceType": "CUSTOM", "custom": {"id": "oncall"}},
            ]})),
        )
        .unwrap();
    let statuses: Vec<DocumentStatus> = details.document_details.iter().map(|d| d.status).collect();
    assert_eq!(
        statuses,
        [DocumentStatus::NotFound, DocumentStatus::Indexed]
    );

    // A restarted service rebuilds its index from the records.
    drop(knowledge);
    let knowledge = fixture.open();
    assert_eq!(knowledge.indexed_chunks(&kb), 2);
    let results = retrieve(
        &knowledge,
        &kb,
        query("paid vacation days", json!({"numberOfResults": 1})),
    )
    .await;
    assert_eq!(
        results[0]["location"]["customDocumentLocation"]["id"],
        "holidays"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_ingestion_is_incremental_and_reports_each_document() {
    let fixture = Fixture::new();
    fixture.put_object("handbook", "docs/backups.txt", DOCS[0].1.as_bytes());
    fixture.put_object(
        "handbook",
        "docs/backups.txt.metadata.json",
        br#"{"metadataAttributes": {"team": "ops", "year": 2024}}"#,
    );
    fixture.put_object("handbook", "docs/holidays.md", DOCS[1].1.as_bytes());
    fixture.put_object("handbook", "docs/scan.pdf", b"%PDF-1.7 not really");
    fixture.put_object(
        "handbook",
        "other/ignored.txt",
        b"outside the inclusion prefix",
    );
    let knowledge = fixture.open();
    let kb = create_kb(&knowledge);
    let ds = create_ds(
        &knowledge,
        &kb,
        json!({"name": "bucket", "dataSourceConfiguration": {"type": "S3", "s3Configuration": {
            "bucketArn": "arn:aws:s3:::handbook", "inclusionPrefixes": ["docs/"]}}}),
    );

    let job = finish(&knowledge, &kb, &ds).await;
    assert_eq!(job.status, IngestionJobStatus::Complete, "{job:?}");
    let stats = &job.statistics;
    assert_eq!(
        (
            stats.number_of_documents_scanned,
            stats.number_of_metadata_documents_scanned
        ),
        (3, 1)
    );
    assert_eq!(
        (
            stats.number_of_new_documents_indexed,
            stats.number_of_documents_failed
        ),
        (2, 1)
    );
    assert!(
        job.failure_reasons
            .iter()
            .any(|r| r.contains("s3://handbook/docs/scan.pdf")),
        "{:?}",
        job.failure_reasons
    );
    let results = retrieve(
        &knowledge,
        &kb,
        query("nightly backups", json!({"numberOfResults": 1})),
    )
    .await;
    assert_eq!(
        results[0]["location"]["s3Location"]["uri"],
        "s3://handbook/docs/backups.txt"
    );
    assert_eq!(results[0]["metadata"]["team"], "ops");
    assert_eq!(
        results[0]["metadata"]["x-amz-bedrock-kb-source-uri"],
        "s3://handbook/docs/backups.txt"
    );

    // Nothing changed: nothing is embedded again.
    let job = finish(&knowledge, &kb, &ds).await;
    assert_eq!(job.statistics.number_of_documents_skipped, 2, "{job:?}");
    assert_eq!(job.statistics.number_of_new_documents_indexed, 0);

    // One document changed, one deleted.
    fixture.put_object(
        "handbook",
        "docs/holidays.md",
        b"Employees get 30 days of paid holiday a year.",
    );
    std::fs::remove_file(fixture.dir.path().join("buckets/handbook/docs/backups.txt")).unwrap();
    let job = finish(&knowledge, &kb, &ds).await;
    let stats = &job.statistics;
    assert_eq!(
        (
            stats.number_of_modified_documents_indexed,
            stats.number_of_documents_deleted
        ),
        (1, 1),
        "{job:?}"
    );
    let results = retrieve(&knowledge, &kb, query("holiday allowance", json!({}))).await;
    assert_eq!(results.len(), 1, "{results:?}");
    assert!(
        results[0]["content"]["text"]
            .as_str()
            .unwrap()
            .contains("30 days")
    );

    let jobs = knowledge
        .list_ingestion_jobs(
            &kb,
            &ds,
            &parse(json!({"sortBy": {"attribute": "STARTED_AT", "order": "ASCENDING"}})),
        )
        .unwrap();
    assert_eq!(jobs.ingestion_job_summaries.len(), 3);
    let filtered = knowledge
        .list_ingestion_jobs(&kb, &ds, &parse(json!({"filters": [{"attribute": "STATUS", "operator": "EQ", "values": ["FAILED"]}]})))
        .unwrap();
    assert!(filtered.ingestion_job_summaries.is_empty());

    // A missing bucket fails the job with a reason, not the server.
    let gone = create_ds(
        &knowledge,
        &kb,
        json!({"name": "gone", "dataSourceConfiguration": {"type": "S3", "s3Configuration": {"bucketArn": "arn:aws:s3:::no-such-bucket"}}}),
    );
    let job = finish(&knowledge, &kb, &gone).await;
    assert_eq!(job.status, IngestionJobStatus::Failed);
    assert!(job.failure_reasons[0].contains("no-such-bucket"), "{job:?}");

    // DELETE policy: the data source's chunks go with it.
    knowledge.delete_data_source(&kb, &ds).unwrap();
    assert_eq!(knowledge.indexed_chunks(&kb), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hierarchical_chunking_searches_children_and_returns_parents() {
    let fixture = Fixture::new();
    let knowledge = fixture.open();
    let kb = create_kb(&knowledge);
    let ds = create_ds(
        &knowledge,
        &kb,
        json!({
            "name": "chapters",
            "dataSourceConfiguration": {"type": "CUSTOM"},
            "vectorIngestionConfiguration": {"chunkingConfiguration": {
                "chunkingStrategy": "HIERARCHICAL",
                "hierarchicalChunkingConfiguration": {"levelConfigurations": [{"maxTokens": 40}, {"maxTokens": 12}], "overlapTokens": 2}
            }}
        }),
    );
    let text = format!("{} {} {}", DOCS[0].1, DOCS[1].1, DOCS[2].1);
    knowledge
        .ingest_documents(
            &kb,
            &ds,
            parse(json!({"documents": [inline_doc("all", &text, json!([]))]})),
        )
        .await
        .unwrap();
    let results = retrieve(
        &knowledge,
        &kb,
        query(
            "How quickly must on-call acknowledge a page?",
            json!({"numberOfResults": 10}),
        ),
    )
    .await;
    let texts: Vec<&str> = results
        .iter()
        .map(|r| r["content"]["text"].as_str().unwrap())
        .collect();
    // About 60 MiniLM tokens make two parents (up to 40 tokens, then the rest with 2 of
    // overlap) and more children; every child is searched, but each parent comes back once.
    assert_eq!(texts.len(), 2, "{texts:?}");
    let first = tokens(texts[1]);
    assert!((35..=40).contains(&first), "{first} tokens: {texts:?}");
    assert!(texts[0].contains("15 minutes"), "{texts:?}");
    assert!(knowledge.indexed_chunks(&kb) > 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retrieve_and_generate_answers_from_the_results_and_cites_them() {
    let fixture = Fixture::new();
    let knowledge = fixture.open();
    let kb = create_kb(&knowledge);
    let ds = custom_ds(&knowledge, &kb);
    ingest_handbook(&knowledge, &kb, &ds).await;
    let body = |session: Option<&str>| {
        let mut body = json!({
            "input": {"text": "How many days are database backups kept?"},
            "retrieveAndGenerateConfiguration": {"type": "KNOWLEDGE_BASE", "knowledgeBaseConfiguration": {
                "knowledgeBaseId": kb.as_str(), "modelArn": SMOLLM2,
                "retrievalConfiguration": {"vectorSearchConfiguration": {"numberOfResults": 2}},
                "generationConfiguration": {"inferenceConfig": {"textInferenceConfig": {"maxTokens": 48, "temperature": 0}}}
            }}
        });
        if let Some(session) = session {
            body["sessionId"] = json!(session);
        }
        parse::<RetrieveAndGenerateInput>(body)
    };
    let first = knowledge.retrieve_and_generate(&body(None)).await.unwrap();
    assert!(!first.output.text.is_empty());
    let chars: Vec<char> = first.output.text.chars().collect();
    assert!(!first.citations.is_empty());
    for citation in &first.citations {
        let part = &citation.generated_response_part.text_response_part;
        let slice: String = chars[part.span.start..=part.span.end].iter().collect();
        assert_eq!(slice, part.text);
    }
    let cited: Vec<&str> = first
        .citations
        .iter()
        .flat_map(|c| &c.retrieved_references)
        .map(|r| r.location.uri())
        .collect();
    // The answer restates the backup document: some sentence of it must cite that document.
    assert!(
        cited.contains(&"backups"),
        "{:?} cites {cited:?}",
        first.output.text
    );
    assert!(
        cited
            .iter()
            .all(|uri| ["backups", "oncall", "holidays"].contains(uri)),
        "{cited:?}"
    );

    // Streamed at temperature 0, the same answer and the same citations.
    let mut stream = knowledge
        .retrieve_and_generate_stream(&body(None))
        .await
        .unwrap();
    let (mut text, mut citations) = (String::new(), Vec::new());
    while let Some(event) = stream.events.recv().await {
        match event {
            RagEvent::Output(delta) => text.push_str(&delta),
            RagEvent::Citation(citation) => citations.push(citation),
            RagEvent::Failed(error) => panic!("{error}"),
            RagEvent::Guardrail(action) => panic!("no guardrail was named, yet {action:?}"),
        }
    }
    assert_eq!(text, first.output.text);
    assert_eq!(citations, first.citations);
    assert_ne!(stream.session_id, first.session_id);

    // The same question in the same session at temperature 0 continues the conversation.
    let second = knowledge
        .retrieve_and_generate(&body(Some(&first.session_id)))
        .await
        .unwrap();
    assert_eq!(second.session_id, first.session_id);
    let error = knowledge
        .retrieve_and_generate(&body(Some("no-such-session")))
        .await
        .unwrap_err();
    assert!(matches!(error, KnowledgeError::NotFound(_)), "{error:?}");

    let mut bad = serde_json::to_value(json!({
        "input": {"text": "q"},
        "retrieveAndGenerateConfiguration": {"type": "KNOWLEDGE_BASE", "knowledgeBaseConfiguration": {
            "knowledgeBaseId": kb.as_str(), "modelArn": MINILM}}
    }))
    .unwrap();
    let error = knowledge
        .retrieve_and_generate(&parse(bad.clone()))
        .await
        .unwrap_err();
    assert_eq!(
        field_of(error),
        "retrieveAndGenerateConfiguration.knowledgeBaseConfiguration.modelArn"
    );
    bad["retrieveAndGenerateConfiguration"]["knowledgeBaseConfiguration"]["modelArn"] =
        json!(SMOLLM2);
    bad["retrieveAndGenerateConfiguration"]["knowledgeBaseConfiguration"]["generationConfiguration"] =
        json!({"inferenceConfig": {"textInferenceConfig": {"temperature": 7}}});
    let error = knowledge
        .retrieve_and_generate(&parse(bad))
        .await
        .unwrap_err();
    assert_eq!(
        field_of(error),
        "retrieveAndGenerateConfiguration.knowledgeBaseConfiguration.generationConfiguration.inferenceConfig.textInferenceConfig.temperature"
    );
}

/// Part numbers of one product line, described alike: only the exact number tells them apart,
/// which is what keyword search adds to embeddings.
fn parts() -> Vec<(String, String)> {
    let kinds = ["pump", "valve", "filter", "gasket", "sensor", "hose"];
    (0..24)
        .map(|i| {
            let number = format!("KX-{}", 3107 + i * 379 % 997);
            let text = format!(
                "Part {number} is a replacement {} for the model 7 coolant loop.",
                kinds[i % kinds.len()]
            );
            (number, text)
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hybrid_search_finds_exact_terms_that_embeddings_blur() {
    let fixture = Fixture::new();
    let knowledge = fixture.open();
    let kb = create_kb(&knowledge);
    let ds = custom_ds(&knowledge, &kb);
    let parts = parts();
    // IngestKnowledgeBaseDocuments takes ten documents a call.
    for batch in parts.chunks(10) {
        let documents: Vec<Value> = batch
            .iter()
            .map(|(number, text)| inline_doc(number, text, json!([])))
            .collect();
        knowledge
            .ingest_documents(&kb, &ds, parse(json!({"documents": documents})))
            .await
            .unwrap();
    }
    let mut correct = [0, 0];
    for (number, _) in &parts {
        for (i, search_type) in ["SEMANTIC", "HYBRID"].into_iter().enumerate() {
            let results = retrieve(
                &knowledge,
                &kb,
                query(
                    &format!("Which part is {number}?"),
                    json!({"numberOfResults": 3, "overrideSearchType": search_type}),
                ),
            )
            .await;
            if results[0]["location"]["customDocumentLocation"]["id"] == number.as_str() {
                correct[i] += 1;
            }
        }
    }
    let [semantic, hybrid] = correct;
    eprintln!("top-1 on part numbers: semantic {semantic}/24, hybrid {hybrid}/24");
    assert_eq!(
        hybrid,
        parts.len(),
        "hybrid top-1 {hybrid}, semantic {semantic}"
    );
    assert!(semantic < hybrid, "the query set must need exact terms");
    // Hybrid is the default, as Bedrock picks it for stores with a text index.
    let (number, _) = &parts[7];
    let results = retrieve(&knowledge, &kb, query(&format!("part {number}"), json!({}))).await;
    assert_eq!(
        results[0]["location"]["customDocumentLocation"]["id"],
        number.as_str()
    );

    // Keyword entries survive a restart (committed), and a lost one is rewritten at open;
    // the vector graph comes back from its saved file.
    knowledge.checkpoint().unwrap();
    assert!(
        fixture
            .dir
            .path()
            .join(format!("knowledge-vectors/{kb}.hnsw"))
            .is_file()
    );
    drop(knowledge);
    let knowledge = fixture.open();
    let semantic = retrieve(
        &knowledge,
        &kb,
        query(
            "Which part is a thermal fuse?",
            json!({"overrideSearchType": "SEMANTIC", "numberOfResults": 24}),
        ),
    )
    .await;
    assert_eq!(
        semantic.len(),
        parts.len(),
        "every chunk is searchable again"
    );
    let (number, _) = &parts[11];
    let results = retrieve(
        &knowledge,
        &kb,
        query(
            number,
            json!({"overrideSearchType": "HYBRID", "numberOfResults": 1}),
        ),
    )
    .await;
    assert_eq!(
        results[0]["location"]["customDocumentLocation"]["id"],
        number.as_str()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rerank_orders_sources_and_retrieve_reranks_its_results() {
    let fixture = Fixture::new();
    let knowledge = fixture.open();
    let rerank = |body: Value| {
        let knowledge = knowledge.clone();
        async move {
            let input: mantle_knowledge::RerankInput = parse(body);
            knowledge.rerank(&input).await
        }
    };
    let source = |text: &str| json!({"type": "INLINE", "inlineDocumentSource": {"type": "TEXT", "textDocument": {"text": text}}});
    let config = |n: Option<u32>| {
        let mut bedrock = json!({"modelConfiguration": {"modelArn": "arn:aws:bedrock:us-west-2::foundation-model/amazon.rerank-v1:0"}});
        if let Some(n) = n {
            bedrock["numberOfResults"] = json!(n);
        }
        json!({"type": "BEDROCK_RERANKING_MODEL", "bedrockRerankingConfiguration": bedrock})
    };
    let output = rerank(json!({
        "queries": [{"type": "TEXT", "textQuery": {"text": "How long are database backups kept?"}}],
        "sources": [
            source("The cafeteria opens at eight."),
            source("Backups of the database are retained for 35 days."),
            {"type": "INLINE", "inlineDocumentSource": {"type": "JSON", "jsonDocument": {"topic": "parking", "rule": "badge required"}}},
        ],
        "rerankingConfiguration": config(Some(2)),
    }))
    .await
    .unwrap();
    let output = serde_json::to_value(output).unwrap();
    let results = output["results"].as_array().unwrap();
    assert_eq!(results.len(), 2);
    assert_eq!(results[0]["index"], 1);
    assert_eq!(
        results[0]["document"]["textDocument"]["text"],
        "Backups of the database are retained for 35 days."
    );
    let (first, second) = (
        results[0]["relevanceScore"].as_f64().unwrap(),
        results[1]["relevanceScore"].as_f64().unwrap(),
    );
    assert!(first > second && first <= 1.0, "{first} {second}");

    let two_queries = json!({
        "queries": [{"type": "TEXT", "textQuery": {"text": "a"}}, {"type": "TEXT", "textQuery": {"text": "b"}}],
        "sources": [source("x")],
        "rerankingConfiguration": config(None),
    });
    assert_eq!(field_of(rerank(two_queries).await.unwrap_err()), "queries");
    let text_model = json!({
        "queries": [{"type": "TEXT", "textQuery": {"text": "a"}}],
        "sources": [source("x")],
        "rerankingConfiguration": {"type": "BEDROCK_RERANKING_MODEL", "bedrockRerankingConfiguration": {"modelConfiguration": {"modelArn": SMOLLM2}}},
    });
    assert_eq!(
        field_of(rerank(text_model).await.unwrap_err()),
        "rerankingConfiguration.bedrockRerankingConfiguration.modelConfiguration.modelArn"
    );

    // Retrieve's rerankingConfiguration: results scored again and cut to numberOfRerankedResults.
    let kb = create_kb(&knowledge);
    let ds = custom_ds(&knowledge, &kb);
    ingest_handbook(&knowledge, &kb, &ds).await;
    let results = retrieve(
        &knowledge,
        &kb,
        query(
            "How long are database backups kept?",
            json!({"numberOfResults": 3, "rerankingConfiguration": {
                "type": "BEDROCK_RERANKING_MODEL",
                "bedrockRerankingConfiguration": {
                    "modelConfiguration": {"modelArn": MINILM},
                    "numberOfRerankedResults": 2,
                    "metadataConfiguration": {"selectionMode": "SELECTIVE", "selectiveModeConfiguration": {"fieldsToInclude": [{"fieldName": "team"}]}},
                },
            }}),
        ),
    )
    .await;
    assert_eq!(results.len(), 2);
    assert_eq!(
        results[0]["location"]["customDocumentLocation"]["id"],
        "backups"
    );
    let error = knowledge
        .retrieve(
            &kb,
            &parse(query("x", json!({"rerankingConfiguration": {
                "type": "BEDROCK_RERANKING_MODEL",
                "bedrockRerankingConfiguration": {
                    "modelConfiguration": {"modelArn": MINILM},
                    "metadataConfiguration": {"selectionMode": "SELECTIVE", "selectiveModeConfiguration": {}},
                },
            }}))),
        )
        .await
        .unwrap_err();
    assert_eq!(
        field_of(error),
        "retrievalConfiguration.vectorSearchConfiguration.rerankingConfiguration.bedrockRerankingConfiguration.metadataConfiguration.selectiveModeConfiguration"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn guardrails_check_retrieve_queries_and_rag_questions_and_answers() {
    let fixture = Fixture::new();
    let (knowledge, guardrails) = fixture.open_with_guardrails();
    let kb = create_kb(&knowledge);
    let ds = custom_ds(&knowledge, &kb);
    ingest_handbook(&knowledge, &kb, &ds).await;
    let guardrail = guardrails
        .create(parse(json!({
            "name": "handbook",
            "blockedInputMessaging": "Sorry, I cannot help with that.",
            "blockedOutputsMessaging": "Sorry, I cannot answer that.",
            "wordPolicyConfig": {"wordsConfig": [{"text": "payroll"}]},
            "sensitiveInformationPolicyConfig": {"piiEntitiesConfig": [{"type": "EMAIL", "action": "ANONYMIZE"}]},
        })))
        .await
        .unwrap()
        .guardrail_id;
    let reference = json!({"guardrailId": guardrail.as_str(), "guardrailVersion": "DRAFT"});

    let guarded = |text: &str| {
        let mut body = query(text, json!({"numberOfResults": 2}));
        body["guardrailConfiguration"] = reference.clone();
        parse::<RetrieveInput>(body)
    };
    let blocked = knowledge
        .retrieve(&kb, &guarded("Where is the payroll calendar?"))
        .await
        .unwrap();
    let blocked = serde_json::to_value(blocked).unwrap();
    assert_eq!(blocked["guardrailAction"], "INTERVENED");
    assert_eq!(blocked["retrievalResults"], json!([]));
    let passed = knowledge
        .retrieve(&kb, &guarded("How long are backups kept?"))
        .await
        .unwrap();
    let passed = serde_json::to_value(passed).unwrap();
    assert_eq!(passed["guardrailAction"], "NONE");
    assert_eq!(passed["retrievalResults"].as_array().unwrap().len(), 2);
    // A masked query still searches, with its finding masked; the action says so.
    let masked = knowledge
        .retrieve(
            &kb,
            &guarded("ops@example.com asks how long backups are kept"),
        )
        .await
        .unwrap();
    let masked = serde_json::to_value(masked).unwrap();
    assert_eq!(masked["guardrailAction"], "INTERVENED");
    assert_eq!(
        masked["retrievalResults"][0]["location"]["customDocumentLocation"]["id"],
        "backups"
    );
    let mut bad = query("x", json!({}));
    bad["guardrailConfiguration"] =
        json!({"guardrailId": guardrail.as_str(), "guardrailVersion": "v1"});
    let error = knowledge.retrieve(&kb, &parse(bad)).await.unwrap_err();
    assert_eq!(field_of(error), "guardrailConfiguration.guardrailVersion");

    let rag = |question: &str| {
        parse::<RetrieveAndGenerateInput>(json!({
            "input": {"text": question},
            "retrieveAndGenerateConfiguration": {"type": "KNOWLEDGE_BASE", "knowledgeBaseConfiguration": {
                "knowledgeBaseId": kb.as_str(), "modelArn": SMOLLM2,
                "generationConfiguration": {
                    "guardrailConfiguration": reference.clone(),
                    "inferenceConfig": {"textInferenceConfig": {"temperature": 0, "maxTokens": 40}},
                },
            }},
        }))
    };
    let answer = knowledge
        .retrieve_and_generate(&rag("Tell me about payroll."))
        .await
        .unwrap();
    assert_eq!(answer.output.text, "Sorry, I cannot help with that.");
    assert!(answer.citations.is_empty());
    assert_eq!(
        answer.guardrail_action,
        Some(mantle_knowledge::GuardrailAction::Intervened)
    );
    let answer = knowledge
        .retrieve_and_generate(&rag("How long are database backups kept?"))
        .await
        .unwrap();
    assert_eq!(
        answer.guardrail_action,
        Some(mantle_knowledge::GuardrailAction::None)
    );
    assert!(!answer.output.text.is_empty());

    // The stream sends a guarded answer whole, then the guardrail event.
    let mut stream = knowledge
        .retrieve_and_generate_stream(&rag("Tell me about payroll."))
        .await
        .unwrap();
    let mut events = Vec::new();
    while let Some(event) = stream.events.recv().await {
        events.push(event);
    }
    assert!(
        matches!(&events[0], RagEvent::Output(text) if text == "Sorry, I cannot help with that."),
        "{events:?}"
    );
    assert!(matches!(
        events[1],
        RagEvent::Guardrail(mantle_knowledge::GuardrailAction::Intervened)
    ));
    assert_eq!(events.len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chunks_are_sized_in_the_embedding_models_tokens() {
    let fixture = Fixture::new();
    let knowledge = fixture.open();
    let kb = create_kb(&knowledge);
    let ds = create_ds(
        &knowledge,
        &kb,
        json!({
            "name": "sized",
            "dataSourceConfiguration": {"type": "CUSTOM"},
            "vectorIngestionConfiguration": {"chunkingConfiguration": {
                "chunkingStrategy": "FIXED_SIZE",
                "fixedSizeChunkingConfiguration": {"maxTokens": 20, "overlapPercentage": 10}
            }}
        }),
    );
    // Words that are several word pieces each: 20 words are far more than 20 tokens.
    let text = "Interoperability of microservices: 2024-03-17T02:00Z snapshots, \
                SHA-256 checksums and cross-region replication (eu-west-3 → us-east-1) \
                guarantee recoverability; the orchestrator's idempotency keys deduplicate \
                retransmissions automatically."
        .repeat(3);
    knowledge
        .ingest_documents(
            &kb,
            &ds,
            parse(json!({"documents": [inline_doc("dense", &text, json!([]))]})),
        )
        .await
        .unwrap();
    let results = retrieve(
        &knowledge,
        &kb,
        query("checksums and replication", json!({"numberOfResults": 50})),
    )
    .await;
    assert!(results.len() > 3, "{results:?}");
    let mut largest = 0;
    for result in &results {
        let chunk = result["content"]["text"].as_str().unwrap();
        let n = tokens(chunk);
        assert!(n <= 20, "a chunk of {n} tokens: {chunk:?}");
        assert!(chunk.split_whitespace().count() < 20, "{chunk:?}");
        largest = largest.max(n);
    }
    assert!(
        largest >= 15,
        "windows are filled up to the limit: {largest}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn semantic_chunking_ends_chunks_where_the_subject_changes() {
    let fixture = Fixture::new();
    let knowledge = fixture.open();
    let kb = create_kb(&knowledge);
    let ds = create_ds(
        &knowledge,
        &kb,
        json!({
            "name": "semantic",
            "dataSourceConfiguration": {"type": "CUSTOM"},
            "vectorIngestionConfiguration": {"chunkingConfiguration": {
                "chunkingStrategy": "SEMANTIC",
                "semanticChunkingConfiguration": {"maxTokens": 300, "bufferSize": 0, "breakpointPercentileThreshold": 80}
            }}
        }),
    );
    let baking = [
        "Sourdough bread needs a lively starter fed with flour and water.",
        "The dough rises slowly overnight in a cool kitchen.",
        "Bake the loaf in a hot oven until the crust is dark and crisp.",
        "Let the bread cool before slicing it.",
    ];
    let volcanoes = [
        "Volcanoes form where magma rises through cracks in the Earth's crust.",
        "An eruption throws ash and lava high into the sky.",
        "Geologists monitor seismic tremors to forecast eruptions.",
        "Lava flows cool into black basalt rock.",
    ];
    let text = format!("{} {}", baking.join(" "), volcanoes.join(" "));
    let details = knowledge
        .ingest_documents(
            &kb,
            &ds,
            parse(json!({"documents": [inline_doc("topics", &text, json!([]))]})),
        )
        .await
        .unwrap();
    let details = serde_json::to_value(details).unwrap();
    assert_eq!(
        details["documentDetails"][0]["status"], "INDEXED",
        "{details}"
    );
    let results = retrieve(
        &knowledge,
        &kb,
        query("How is lava made?", json!({"numberOfResults": 10})),
    )
    .await;
    let chunks: Vec<&str> = results
        .iter()
        .map(|r| r["content"]["text"].as_str().unwrap())
        .collect();
    // Well under maxTokens, so only the change of subject can have cut the text.
    assert!(tokens(&text) < 300);
    assert!(chunks.len() >= 2, "{chunks:?}");
    for chunk in &chunks {
        let on_baking = baking.iter().any(|s| chunk.contains(s));
        let on_volcanoes = volcanoes.iter().any(|s| chunk.contains(s));
        assert!(
            on_baking != on_volcanoes,
            "a chunk mixes subjects: {chunk:?}"
        );
    }
    assert!(
        volcanoes.iter().any(|s| chunks[0].contains(s)),
        "{chunks:?}"
    );
    // Every sentence is in exactly one chunk, in order.
    assert_eq!(
        chunks.iter().map(|c| c.len()).sum::<usize>() + chunks.len() - 1,
        text.len(),
        "{chunks:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_post_chunking_plugin_rewrites_drops_and_fails_only_its_document() {
    let fixture = Fixture::new();
    let knowledge = fixture.open();
    let kb = create_kb(&knowledge);
    let ds = create_ds(
        &knowledge,
        &kb,
        json!({
            "name": "transformed",
            "dataSourceConfiguration": {"type": "CUSTOM"},
            "vectorIngestionConfiguration": {
                "chunkingConfiguration": {
                    "chunkingStrategy": "FIXED_SIZE",
                    "fixedSizeChunkingConfiguration": {"maxTokens": 30, "overlapPercentage": 1}
                },
                "customTransformationConfiguration": {
                    "intermediateStorage": {"s3Location": {"uri": "s3://scratch/chunks/"}},
                    "transformations": [{
                        "stepToApply": "POST_CHUNKING",
                        "transformationFunction": {"transformationLambdaConfiguration": {
                            "lambdaArn": "arn:aws:lambda:eu-west-3:123456789012:function:chunk-transform"
                        }}
                    }]
                }
            }
        }),
    );
    let team =
        |name: &str| json!([{"key": "team", "value": {"type": "STRING", "stringValue": name}}]);
    let details = knowledge
        .ingest_documents(
            &kb,
            &ds,
            parse(json!({"documents": [
                inline_doc("backups", DOCS[0].1, team("ops")),
                inline_doc("draft", "DRAFT: backups may move to weekly snapshots next year.", team("ops")),
                inline_doc("broken", "TRAP: this chunk makes the transformation trap.", team("ops")),
            ]})),
        )
        .await
        .unwrap();
    let details = serde_json::to_value(details).unwrap();
    let status: Vec<(&str, &str)> = details["documentDetails"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["identifier"]["custom"]["id"].as_str().unwrap(),
                d["status"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        status,
        [
            ("backups", "INDEXED"),
            ("draft", "FAILED"),
            ("broken", "FAILED")
        ],
        "{details}"
    );
    // A document whose every chunk is dropped has nothing to search; the trap is the plugin's.
    let reasons = details["documentDetails"].to_string();
    assert!(reasons.contains("no chunks"), "{reasons}");
    assert!(reasons.contains("custom transformation"), "{reasons}");
    let results = retrieve(
        &knowledge,
        &kb,
        query("How long are backups kept?", json!({"numberOfResults": 5})),
    )
    .await;
    assert_eq!(results.len(), 1, "{results:?}");
    assert_eq!(
        results[0]["content"]["text"],
        format!("[team ops] {}", DOCS[0].1)
    );
    // The attributes the transformation gave each chunk are returned and filtered on, per
    // chunk: a document of several chunks passes a filter with some of them only.
    assert_eq!(results[0]["metadata"]["section"], "opening");
    assert_eq!(results[0]["metadata"]["words"], 18);
    assert_eq!(results[0]["metadata"]["team"], "ops");
    let long = "Database backups run every night at two in the morning. \
        Each backup is copied to a second region before dawn. \
        Restores are tested every month by the on-call engineer, who writes down how long the \
        restore took and what failed.";
    knowledge
        .ingest_documents(
            &kb,
            &ds,
            parse(json!({"documents": [inline_doc("long", long, team("ops"))]})),
        )
        .await
        .unwrap();
    let filtered = |filter: Value| {
        let knowledge = knowledge.clone();
        let kb = kb.clone();
        async move {
            let body =
                json!({"numberOfResults": 10, "overrideSearchType": "HYBRID", "filter": filter});
            retrieve(&knowledge, &kb, query("How are backups restored?", body)).await
        }
    };
    let all = filtered(json!({"equals": {"key": "team", "value": "ops"}})).await;
    assert!(
        all.len() >= 3,
        "the long document has several chunks: {all:?}"
    );
    let body = filtered(json!({"equals": {"key": "section", "value": "body"}})).await;
    assert_eq!(body.len(), all.len() - 2, "{body:?}");
    assert!(body.iter().all(|r| r["metadata"]["section"] == "body"
        && r["location"]["customDocumentLocation"]["id"] == "long"));
    let opening = filtered(json!({"andAll": [
        {"equals": {"key": "section", "value": "opening"}},
        {"greaterThan": {"key": "words", "value": 5}}
    ]}))
    .await;
    assert_eq!(opening.len(), 2, "{opening:?}");
}

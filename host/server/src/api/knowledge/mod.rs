//! Bedrock Knowledge Bases over HTTP: the control plane (bedrock-agent) and Retrieve /
//! RetrieveAndGenerate / Rerank (bedrock-agent-runtime), each handler a thin adapter over
//! [`mantle_knowledge::Knowledge`]. Errors answer in bedrock-agent's dialect (409 conflicts,
//! `fieldList`), rejections included (`AgentJson`, `AgentPath`).
//!
//! Trailing slashes are part of the routes, as boto3 sends them (`PUT /knowledgebases/`
//! creates, `GET /knowledgebases/{id}` reads).

mod wire;

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode};
use axum::response::IntoResponse;
use axum::{Extension, Json, Router};
use mantle_knowledge::{
    CreateKnowledgeBaseInput, DataSourceInput, DocumentIdentifiersInput, IngestDocumentsInput,
    Knowledge, ListIngestionJobsInput, ListInput, RagEvent, RerankInput, RetrieveAndGenerateInput,
    RetrieveInput, StartIngestionJobInput, UpdateKnowledgeBaseInput,
};

use crate::api::operation::{delete, get, post, put};
use crate::auth::Caller;
use crate::error::AwsError;
use crate::extract::{AgentJson, AgentPath};
use crate::state::AppState;
use wire::{
    DataSourceEnvelope, DataSourcePath, IngestionJobEnvelope, IngestionJobPath,
    KnowledgeBaseEnvelope, KnowledgeBasePath,
};

/// The knowledge-base routes, each with its Bedrock operation name.
pub(crate) fn router() -> Router<AppState> {
    const KB: &str = "/knowledgebases/{knowledgeBaseId}";
    const DS: &str = "/knowledgebases/{knowledgeBaseId}/datasources/{dataSourceId}";
    Router::new()
        .route(
            "/knowledgebases/",
            put("CreateKnowledgeBase", create_knowledge_base)
                .merge(post("ListKnowledgeBases", list_knowledge_bases)),
        )
        .route(
            KB,
            get("GetKnowledgeBase", get_knowledge_base)
                .merge(put("UpdateKnowledgeBase", update_knowledge_base))
                .merge(delete("DeleteKnowledgeBase", delete_knowledge_base)),
        )
        .route(
            &format!("{KB}/datasources/"),
            put("CreateDataSource", create_data_source)
                .merge(post("ListDataSources", list_data_sources)),
        )
        .route(
            DS,
            get("GetDataSource", get_data_source)
                .merge(put("UpdateDataSource", update_data_source))
                .merge(delete("DeleteDataSource", delete_data_source)),
        )
        .route(
            &format!("{DS}/ingestionjobs/"),
            put("StartIngestionJob", start_ingestion_job)
                .merge(post("ListIngestionJobs", list_ingestion_jobs)),
        )
        .route(
            &format!("{DS}/ingestionjobs/{{ingestionJobId}}"),
            get("GetIngestionJob", get_ingestion_job),
        )
        .route(
            &format!("{DS}/ingestionjobs/{{ingestionJobId}}/stop"),
            post("StopIngestionJob", stop_ingestion_job),
        )
        .route(
            &format!("{DS}/documents"),
            put("IngestKnowledgeBaseDocuments", ingest_documents)
                .merge(post("ListKnowledgeBaseDocuments", list_documents)),
        )
        .route(
            &format!("{DS}/documents/getDocuments"),
            post("GetKnowledgeBaseDocuments", get_documents),
        )
        .route(
            &format!("{DS}/documents/deleteDocuments"),
            post("DeleteKnowledgeBaseDocuments", delete_documents),
        )
        .route(&format!("{KB}/retrieve"), post("Retrieve", retrieve))
        .route(
            "/retrieveAndGenerate",
            post("RetrieveAndGenerate", retrieve_and_generate),
        )
        .route(
            "/retrieveAndGenerateStream",
            post("RetrieveAndGenerateStream", retrieve_and_generate_stream),
        )
        .route("/rerank", post("Rerank", rerank))
}

/// `PUT /knowledgebases/` → 202.
async fn create_knowledge_base(
    State(knowledge): State<Knowledge>,
    AgentJson(input): AgentJson<CreateKnowledgeBaseInput>,
) -> Result<impl IntoResponse, AwsError> {
    let knowledge_base = knowledge.create_knowledge_base(input)?;
    Ok((
        StatusCode::ACCEPTED,
        Json(KnowledgeBaseEnvelope { knowledge_base }),
    ))
}

/// `POST /knowledgebases/`.
async fn list_knowledge_bases(
    State(knowledge): State<Knowledge>,
    AgentJson(input): AgentJson<ListInput>,
) -> Result<impl IntoResponse, AwsError> {
    Ok(Json(knowledge.list_knowledge_bases(&input)?))
}

/// `GET /knowledgebases/{knowledgeBaseId}`.
async fn get_knowledge_base(
    State(knowledge): State<Knowledge>,
    AgentPath(path): AgentPath<KnowledgeBasePath>,
) -> Result<impl IntoResponse, AwsError> {
    let knowledge_base = knowledge.get_knowledge_base(&path.knowledge_base_id)?;
    Ok(Json(KnowledgeBaseEnvelope { knowledge_base }))
}

/// `PUT /knowledgebases/{knowledgeBaseId}` → 202.
async fn update_knowledge_base(
    State(knowledge): State<Knowledge>,
    AgentPath(path): AgentPath<KnowledgeBasePath>,
    AgentJson(input): AgentJson<UpdateKnowledgeBaseInput>,
) -> Result<impl IntoResponse, AwsError> {
    let knowledge_base = knowledge.update_knowledge_base(&path.knowledge_base_id, input)?;
    Ok((
        StatusCode::ACCEPTED,
        Json(KnowledgeBaseEnvelope { knowledge_base }),
    ))
}

/// `DELETE /knowledgebases/{knowledgeBaseId}` → 202.
async fn delete_knowledge_base(
    State(knowledge): State<Knowledge>,
    AgentPath(path): AgentPath<KnowledgeBasePath>,
) -> Result<impl IntoResponse, AwsError> {
    let deleted = knowledge.delete_knowledge_base(&path.knowledge_base_id)?;
    Ok((StatusCode::ACCEPTED, Json(deleted)))
}

/// `PUT /knowledgebases/{knowledgeBaseId}/datasources/`.
async fn create_data_source(
    State(knowledge): State<Knowledge>,
    AgentPath(path): AgentPath<KnowledgeBasePath>,
    AgentJson(input): AgentJson<DataSourceInput>,
) -> Result<impl IntoResponse, AwsError> {
    let data_source = knowledge.create_data_source(&path.knowledge_base_id, input)?;
    Ok(Json(DataSourceEnvelope { data_source }))
}

/// `POST /knowledgebases/{knowledgeBaseId}/datasources/`.
async fn list_data_sources(
    State(knowledge): State<Knowledge>,
    AgentPath(path): AgentPath<KnowledgeBasePath>,
    AgentJson(input): AgentJson<ListInput>,
) -> Result<impl IntoResponse, AwsError> {
    Ok(Json(
        knowledge.list_data_sources(&path.knowledge_base_id, &input)?,
    ))
}

/// `GET …/datasources/{dataSourceId}`.
async fn get_data_source(
    State(knowledge): State<Knowledge>,
    AgentPath(path): AgentPath<DataSourcePath>,
) -> Result<impl IntoResponse, AwsError> {
    let data_source = knowledge.get_data_source(&path.knowledge_base_id, &path.data_source_id)?;
    Ok(Json(DataSourceEnvelope { data_source }))
}

/// `PUT …/datasources/{dataSourceId}`.
async fn update_data_source(
    State(knowledge): State<Knowledge>,
    AgentPath(path): AgentPath<DataSourcePath>,
    AgentJson(input): AgentJson<DataSourceInput>,
) -> Result<impl IntoResponse, AwsError> {
    let data_source =
        knowledge.update_data_source(&path.knowledge_base_id, &path.data_source_id, input)?;
    Ok(Json(DataSourceEnvelope { data_source }))
}

/// `DELETE …/datasources/{dataSourceId}` → 202.
async fn delete_data_source(
    State(knowledge): State<Knowledge>,
    AgentPath(path): AgentPath<DataSourcePath>,
) -> Result<impl IntoResponse, AwsError> {
    let deleted = knowledge.delete_data_source(&path.knowledge_base_id, &path.data_source_id)?;
    Ok((StatusCode::ACCEPTED, Json(deleted)))
}

/// `PUT …/ingestionjobs/` → 202.
async fn start_ingestion_job(
    State(knowledge): State<Knowledge>,
    AgentPath(path): AgentPath<DataSourcePath>,
    AgentJson(input): AgentJson<StartIngestionJobInput>,
) -> Result<impl IntoResponse, AwsError> {
    let ingestion_job =
        knowledge.start_ingestion_job(&path.knowledge_base_id, &path.data_source_id, input)?;
    Ok((
        StatusCode::ACCEPTED,
        Json(IngestionJobEnvelope { ingestion_job }),
    ))
}

/// `POST …/ingestionjobs/`.
async fn list_ingestion_jobs(
    State(knowledge): State<Knowledge>,
    AgentPath(path): AgentPath<DataSourcePath>,
    AgentJson(input): AgentJson<ListIngestionJobsInput>,
) -> Result<impl IntoResponse, AwsError> {
    Ok(Json(knowledge.list_ingestion_jobs(
        &path.knowledge_base_id,
        &path.data_source_id,
        &input,
    )?))
}

/// `GET …/ingestionjobs/{ingestionJobId}`.
async fn get_ingestion_job(
    State(knowledge): State<Knowledge>,
    AgentPath(path): AgentPath<IngestionJobPath>,
) -> Result<impl IntoResponse, AwsError> {
    let ingestion_job = knowledge.get_ingestion_job(
        &path.knowledge_base_id,
        &path.data_source_id,
        &path.ingestion_job_id,
    )?;
    Ok(Json(IngestionJobEnvelope { ingestion_job }))
}

/// `POST …/ingestionjobs/{ingestionJobId}/stop` → 202.
async fn stop_ingestion_job(
    State(knowledge): State<Knowledge>,
    AgentPath(path): AgentPath<IngestionJobPath>,
) -> Result<impl IntoResponse, AwsError> {
    let ingestion_job = knowledge.stop_ingestion_job(
        &path.knowledge_base_id,
        &path.data_source_id,
        &path.ingestion_job_id,
    )?;
    Ok((
        StatusCode::ACCEPTED,
        Json(IngestionJobEnvelope { ingestion_job }),
    ))
}

/// `PUT …/documents` → 202.
async fn ingest_documents(
    State(knowledge): State<Knowledge>,
    AgentPath(path): AgentPath<DataSourcePath>,
    AgentJson(input): AgentJson<IngestDocumentsInput>,
) -> Result<impl IntoResponse, AwsError> {
    let details = knowledge
        .ingest_documents(&path.knowledge_base_id, &path.data_source_id, input)
        .await?;
    Ok((StatusCode::ACCEPTED, Json(details)))
}

/// `POST …/documents`.
async fn list_documents(
    State(knowledge): State<Knowledge>,
    AgentPath(path): AgentPath<DataSourcePath>,
    AgentJson(input): AgentJson<ListInput>,
) -> Result<impl IntoResponse, AwsError> {
    Ok(Json(knowledge.list_documents(
        &path.knowledge_base_id,
        &path.data_source_id,
        &input,
    )?))
}

/// `POST …/documents/getDocuments`.
async fn get_documents(
    State(knowledge): State<Knowledge>,
    AgentPath(path): AgentPath<DataSourcePath>,
    AgentJson(input): AgentJson<DocumentIdentifiersInput>,
) -> Result<impl IntoResponse, AwsError> {
    Ok(Json(knowledge.get_documents(
        &path.knowledge_base_id,
        &path.data_source_id,
        &input,
    )?))
}

/// `POST …/documents/deleteDocuments` → 202.
async fn delete_documents(
    State(knowledge): State<Knowledge>,
    AgentPath(path): AgentPath<DataSourcePath>,
    AgentJson(input): AgentJson<DocumentIdentifiersInput>,
) -> Result<impl IntoResponse, AwsError> {
    let details =
        knowledge.delete_documents(&path.knowledge_base_id, &path.data_source_id, &input)?;
    Ok((StatusCode::ACCEPTED, Json(details)))
}

/// `POST /knowledgebases/{knowledgeBaseId}/retrieve` (bedrock-agent-runtime).
async fn retrieve(
    State(knowledge): State<Knowledge>,
    AgentPath(path): AgentPath<KnowledgeBasePath>,
    AgentJson(input): AgentJson<RetrieveInput>,
) -> Result<impl IntoResponse, AwsError> {
    Ok(Json(
        knowledge.retrieve(&path.knowledge_base_id, &input).await?,
    ))
}

/// `POST /rerank` (bedrock-agent-runtime).
async fn rerank(
    State(knowledge): State<Knowledge>,
    AgentJson(input): AgentJson<RerankInput>,
) -> Result<impl IntoResponse, AwsError> {
    Ok(Json(knowledge.rerank(&input).await?))
}

/// `POST /retrieveAndGenerate` (bedrock-agent-runtime).
/// RetrieveAndGenerate names its knowledge base and model in the body, so beside the
/// operation's own action (checked on the route) the caller needs what AWS asks for too:
/// `bedrock:Retrieve` on the knowledge base and `bedrock:InvokeModel` on the model.
fn authorize_sources(
    caller: Option<&Extension<Caller>>,
    input: &RetrieveAndGenerateInput,
) -> Result<(), AwsError> {
    let (Some(Extension(caller)), Some(config)) =
        (caller, &input.retrieve_and_generate_configuration)
    else {
        return Ok(());
    };
    let principal = &caller.principal;
    if let Some(kb) = &config.knowledge_base_configuration {
        principal
            .authorize(
                "bedrock:Retrieve",
                &caller.arn("knowledge-base", &kb.knowledge_base_id),
            )
            .and_then(|()| {
                principal.authorize("bedrock:InvokeModel", &caller.model_arn(&kb.model_arn))
            })?;
    }
    if let Some(external) = &config.external_sources_configuration {
        principal.authorize(
            "bedrock:InvokeModel",
            &caller.model_arn(&external.model_arn),
        )?;
    }
    Ok(())
}

async fn retrieve_and_generate(
    State(knowledge): State<Knowledge>,
    caller: Option<Extension<Caller>>,
    AgentJson(input): AgentJson<RetrieveAndGenerateInput>,
) -> Result<impl IntoResponse, AwsError> {
    authorize_sources(caller.as_ref(), &input).map_err(AwsError::for_agent)?;
    Ok(Json(knowledge.retrieve_and_generate(&input).await?))
}

/// `POST /retrieveAndGenerateStream` (bedrock-agent-runtime): `output` events with the text as
/// it is generated, then one `citation` event per cited part; the session id rides in
/// `x-amzn-bedrock-knowledge-base-session-id`. With a guardrail, the answer is checked whole
/// and sent as one `output` event, then a `guardrail` event. A failure after the first event is an exception
/// frame, as the SDKs read it.
async fn retrieve_and_generate_stream(
    State(knowledge): State<Knowledge>,
    caller: Option<Extension<Caller>>,
    AgentJson(input): AgentJson<RetrieveAndGenerateInput>,
) -> Result<impl IntoResponse, AwsError> {
    authorize_sources(caller.as_ref(), &input).map_err(AwsError::for_agent)?;
    let mut stream = knowledge.retrieve_and_generate_stream(&input).await?;
    let (frames, mut response) = crate::api::stream::eventstream_response();
    if let Ok(value) = HeaderValue::from_str(&stream.session_id) {
        response
            .headers_mut()
            .insert("x-amzn-bedrock-knowledge-base-session-id", value);
    }
    tokio::spawn(async move {
        while let Some(event) = stream.events.recv().await {
            let frame = match event {
                RagEvent::Output(text) => {
                    crate::eventstream::event("output", &serde_json::json!({ "text": text }))
                }
                RagEvent::Citation(citation) => match serde_json::to_value(&citation) {
                    Ok(payload) => crate::eventstream::event("citation", &payload),
                    Err(error) => {
                        crate::eventstream::exception("internalServerException", &error.to_string())
                    }
                },
                RagEvent::Guardrail(action) => {
                    crate::eventstream::event("guardrail", &serde_json::json!({ "action": action }))
                }
                RagEvent::Failed(error) => {
                    let error = AwsError::from(error);
                    crate::eventstream::exception(&error.event_exception_type(), &error.message)
                }
            };
            if frames.send(frame).is_err() {
                return;
            }
        }
    });
    Ok(response)
}

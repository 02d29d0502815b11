//! # mantle-knowledge
//!
//! Bedrock Knowledge Bases as a Rust service: knowledge bases and data sources (records in
//! sled), ingestion (documents parsed by the host, split by a chunker plugin, embedded by a
//! served embedding model), an index searched with Bedrock's filters, Retrieve, and
//! RetrieveAndGenerate with citations.
//!
//! No HTTP here: operations take typed inputs ([`CreateKnowledgeBaseInput`],
//! [`RetrieveInput`], …), answer typed outputs that serialize as Bedrock's response shapes
//! ([`KnowledgeBase`], [`RetrieveOutput`], …) and fail with a [`KnowledgeError`].
//! `mantle-server` routes HTTP to them. Agents, flows and plugins call [`Knowledge::search`]
//! and [`Knowledge::retrieve_and_generate`] directly.
//!
//! ```no_run
//! # async fn example(knowledge: mantle_knowledge::Knowledge) -> Result<(), mantle_knowledge::KnowledgeError> {
//! use mantle_knowledge::{RetrieveAndGenerateInput, KnowledgeBaseId};
//! let input: RetrieveAndGenerateInput = serde_json::from_value(serde_json::json!({
//!     "input": {"text": "How long are backups kept?"},
//!     "retrieveAndGenerateConfiguration": {"type": "KNOWLEDGE_BASE", "knowledgeBaseConfiguration": {
//!         "knowledgeBaseId": "KB12345678", "modelArn": "hf.smollm2-135m-instruct-v1:0"}},
//! })).unwrap();
//! let answer = knowledge.retrieve_and_generate(&input).await?;
//! for citation in &answer.citations {
//!     println!("{:?} cites {} chunks", citation.generated_response_part.text_response_part.span,
//!         citation.retrieved_references.len());
//! }
//! # Ok(()) }
//! ```

#[doc(hidden)]
pub mod bench;
mod bucket;
pub mod config;
mod documents;
mod error;
mod filter;
mod guard;
mod ids;
mod index;
mod ingest;
pub mod input;
mod jobs;
pub mod output;
pub mod rag;
mod record;
pub mod rerank;
pub mod retrieve;
mod service;
mod web;

pub use bucket::{BucketSource, S3Credentials, S3Endpoint};
pub use error::KnowledgeError;
pub use filter::{Operator, RetrievalFilter};
pub use guard::GuardrailAction;
pub use ids::{DataSourceId, IngestionJobId, KnowledgeBaseId};
pub use ingest::{BUILTIN_CHUNKER, SEMANTIC_CHUNKER};
pub use input::{
    CreateKnowledgeBaseInput, DataSourceInput, DocumentIdentifiersInput, IngestDocumentsInput,
    ListIngestionJobsInput, ListInput, StartIngestionJobInput, UpdateKnowledgeBaseInput,
};
pub use output::{
    DataSource, DataSourcePage, DeletedDataSource, DeletedKnowledgeBase, DocumentDetails,
    IngestionJob, IngestionJobPage, KnowledgeBase, KnowledgeBasePage,
};
pub use rag::{RagEvent, RagOutput, RagStream, RetrieveAndGenerateInput};
pub use rerank::{RerankInput, RerankOutput};
pub use retrieve::{RetrievalResult, RetrieveInput, RetrieveOutput, SearchRequest, SearchType};
pub use service::{ArnScope, Knowledge, KnowledgeDirs, SAVE_EVERY};

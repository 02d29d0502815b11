//! The plugin `knowledge` import, served by the knowledge-base service.
//!
//! The registry is opened before the knowledge-base service (whose ingestion runs chunker
//! plugins), so the import is bound to the service once it exists; a call before then answers
//! `unavailable`.

use std::sync::OnceLock;

use mantle_knowledge::{Knowledge, KnowledgeBaseId, SearchRequest};
use mantle_plugins::services::{BoxFuture, KnowledgeService, Retrieved};

/// [`KnowledgeService`] over [`Knowledge::search`].
#[derive(Debug, Default)]
pub struct PluginKnowledge {
    knowledge: OnceLock<Knowledge>,
}

impl PluginKnowledge {
    /// Binds the import to the service; later calls keep the first.
    pub fn bind(&self, knowledge: Knowledge) {
        let _ = self.knowledge.set(knowledge);
    }
}

impl KnowledgeService for PluginKnowledge {
    fn retrieve(
        &self,
        knowledge_base_id: &str,
        query: &str,
        max_results: u32,
    ) -> BoxFuture<Result<Vec<Retrieved>, String>> {
        let knowledge = self.knowledge.get().cloned();
        let id = knowledge_base_id.parse::<KnowledgeBaseId>();
        let search = SearchRequest::new(query, max_results.clamp(1, 100) as usize);
        Box::pin(async move {
            let knowledge = knowledge.ok_or("knowledge bases are not available yet")?;
            let id = id.map_err(|e| e.to_string())?;
            let results = knowledge
                .search(&id, &search)
                .await
                .map_err(|e| e.to_string())?;
            Ok(results
                .into_iter()
                .map(|result| Retrieved {
                    location: result.location.uri().to_owned(),
                    score: result.score as f32,
                    metadata: result
                        .metadata
                        .into_iter()
                        .map(|(k, v)| (k, v.as_str().map_or_else(|| v.to_string(), str::to_owned)))
                        .collect(),
                    text: result.content.text,
                })
                .collect())
        })
    }
}

//! The index without the service around it, for `cargo xtask bench knowledge` (which measures
//! vector search on synthetic corpora far larger than a test would ingest). Not a stable API.

use std::collections::BTreeMap;
use std::path::Path;

use crate::index::{Index, IndexedDoc, Mode, Query};
use crate::record::StoredChunk;
use crate::retrieve::Location;

/// The texts of every searchable chunk `knowledge` holds for `kb`, as they were embedded.
pub fn chunk_texts(knowledge: &crate::Knowledge, kb: &crate::KnowledgeBaseId) -> Vec<String> {
    knowledge.inner.index.chunk_texts(kb.as_str())
}

/// A knowledge base's index, filled with precomputed unit vectors.
#[derive(Debug)]
pub struct VectorIndex {
    index: Index,
}

impl VectorIndex {
    /// An empty index whose files live in `dir`.
    pub fn open(dir: &Path) -> Result<Self, String> {
        Ok(Self {
            index: Index::open(&dir.join("keywords"), &dir.join("vectors"))?,
        })
    }

    /// Saves the vector graph under `dir`, as the service does after changes.
    pub fn save(&self) -> Result<(), String> {
        self.index.save_vectors()
    }

    /// Opens the index in `dir` again, its documents put back as the service does at start
    /// (the saved graph reused where it matches). Returns how many documents were reused.
    pub fn reopen(
        dir: &Path,
        docs: impl IntoIterator<Item = (usize, Vec<Vec<f32>>)>,
    ) -> Result<(Self, usize), String> {
        let opened = Self::open(dir)?;
        let mut restorer = opened.index.restorer();
        for (id, vectors) in docs {
            restorer.put("bench", format!("{id}"), document(id, vectors), false);
        }
        let restored = restorer.finish();
        Ok((opened, restored.reused))
    }

    /// Adds document `id` with one chunk per vector (vectors must be unit length).
    pub fn add_document(&self, id: usize, vectors: Vec<Vec<f32>>) {
        self.index
            .put("bench", format!("{id}"), document(id, vectors), false);
    }

    pub fn len(&self) -> usize {
        self.index.len("bench")
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The `k` nearest chunks as (document id, chunk), as Retrieve's SEMANTIC search finds them.
    pub fn search(&self, query: &[f32], k: usize) -> Vec<(usize, usize)> {
        self.index
            .search(
                "bench",
                &Query {
                    vector: query,
                    text: "",
                    k,
                    filter: None,
                    mode: Mode::Semantic,
                },
            )
            .into_iter()
            .filter_map(|hit| Some((hit.doc.location.uri().parse().ok()?, hit.chunk)))
            .collect()
    }
}

fn document(id: usize, vectors: Vec<Vec<f32>>) -> IndexedDoc {
    let chunks = vectors
        .into_iter()
        .map(|vector| StoredChunk {
            text: String::new(),
            vector,
            parent: None,
            metadata: BTreeMap::new(),
        })
        .collect();
    IndexedDoc {
        serial: 0,
        data_source_id: "BENCH00000".into(),
        content_hash: format!("{id:016}"),
        location: Location::custom(id.to_string()),
        metadata: BTreeMap::new(),
        chunks,
    }
}

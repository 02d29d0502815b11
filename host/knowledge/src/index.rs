//! The in-memory vector index: every searchable chunk of every indexed document, rebuilt from
//! the sled records (the source of truth) when the service opens.
//!
//! Search is exact: a filter is checked once per document, then each of its chunks is scored
//! with a dot product (vectors are unit length, so that is the cosine). Exact search has
//! perfect recall and filters inside the scan, so a selective filter still fills
//! `numberOfResults`.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, RwLock};

use serde_json::Value;

use crate::filter::RetrievalFilter;
use crate::record::StoredChunk;
use crate::retrieve::Location;

/// One indexed document, shared with the search results that point into it.
#[derive(Debug)]
pub(crate) struct IndexedDoc {
    pub(crate) data_source_id: String,
    pub(crate) content_hash: String,
    pub(crate) location: Location,
    pub(crate) metadata: BTreeMap<String, Value>,
    pub(crate) chunks: Vec<StoredChunk>,
}

/// A result: the chunk to return (a hierarchical child's parent) and its best score.
#[derive(Debug, Clone)]
pub(crate) struct Hit {
    pub(crate) doc: Arc<IndexedDoc>,
    pub(crate) chunk: usize,
    pub(crate) similarity: f32,
}

#[derive(Debug, Default)]
pub(crate) struct Index {
    /// Knowledge base id → (`{dataSourceId}/{document key}` → document).
    kbs: RwLock<HashMap<String, BTreeMap<String, Arc<IndexedDoc>>>>,
}

impl Index {
    pub(crate) fn put(&self, kb: &str, key: String, doc: IndexedDoc) {
        let mut kbs = self.kbs.write().unwrap_or_else(|e| e.into_inner());
        kbs.entry(kb.to_owned())
            .or_default()
            .insert(key, Arc::new(doc));
    }

    pub(crate) fn remove(&self, kb: &str, key: &str) {
        let mut kbs = self.kbs.write().unwrap_or_else(|e| e.into_inner());
        if let Some(docs) = kbs.get_mut(kb) {
            docs.remove(key);
        }
    }

    /// Removes every document whose key starts with `prefix` (a data source's).
    pub(crate) fn remove_prefix(&self, kb: &str, prefix: &str) {
        let mut kbs = self.kbs.write().unwrap_or_else(|e| e.into_inner());
        if let Some(docs) = kbs.get_mut(kb) {
            docs.retain(|key, _| !key.starts_with(prefix));
        }
    }

    pub(crate) fn drop_knowledge_base(&self, kb: &str) {
        let mut kbs = self.kbs.write().unwrap_or_else(|e| e.into_inner());
        kbs.remove(kb);
    }

    /// Searchable chunks in a knowledge base.
    pub(crate) fn len(&self, kb: &str) -> usize {
        let kbs = self.kbs.read().unwrap_or_else(|e| e.into_inner());
        kbs.get(kb).map_or(0, |docs| {
            docs.values()
                .map(|d| d.chunks.iter().filter(|c| !c.vector.is_empty()).count())
                .sum()
        })
    }

    /// The `k` best chunks for `query` among documents that pass `filter`, best first.
    pub(crate) fn search(
        &self,
        kb: &str,
        query: &[f32],
        k: usize,
        filter: Option<&RetrievalFilter>,
    ) -> Vec<Hit> {
        let kbs = self.kbs.read().unwrap_or_else(|e| e.into_inner());
        let Some(docs) = kbs.get(kb) else {
            return Vec::new();
        };
        let mut best: Vec<Hit> = Vec::with_capacity(k + 1);
        for doc in docs.values() {
            if filter.is_some_and(|f| !f.matches(&doc.metadata)) {
                continue;
            }
            // Children of one parent return the same text: keep the parent once, at its
            // best child's score.
            let mut units: Vec<(usize, f32)> = Vec::new();
            for (i, chunk) in doc.chunks.iter().enumerate() {
                if chunk.vector.len() != query.len() {
                    continue;
                }
                let unit = chunk.parent.map_or(i, |p| p as usize);
                let similarity = dot(&chunk.vector, query);
                match units.iter_mut().find(|(u, _)| *u == unit) {
                    Some((_, s)) => *s = s.max(similarity),
                    None => units.push((unit, similarity)),
                }
            }
            for (chunk, similarity) in units {
                if best.len() == k && best.last().is_some_and(|h| h.similarity >= similarity) {
                    continue;
                }
                let at = best.partition_point(|h| h.similarity >= similarity);
                best.insert(
                    at,
                    Hit {
                        doc: doc.clone(),
                        chunk,
                        similarity,
                    },
                );
                best.truncate(k);
            }
        }
        best
    }
}

/// The dot product, written so the compiler vectorizes it (eight independent lanes).
pub(crate) fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut lanes = [0f32; 8];
    let (a8, b8) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f32 = a8
        .remainder()
        .iter()
        .zip(b8.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (x, y) in a8.zip(b8) {
        for i in 0..8 {
            lanes[i] += x[i] * y[i];
        }
    }
    lanes.iter().sum::<f32>() + tail
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn doc(metadata: Value, chunks: Vec<(Vec<f32>, Option<u32>)>) -> IndexedDoc {
        IndexedDoc {
            data_source_id: "DS00000001".into(),
            content_hash: "h".into(),
            location: Location::custom("d"),
            metadata: serde_json::from_value(metadata).unwrap(),
            chunks: chunks
                .into_iter()
                .enumerate()
                .map(|(i, (vector, parent))| StoredChunk {
                    text: format!("chunk {i}"),
                    vector,
                    parent,
                })
                .collect(),
        }
    }

    #[test]
    fn search_ranks_filters_inside_and_folds_children_into_parents() {
        let index = Index::default();
        index.put(
            "kb",
            "a".into(),
            doc(
                json!({"team": "x"}),
                vec![(vec![1.0, 0.0], None), (vec![0.6, 0.8], None)],
            ),
        );
        index.put(
            "kb",
            "b".into(),
            doc(
                json!({"team": "y"}),
                vec![
                    (vec![], None),
                    (vec![0.8, 0.6], Some(0)),
                    (vec![0.9, 0.436], Some(0)),
                ],
            ),
        );
        let hits = index.search("kb", &[1.0, 0.0], 10, None);
        let got: Vec<(String, usize)> = hits
            .iter()
            .map(|h| (h.doc.metadata["team"].as_str().unwrap().to_owned(), h.chunk))
            .collect();
        assert_eq!(got, [("x".into(), 0), ("y".into(), 0), ("x".into(), 1)]);
        assert!((hits[1].similarity - 0.9).abs() < 1e-6);

        let only_y =
            RetrievalFilter::parse(&json!({"equals": {"key": "team", "value": "y"}}), "f").unwrap();
        let hits = index.search("kb", &[1.0, 0.0], 1, Some(&only_y));
        assert_eq!(hits.len(), 1);
        assert_eq!(hits[0].doc.metadata["team"], "y");
        assert_eq!(index.len("kb"), 4);
        index.remove_prefix("kb", "a");
        assert_eq!(index.len("kb"), 2);
    }

    #[test]
    fn dot_matches_the_plain_sum() {
        let a: Vec<f32> = (0..19).map(|i| i as f32 * 0.5).collect();
        let b: Vec<f32> = (0..19).map(|i| 1.0 - i as f32 * 0.1).collect();
        let plain: f32 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
        assert!((dot(&a, &b) - plain).abs() < 1e-4);
    }
}

//! Approximate vector search: one usearch HNSW graph per knowledge base.
//!
//! Vectors are unit length, so the inner product is the cosine. The graph is saved beside the
//! records and reconciled with them at open (`persist.rs`); small or heavily filtered searches
//! skip it and scan exactly (see `mod.rs`), so it only has to be good where exact search is
//! too slow.

use usearch::{Index, IndexOptions, MetricKind, ScalarKind};

/// Neighbours per node and candidate-list sizes: the usual HNSW settings for ~0.99 recall@10
/// on sentence embeddings; `cargo xtask bench knowledge` measures them.
const CONNECTIVITY: usize = 16;
const EXPANSION_ADD: usize = 128;
const EXPANSION_SEARCH: usize = 96;

fn options(dimensions: usize) -> IndexOptions {
    IndexOptions {
        dimensions,
        metric: MetricKind::IP,
        quantization: ScalarKind::F32,
        connectivity: CONNECTIVITY,
        expansion_add: EXPANSION_ADD,
        expansion_search: EXPANSION_SEARCH,
        multi: false,
    }
}

pub(crate) struct Ann {
    index: Index,
    dimensions: usize,
}

impl std::fmt::Debug for Ann {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ann")
            .field("dimensions", &self.dimensions)
            .field("size", &self.index.size())
            .finish()
    }
}

impl Ann {
    pub(crate) fn new(dimensions: usize) -> Result<Self, String> {
        let index = Index::new(&options(dimensions)).map_err(|e| e.to_string())?;
        Ok(Self { index, dimensions })
    }

    /// A graph [`Ann::to_bytes`] wrote.
    pub(crate) fn from_bytes(dimensions: usize, bytes: &[u8]) -> Result<Self, String> {
        let ann = Self::new(dimensions)?;
        ann.index
            .load_from_buffer(bytes)
            .map_err(|e| format!("graph: {e}"))?;
        // Search-time settings are not part of the file; a load must not fall back to
        // usearch's defaults.
        ann.index.change_expansion_add(EXPANSION_ADD);
        ann.index.change_expansion_search(EXPANSION_SEARCH);
        if ann.index.dimensions() != dimensions {
            return Err(format!(
                "the graph has {} dimensions, its manifest says {dimensions}",
                ann.index.dimensions()
            ));
        }
        Ok(ann)
    }

    pub(crate) fn to_bytes(&self) -> Result<Vec<u8>, String> {
        let mut bytes = vec![0; self.index.serialized_length()];
        self.index
            .save_to_buffer(&mut bytes)
            .map_err(|e| e.to_string())?;
        Ok(bytes)
    }

    pub(crate) fn dimensions(&self) -> usize {
        self.dimensions
    }

    pub(crate) fn len(&self) -> usize {
        self.index.size()
    }

    /// Adds a vector. usearch needs capacity reserved first, and reserving is not safe beside
    /// other calls: callers hold the knowledge base's write lock.
    pub(crate) fn add(&mut self, key: u64, vector: &[f32]) -> Result<(), String> {
        if vector.len() != self.dimensions {
            return Err(format!(
                "a {}-dimension vector cannot join a {}-dimension index",
                vector.len(),
                self.dimensions
            ));
        }
        if self.index.size() + 1 > self.index.capacity() {
            let capacity = (self.index.capacity() * 2).max(1024);
            self.index.reserve(capacity).map_err(|e| e.to_string())?;
        }
        self.index.add(key, vector).map_err(|e| e.to_string())
    }

    /// Adds many vectors on every core: usearch's inserts may run side by side once capacity
    /// and thread slots are reserved. Used when a graph is built whole (a start without a
    /// saved graph), where one thread would take minutes at 100,000 chunks.
    pub(crate) fn add_many(&mut self, items: &[(u64, &[f32])]) -> Result<(), String> {
        if let Some((_, bad)) = items.iter().find(|(_, v)| v.len() != self.dimensions) {
            return Err(format!(
                "a {}-dimension vector cannot join a {}-dimension index",
                bad.len(),
                self.dimensions
            ));
        }
        let threads = std::thread::available_parallelism()
            .map_or(1, std::num::NonZeroUsize::get)
            .clamp(1, items.len().max(1));
        let capacity = (self.index.size() + items.len()).max(self.index.capacity());
        self.index
            .reserve_capacity_and_threads(capacity, threads)
            .map_err(|e| e.to_string())?;
        let index = &self.index;
        let failures: Vec<String> = std::thread::scope(|scope| {
            let workers: Vec<_> = items
                .chunks(items.len().div_ceil(threads).max(1))
                .map(|part| {
                    scope.spawn(move || {
                        part.iter()
                            .filter_map(|(key, vector)| index.add(*key, vector).err())
                            .map(|e| e.to_string())
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            workers
                .into_iter()
                .flat_map(|w| {
                    w.join()
                        .unwrap_or_else(|_| vec!["an insert thread panicked".into()])
                })
                .collect()
        });
        match failures.first() {
            None => Ok(()),
            Some(first) => Err(format!(
                "{} inserts failed, the first: {first}",
                failures.len()
            )),
        }
    }

    pub(crate) fn remove(&mut self, key: u64) {
        if let Err(e) = self.index.remove(key) {
            tracing::warn!(key, error = %e, "vector index removal failed");
        }
    }

    /// The `count` nearest keys to `query` (with their cosine), among those `allowed` passes.
    pub(crate) fn search(
        &self,
        query: &[f32],
        count: usize,
        allowed: Option<&dyn Fn(u64) -> bool>,
    ) -> Vec<(u64, f32)> {
        if query.len() != self.dimensions || self.index.size() == 0 {
            return Vec::new();
        }
        let matches = match allowed {
            Some(allowed) => self.index.filtered_search(query, count, allowed),
            None => self.index.search(query, count),
        };
        match matches {
            // usearch's inner-product distance is `1 - dot`.
            Ok(m) => m
                .keys
                .into_iter()
                .zip(m.distances)
                .map(|(key, distance)| (key, 1.0 - distance))
                .collect(),
            Err(e) => {
                tracing::warn!(error = %e, "vector search failed");
                Vec::new()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(v: &[f32]) -> Vec<f32> {
        let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        v.iter().map(|x| x / norm).collect()
    }

    #[test]
    fn finds_neighbours_filters_and_forgets_removed_keys() {
        let mut ann = Ann::new(3).unwrap();
        for i in 0..2000u64 {
            // Angles below 2π, so key 0 alone sits at angle 0.
            let t = i as f32 / 400.0;
            ann.add(i, &unit(&[t.cos(), t.sin(), 0.1])).unwrap();
        }
        assert_eq!(ann.len(), 2000);
        let query = unit(&[1.0, 0.0, 0.1]);
        let hits = ann.search(&query, 3, None);
        assert_eq!(hits[0].0, 0);
        assert!(hits[0].1 > 0.99);
        let odd = |key: u64| key % 2 == 1;
        let hits = ann.search(&query, 3, Some(&odd));
        assert!(hits.iter().all(|(k, _)| k % 2 == 1), "{hits:?}");
        assert_eq!(hits[0].0, 1);
        ann.remove(0);
        assert_ne!(ann.search(&query, 1, None)[0].0, 0);
        assert!(ann.add(9999, &[1.0, 0.0]).is_err());
    }

    #[test]
    fn many_vectors_are_added_side_by_side() {
        let vectors: Vec<Vec<f32>> = (0..3000)
            .map(|i| {
                let t = i as f32 / 500.0;
                unit(&[t.cos(), t.sin(), 0.1])
            })
            .collect();
        let items: Vec<(u64, &[f32])> = vectors
            .iter()
            .enumerate()
            .map(|(i, v)| (i as u64, v.as_slice()))
            .collect();
        let mut ann = Ann::new(3).unwrap();
        ann.add(10_000, &unit(&[0.0, 0.0, 1.0])).unwrap();
        ann.add_many(&items).unwrap();
        assert_eq!(ann.len(), 3001);
        for key in [0u64, 1234, 2999] {
            assert_eq!(ann.search(&vectors[key as usize], 1, None)[0].0, key);
        }
        let short = [1.0, 0.0];
        assert!(ann.add_many(&[(5000, short.as_slice())]).is_err());
        assert_eq!(ann.len(), 3001, "nothing of a refused batch is added");
    }
}

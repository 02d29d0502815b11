//! The knowledge bases' index: every searchable chunk of every indexed document, for vector
//! search (exact, or usearch's HNSW graph when a knowledge base is large) and keyword search
//! (tantivy BM25, on disk). The sled document records are the source of truth: the vectors
//! are reloaded from them when the service opens, the saved graphs and the keyword index are
//! reconciled with them (see [`Restorer`] and `Knowledge::recover`).
//!
//! Filters are applied inside both searches — the exact scan skips documents that fail it,
//! the graph search and BM25 only visit allowed documents — so a selective filter still
//! fills `numberOfResults`.

mod persist;
mod text;
mod vector;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use serde_json::Value;

use crate::filter::RetrievalFilter;
use crate::record::StoredChunk;
use crate::retrieve::Location;
use text::TextIndex;
use vector::Ann;

/// Up to this many candidate chunks, search scans them exactly: perfect recall, and at 384
/// dimensions well under a millisecond, so the graph is only used where it pays.
const EXACT_LIMIT: usize = 10_000;

/// A chunk's key in the vector graph: its document's serial and its position.
const CHUNK_BITS: u32 = 20;

/// One indexed document, shared with the search results that point into it.
#[derive(Debug)]
pub(crate) struct IndexedDoc {
    /// Assigned by [`Index::put`]; names the document's chunks in the vector graph.
    pub(crate) serial: u64,
    pub(crate) data_source_id: String,
    pub(crate) content_hash: String,
    pub(crate) location: Location,
    pub(crate) metadata: BTreeMap<String, Value>,
    pub(crate) chunks: Vec<StoredChunk>,
}

impl IndexedDoc {
    /// The chunks that are searched: those with a vector (a hierarchical parent has none).
    fn searchable(&self) -> impl Iterator<Item = (usize, &StoredChunk)> {
        self.chunks
            .iter()
            .enumerate()
            .filter(|(_, c)| !c.vector.is_empty())
    }

    /// The chunk a search returns for chunk `i`: its parent, for a hierarchical child.
    fn unit(&self, i: usize) -> usize {
        self.chunks[i].parent.map_or(i, |p| p as usize)
    }

    /// Whether any chunk carries attributes of its own (a POST_CHUNKING transformation's).
    fn has_chunk_metadata(&self) -> bool {
        self.chunks.iter().any(|c| !c.metadata.is_empty())
    }

    /// The attributes a filter sees for chunk `i`: the document's, with the chunk's over them.
    pub(crate) fn chunk_metadata(&self, i: usize) -> std::borrow::Cow<'_, BTreeMap<String, Value>> {
        match self.chunks.get(i).map(|c| &c.metadata) {
            Some(own) if !own.is_empty() => {
                let mut merged = self.metadata.clone();
                merged.extend(own.iter().map(|(k, v)| (k.clone(), v.clone())));
                std::borrow::Cow::Owned(merged)
            }
            _ => std::borrow::Cow::Borrowed(&self.metadata),
        }
    }
}

/// How a search ranks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// By the cosine of the query's and the chunk's embeddings.
    Semantic,
    /// By the cosine and BM25 together, each min-max normalised over its own candidates and
    /// averaged (the normalisation OpenSearch's hybrid search uses).
    Hybrid,
}

/// One search.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Query<'a> {
    pub(crate) vector: &'a [f32],
    pub(crate) text: &'a str,
    pub(crate) k: usize,
    pub(crate) filter: Option<&'a RetrievalFilter>,
    pub(crate) mode: Mode,
}

/// A result: the chunk to return (a hierarchical child's parent) and its score in 0..1.
#[derive(Debug, Clone)]
pub(crate) struct Hit {
    pub(crate) doc: Arc<IndexedDoc>,
    pub(crate) chunk: usize,
    pub(crate) score: f32,
}

#[derive(Debug, Default)]
struct KbIndex {
    /// `{dataSourceId}/{document key}` → document.
    docs: BTreeMap<String, Arc<IndexedDoc>>,
    by_serial: HashMap<u64, Arc<IndexedDoc>>,
    ann: Option<Ann>,
    searchable: usize,
    /// Documents with hierarchical chunks: graph searches ask for more, since children fold.
    hierarchical: usize,
}

impl KbIndex {
    fn remove(&mut self, key: &str) -> Option<Arc<IndexedDoc>> {
        let doc = self.docs.remove(key)?;
        self.by_serial.remove(&doc.serial);
        let searchable: Vec<usize> = doc.searchable().map(|(i, _)| i).collect();
        self.searchable -= searchable.len();
        if doc.chunks.iter().any(|c| c.parent.is_some()) {
            self.hierarchical -= 1;
        }
        if let Some(ann) = &mut self.ann {
            for i in searchable {
                ann.remove(chunk_key(doc.serial, i));
            }
        }
        Some(doc)
    }

    /// Forgets the graph keys a saved graph held for a document the records no longer have
    /// (or have with other content).
    fn forget_saved(&mut self, saved: &persist::SavedDoc) {
        if let Some(ann) = &mut self.ann {
            for chunk in 0..saved.chunks as usize {
                ann.remove(chunk_key(saved.serial, chunk));
            }
        }
    }
}

fn chunk_key(serial: u64, chunk: usize) -> u64 {
    (serial << CHUNK_BITS) | chunk as u64
}

/// What a filter lets through: whole documents by serial, single chunks by graph key (in
/// documents whose chunks have attributes of their own, whose serials are `partly`), record
/// keys for BM25 (hybrid searches only).
struct Allowed {
    serials: HashSet<u64>,
    chunk_keys: HashSet<u64>,
    partly: HashSet<u64>,
    keys: Vec<String>,
    chunks: usize,
}

impl Allowed {
    /// Whether the chunk with graph key `key` passes.
    fn key(&self, key: u64) -> bool {
        self.serials.contains(&(key >> CHUNK_BITS)) || self.chunk_keys.contains(&key)
    }

    fn chunk(&self, serial: u64, chunk: usize) -> bool {
        self.key(chunk_key(serial, chunk))
    }

    /// Whether any of the document's chunks passes.
    fn any_of(&self, serial: u64) -> bool {
        self.serials.contains(&serial) || self.partly.contains(&serial)
    }
}

#[derive(Debug)]
pub(crate) struct Index {
    kbs: RwLock<HashMap<String, KbIndex>>,
    text: TextIndex,
    next_serial: AtomicU64,
    /// Where each knowledge base's graph is saved.
    vectors: PathBuf,
    /// Knowledge bases whose graph changed since it was saved.
    unsaved: Mutex<HashSet<String>>,
    /// One save at a time: two could otherwise race to rename over each other.
    saving: Mutex<()>,
}

/// Where a document's vectors go when it is put in the index.
#[derive(Debug, Clone, Copy)]
enum Vectors {
    /// Into the graph, now.
    Add,
    /// Nowhere: the saved graph holds them under this serial.
    Saved(u64),
    /// Into the graph later, with others (see [`Restorer::finish`]).
    Later,
}

/// What [`Restorer::finish`] did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Restored {
    /// Documents whose vectors came back with a saved graph.
    pub(crate) reused: usize,
    /// Documents added to a graph again (new or changed since the save, or no save).
    pub(crate) inserted: usize,
    /// Saved documents the records no longer hold.
    pub(crate) dropped: usize,
}

/// Fills an opened [`Index`] from the records: a document whose key and content hash match
/// its knowledge base's saved graph keeps its serial and its vectors there; any other is
/// inserted; saved documents nobody claimed are removed by [`Restorer::finish`].
pub(crate) struct Restorer<'a> {
    index: &'a Index,
    saved: HashMap<String, HashMap<String, persist::SavedDoc>>,
    /// Documents whose vectors are still to be added, by knowledge base: added together, on
    /// every core, by `finish`.
    pending: HashMap<String, Vec<u64>>,
    restored: Restored,
}

impl Index {
    /// Opens the index whose keyword part lives in `keywords` and whose saved graphs live in
    /// `vectors`. It starts empty: fill it through [`Index::restorer`].
    pub(crate) fn open(keywords: &Path, vectors: &Path) -> Result<Self, String> {
        Ok(Self {
            kbs: RwLock::default(),
            text: TextIndex::open(keywords)?,
            next_serial: AtomicU64::new(1),
            vectors: vectors.to_owned(),
            unsaved: Mutex::default(),
            saving: Mutex::default(),
        })
    }

    /// Loads the saved graphs, ready for the records to be put back through.
    pub(crate) fn restorer(&self) -> Restorer<'_> {
        let graphs = persist::read_all(&self.vectors);
        let last = graphs
            .values()
            .flat_map(|g| g.docs.values().map(|d| d.serial))
            .max()
            .unwrap_or(0);
        self.next_serial.fetch_max(last + 1, Ordering::Relaxed);
        let mut saved = HashMap::new();
        let mut kbs = self.kbs.write().unwrap_or_else(|e| e.into_inner());
        for (kb, graph) in graphs {
            kbs.entry(kb.clone()).or_default().ann = Some(graph.ann);
            saved.insert(kb, graph.docs);
        }
        Restorer {
            index: self,
            saved,
            pending: HashMap::new(),
            restored: Restored::default(),
        }
    }

    /// Saves every graph that changed since its last save. Searches go on meanwhile; writes
    /// wait while a graph is copied out.
    pub(crate) fn save_vectors(&self) -> Result<(), String> {
        let _one = self.saving.lock().unwrap_or_else(|e| e.into_inner());
        let unsaved: Vec<String> = self
            .unsaved
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .drain()
            .collect();
        let mut failed = None;
        for kb in unsaved {
            let snapshot = {
                let kbs = self.kbs.read().unwrap_or_else(|e| e.into_inner());
                kbs.get(&kb).map(|entry| {
                    let docs: Vec<persist::SavedDoc> = entry
                        .docs
                        .iter()
                        .map(|(key, doc)| persist::SavedDoc {
                            key: key.clone(),
                            hash: doc.content_hash.clone(),
                            serial: doc.serial,
                            chunks: doc.chunks.len() as u32,
                        })
                        .collect();
                    let graph = entry
                        .ann
                        .as_ref()
                        .map(|ann| ann.to_bytes().map(|bytes| (bytes, ann.dimensions())));
                    (docs, graph)
                })
            };
            let result = match snapshot {
                // Dropped since: `drop_knowledge_base` removed its file.
                None => Ok(()),
                Some((_, None)) => {
                    persist::delete(&self.vectors, &kb);
                    Ok(())
                }
                Some((docs, Some(graph))) => graph.and_then(|(bytes, dimensions)| {
                    persist::write(&self.vectors, &kb, &bytes, dimensions, docs)
                }),
            };
            if let Err(reason) = result {
                // Tried again at the next save.
                self.mark_unsaved(&kb);
                failed = Some(format!("knowledge base {kb}: {reason}"));
            }
        }
        failed.map_or(Ok(()), Err)
    }

    fn mark_unsaved(&self, kb: &str) {
        self.unsaved
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(kb.to_owned());
    }

    /// The keyword index's committed documents and their content hashes, by record key.
    pub(crate) fn keyword_contents(&self) -> Result<HashMap<String, String>, String> {
        self.text.contents()
    }

    /// Forgets a document the keyword index holds but the records do not.
    pub(crate) fn remove_keywords(&self, record_key: &str) {
        self.text.remove(record_key);
    }

    /// Adds or replaces a document. `keywords` says whether its keyword entry needs writing
    /// (at open, a current entry is kept); keyword writes are visible after [`Index::commit`].
    pub(crate) fn put(&self, kb: &str, key: String, doc: IndexedDoc, keywords: bool) {
        self.insert(kb, key, doc, keywords, Vectors::Add);
    }

    /// [`Index::put`], its vectors added now, already in the graph under a saved serial, or
    /// left for the caller to add. Answers the document's serial.
    fn insert(
        &self,
        kb: &str,
        key: String,
        mut doc: IndexedDoc,
        keywords: bool,
        vectors: Vectors,
    ) -> u64 {
        doc.serial = match vectors {
            Vectors::Saved(serial) => serial,
            Vectors::Add | Vectors::Later => self.next_serial.fetch_add(1, Ordering::Relaxed),
        };
        let record_key = format!("{kb}/{key}");
        if keywords {
            self.text.put(
                kb,
                &record_key,
                &doc.content_hash,
                doc.searchable().map(|(i, c)| (i, c.text.as_str())),
            );
        }
        let doc = Arc::new(doc);
        let mut kbs = self.kbs.write().unwrap_or_else(|e| e.into_inner());
        let entry = kbs.entry(kb.to_owned()).or_default();
        entry.remove(&key);
        if let Some((_, first)) = doc.searchable().next()
            && entry.ann.is_none()
        {
            match Ann::new(first.vector.len()) {
                Ok(ann) => entry.ann = Some(ann),
                Err(e) => {
                    tracing::warn!(knowledge_base = kb, error = %e, "no vector graph; searches scan")
                }
            }
        }
        for (i, chunk) in doc.searchable() {
            entry.searchable += 1;
            if matches!(vectors, Vectors::Add)
                && let Some(ann) = &mut entry.ann
                && let Err(e) = ann.add(chunk_key(doc.serial, i), &chunk.vector)
            {
                tracing::warn!(knowledge_base = kb, error = %e, "vector graph refused a chunk");
            }
        }
        if doc.chunks.iter().any(|c| c.parent.is_some()) {
            entry.hierarchical += 1;
        }
        let serial = doc.serial;
        entry.by_serial.insert(doc.serial, doc.clone());
        entry.docs.insert(key, doc);
        drop(kbs);
        if !matches!(vectors, Vectors::Saved(_)) {
            self.mark_unsaved(kb);
        }
        serial
    }

    pub(crate) fn remove(&self, kb: &str, key: &str) {
        self.text.remove(&format!("{kb}/{key}"));
        let mut kbs = self.kbs.write().unwrap_or_else(|e| e.into_inner());
        if let Some(entry) = kbs.get_mut(kb)
            && entry.remove(key).is_some()
        {
            drop(kbs);
            self.mark_unsaved(kb);
        }
    }

    /// Removes every document whose key starts with `prefix` (a data source's).
    pub(crate) fn remove_prefix(&self, kb: &str, prefix: &str) {
        let mut kbs = self.kbs.write().unwrap_or_else(|e| e.into_inner());
        let Some(entry) = kbs.get_mut(kb) else {
            return;
        };
        let keys: Vec<String> = entry
            .docs
            .keys()
            .filter(|key| key.starts_with(prefix))
            .cloned()
            .collect();
        let removed = !keys.is_empty();
        for key in keys {
            self.text.remove(&format!("{kb}/{key}"));
            entry.remove(&key);
        }
        drop(kbs);
        if removed {
            self.mark_unsaved(kb);
        }
    }

    pub(crate) fn drop_knowledge_base(&self, kb: &str) {
        self.text.drop_knowledge_base(kb);
        let mut kbs = self.kbs.write().unwrap_or_else(|e| e.into_inner());
        kbs.remove(kb);
        drop(kbs);
        self.unsaved
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(kb);
        let _one = self.saving.lock().unwrap_or_else(|e| e.into_inner());
        persist::delete(&self.vectors, kb);
    }

    /// Makes keyword writes so far durable and searchable.
    pub(crate) fn commit(&self) {
        self.text.commit();
    }

    /// The texts of a knowledge base's searchable chunks.
    pub(crate) fn chunk_texts(&self, kb: &str) -> Vec<String> {
        let kbs = self.kbs.read().unwrap_or_else(|e| e.into_inner());
        kbs.get(kb).map_or_else(Vec::new, |entry| {
            entry
                .docs
                .values()
                .flat_map(|doc| doc.searchable().map(|(_, c)| c.text.clone()))
                .collect()
        })
    }

    /// Searchable chunks in a knowledge base.
    pub(crate) fn len(&self, kb: &str) -> usize {
        let kbs = self.kbs.read().unwrap_or_else(|e| e.into_inner());
        kbs.get(kb).map_or(0, |entry| entry.searchable)
    }

    /// The `k` best chunks for `query`, best first.
    pub(crate) fn search(&self, kb: &str, query: &Query<'_>) -> Vec<Hit> {
        let kbs = self.kbs.read().unwrap_or_else(|e| e.into_inner());
        let Some(entry) = kbs.get(kb) else {
            return Vec::new();
        };
        let allowed = query.filter.map(|filter| {
            let mut allowed = Allowed {
                serials: HashSet::new(),
                chunk_keys: HashSet::new(),
                partly: HashSet::new(),
                keys: Vec::new(),
                chunks: 0,
            };
            for (key, doc) in &entry.docs {
                let passed = if doc.has_chunk_metadata() {
                    let before = allowed.chunks;
                    for (i, _) in doc.searchable() {
                        if filter.matches(&doc.chunk_metadata(i)) {
                            allowed.chunk_keys.insert(chunk_key(doc.serial, i));
                            allowed.chunks += 1;
                        }
                    }
                    if allowed.chunks > before {
                        allowed.partly.insert(doc.serial);
                    }
                    allowed.chunks > before
                } else if filter.matches(&doc.metadata) {
                    allowed.serials.insert(doc.serial);
                    allowed.chunks += doc.searchable().count();
                    true
                } else {
                    false
                };
                if passed && query.mode == Mode::Hybrid {
                    allowed.keys.push(format!("{kb}/{key}"));
                }
            }
            allowed
        });
        match query.mode {
            Mode::Semantic => semantic(entry, query.vector, query.k, allowed.as_ref())
                .into_iter()
                .map(|(doc, chunk, cosine)| Hit {
                    doc,
                    chunk,
                    score: (1.0 + cosine) / 2.0,
                })
                .collect(),
            Mode::Hybrid => {
                // Each side brings more candidates than asked, so a chunk that ranks well on
                // one side and fair on the other is not cut before the two are combined.
                let pool = (query.k * 4).clamp(20, 400);
                let vector = semantic(entry, query.vector, pool, allowed.as_ref());
                let keys: Option<Vec<&str>> = allowed
                    .as_ref()
                    .map(|a| a.keys.iter().map(String::as_str).collect());
                let keyword = self.text.search(kb, query.text, pool, keys.as_deref());
                let prefix = format!("{kb}/");
                let mut units: Vec<(Arc<IndexedDoc>, usize, f32)> = Vec::new();
                for hit in keyword {
                    let Some(doc) = hit
                        .doc
                        .strip_prefix(&prefix)
                        .and_then(|key| entry.docs.get(key))
                    else {
                        continue;
                    };
                    if hit.chunk >= doc.chunks.len()
                        || allowed
                            .as_ref()
                            .is_some_and(|a| !a.chunk(doc.serial, hit.chunk))
                    {
                        continue;
                    }
                    fold(&mut units, doc, doc.unit(hit.chunk), hit.score);
                }
                combine(vector, units, query.k)
            }
        }
    }
}

impl Restorer<'_> {
    /// Puts a document record back (see [`Index::put`]).
    pub(crate) fn put(&mut self, kb: &str, key: String, doc: IndexedDoc, keywords: bool) {
        let saved = self.saved.get_mut(kb).and_then(|docs| docs.remove(&key));
        match saved {
            Some(saved) if saved.hash == doc.content_hash => {
                self.restored.reused += 1;
                self.index
                    .insert(kb, key, doc, keywords, Vectors::Saved(saved.serial));
            }
            stale => {
                if let Some(stale) = stale {
                    let mut kbs = self.index.kbs.write().unwrap_or_else(|e| e.into_inner());
                    if let Some(entry) = kbs.get_mut(kb) {
                        entry.forget_saved(&stale);
                    }
                }
                self.restored.inserted += 1;
                let serial = self.index.insert(kb, key, doc, keywords, Vectors::Later);
                self.pending.entry(kb.to_owned()).or_default().push(serial);
            }
        }
    }

    /// Removes what the saved graphs hold that no record claimed, and drops the graphs of
    /// knowledge bases that are gone.
    pub(crate) fn finish(self) -> Restored {
        let mut restored = self.restored;
        let mut kbs = self.index.kbs.write().unwrap_or_else(|e| e.into_inner());
        for (kb, serials) in &self.pending {
            let Some(KbIndex {
                by_serial,
                ann: Some(ann),
                ..
            }) = kbs.get_mut(kb)
            else {
                continue;
            };
            let items: Vec<(u64, &[f32])> = serials
                .iter()
                .filter_map(|serial| by_serial.get(serial))
                .flat_map(|doc| {
                    doc.searchable()
                        .map(|(i, c)| (chunk_key(doc.serial, i), c.vector.as_slice()))
                })
                .collect();
            if let Err(e) = ann.add_many(&items) {
                tracing::warn!(knowledge_base = %kb, error = %e, "vector graph refused chunks");
            }
        }
        for (kb, unclaimed) in self.saved {
            let Some(entry) = kbs.get_mut(&kb) else {
                continue;
            };
            if entry.docs.is_empty() {
                kbs.remove(&kb);
                persist::delete(&self.index.vectors, &kb);
                restored.dropped += unclaimed.len();
                continue;
            }
            for stale in unclaimed.values() {
                entry.forget_saved(stale);
            }
            if !unclaimed.is_empty() {
                restored.dropped += unclaimed.len();
                self.index.mark_unsaved(&kb);
            }
        }
        restored
    }
}

/// Keeps one entry per (document, unit) at its best score.
fn fold(
    units: &mut Vec<(Arc<IndexedDoc>, usize, f32)>,
    doc: &Arc<IndexedDoc>,
    unit: usize,
    score: f32,
) {
    match units
        .iter_mut()
        .find(|(d, u, _)| d.serial == doc.serial && *u == unit)
    {
        Some((_, _, s)) => *s = s.max(score),
        None => units.push((doc.clone(), unit, score)),
    }
}

/// The best `n` units by cosine, exactly when the candidates are few, else through the graph.
fn semantic(
    entry: &KbIndex,
    query: &[f32],
    n: usize,
    allowed: Option<&Allowed>,
) -> Vec<(Arc<IndexedDoc>, usize, f32)> {
    let candidates = allowed.map_or(entry.searchable, |a| a.chunks);
    let graph = entry
        .ann
        .as_ref()
        .filter(|ann| ann.dimensions() == query.len() && ann.len() > 0);
    let mut units = Vec::new();
    match graph {
        Some(ann) if candidates > EXACT_LIMIT => {
            let ask = if entry.hierarchical > 0 { n * 3 } else { n };
            let pass = |key: u64| allowed.is_none_or(|a| a.key(key));
            let predicate: &dyn Fn(u64) -> bool = &pass;
            for (key, cosine) in ann.search(query, ask, allowed.map(|_| predicate)) {
                let Some(doc) = entry.by_serial.get(&(key >> CHUNK_BITS)) else {
                    continue;
                };
                let chunk = (key & ((1 << CHUNK_BITS) - 1)) as usize;
                if chunk < doc.chunks.len() {
                    fold(&mut units, doc, doc.unit(chunk), cosine);
                }
            }
        }
        _ => {
            let mut best = TopN::new(n);
            for doc in entry.docs.values() {
                if allowed.is_some_and(|a| !a.any_of(doc.serial)) {
                    continue;
                }
                let scored = doc
                    .searchable()
                    .filter(|(i, c)| {
                        c.vector.len() == query.len()
                            && allowed.is_none_or(|a| a.chunk(doc.serial, *i))
                    })
                    .map(|(i, c)| (i, dot(&c.vector, query)));
                if doc.chunks.iter().all(|c| c.parent.is_none()) {
                    for (i, cosine) in scored {
                        best.offer(doc, i, cosine);
                    }
                } else {
                    let mut parents: HashMap<usize, f32> = HashMap::new();
                    for (i, cosine) in scored {
                        let s = parents.entry(doc.unit(i)).or_insert(f32::MIN);
                        *s = s.max(cosine);
                    }
                    for (unit, cosine) in parents {
                        best.offer(doc, unit, cosine);
                    }
                }
            }
            return best.into_sorted();
        }
    }
    units.sort_by(|a, b| b.2.total_cmp(&a.2));
    units.truncate(n);
    units
}

/// The best `n` of a stream of scored units, kept sorted (n is at most a few hundred).
struct TopN {
    n: usize,
    best: Vec<(Arc<IndexedDoc>, usize, f32)>,
}

impl TopN {
    fn new(n: usize) -> Self {
        Self {
            n,
            best: Vec::with_capacity(n + 1),
        }
    }

    fn offer(&mut self, doc: &Arc<IndexedDoc>, unit: usize, score: f32) {
        if self.best.len() == self.n && self.best.last().is_none_or(|b| b.2 >= score) {
            return;
        }
        let at = self.best.partition_point(|b| b.2 >= score);
        self.best.insert(at, (doc.clone(), unit, score));
        self.best.truncate(self.n);
    }

    fn into_sorted(self) -> Vec<(Arc<IndexedDoc>, usize, f32)> {
        self.best
    }
}

/// Hybrid ranking: both lists min-max normalised, averaged (a unit missing from one list
/// scores 0 there), best `k`.
fn combine(
    vector: Vec<(Arc<IndexedDoc>, usize, f32)>,
    keyword: Vec<(Arc<IndexedDoc>, usize, f32)>,
    k: usize,
) -> Vec<Hit> {
    fn normalised(list: &[(Arc<IndexedDoc>, usize, f32)]) -> impl Fn(f32) -> f32 {
        let max = list.iter().map(|u| u.2).fold(f32::MIN, f32::max);
        let min = list.iter().map(|u| u.2).fold(f32::MAX, f32::min);
        move |s| {
            if max > min {
                (s - min) / (max - min)
            } else {
                1.0
            }
        }
    }
    let (nv, nk) = (normalised(&vector), normalised(&keyword));
    let mut scored: Vec<Hit> = Vec::with_capacity(vector.len() + keyword.len());
    for (doc, unit, s) in &vector {
        scored.push(Hit {
            doc: doc.clone(),
            chunk: *unit,
            score: nv(*s) / 2.0,
        });
    }
    for (doc, unit, s) in &keyword {
        let half = nk(*s) / 2.0;
        match scored
            .iter_mut()
            .find(|h| h.doc.serial == doc.serial && h.chunk == *unit)
        {
            Some(hit) => hit.score += half,
            None => scored.push(Hit {
                doc: doc.clone(),
                chunk: *unit,
                score: half,
            }),
        }
    }
    scored.sort_by(|a, b| b.score.total_cmp(&a.score));
    scored.truncate(k);
    scored
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

    fn doc(metadata: Value, chunks: Vec<(&str, Vec<f32>, Option<u32>)>) -> IndexedDoc {
        IndexedDoc {
            serial: 0,
            data_source_id: "DS00000001".into(),
            content_hash: "h".into(),
            location: Location::custom("d"),
            metadata: serde_json::from_value(metadata).unwrap(),
            chunks: chunks
                .into_iter()
                .map(|(text, vector, parent)| StoredChunk {
                    text: text.into(),
                    vector,
                    parent,
                    metadata: BTreeMap::new(),
                })
                .collect(),
        }
    }

    fn open(dir: &Path) -> Index {
        Index::open(&dir.join("keywords"), &dir.join("vectors")).unwrap()
    }

    fn query<'a>(vector: &'a [f32], text: &'a str, k: usize, mode: Mode) -> Query<'a> {
        Query {
            vector,
            text,
            k,
            filter: None,
            mode,
        }
    }

    #[test]
    fn search_ranks_filters_inside_and_folds_children_into_parents() {
        let dir = tempfile::tempdir().unwrap();
        let index = open(dir.path());
        index.put(
            "kb",
            "a".into(),
            doc(
                json!({"team": "x"}),
                vec![("one", vec![1.0, 0.0], None), ("two", vec![0.6, 0.8], None)],
            ),
            true,
        );
        index.put(
            "kb",
            "b".into(),
            doc(
                json!({"team": "y"}),
                vec![
                    ("parent", vec![], None),
                    ("child one", vec![0.8, 0.6], Some(0)),
                    ("child two", vec![0.9, 0.436], Some(0)),
                ],
            ),
            true,
        );
        index.commit();
        let hits = index.search("kb", &query(&[1.0, 0.0], "", 10, Mode::Semantic));
        let got: Vec<(String, usize)> = hits
            .iter()
            .map(|h| (h.doc.metadata["team"].as_str().unwrap().to_owned(), h.chunk))
            .collect();
        assert_eq!(got, [("x".into(), 0), ("y".into(), 0), ("x".into(), 1)]);
        assert!((hits[1].score - 0.95).abs() < 1e-6);

        let only_y =
            RetrievalFilter::parse(&json!({"equals": {"key": "team", "value": "y"}}), "f").unwrap();
        let mut filtered = query(&[1.0, 0.0], "two", 1, Mode::Hybrid);
        filtered.filter = Some(&only_y);
        let hits = index.search("kb", &filtered);
        assert_eq!(hits.len(), 1);
        assert_eq!(hits[0].doc.metadata["team"], "y");
        assert_eq!(index.len("kb"), 4);
        index.remove_prefix("kb", "a");
        assert_eq!(index.len("kb"), 2);
    }

    #[test]
    fn hybrid_lifts_the_chunk_with_the_exact_term() {
        let dir = tempfile::tempdir().unwrap();
        let index = open(dir.path());
        // The query's vector is nearest to chunk 0; only chunk 2 holds its rare term.
        index.put(
            "kb",
            "a".into(),
            doc(
                json!({}),
                vec![
                    ("quota errors explained", vec![1.0, 0.0], None),
                    ("disk maintenance", vec![0.9, 0.436], None),
                    ("code XR-17 means the quota is full", vec![0.8, 0.6], None),
                    ("cafeteria hours", vec![0.0, 1.0], None),
                ],
            ),
            true,
        );
        index.commit();
        let semantic = index.search("kb", &query(&[1.0, 0.0], "XR-17", 3, Mode::Semantic));
        assert_eq!(semantic[0].chunk, 0);
        // Normalised, the vector side gives chunk 2 0.8 of 1 and BM25 gives it 1: it leads.
        let hybrid = index.search("kb", &query(&[1.0, 0.0], "XR-17", 3, Mode::Hybrid));
        assert_eq!(hybrid[0].chunk, 2, "{hybrid:?}");
        assert!(hybrid.iter().all(|h| (0.0..=1.0).contains(&h.score)));
    }

    #[test]
    fn large_knowledge_bases_search_through_the_graph_with_filters() {
        let dir = tempfile::tempdir().unwrap();
        let index = open(dir.path());
        let per_doc = 100;
        for d in 0..(EXACT_LIMIT / per_doc + 20) {
            let chunks = (0..per_doc)
                .map(|c| {
                    let t = (d * per_doc + c) as f32 / 500.0;
                    ("", vec![t.cos(), t.sin()], None)
                })
                .collect();
            index.put(
                "kb",
                format!("doc{d:04}"),
                doc(json!({"even": d % 2 == 0}), chunks),
                false,
            );
        }
        assert!(index.len("kb") > EXACT_LIMIT);
        let hits = index.search("kb", &query(&[1.0, 0.0], "", 5, Mode::Semantic));
        assert_eq!(hits.len(), 5);
        assert!(hits[0].score > 0.999, "{hits:?}");
        let odd = RetrievalFilter::parse(&json!({"equals": {"key": "even", "value": false}}), "f")
            .unwrap();
        let mut filtered = query(&[1.0, 0.0], "", 5, Mode::Semantic);
        filtered.filter = Some(&odd);
        let hits = index.search("kb", &filtered);
        assert_eq!(hits.len(), 5);
        assert!(hits.iter().all(|h| h.doc.metadata["even"] == false));
        index.remove("kb", "doc0000");
        let hits = index.search("kb", &query(&[1.0, 0.0], "", 1, Mode::Semantic));
        assert_ne!(hits[0].doc.serial, 1);
    }

    #[test]
    fn a_saved_graph_is_reused_and_reconciled_with_the_records() {
        let dir = tempfile::tempdir().unwrap();
        let unit = |t: f32| vec![t.cos(), t.sin()];
        let versioned = |hash: &str, t: f32| IndexedDoc {
            content_hash: hash.into(),
            ..doc(
                json!({}),
                vec![("", unit(t), None), ("", unit(t + 0.01), None)],
            )
        };
        let index = open(dir.path());
        for (key, t) in [("a", 0.0), ("b", 1.0), ("c", 2.0)] {
            index.put("kb", key.into(), versioned("v1", t), false);
        }
        index.put("gone", "x".into(), versioned("v1", 0.5), false);
        index.save_vectors().unwrap();
        assert!(dir.path().join("vectors/kb.hnsw").exists());
        drop(index);

        // Since the save: `b` changed, `c` was deleted, `d` is new and the `gone` knowledge
        // base lost its records.
        let index = open(dir.path());
        let mut restorer = index.restorer();
        restorer.put("kb", "a".into(), versioned("v1", 0.0), false);
        restorer.put("kb", "b".into(), versioned("v2", 3.0), false);
        restorer.put("kb", "d".into(), versioned("v1", 4.0), false);
        let restored = restorer.finish();
        assert_eq!(
            restored,
            Restored {
                reused: 1,
                inserted: 2,
                dropped: 2
            }
        );
        assert_eq!(index.len("kb"), 6);
        assert!(!dir.path().join("vectors/gone.hnsw").exists());
        {
            let kbs = index.kbs.read().unwrap();
            let ann = kbs["kb"].ann.as_ref().unwrap();
            // a, the new b and d: the old b and c left the graph.
            assert_eq!(ann.len(), 6);
            let nearest = |t: f32| {
                let (key, _) = ann.search(&unit(t), 1, None)[0];
                kbs["kb"].by_serial[&(key >> CHUNK_BITS)]
                    .content_hash
                    .clone()
            };
            assert_eq!(nearest(3.0), "v2");
            assert!(!kbs.contains_key("gone"));
        }
        // New serials never reuse a saved one.
        let serials: HashSet<u64> = index.kbs.read().unwrap()["kb"]
            .by_serial
            .keys()
            .copied()
            .collect();
        assert_eq!(serials.len(), 3);
        index.save_vectors().unwrap();
        drop(index);
        let index = open(dir.path());
        let mut restorer = index.restorer();
        for (key, hash, t) in [("a", "v1", 0.0), ("b", "v2", 3.0), ("d", "v1", 4.0)] {
            restorer.put("kb", key.into(), versioned(hash, t), false);
        }
        assert_eq!(restorer.finish().reused, 3);
        let hits = index.search("kb", &query(&unit(4.0), "", 1, Mode::Semantic));
        assert_eq!(hits[0].doc.content_hash, "v1");
        index.drop_knowledge_base("kb");
        assert!(!dir.path().join("vectors/kb.hnsw").exists());
    }

    #[test]
    fn dot_matches_the_plain_sum() {
        let a: Vec<f32> = (0..19).map(|i| i as f32 * 0.5).collect();
        let b: Vec<f32> = (0..19).map(|i| 1.0 - i as f32 * 0.1).collect();
        let plain: f32 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
        assert!((dot(&a, &b) - plain).abs() < 1e-4);
    }
}

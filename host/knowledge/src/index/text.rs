//! Keyword search: a tantivy (BM25) index of every searchable chunk, on disk under the data dir.
//!
//! The sled document records stay the source of truth. This index is written after them and
//! committed in batches, so a crash can leave it behind; [`TextIndex::contents`] lets the
//! service compare it with the records at open and redo only what differs. A directory that
//! cannot be opened (corrupt, or an older schema) is deleted and rebuilt the same way.

use std::collections::{BTreeSet, HashMap};
use std::path::Path;
use std::sync::Mutex;

use tantivy::collector::TopDocs;
use tantivy::directory::MmapDirectory;
use tantivy::query::{BooleanQuery, ConstScoreQuery, Occur, Query, TermQuery, TermSetQuery};
use tantivy::schema::{
    Field, INDEXED, IndexRecordOption, STORED, STRING, Schema, TextFieldIndexing, TextOptions,
    Value,
};
use tantivy::{
    DocAddress, Index, IndexReader, IndexWriter, ReloadPolicy, TantivyDocument, Term, doc,
};

/// The writer's indexing memory; tantivy flushes a segment when it is full.
const WRITER_HEAP: usize = 32 * 1024 * 1024;

/// Bumped when the schema changes: an index made by another version is rebuilt.
const SCHEMA_VERSION: &str = "1";

#[derive(Clone, Copy)]
struct Fields {
    /// The knowledge base id, so one index serves every knowledge base.
    kb: Field,
    /// The document's record key (`{kb}/{data source}/{document}`): deletes and filters.
    doc: Field,
    /// The document's content hash, to tell at open whether the entry is current.
    hash: Field,
    /// The chunk's position in its document.
    chunk: Field,
    text: Field,
}

/// One BM25 match: a chunk of a document, by its record key.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct TextHit {
    pub(crate) doc: String,
    pub(crate) chunk: usize,
    pub(crate) score: f32,
}

pub(crate) struct TextIndex {
    index: Index,
    reader: IndexReader,
    writer: Mutex<IndexWriter>,
    fields: Fields,
}

impl std::fmt::Debug for TextIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TextIndex")
            .field("documents", &self.reader.searcher().num_docs())
            .finish_non_exhaustive()
    }
}

fn schema() -> (Schema, Fields) {
    let mut builder = Schema::builder();
    let text_options = TextOptions::default().set_indexing_options(
        TextFieldIndexing::default()
            .set_tokenizer("en_stem")
            .set_index_option(IndexRecordOption::WithFreqsAndPositions),
    );
    let fields = Fields {
        kb: builder.add_text_field("kb", STRING),
        doc: builder.add_text_field("doc", STRING | STORED),
        hash: builder.add_text_field("hash", STORED),
        chunk: builder.add_u64_field("chunk", STORED | INDEXED),
        text: builder.add_text_field("text", text_options),
    };
    (builder.build(), fields)
}

impl TextIndex {
    /// Opens the index in `dir`, or makes a new empty one there (the caller then fills it
    /// from the records).
    pub(crate) fn open(dir: &Path) -> Result<Self, String> {
        match Self::try_open(dir) {
            Ok(index) => Ok(index),
            Err(reason) => {
                tracing::warn!(dir = %dir.display(), %reason, "keyword index unreadable; rebuilding it");
                std::fs::remove_dir_all(dir)
                    .map_err(|e| format!("cannot remove {}: {e}", dir.display()))?;
                Self::try_open(dir)
            }
        }
    }

    fn try_open(dir: &Path) -> Result<Self, String> {
        let version_file = dir.join("mantle-schema");
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        let version = std::fs::read_to_string(&version_file).ok();
        let empty = std::fs::read_dir(dir)
            .map_err(|e| e.to_string())?
            .next()
            .is_none();
        if !empty && version.as_deref() != Some(SCHEMA_VERSION) {
            return Err(format!(
                "schema version {version:?}, expected {SCHEMA_VERSION}"
            ));
        }
        let (schema, fields) = schema();
        let directory = MmapDirectory::open(dir).map_err(|e| e.to_string())?;
        let index = Index::open_or_create(directory, schema).map_err(|e| e.to_string())?;
        std::fs::write(&version_file, SCHEMA_VERSION).map_err(|e| e.to_string())?;
        let writer = index
            .writer_with_num_threads(1, WRITER_HEAP)
            .map_err(|e| e.to_string())?;
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()
            .map_err(|e: tantivy::TantivyError| e.to_string())?;
        Ok(Self {
            index,
            reader,
            writer: Mutex::new(writer),
            fields,
        })
    }

    fn writer(&self) -> std::sync::MutexGuard<'_, IndexWriter> {
        self.writer.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Replaces a document's chunks (uncommitted until [`TextIndex::commit`]).
    pub(crate) fn put<'a>(
        &self,
        kb: &str,
        doc: &str,
        hash: &str,
        chunks: impl IntoIterator<Item = (usize, &'a str)>,
    ) {
        let f = self.fields;
        let writer = self.writer();
        writer.delete_term(Term::from_field_text(f.doc, doc));
        for (chunk, text) in chunks {
            let added = writer.add_document(doc!(
                f.kb => kb,
                f.doc => doc,
                f.hash => hash,
                f.chunk => chunk as u64,
                f.text => text,
            ));
            if let Err(e) = added {
                tracing::warn!(%doc, error = %e, "keyword index refused a chunk");
            }
        }
    }

    pub(crate) fn remove(&self, doc: &str) {
        self.writer()
            .delete_term(Term::from_field_text(self.fields.doc, doc));
    }

    pub(crate) fn drop_knowledge_base(&self, kb: &str) {
        self.writer()
            .delete_term(Term::from_field_text(self.fields.kb, kb));
    }

    /// Makes the writes so far durable and searchable. A failure leaves them for the next
    /// commit or, after a crash, for the reconciliation at open.
    pub(crate) fn commit(&self) {
        let mut writer = self.writer();
        if let Err(e) = writer.commit() {
            tracing::warn!(error = %e, "keyword index commit failed");
            return;
        }
        drop(writer);
        if let Err(e) = self.reader.reload() {
            tracing::warn!(error = %e, "keyword index reload failed");
        }
    }

    /// Every committed document's content hash, by record key.
    pub(crate) fn contents(&self) -> Result<HashMap<String, String>, String> {
        let f = self.fields;
        let searcher = self.reader.searcher();
        let mut contents = HashMap::new();
        for segment in searcher.segment_readers() {
            let store = segment.get_store_reader(64).map_err(|e| e.to_string())?;
            for id in segment.doc_ids_alive() {
                let stored: TantivyDocument = store.get(id).map_err(|e| e.to_string())?;
                let doc = stored.get_first(f.doc).and_then(|v| v.as_str());
                let hash = stored.get_first(f.hash).and_then(|v| v.as_str());
                if let (Some(doc), Some(hash)) = (doc, hash) {
                    contents
                        .entry(doc.to_owned())
                        .or_insert_with(|| hash.to_owned());
                }
            }
        }
        Ok(contents)
    }

    /// The `limit` best chunks of knowledge base `kb` for the words of `query`, by BM25,
    /// among the documents in `allowed` when it is given (the filter is part of the query, so
    /// a selective filter still fills `limit`).
    pub(crate) fn search(
        &self,
        kb: &str,
        query: &str,
        limit: usize,
        allowed: Option<&[&str]>,
    ) -> Vec<TextHit> {
        let f = self.fields;
        let terms = match self.terms(query) {
            Ok(terms) if !terms.is_empty() => terms,
            _ => return Vec::new(),
        };
        let words: Vec<(Occur, Box<dyn Query>)> = terms
            .into_iter()
            .map(|t| {
                let term = Term::from_field_text(f.text, &t);
                let query: Box<dyn Query> =
                    Box::new(TermQuery::new(term, IndexRecordOption::WithFreqs));
                (Occur::Should, query)
            })
            .collect();
        // Scoreless clauses: only the words rank.
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = vec![
            (Occur::Must, Box::new(BooleanQuery::new(words))),
            (
                Occur::Must,
                Box::new(ConstScoreQuery::new(
                    Box::new(TermQuery::new(
                        Term::from_field_text(f.kb, kb),
                        IndexRecordOption::Basic,
                    )),
                    0.0,
                )),
            ),
        ];
        if let Some(allowed) = allowed {
            if allowed.is_empty() {
                return Vec::new();
            }
            let docs = TermSetQuery::new(allowed.iter().map(|d| Term::from_field_text(f.doc, d)));
            clauses.push((
                Occur::Must,
                Box::new(ConstScoreQuery::new(Box::new(docs), 0.0)),
            ));
        }
        let query = BooleanQuery::new(clauses);
        let searcher = self.reader.searcher();
        let top: Vec<(f32, DocAddress)> =
            match searcher.search(&query, &TopDocs::with_limit(limit).order_by_score()) {
                Ok(top) => top,
                Err(e) => {
                    tracing::warn!(error = %e, "keyword search failed");
                    return Vec::new();
                }
            };
        top.into_iter()
            .filter_map(|(score, address)| {
                let stored: TantivyDocument = searcher.doc(address).ok()?;
                Some(TextHit {
                    doc: stored.get_first(f.doc)?.as_str()?.to_owned(),
                    chunk: usize::try_from(stored.get_first(f.chunk)?.as_u64()?).ok()?,
                    score,
                })
            })
            .collect()
    }

    /// The query's distinct terms after the text field's analysis (lowercased, stemmed).
    fn terms(&self, query: &str) -> tantivy::Result<BTreeSet<String>> {
        let mut analyzer = self.index.tokenizer_for_field(self.fields.text)?;
        let mut stream = analyzer.token_stream(query);
        let mut terms = BTreeSet::new();
        while let Some(token) = stream.next() {
            terms.insert(token.text.clone());
        }
        Ok(terms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bm25_ranks_exact_terms_filters_inside_and_survives_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("text");
        {
            let index = TextIndex::open(&path).unwrap();
            index.put(
                "kb1",
                "kb1/ds/a",
                "h1",
                [
                    (0, "Error code E-4471 means the disk quota is exceeded."),
                    (1, "Backups run nightly."),
                ],
            );
            index.put("kb1", "kb1/ds/b", "h2", [(0, "Disks are checked weekly.")]);
            index.put("kb2", "kb2/ds/c", "h3", [(0, "E-4471 in another base.")]);
            index.commit();
            let hits = index.search("kb1", "what is E-4471?", 10, None);
            assert_eq!(hits.len(), 1, "{hits:?}");
            assert_eq!((hits[0].doc.as_str(), hits[0].chunk), ("kb1/ds/a", 0));
            // Stemming: "disk" finds "Disks" too.
            let hits = index.search("kb1", "disk", 10, None);
            assert_eq!(hits.len(), 2);
            let hits = index.search("kb1", "disk", 10, Some(&["kb1/ds/b"]));
            assert_eq!(hits.len(), 1);
            assert_eq!(hits[0].doc, "kb1/ds/b");
            assert!(index.search("kb1", "disk", 10, Some(&[])).is_empty());
            assert!(index.search("kb1", "?!", 10, None).is_empty());
            index.remove("kb1/ds/b");
            index.put("kb1", "kb1/ds/a", "h4", [(0, "Replaced text.")]);
            // Uncommitted writes are not seen by a fresh open: reconciliation redoes them.
        }
        let index = TextIndex::open(&path).unwrap();
        let contents = index.contents().unwrap();
        assert_eq!(contents["kb1/ds/a"], "h1");
        assert_eq!(contents.len(), 3);
        index.put("kb1", "kb1/ds/a", "h4", [(0, "Replaced text.")]);
        index.drop_knowledge_base("kb2");
        index.commit();
        let contents = index.contents().unwrap();
        assert_eq!(contents.len(), 2);
        assert_eq!(contents["kb1/ds/a"], "h4");
        assert!(index.search("kb1", "E-4471", 10, None).is_empty());
    }

    #[test]
    fn an_unreadable_directory_is_rebuilt_empty() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("meta.json"), "not tantivy").unwrap();
        let index = TextIndex::open(dir.path()).unwrap();
        assert!(index.contents().unwrap().is_empty());
    }
}

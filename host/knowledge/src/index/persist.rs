//! The vector graphs on disk, one file per knowledge base, so a restart loads a graph instead
//! of inserting every chunk again (minutes at 100,000 chunks).
//!
//! A file is only a cache of the sled records: it names, for every document it holds, the
//! record key, content hash and serial its chunks were added under, and opening reconciles
//! that list with the records (documents added, changed or deleted since the save are fixed
//! up one by one). A file is written whole to a temporary name, synced and renamed, and ends
//! with a CRC, so a torn or foreign file is detected, dropped and the graph rebuilt.
//!
//! Layout: `MAGIC`, the manifest's length (u64 LE), the manifest (JSON), the graph's length
//! (u64 LE), the graph (usearch's own serialization), the CRC-32 of all that (u32 LE).

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::vector::Ann;

const MAGIC: &[u8; 8] = b"MNTLHNW1";
const EXTENSION: &str = "hnsw";

/// What a saved graph holds for one document.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct SavedDoc {
    /// The document's key in its knowledge base (`{dataSourceId}/{document key}`).
    pub(super) key: String,
    pub(super) hash: String,
    pub(super) serial: u64,
    /// How many chunks the document had: its graph keys are among `chunk_key(serial, 0..n)`.
    pub(super) chunks: u32,
}

#[derive(Debug, Serialize, Deserialize)]
struct Manifest {
    dimensions: usize,
    docs: Vec<SavedDoc>,
}

/// A graph read back, with the documents it holds by key.
#[derive(Debug)]
pub(super) struct SavedGraph {
    pub(super) ann: Ann,
    pub(super) docs: HashMap<String, SavedDoc>,
}

fn file(dir: &Path, kb: &str) -> PathBuf {
    dir.join(format!("{kb}.{EXTENSION}"))
}

/// Writes `kb`'s graph and the documents it holds, replacing the previous file whole.
pub(super) fn write(
    dir: &Path,
    kb: &str,
    graph: &[u8],
    dimensions: usize,
    docs: Vec<SavedDoc>,
) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let manifest = serde_json::to_vec(&Manifest { dimensions, docs }).map_err(|e| e.to_string())?;
    let mut bytes = Vec::with_capacity(MAGIC.len() + 16 + manifest.len() + graph.len() + 4);
    bytes.extend_from_slice(MAGIC);
    bytes.extend_from_slice(&(manifest.len() as u64).to_le_bytes());
    bytes.extend_from_slice(&manifest);
    bytes.extend_from_slice(&(graph.len() as u64).to_le_bytes());
    bytes.extend_from_slice(graph);
    let crc = crc32fast::hash(&bytes);
    bytes.extend_from_slice(&crc.to_le_bytes());

    let path = file(dir, kb);
    let temporary = path.with_extension(format!("{EXTENSION}.partial"));
    let written = (|| {
        let mut out = std::fs::File::create(&temporary)?;
        out.write_all(&bytes)?;
        out.sync_all()?;
        std::fs::rename(&temporary, &path)?;
        // The rename itself is durable once the folder is synced.
        std::fs::File::open(dir)?.sync_all()
    })();
    written.map_err(|e| {
        let _ = std::fs::remove_file(&temporary);
        format!("cannot write {}: {e}", path.display())
    })
}

/// Forgets `kb`'s saved graph.
pub(super) fn delete(dir: &Path, kb: &str) {
    let path = file(dir, kb);
    if let Err(e) = std::fs::remove_file(&path)
        && e.kind() != std::io::ErrorKind::NotFound
    {
        tracing::warn!(path = %path.display(), error = %e, "cannot remove a saved vector graph");
    }
}

/// Every saved graph in `dir`, by knowledge base. A file that cannot be read is removed (its
/// graph is rebuilt from the records) and said in the log.
pub(super) fn read_all(dir: &Path) -> HashMap<String, SavedGraph> {
    let mut graphs = HashMap::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return graphs;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let Some(kb) = path
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_suffix(&format!(".{EXTENSION}")))
        else {
            // Left by a save the process did not live to finish.
            if path.extension().is_some_and(|e| e == "partial") {
                let _ = std::fs::remove_file(&path);
            }
            continue;
        };
        match std::fs::read(&path)
            .map_err(|e| e.to_string())
            .and_then(|bytes| parse(&bytes))
        {
            Ok(graph) => {
                graphs.insert(kb.to_owned(), graph);
            }
            Err(reason) => {
                tracing::warn!(path = %path.display(), %reason, "saved vector graph unreadable; rebuilding it");
                let _ = std::fs::remove_file(&path);
            }
        }
    }
    graphs
}

fn parse(bytes: &[u8]) -> Result<SavedGraph, String> {
    let body_len = bytes
        .len()
        .checked_sub(4)
        .filter(|&n| n >= MAGIC.len())
        .ok_or("truncated")?;
    let (body, crc) = bytes.split_at(body_len);
    if crc32fast::hash(body) != u32::from_le_bytes(crc.try_into().map_err(|_| "truncated")?) {
        return Err("checksum mismatch".into());
    }
    let rest = body
        .strip_prefix(MAGIC.as_slice())
        .ok_or("not a saved vector graph")?;
    let (manifest, rest) = section(rest)?;
    let (graph, rest) = section(rest)?;
    if !rest.is_empty() {
        return Err("trailing bytes".into());
    }
    let manifest: Manifest =
        serde_json::from_slice(manifest).map_err(|e| format!("manifest: {e}"))?;
    let ann = Ann::from_bytes(manifest.dimensions, graph)?;
    let docs = manifest
        .docs
        .into_iter()
        .map(|doc| (doc.key.clone(), doc))
        .collect();
    Ok(SavedGraph { ann, docs })
}

/// A length-prefixed section and what follows it.
fn section(bytes: &[u8]) -> Result<(&[u8], &[u8]), String> {
    let (len, rest) = bytes.split_at_checked(8).ok_or("truncated")?;
    let len = u64::from_le_bytes(len.try_into().map_err(|_| "truncated")?);
    let len = usize::try_from(len).map_err(|_| "section too large")?;
    rest.split_at_checked(len).ok_or_else(|| "truncated".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn saved(dir: &Path) -> Vec<u8> {
        let mut ann = Ann::new(2).unwrap();
        ann.add(7, &[1.0, 0.0]).unwrap();
        let docs = vec![SavedDoc {
            key: "DS/custom:a".into(),
            hash: "h".into(),
            serial: 3,
            chunks: 1,
        }];
        write(dir, "KB1", &ann.to_bytes().unwrap(), 2, docs).unwrap();
        std::fs::read(file(dir, "KB1")).unwrap()
    }

    #[test]
    fn a_saved_graph_reads_back_with_its_documents() {
        let dir = tempfile::tempdir().unwrap();
        saved(dir.path());
        let graphs = read_all(dir.path());
        let graph = &graphs["KB1"];
        assert_eq!(graph.ann.len(), 1);
        assert_eq!(graph.ann.dimensions(), 2);
        assert_eq!(graph.docs["DS/custom:a"].serial, 3);
        assert_eq!(graph.ann.search(&[1.0, 0.0], 1, None)[0].0, 7);
        delete(dir.path(), "KB1");
        assert!(read_all(dir.path()).is_empty());
    }

    #[test]
    fn torn_or_altered_files_are_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let bytes = saved(dir.path());
        for broken in [
            bytes[..bytes.len() / 2].to_vec(),
            {
                let mut flipped = bytes.clone();
                flipped[20] ^= 1;
                flipped
            },
            b"short".to_vec(),
        ] {
            std::fs::write(file(dir.path(), "KB1"), &broken).unwrap();
            assert!(read_all(dir.path()).is_empty());
            assert!(
                !file(dir.path(), "KB1").exists(),
                "an unreadable file is removed"
            );
        }
        std::fs::write(dir.path().join("KB2.hnsw.partial"), b"half").unwrap();
        assert!(read_all(dir.path()).is_empty());
        assert!(!dir.path().join("KB2.hnsw.partial").exists());
    }
}

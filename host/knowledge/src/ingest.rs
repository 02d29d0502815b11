//! From a source document to indexed chunks: parse to text, split with a chunker plugin,
//! embed with the knowledge base's model. A failure here fails the one document, with a reason
//! for the job's `failureReasons` or the document's `statusReason`.

use std::collections::BTreeMap;

use mantle_documents::{Format, Limits};
use mantle_inference::{Catalog, EmbeddingModel, InferenceError};
use mantle_plugins::Registry;
use mantle_plugins::plugin::chunker_api;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::config::{ChunkingStrategy, VectorIngestionConfiguration};
use crate::input::DocumentIdentifier;
use crate::record::StoredChunk;
use crate::retrieve::Location;

/// The built-in chunker (FIXED_SIZE, HIERARCHICAL, NONE and Bedrock's default).
pub const BUILTIN_CHUNKER: &str = "fixed-size-chunker";

/// The built-in SEMANTIC chunker.
pub const SEMANTIC_CHUNKER: &str = "semantic-chunker";

/// Texts embedded per model call.
const EMBED_BATCH: usize = 32;

/// A document as read from its source, before parsing.
#[derive(Debug, Clone)]
pub(crate) struct SourceDocument {
    pub(crate) identifier: DocumentIdentifier,
    pub(crate) location: Location,
    pub(crate) bytes: Vec<u8>,
    pub(crate) content_type: String,
    pub(crate) metadata: BTreeMap<String, Value>,
}

impl SourceDocument {
    /// What the document's chunks depend on: its bytes, type and metadata, the chunking (with
    /// the plugins' versions) and the embedding model. An unchanged hash means there is nothing
    /// to redo.
    pub(crate) fn content_hash(&self, chunking: &str, model: &str) -> String {
        let mut hash = Sha256::new();
        for part in [
            &self.bytes[..],
            self.content_type.as_bytes(),
            serde_json::to_string(&self.metadata)
                .unwrap_or_default()
                .as_bytes(),
            chunking.as_bytes(),
            model.as_bytes(),
        ] {
            hash.update((part.len() as u64).to_le_bytes());
            hash.update(part);
        }
        hex::encode(hash.finalize())
    }
}

/// The MIME type a file name implies, for the formats this server reads.
pub(crate) fn content_type_of(name: &str) -> &'static str {
    Format::from_extension(name).map_or("application/octet-stream", Format::mime)
}

/// The document's text, extracted on a blocking thread (PDF and Office parsing is CPU-bound).
pub(crate) async fn parse(bytes: Vec<u8>, content_type: &str) -> Result<String, String> {
    let format = Format::from_mime(content_type).ok_or_else(|| {
        let known: Vec<&str> = Format::ALL
            .iter()
            .filter(|f| **f != Format::Doc)
            .map(|f| f.name())
            .collect();
        format!(
            "documents of type {content_type} cannot be parsed (this server reads {})",
            known.join(", ")
        )
    })?;
    tokio::task::spawn_blocking(move || {
        mantle_documents::extract(&bytes, format, &Limits::default())
    })
    .await
    .map_err(|e| format!("the parser failed: {e}"))?
    .map(|extracted| extracted.text)
    .map_err(|e| e.to_string())
}

/// How a data source's documents become chunks: the chunker plugin for its strategy, the
/// config that plugin is called with, and the POST_CHUNKING plugin if one is named.
#[derive(Debug, Clone)]
pub(crate) struct Chunking {
    chunker: &'static str,
    config: String,
    transform: Option<String>,
}

impl Chunking {
    /// The plan for `ingestion` (Bedrock's default chunking when it names none) with the
    /// knowledge base's embedding model, whose tokenizer sizes the chunks and whose
    /// embeddings find SEMANTIC breakpoints.
    pub(crate) fn new(
        ingestion: Option<&VectorIngestionConfiguration>,
        embedding_model: &str,
    ) -> Self {
        let chunking = ingestion.and_then(|i| i.chunking_configuration.as_ref());
        let mut config = chunking
            .and_then(|c| serde_json::to_value(c).ok())
            .unwrap_or_else(|| Value::Object(Default::default()));
        if let Value::Object(fields) = &mut config {
            fields.insert("embeddingModelId".into(), embedding_model.into());
        }
        let chunker = match chunking.map(|c| c.chunking_strategy) {
            Some(ChunkingStrategy::Semantic) => SEMANTIC_CHUNKER,
            _ => BUILTIN_CHUNKER,
        };
        Self {
            chunker,
            config: config.to_string(),
            transform: ingestion
                .and_then(|i| i.custom_transformation_configuration.as_ref())
                .and_then(|c| c.post_chunking_plugin())
                .map(str::to_owned),
        }
    }

    /// What chunks depend on, for the content hash: the configs and the versions of the
    /// plugins installed now, so a new chunker version re-chunks on the next ingestion.
    pub(crate) fn fingerprint(&self, registry: &Registry) -> String {
        let version = |name: &str| {
            registry
                .resolve(name)
                .map_or_else(|_| name.to_owned(), |p| p.id().to_owned())
        };
        let transform = self.transform.as_deref().map(version).unwrap_or_default();
        format!("{} {} {transform}", version(self.chunker), self.config)
    }
}

/// Splits `text` with the chunker plugin (then the POST_CHUNKING plugin, if any) and embeds
/// the searchable chunks.
pub(crate) async fn chunk_and_embed(
    registry: &Registry,
    models: &Catalog,
    embedding_model: &str,
    document: &SourceDocument,
    text: String,
    chunking: &Chunking,
) -> Result<Vec<StoredChunk>, String> {
    if text.trim().is_empty() {
        return Err("the document has no text".into());
    }
    let plugin = registry
        .resolve(chunking.chunker)
        .map_err(|e| format!("chunking failed: {e}"))?;
    let attributes: Vec<(String, String)> = document
        .metadata
        .iter()
        .map(|(k, v)| {
            (
                k.clone(),
                v.as_str().map_or_else(|| v.to_string(), str::to_owned),
            )
        })
        .collect();
    let request = chunker_api::Document {
        id: document.location.uri().to_owned(),
        text,
        content_type: document.content_type.clone(),
        metadata: attributes.clone(),
    };
    let mut pieces = plugin
        .split(&request, &chunking.config)
        .await
        .map_err(|e| format!("chunking failed: {e}"))?;
    // A chunker's own attributes (its token counts) are not the chunk's metadata; what a
    // transformation adds is.
    let transformed = chunking.transform.is_some();
    if let Some(name) = &chunking.transform {
        pieces = transform(registry, name, &request, pieces, &chunking.config).await?;
    }
    let count = pieces.len();
    let mut is_parent = vec![false; count];
    for parent in pieces.iter().filter_map(|c| c.parent) {
        if let Some(mark) = is_parent.get_mut(parent as usize) {
            *mark = true;
        }
    }
    let mut chunks = Vec::with_capacity(count);
    for (i, piece) in pieces.into_iter().enumerate() {
        if let Some(parent) = piece.parent
            && parent as usize >= i
        {
            return Err(format!(
                "chunking failed: chunk {i} names parent {parent}, which does not come before it"
            ));
        }
        let metadata = if transformed {
            piece
                .metadata
                .into_iter()
                .map(|(key, value)| (key, attribute_value(value)))
                .collect()
        } else {
            BTreeMap::new()
        };
        chunks.push(StoredChunk {
            text: piece.text,
            vector: Vec::new(),
            parent: piece.parent,
            metadata,
        });
    }
    let searchable: Vec<usize> = (0..count)
        .filter(|&i| !is_parent[i] && !chunks[i].text.trim().is_empty())
        .collect();
    if searchable.is_empty() {
        return Err("chunking produced no chunks with text".into());
    }
    let model = models
        .embedding(embedding_model)
        .map_err(|e| format!("embedding failed: {e}"))?;
    for batch in searchable.chunks(EMBED_BATCH) {
        let texts = batch.iter().map(|&i| chunks[i].text.clone()).collect();
        let vectors = model
            .embed(texts)
            .await
            .map_err(|e| format!("embedding failed: {e}"))?
            .vectors;
        for (&i, vector) in batch.iter().zip(vectors) {
            chunks[i].vector = vector;
        }
    }
    Ok(chunks)
}

/// Runs the POST_CHUNKING plugin over each searchable chunk: the chunks it answers replace
/// that chunk (none drops it, several split it), under the chunk's parent. Parents pass
/// through unchanged, since they are what a search returns around its children.
async fn transform(
    registry: &Registry,
    name: &str,
    document: &chunker_api::Document,
    pieces: Vec<chunker_api::Chunk>,
    config: &str,
) -> Result<Vec<chunker_api::Chunk>, String> {
    let plugin = registry.resolve(name).map_err(|e| {
        format!("the custom transformation failed: plugin {name} cannot be called: {e}")
    })?;
    let is_parent: Vec<bool> = (0..pieces.len())
        .map(|i| pieces.iter().any(|c| c.parent == Some(i as u32)))
        .collect();
    let mut out = Vec::with_capacity(pieces.len());
    // Old index of each kept parent → its index in `out`.
    let mut moved: BTreeMap<u32, u32> = BTreeMap::new();
    for (i, mut piece) in pieces.into_iter().enumerate() {
        if is_parent[i] {
            moved.insert(i as u32, out.len() as u32);
            piece.metadata.clear();
            out.push(piece);
            continue;
        }
        let parent = piece.parent.and_then(|p| moved.get(&p).copied());
        let mut metadata = document.metadata.clone();
        metadata.extend(piece.metadata.iter().cloned());
        metadata.push(("chunkIndex".to_owned(), i.to_string()));
        let request = chunker_api::Document {
            id: document.id.clone(),
            text: piece.text,
            content_type: "text/plain".to_owned(),
            metadata,
        };
        let replaced = plugin
            .split(&request, config)
            .await
            .map_err(|e| format!("the custom transformation failed at chunk {i}: {e}"))?;
        for mut chunk in replaced {
            chunk.parent = parent;
            chunk.level = piece.level;
            // What the transformation was given and handed back is not its to set.
            chunk.metadata.retain(|kv| !request.metadata.contains(kv));
            out.push(chunk);
        }
    }
    Ok(out)
}

/// A plugin's attribute value (WIT attributes are strings) as metadata: numbers and booleans
/// as such, so range filters work on them, anything else as the string.
fn attribute_value(value: String) -> Value {
    match serde_json::from_str::<Value>(&value) {
        Ok(scalar @ (Value::Number(_) | Value::Bool(_))) => scalar,
        _ => Value::String(value),
    }
}

/// One text's embedding: a query's, for the searches and the reranker.
pub(crate) async fn embed_query(
    model: &EmbeddingModel,
    text: &str,
) -> Result<Vec<f32>, InferenceError> {
    model
        .embed(vec![text.to_owned()])
        .await?
        .vectors
        .pop()
        .ok_or_else(|| InferenceError::ModelFailed("the model returned no vector".into()))
}

/// Metadata from a Bedrock sidecar (`doc.pdf.metadata.json`: `{"metadataAttributes": {...}}`),
/// whose values are plain JSON or typed (`{"value": {"type": "STRING", "stringValue": …}}`).
pub(crate) fn sidecar_metadata(bytes: &[u8]) -> Result<BTreeMap<String, Value>, String> {
    let value: Value =
        serde_json::from_slice(bytes).map_err(|e| format!("the metadata file is not JSON: {e}"))?;
    let attributes = value
        .get("metadataAttributes")
        .and_then(Value::as_object)
        .ok_or("the metadata file has no metadataAttributes object")?;
    let mut metadata = BTreeMap::new();
    for (key, value) in attributes {
        let value = match value.get("value") {
            Some(typed) => typed_value(typed).ok_or_else(|| {
                format!("metadata attribute {key} has a typed value this server cannot read")
            })?,
            None => value.clone(),
        };
        let plain = value.is_string()
            || value.is_number()
            || value.is_boolean()
            || value
                .as_array()
                .is_some_and(|items| items.iter().all(Value::is_string));
        if !plain {
            return Err(format!(
                "metadata attribute {key} must be a string, a number, a boolean or a list of strings"
            ));
        }
        metadata.insert(key.clone(), value);
    }
    Ok(metadata)
}

fn typed_value(typed: &Value) -> Option<Value> {
    match typed.get("type")?.as_str()? {
        "STRING" => typed.get("stringValue").cloned(),
        "NUMBER" => typed.get("numberValue").cloned(),
        "BOOLEAN" => typed.get("booleanValue").cloned(),
        "STRING_LIST" => typed.get("stringListValue").cloned(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn sidecars_read_plain_and_typed_values() {
        let sidecar = json!({"metadataAttributes": {
            "year": 2024,
            "team": {"value": {"type": "STRING", "stringValue": "search"}, "includeForEmbedding": true},
            "tags": ["a", "b"],
        }});
        let metadata = sidecar_metadata(sidecar.to_string().as_bytes()).unwrap();
        assert_eq!(metadata["year"], 2024);
        assert_eq!(metadata["team"], "search");
        assert_eq!(metadata["tags"], json!(["a", "b"]));
        assert!(sidecar_metadata(br#"{"metadataAttributes": {"x": {"a": 1}}}"#).is_err());
        assert!(sidecar_metadata(b"not json").is_err());
    }

    #[tokio::test]
    async fn documents_parse_by_their_type() {
        assert_eq!(
            parse(
                "\u{feff}hi".as_bytes().to_vec(),
                "text/plain; charset=utf-8"
            )
            .await
            .unwrap(),
            "hi"
        );
        assert!(parse(b"ok \xc3\x28".to_vec(), "text/plain").await.is_err());
        let error = parse(b"%PDF-1.7 truncated".to_vec(), "application/pdf")
            .await
            .unwrap_err();
        assert!(error.contains("pdf"), "{error}");
        let error = parse(b"x".to_vec(), "image/png").await.unwrap_err();
        assert!(
            error.contains("image/png") && error.contains("docx"),
            "{error}"
        );
        assert_eq!(content_type_of("notes/a.MD"), "text/markdown");
        assert_eq!(content_type_of("a.bin"), "application/octet-stream");
    }
}

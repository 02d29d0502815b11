//! SentencePiece-style vocabularies in GGUF (`tokenizer.ggml.model = "llama"`: Llama 2,
//! Mistral, TinyLlama), rebuilt as a byte-fallback BPE the way transformers'
//! `GGUFLlamaConverter` does: merges are every split of a vocabulary piece into two pieces,
//! ranked by the merged piece's score.

use tokenizers::decoders::byte_fallback::ByteFallback;
use tokenizers::decoders::fuse::Fuse;
use tokenizers::decoders::sequence::Sequence as DecoderSequence;
use tokenizers::decoders::strip::Strip;
use tokenizers::models::bpe::{BPE, Vocab};
use tokenizers::normalizers::{Prepend, Replace, Sequence as NormalizerSequence};
use tokenizers::{DecoderWrapper, NormalizerWrapper};

use crate::error::{ModelError, Result};
use crate::gguf::GgufFile;

/// llama.cpp's token types that take part in merges.
const TOKEN_TYPE_NORMAL: u64 = 1;

fn err(e: impl std::fmt::Display) -> ModelError {
    ModelError::Tokenizer(e.to_string())
}

pub(super) fn build(
    gguf: &GgufFile,
    tokens: &[String],
    types: &[u64],
) -> Result<tokenizers::Tokenizer> {
    let scores: Vec<f32> = match gguf.get("tokenizer.ggml.scores").and_then(|v| v.as_array()) {
        Some(a) => a.iter().map(|v| v.as_f64().unwrap_or(0.0) as f32).collect(),
        None => vec![0.0; tokens.len()],
    };
    let vocab: Vocab = tokens
        .iter()
        .enumerate()
        .map(|(i, t)| (t.clone(), i as u32))
        .collect();
    let merges = match gguf.get("tokenizer.ggml.merges").and_then(|v| v.as_array()) {
        Some(a) => a
            .iter()
            .filter_map(|m| m.as_str()?.split_once(' '))
            .map(|(l, r)| (l.to_owned(), r.to_owned()))
            .collect(),
        None => merges_from_scores(tokens, types, &scores, &vocab),
    };
    let mut builder = BPE::builder()
        .vocab_and_merges(vocab, merges)
        .fuse_unk(true)
        .byte_fallback(true);
    if let Some(unk) = gguf
        .get("tokenizer.ggml.unknown_token_id")
        .and_then(|v| v.as_u64())
        .and_then(|id| tokens.get(id as usize))
    {
        builder = builder.unk_token(unk.clone());
    }
    let mut tok = tokenizers::Tokenizer::new(builder.build().map_err(err)?);
    let add_space_prefix = gguf
        .get("tokenizer.ggml.add_space_prefix")
        .and_then(|v| v.as_bool())
        .unwrap_or(true);
    let mut normalizers: Vec<NormalizerWrapper> = Vec::new();
    if add_space_prefix {
        normalizers.push(Prepend::new("▁".into()).into());
    }
    normalizers.push(Replace::new(" ", "▁").map_err(err)?.into());
    tok.with_normalizer(Some(NormalizerSequence::new(normalizers)));
    let mut decoders: Vec<DecoderWrapper> = vec![
        Replace::new("▁", " ").map_err(err)?.into(),
        ByteFallback::new().into(),
        Fuse::new().into(),
    ];
    if add_space_prefix {
        decoders.push(Strip::new(' ', 1, 0).into());
    }
    tok.with_decoder(Some(DecoderSequence::new(decoders)));
    Ok(tok)
}

/// Every (left, right) split of a normal piece whose halves are both pieces; ordered by the
/// merged piece's score (highest first), ties by the halves' ids — transformers' order.
fn merges_from_scores(
    tokens: &[String],
    types: &[u64],
    scores: &[f32],
    vocab: &Vocab,
) -> Vec<(String, String)> {
    let mut merges: Vec<(f32, u32, u32, usize, usize)> = Vec::new();
    for (id, piece) in tokens.iter().enumerate() {
        if types.get(id).is_some_and(|&t| t != TOKEN_TYPE_NORMAL) {
            continue;
        }
        let score = scores.get(id).copied().unwrap_or(0.0);
        for (split, _) in piece.char_indices().skip(1) {
            let (l, r) = piece.split_at(split);
            if let (Some(&li), Some(&ri)) = (vocab.get(l), vocab.get(r)) {
                merges.push((score, li, ri, id, split));
            }
        }
    }
    merges.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
    merges
        .into_iter()
        .map(|(_, _, _, id, split)| {
            let (l, r) = tokens[id].split_at(split);
            (l.to_owned(), r.to_owned())
        })
        .collect()
}

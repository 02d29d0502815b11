//! SentencePiece-style GGUF vocabularies (`tokenizer.ggml.model = "llama"`) on a toy vocabulary.

mod common;

use common::gguf_writer::{Meta, gguf, write};
use mantle_models::Tokenizer;
use mantle_models::gguf::GgufFile;

#[test]
fn spm_vocabulary_merges_by_score_and_falls_back_to_bytes() {
    let pieces = [
        "<unk>", "<s>", "</s>", "<0x41>", "▁", "h", "e", "l", "o", "w", "r", "d", "▁h", "ll",
        "▁he", "llo", "▁hello", "▁w", "or", "▁wor", "ld", "▁world",
    ];
    // Control, control, control, byte, then normal pieces; earlier pieces merge first.
    let types: Vec<i32> = (0..pieces.len())
        .map(|i| match i {
            0 => 2,
            1 | 2 => 3,
            3 => 6,
            _ => 1,
        })
        .collect();
    let scores: Vec<f32> = (0..pieces.len()).map(|i| -(i as f32)).collect();
    let file = gguf(
        &[
            ("general.architecture", Meta::Str("llama")),
            ("tokenizer.ggml.model", Meta::Str("llama")),
            (
                "tokenizer.ggml.tokens",
                Meta::Strs(pieces.iter().map(|s| s.to_string()).collect()),
            ),
            ("tokenizer.ggml.scores", Meta::F32s(scores)),
            ("tokenizer.ggml.token_type", Meta::I32s(types)),
            ("tokenizer.ggml.bos_token_id", Meta::U32(1)),
            ("tokenizer.ggml.eos_token_id", Meta::U32(2)),
            ("tokenizer.ggml.unknown_token_id", Meta::U32(0)),
            ("tokenizer.ggml.add_bos_token", Meta::Bool(true)),
        ],
        &[],
    );
    let tok = Tokenizer::from_gguf(&GgufFile::open(write("spm.gguf", &file)).unwrap()).unwrap();
    let ids = tok.encode("hello world").unwrap();
    assert_eq!(ids, [1, 16, 21], "BOS, ▁hello, ▁world");
    assert_eq!(tok.decode(&ids, true).unwrap(), "hello world");
    // "A" is not a piece: it falls back to its byte token.
    let ids = tok.encode("hello A").unwrap();
    assert_eq!(ids, [1, 16, 4, 3]);
    assert_eq!(tok.decode(&ids, true).unwrap(), "hello A");
    // Special tokens in text are recognised.
    assert_eq!(tok.encode("</s>").unwrap(), [1, 2]);
}

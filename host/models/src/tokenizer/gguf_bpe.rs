use tokenizers::models::bpe::{BPE, Vocab};
use tokenizers::pre_tokenizers::byte_level::ByteLevel;
use tokenizers::pre_tokenizers::digits::Digits;
use tokenizers::pre_tokenizers::sequence::Sequence;
use tokenizers::pre_tokenizers::split::{Split, SplitPattern};
use tokenizers::{AddedToken, PreTokenizerWrapper, SplitDelimiterBehavior};

use crate::error::{ModelError, Result};
use crate::gguf::GgufFile;

/// llama.cpp's `llama_token_type`: control tokens are the chat markers and other specials.
const TOKEN_TYPE_CONTROL: u64 = 3;
const TOKEN_TYPE_USER_DEFINED: u64 = 4;

/// Llama 3's pre-tokenizer regex (llama.cpp `LLAMA_VOCAB_PRE_TYPE_LLAMA3`).
const LLAMA3_PATTERN: &str = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

fn err(e: impl std::fmt::Display) -> ModelError {
    ModelError::Tokenizer(e.to_string())
}

pub(super) fn build(gguf: &GgufFile) -> Result<tokenizers::Tokenizer> {
    let model = gguf.get_str("tokenizer.ggml.model")?;
    if model != "gpt2" && model != "llama" {
        return Err(ModelError::Tokenizer(format!(
            "tokenizer.ggml.model `{model}` is not supported (`gpt2` byte-level BPE or `llama` \
             SentencePiece BPE)"
        )));
    }
    let tokens: Vec<String> = gguf
        .get_array("tokenizer.ggml.tokens")?
        .iter()
        .map(|v| v.as_str().map(str::to_owned))
        .collect::<Option<_>>()
        .ok_or_else(|| ModelError::Metadata("tokenizer.ggml.tokens".into()))?;
    let types: Vec<u64> = match gguf.get("tokenizer.ggml.token_type") {
        Some(v) => v
            .as_array()
            .map(|a| a.iter().map(|t| t.as_u64().unwrap_or(1)).collect())
            .unwrap_or_default(),
        None => Vec::new(),
    };
    let mut tok = if model == "llama" {
        super::gguf_spm::build(gguf, &tokens, &types)?
    } else {
        byte_level_bpe(gguf, &tokens)?
    };
    let added: Vec<AddedToken> = types
        .iter()
        .zip(&tokens)
        .filter(|&(&t, _)| t == TOKEN_TYPE_CONTROL || t == TOKEN_TYPE_USER_DEFINED)
        .map(|(&t, token)| AddedToken::from(token.clone(), t == TOKEN_TYPE_CONTROL))
        .collect();
    tok.add_special_tokens(
        &added
            .iter()
            .filter(|t| t.special)
            .cloned()
            .collect::<Vec<_>>(),
    );
    tok.add_tokens(&added.into_iter().filter(|t| !t.special).collect::<Vec<_>>());
    Ok(tok)
}

fn byte_level_bpe(gguf: &GgufFile, tokens: &[String]) -> Result<tokenizers::Tokenizer> {
    let merges: Vec<(String, String)> = gguf
        .get_array("tokenizer.ggml.merges")?
        .iter()
        .map(|v| {
            v.as_str()
                .and_then(|m| m.split_once(' '))
                .map(|(a, b)| (a.to_owned(), b.to_owned()))
        })
        .collect::<Option<_>>()
        .ok_or_else(|| ModelError::Metadata("tokenizer.ggml.merges".into()))?;
    let vocab: Vocab = tokens
        .iter()
        .enumerate()
        .map(|(i, t)| (t.clone(), i as u32))
        .collect();
    let bpe = BPE::builder()
        .vocab_and_merges(vocab, merges)
        .build()
        .map_err(err)?;
    let mut tok = tokenizers::Tokenizer::new(bpe);
    let pre = gguf
        .get("tokenizer.ggml.pre")
        .and_then(|v| v.as_str())
        .unwrap_or("default");
    tok.with_pre_tokenizer(Some(pre_tokenizer(pre)?));
    tok.with_decoder(Some(ByteLevel::default()));
    Ok(tok)
}

/// Maps llama.cpp's `tokenizer.ggml.pre` names to the equivalent Hugging Face pre-tokenizers.
fn pre_tokenizer(name: &str) -> Result<Sequence> {
    let byte_level = |use_regex| PreTokenizerWrapper::from(ByteLevel::new(false, true, use_regex));
    let steps: Vec<PreTokenizerWrapper> = match name {
        // SmolLM (and StarCoder) split every digit on its own before the GPT-2 regex.
        "smollm" | "starcoder" | "refact" => vec![Digits::new(true).into(), byte_level(true)],
        "llama-bpe" | "llama3" | "llama-v3" => vec![
            Split::new(
                SplitPattern::Regex(LLAMA3_PATTERN.into()),
                SplitDelimiterBehavior::Isolated,
                false,
            )
            .map_err(err)?
            .into(),
            byte_level(false),
        ],
        // GPT-2's own regex; the usual choice of converters that write "default".
        _ => vec![byte_level(true)],
    };
    Ok(Sequence::new(steps))
}

//! The bytes each vocabulary entry writes, for constrained decoding: a grammar judges bytes,
//! and decoding a lone token to a `String` loses the partial UTF-8 that byte-level BPE tokens
//! often carry.

use std::collections::HashMap;

/// How a vocabulary spells bytes in its token strings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PieceEncoding {
    /// GPT-2 byte-level BPE: every byte is mapped to a printable character.
    ByteLevel,
    /// SentencePiece: `▁` is a space, `<0xAB>` a raw byte.
    SentencePiece,
    /// Token strings are the text itself (WordPiece and other `tokenizer.json` models).
    Plain,
}

/// GPT-2's `bytes_to_unicode`, inverted: printable Latin-1 stands for itself, every other byte
/// for a character from U+0100 on, in byte order.
fn byte_level_decoder() -> HashMap<char, u8> {
    let printable = |b: u8| matches!(b, b'!'..=b'~' | 0xA1..=0xAC | 0xAE..=0xFF);
    let mut map = HashMap::with_capacity(256);
    let mut shifted = 0u32;
    for b in 0..=255u8 {
        let c = if printable(b) {
            char::from(b)
        } else {
            shifted += 1;
            char::from_u32(255 + shifted).expect("U+0100.. are chars")
        };
        map.insert(c, b);
    }
    map
}

/// Bytes of every token id; `None` for special tokens (chat markers, EOS), which never belong
/// to constrained output.
pub(crate) fn token_bytes(
    inner: &tokenizers::Tokenizer,
    encoding: PieceEncoding,
) -> Vec<Option<Box<[u8]>>> {
    let size = inner.get_vocab_size(true);
    let special: std::collections::HashSet<u32> = inner
        .get_added_tokens_decoder()
        .iter()
        .filter(|(_, t)| t.special)
        .map(|(id, _)| *id)
        .collect();
    let decoder = (encoding == PieceEncoding::ByteLevel).then(byte_level_decoder);
    (0..size as u32)
        .map(|id| {
            if special.contains(&id) {
                return None;
            }
            let piece = inner.id_to_token(id)?;
            let bytes: Vec<u8> = match encoding {
                PieceEncoding::ByteLevel => {
                    let decoder = decoder.as_ref().expect("built for byte-level");
                    piece
                        .chars()
                        .map(|c| decoder.get(&c).copied())
                        .collect::<Option<_>>()
                        // An added (non-special) token is stored as plain text.
                        .unwrap_or_else(|| piece.clone().into_bytes())
                }
                PieceEncoding::SentencePiece => {
                    let hex = piece
                        .strip_prefix("<0x")
                        .and_then(|h| h.strip_suffix('>'))
                        .filter(|h| h.len() == 2)
                        .and_then(|h| u8::from_str_radix(h, 16).ok());
                    match hex {
                        Some(byte) => vec![byte],
                        None => piece.replace('\u{2581}', " ").into_bytes(),
                    }
                }
                PieceEncoding::Plain => piece.into_bytes(),
            };
            (!bytes.is_empty()).then(|| bytes.into_boxed_slice())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_level_map_is_gpt2s() {
        let map = byte_level_decoder();
        assert_eq!(map.len(), 256);
        assert_eq!(map[&'Ġ'], b' ');
        assert_eq!(map[&'Ċ'], b'\n');
        assert_eq!(map[&'a'], b'a');
        assert_eq!(map[&'\u{0100}'], 0);
    }
}

//! Decoding of the text formats and the whitespace normalisation every format ends with.

use crate::{Extracted, Format, ParseError, malformed};

pub(crate) fn read(bytes: &[u8], format: Format) -> Result<Extracted, ParseError> {
    let decoded = decode(bytes, format)?;
    if format == Format::Json {
        check_json(&decoded)?;
    }
    let text = normalise(&decoded, Indent::Keep);
    let title = match format {
        Format::Markdown => markdown_title(&text),
        _ => None,
    };
    Ok(Extracted {
        text,
        title,
        pages: None,
    })
}

/// UTF-8 (a byte-order mark is dropped), or UTF-16 when a byte-order mark says so. Nothing else
/// is guessed: a wrong guess turns text into plausible garbage that then gets indexed.
pub(crate) fn decode(bytes: &[u8], format: Format) -> Result<String, ParseError> {
    if let Some(rest) = bytes.strip_prefix(b"\xEF\xBB\xBF") {
        return utf8(rest, 3, format);
    }
    let big_endian = match bytes {
        [0xFF, 0xFE, ..] => false,
        [0xFE, 0xFF, ..] => true,
        _ => return utf8(bytes, 0, format),
    };
    let body = &bytes[2..];
    if !body.len().is_multiple_of(2) {
        return Err(malformed(
            format,
            "it is UTF-16 with an odd number of bytes, so it is cut short",
        ));
    }
    let units = body.chunks_exact(2).map(|pair| {
        let pair = [pair[0], pair[1]];
        if big_endian {
            u16::from_be_bytes(pair)
        } else {
            u16::from_le_bytes(pair)
        }
    });
    let mut out = String::with_capacity(body.len() / 2);
    let mut offset = 2;
    for unit in char::decode_utf16(units) {
        match unit {
            Ok(c) => {
                offset += 2 * c.len_utf16();
                out.push(c);
            }
            Err(_) => {
                return Err(malformed(
                    format,
                    format!(
                        "it is not valid UTF-16 (an unpaired surrogate at byte offset {offset})"
                    ),
                ));
            }
        }
    }
    Ok(out)
}

fn utf8(bytes: &[u8], skipped: usize, format: Format) -> Result<String, ParseError> {
    match std::str::from_utf8(bytes) {
        Ok(text) => Ok(text.to_owned()),
        Err(e) => Err(malformed(
            format,
            format!(
                "it is not valid UTF-8 (first bad byte at offset {}); save it as UTF-8 and upload \
                 it again",
                e.valid_up_to() + skipped
            ),
        )),
    }
}

/// The text is kept as written (a retrieval system and a model read JSON fine), but a file that
/// is not JSON at all is more likely a mislabelled upload than something worth indexing.
/// A stream of values (JSON Lines) is accepted.
fn check_json(text: &str) -> Result<(), ParseError> {
    let values = serde_json::Deserializer::from_str(text).into_iter::<serde::de::IgnoredAny>();
    for value in values {
        if let Err(e) = value {
            return Err(malformed(
                Format::Json,
                format!("it is not valid JSON ({})", crate::cause(e)),
            ));
        }
    }
    Ok(())
}

fn markdown_title(text: &str) -> Option<String> {
    text.lines()
        .find_map(|line| line.strip_prefix("# "))
        .map(|title| title.trim().to_owned())
        .filter(|title| !title.is_empty())
}

/// Whether leading whitespace survives normalisation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Indent {
    /// Kept, for formats written by hand (txt, md, json), where indentation is structure: a
    /// Markdown code block or a nested list.
    Keep,
    /// Dropped, for text a reader laid out (html, pdf, docx), where it is noise.
    Drop,
}

/// Unifies line endings, drops control characters, collapses runs of spaces inside a line,
/// trims line ends, keeps at most one blank line in a row and trims the whole.
pub(crate) fn normalise(raw: &str, indent: Indent) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut blank_pending = false;
    let raw = raw.replace("\r\n", "\n").replace(['\r', '\u{c}'], "\n");
    for line in raw.split('\n') {
        let body_start = match indent {
            Indent::Keep => line.len() - line.trim_start_matches([' ', '\t']).len(),
            Indent::Drop => 0,
        };
        let (lead, body) = line.split_at(body_start);
        let mut collapsed = String::with_capacity(body.len());
        let mut space = false;
        for c in body.chars() {
            if c.is_whitespace() {
                space = true;
            } else if c.is_control() {
                // NULs and other control bytes arrive from PDFs and binary-ish text; they carry
                // no meaning and break downstream tokenisers and JSON encoders.
                continue;
            } else {
                if space && !collapsed.is_empty() {
                    collapsed.push(' ');
                }
                space = false;
                collapsed.push(c);
            }
        }
        if collapsed.is_empty() {
            blank_pending = !out.is_empty();
            continue;
        }
        if !out.is_empty() {
            out.push('\n');
            if blank_pending {
                out.push('\n');
            }
        }
        blank_pending = false;
        out.push_str(lead);
        out.push_str(&collapsed);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalise_collapses_spaces_and_blank_lines() {
        let raw = "  \n\nTitle   here\t \r\n\r\n\r\n\n  body\u{0} \u{a0}text  \n\n";
        assert_eq!(normalise(raw, Indent::Drop), "Title here\n\nbody text");
        assert_eq!(normalise(raw, Indent::Keep), "Title here\n\n  body text");
    }

    #[test]
    fn decode_rejects_bad_utf8_with_offset() {
        let err = decode(b"abc\xFFdef", Format::Text).unwrap_err();
        assert!(err.to_string().contains("offset 3"), "{err}");
        let err = decode(b"\xEF\xBB\xBFab\xC3", Format::Text).unwrap_err();
        assert!(err.to_string().contains("offset 5"), "{err}");
    }

    #[test]
    fn decode_utf16_big_endian_and_bad_surrogate() {
        let be: Vec<u8> = [0xFE, 0xFF]
            .into_iter()
            .chain("hé".encode_utf16().flat_map(u16::to_be_bytes))
            .collect();
        assert_eq!(decode(&be, Format::Text).unwrap(), "hé");
        let err = decode(&[0xFF, 0xFE, b'a', 0, 0x00, 0xDC], Format::Text).unwrap_err();
        assert!(err.to_string().contains("byte offset 4"), "{err}");
    }

    #[test]
    fn json_is_checked_but_kept() {
        let doc = read(b"{\"a\": 1}\n{\"b\":   [2]}", Format::Json).unwrap();
        assert_eq!(doc.text, "{\"a\": 1}\n{\"b\": [2]}");
        let err = read(b"{\"a\": ", Format::Json).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("The json document could not be read: it is not valid JSON"),
            "{err}"
        );
    }
}

//! PDF through pdf-extract, page by page so pages stay apart and the page limit is checked
//! before any content stream is interpreted. pdf-extract 0.12 logs through `log` and never
//! prints to stdout, so nothing has to be captured; its panics are caught by [`crate::extract`].

use crate::text::{Indent, normalise};
use crate::{Extracted, Format, Limit, Limits, ParseError, Sink, cause, malformed};
use pdf_extract::{Document, Object, PlainTextOutput, decode_text_string, output_doc_page};

pub(crate) fn read(bytes: &[u8], limits: &Limits) -> Result<Extracted, ParseError> {
    let doc = match Document::load_mem(bytes) {
        Ok(doc) => doc,
        Err(pdf_extract::Error::InvalidPassword | pdf_extract::Error::Decryption(_)) => {
            return Err(ParseError::Encrypted(Format::Pdf));
        }
        Err(e) => {
            return Err(malformed(
                Format::Pdf,
                format!("it is not a valid PDF ({})", cause(e)),
            ));
        }
    };
    // lopdf decrypts documents with an empty user password while loading (most "protected"
    // PDFs only restrict printing or copying); one still encrypted needs a password we lack.
    if doc.is_encrypted() {
        return Err(ParseError::Encrypted(Format::Pdf));
    }
    let pages = doc.get_pages();
    if pages.len() > limits.max_pages {
        return Err(ParseError::TooLarge {
            format: Format::Pdf,
            limit: Limit::Pages,
            max: limits.max_pages as u64,
            found: Some(pages.len() as u64),
        });
    }
    if pages.is_empty() {
        return Err(malformed(Format::Pdf, "it has no pages"));
    }
    let mut sink = Sink::new(Format::Pdf, limits);
    for &number in pages.keys() {
        let mut page = String::new();
        output_doc_page(&doc, &mut PlainTextOutput::new(&mut page), number).map_err(|e| {
            malformed(
                Format::Pdf,
                format!("page {number} could not be read ({})", cause(e)),
            )
        })?;
        let page = normalise(&page, Indent::Drop);
        if !page.is_empty() {
            sink.push(&page)?;
            sink.push("\n\n")?;
        }
    }
    let text = normalise(&sink.finish(), Indent::Drop);
    if text.is_empty() {
        return Err(ParseError::Empty {
            format: Format::Pdf,
        });
    }
    Ok(Extracted {
        text,
        title: title(&doc),
        pages: Some(pages.len()),
    })
}

/// The Info dictionary's `Title`, which authoring tools often fill with a file name or leave
/// as "Untitled"; callers should prefer it only over nothing.
fn title(doc: &Document) -> Option<String> {
    let info = match doc.trailer.get(b"Info").ok()? {
        Object::Reference(id) => doc.get_dictionary(*id).ok()?,
        Object::Dictionary(dict) => dict,
        _ => return None,
    };
    let title = decode_text_string(info.get(b"Title").ok()?).ok()?;
    let title = title.split_whitespace().collect::<Vec<_>>().join(" ");
    (!title.is_empty()).then_some(title)
}

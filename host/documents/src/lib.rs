//! Plain text from uploaded documents, for Knowledge Bases ingestion and Converse `document`
//! content blocks.
//!
//! [`extract`] takes a document's bytes and its [`Format`] and returns the text a chunker or a
//! model reads. Which crate reads which format:
//!
//! | format | reader |
//! | --- | --- |
//! | txt, md, json | the standard library (UTF-8, or UTF-16 with a byte-order mark); JSON is checked with `serde_json` and kept as written |
//! | csv | `csv`, each row rendered as `column: value` pairs |
//! | html | `scraper` (html5ever); scripts, styles and navigation dropped |
//! | pdf | `pdf-extract` (on `lopdf`), page by page |
//! | docx | `docx-rs`'s reader |
//! | xlsx, xls | `calamine`, each sheet under `# Sheet: NAME`, rows as `column: value` pairs |
//! | doc | not read: legacy binary Word has no well-kept pure-Rust reader, so it fails with [`ParseError::Unsupported`] |
//!
//! A hostile file must fail alone rather than take the host with it, so [`Limits`] bounds the
//! input size, the text produced, the PDF page count and, for the ZIP-based formats (docx,
//! xlsx), the unpacked size of the archive, which is checked before any parser sees it. A
//! panic inside a reader crate is caught and reported as [`ParseError::Malformed`]; this needs
//! the default `panic = "unwind"`, and the panic message still reaches the process's panic
//! hook (stderr by default). What cannot be caught is memory exhaustion inside a reader, which
//! the limits exist to make unlikely.
//!
//! Extraction is synchronous and CPU-bound (a large PDF takes seconds): async callers run it
//! in `tokio::task::spawn_blocking` or a dedicated pool.

mod html;
mod office;
mod pdf;
mod tabular;
mod text;

use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind};

/// A document format Mantle reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// Plain text (`.txt`, `text/plain`).
    Text,
    /// Markdown (`.md`, `text/markdown`), kept as written.
    Markdown,
    /// Comma-separated values (`.csv`, `text/csv`).
    Csv,
    /// JSON (`.json`, `application/json`), kept as written.
    Json,
    /// HTML (`.html`/`.htm`, `text/html`).
    Html,
    /// PDF (`.pdf`, `application/pdf`).
    Pdf,
    /// Office Open XML Word (`.docx`).
    Docx,
    /// Legacy binary Word (`.doc`); recognised so it can be refused with a useful message.
    Doc,
    /// Office Open XML Excel (`.xlsx`).
    Xlsx,
    /// Legacy binary Excel (`.xls`).
    Xls,
}

const DOCX_MIME: &str = "application/vnd.openxmlformats-officedocument.wordprocessingml.document";
const XLSX_MIME: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

impl Format {
    /// Every format, in a stable order.
    pub const ALL: [Format; 10] = [
        Format::Text,
        Format::Markdown,
        Format::Csv,
        Format::Json,
        Format::Html,
        Format::Pdf,
        Format::Docx,
        Format::Doc,
        Format::Xlsx,
        Format::Xls,
    ];

    /// The format a file name, an object key or a bare extension names, case-insensitively:
    /// `"reports/Q3.PDF"`, `".pdf"` and `"pdf"` are all [`Format::Pdf`]. `htm`/`html`,
    /// `md`/`markdown` and `txt`/`text` are accepted.
    pub fn from_extension(name_or_ext: &str) -> Option<Format> {
        let file = name_or_ext
            .rsplit(['/', '\\'])
            .next()
            .unwrap_or(name_or_ext);
        let ext = file.rsplit('.').next().unwrap_or(file);
        let format = match ext.to_ascii_lowercase().as_str() {
            "txt" | "text" => Format::Text,
            "md" | "markdown" => Format::Markdown,
            "csv" => Format::Csv,
            "json" => Format::Json,
            "html" | "htm" => Format::Html,
            "pdf" => Format::Pdf,
            "docx" => Format::Docx,
            "doc" => Format::Doc,
            "xlsx" => Format::Xlsx,
            "xls" => Format::Xls,
            _ => return None,
        };
        Some(format)
    }

    /// The format a `Content-Type` names, case-insensitively and ignoring parameters such as
    /// `; charset=utf-8`.
    pub fn from_mime(content_type: &str) -> Option<Format> {
        let essence = content_type.split(';').next().unwrap_or_default().trim();
        let format = match essence.to_ascii_lowercase().as_str() {
            "text/plain" => Format::Text,
            "text/markdown" | "text/x-markdown" => Format::Markdown,
            "text/csv" | "application/csv" => Format::Csv,
            "application/json" | "text/json" => Format::Json,
            "text/html" | "application/xhtml+xml" => Format::Html,
            "application/pdf" => Format::Pdf,
            "application/msword" => Format::Doc,
            "application/vnd.ms-excel" => Format::Xls,
            other if other == DOCX_MIME => Format::Docx,
            other if other == XLSX_MIME => Format::Xlsx,
            _ => return None,
        };
        Some(format)
    }

    /// The format a Converse `DocumentBlock.format` value names (`pdf`, `csv`, `doc`, `docx`,
    /// `xls`, `xlsx`, `html`, `txt`, `md`). Matching is exact, as Bedrock's validation is.
    pub fn from_converse(format: &str) -> Option<Format> {
        let format = match format {
            "pdf" => Format::Pdf,
            "csv" => Format::Csv,
            "doc" => Format::Doc,
            "docx" => Format::Docx,
            "xls" => Format::Xls,
            "xlsx" => Format::Xlsx,
            "html" => Format::Html,
            "txt" => Format::Text,
            "md" => Format::Markdown,
            _ => return None,
        };
        Some(format)
    }

    /// The format's canonical media type.
    pub fn mime(self) -> &'static str {
        match self {
            Format::Text => "text/plain",
            Format::Markdown => "text/markdown",
            Format::Csv => "text/csv",
            Format::Json => "application/json",
            Format::Html => "text/html",
            Format::Pdf => "application/pdf",
            Format::Docx => DOCX_MIME,
            Format::Doc => "application/msword",
            Format::Xlsx => XLSX_MIME,
            Format::Xls => "application/vnd.ms-excel",
        }
    }

    /// The format's short name (its usual extension), as messages show it: `"pdf"`, `"docx"`.
    pub fn name(self) -> &'static str {
        match self {
            Format::Text => "txt",
            Format::Markdown => "md",
            Format::Csv => "csv",
            Format::Json => "json",
            Format::Html => "html",
            Format::Pdf => "pdf",
            Format::Docx => "docx",
            Format::Doc => "doc",
            Format::Xlsx => "xlsx",
            Format::Xls => "xls",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Limits, so a hostile file fails alone instead of eating the host.
#[derive(Debug, Clone)]
pub struct Limits {
    /// The largest input accepted, in bytes.
    pub max_input_bytes: usize,
    /// The most characters of text one document may produce.
    pub max_text_chars: usize,
    /// For the ZIP-based formats (docx, xlsx): the most bytes the archive's entries may unpack
    /// to, all together. Checked before parsing, both as declared by the central directory and
    /// as actually inflated, so a ZIP bomb fails before any reader allocates for it.
    pub max_unpacked_bytes: u64,
    /// The most pages a PDF may have.
    pub max_pages: usize,
}

impl Default for Limits {
    /// 50 MiB of input (Bedrock's own per-file cap for Knowledge Bases), 10 million characters
    /// of text, 200 MiB unpacked and 2,000 PDF pages.
    fn default() -> Self {
        Limits {
            max_input_bytes: 50 * 1024 * 1024,
            max_text_chars: 10_000_000,
            max_unpacked_bytes: 200 * 1024 * 1024,
            max_pages: 2_000,
        }
    }
}

/// Extracted text, plus what a caller may report.
#[derive(Debug, Clone, PartialEq)]
pub struct Extracted {
    /// The document's text: lines separated by `\n`, runs of spaces collapsed, at most one
    /// blank line in a row, no leading or trailing whitespace. Never empty.
    pub text: String,
    /// The document's title where the format carries one: HTML `<title>`, the PDF's Info
    /// dictionary, a docx `Title`-styled paragraph, a Markdown file's first `# ` heading.
    pub title: Option<String>,
    /// The page count, for PDFs.
    pub pages: Option<usize>,
}

/// Which of the [`Limits`] a document went past.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    /// [`Limits::max_input_bytes`].
    InputBytes,
    /// [`Limits::max_text_chars`].
    TextChars,
    /// [`Limits::max_unpacked_bytes`].
    UnpackedBytes,
    /// [`Limits::max_pages`].
    Pages,
}

/// Why a document yielded no text. Each message is a complete sentence naming the format, fit
/// for an ingestion job's `failureReasons`.
#[derive(Debug, thiserror::Error)]
pub enum ParseError {
    /// The document goes past one of the [`Limits`]. `found` is the measured size where it is
    /// known; readers that stop at the limit only know it was passed.
    #[error("{}", too_large(*format, *limit, *max, *found))]
    TooLarge {
        /// The document's format.
        format: Format,
        /// The limit passed.
        limit: Limit,
        /// The limit's value.
        max: u64,
        /// The measured size, where known.
        found: Option<u64>,
    },
    /// The format is recognised but Mantle cannot read it.
    #[error("{}", unsupported(*.0))]
    Unsupported(Format),
    /// The bytes are not a readable document of the format.
    #[error("The {format} document could not be read: {reason}.")]
    Malformed {
        /// The format the bytes were read as.
        format: Format,
        /// What was wrong, as a sentence fragment.
        reason: String,
    },
    /// The document is protected by a password.
    #[error(
        "The {0} document is encrypted with a password; remove the protection and upload it again."
    )]
    Encrypted(Format),
    /// The document was read but holds no text.
    #[error("{}", empty(*format))]
    Empty {
        /// The document's format.
        format: Format,
    },
}

fn too_large(format: Format, limit: Limit, max: u64, found: Option<u64>) -> String {
    let (what, unit) = match limit {
        Limit::InputBytes => ("is", "bytes"),
        Limit::TextChars => ("has text of", "characters"),
        Limit::UnpackedBytes => ("unpacks to", "bytes"),
        Limit::Pages => ("has", "pages"),
    };
    let size = match found {
        Some(found) => format!("{found} {unit}"),
        None => format!("more than {max} {unit}"),
    };
    let hint = if limit == Limit::UnpackedBytes {
        " (a compressed archive that expands this far is treated as a ZIP bomb)"
    } else {
        ""
    };
    format!("The {format} document {what} {size}, over the limit of {max} {unit}{hint}.")
}

fn unsupported(format: Format) -> String {
    match format {
        Format::Doc => "Legacy Word (.doc) documents are not supported; save the document as \
                        .docx and upload it again."
            .to_owned(),
        other => format!("The {other} format is not supported."),
    }
}

fn empty(format: Format) -> String {
    match format {
        Format::Pdf => "The pdf document has no text layer (it is probably a scanned image); run \
                        OCR on it and upload the result."
            .to_owned(),
        other => format!("The {other} document contains no text."),
    }
}

/// Extracts the text of a document.
///
/// `bytes` is the whole file and `format` what the caller knows it to be (from the object's
/// extension, its `Content-Type` or a Converse block). Nothing is sniffed: a PDF sent as
/// `Format::Docx` fails as a malformed docx.
///
/// This is synchronous and CPU-bound; from async code run it in
/// `tokio::task::spawn_blocking`.
///
/// ```
/// use mantle_documents::{Format, Limits, ParseError, extract};
///
/// let html = b"<html><head><title>Notes</title><script>track()</script></head>\
///              <body><h1>Plan</h1><p>Ship   it &amp; rest.</p></body></html>";
/// let doc = extract(html, Format::Html, &Limits::default())?;
/// assert_eq!(doc.text, "# Plan\nShip it & rest.");
/// assert_eq!(doc.title.as_deref(), Some("Notes"));
///
/// let err = extract(b"", Format::Text, &Limits::default()).unwrap_err();
/// assert!(matches!(err, ParseError::Empty { format: Format::Text }));
/// # Ok::<(), ParseError>(())
/// ```
pub fn extract(bytes: &[u8], format: Format, limits: &Limits) -> Result<Extracted, ParseError> {
    if bytes.len() > limits.max_input_bytes {
        return Err(ParseError::TooLarge {
            format,
            limit: Limit::InputBytes,
            max: limits.max_input_bytes as u64,
            found: Some(bytes.len() as u64),
        });
    }
    // The reader crates are not hardened against hostile input (pdf-extract in particular
    // unwraps freely), and one bad upload must not take a worker thread down with it.
    let outcome = catch_unwind(AssertUnwindSafe(|| read(bytes, format, limits)));
    let extracted = match outcome {
        Ok(result) => result?,
        Err(panic) => {
            let detail = panic
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown cause".to_owned());
            return Err(ParseError::Malformed {
                format,
                reason: format!("its {format} reader failed on it ({detail})"),
            });
        }
    };
    if extracted.text.is_empty() {
        return Err(ParseError::Empty { format });
    }
    let chars = extracted.text.chars().count();
    if chars > limits.max_text_chars {
        return Err(ParseError::TooLarge {
            format,
            limit: Limit::TextChars,
            max: limits.max_text_chars as u64,
            found: Some(chars as u64),
        });
    }
    Ok(extracted)
}

fn read(bytes: &[u8], format: Format, limits: &Limits) -> Result<Extracted, ParseError> {
    match format {
        Format::Text | Format::Markdown | Format::Json => text::read(bytes, format),
        Format::Csv => tabular::read_csv(bytes, limits),
        Format::Html => html::read(bytes, limits),
        Format::Pdf => pdf::read(bytes, limits),
        Format::Docx => office::read_docx(bytes, limits),
        Format::Xlsx | Format::Xls => office::read_workbook(bytes, format, limits),
        Format::Doc => Err(ParseError::Unsupported(Format::Doc)),
    }
}

/// Text under construction that stops as soon as it passes [`Limits::max_text_chars`], so a
/// document whose rendering balloons (a sheet's header repeated on every row) fails before it
/// has used the memory.
#[derive(Debug)]
pub(crate) struct Sink {
    text: String,
    chars: usize,
    max: usize,
    format: Format,
}

impl Sink {
    pub(crate) fn new(format: Format, limits: &Limits) -> Self {
        Sink {
            text: String::new(),
            chars: 0,
            max: limits.max_text_chars,
            format,
        }
    }

    pub(crate) fn push(&mut self, s: &str) -> Result<(), ParseError> {
        self.chars += s.chars().count();
        if self.chars > self.max {
            return Err(ParseError::TooLarge {
                format: self.format,
                limit: Limit::TextChars,
                max: self.max as u64,
                found: None,
            });
        }
        self.text.push_str(s);
        Ok(())
    }

    /// Appends `line` and a newline, unless it is blank.
    pub(crate) fn line(&mut self, line: &str) -> Result<(), ParseError> {
        if line.trim().is_empty() {
            return Ok(());
        }
        self.push(line)?;
        self.push("\n")
    }

    /// Ends the current block with a blank line.
    pub(crate) fn blank(&mut self) -> Result<(), ParseError> {
        self.push("\n")
    }

    pub(crate) fn finish(self) -> String {
        self.text
    }
}

pub(crate) fn malformed(format: Format, reason: impl fmt::Display) -> ParseError {
    ParseError::Malformed {
        format,
        reason: reason.to_string(),
    }
}

/// A reader crate's error as a fragment inside our sentence: without its own final period, so
/// the message does not end in "..).".
pub(crate) fn cause(e: impl fmt::Display) -> String {
    e.to_string().trim_end_matches(['.', ' ']).to_owned()
}

//! Every format read from a real file made here, and the ways hostile files must fail.

use std::io::{Cursor, Write};

use mantle_documents::{Format, Limit, Limits, ParseError, extract};

fn read(bytes: &[u8], format: Format) -> mantle_documents::Extracted {
    match extract(bytes, format, &Limits::default()) {
        Ok(doc) => doc,
        Err(e) => panic!("{format} failed: {e}"),
    }
}

fn malformed(bytes: &[u8], format: Format) -> String {
    match extract(bytes, format, &Limits::default()) {
        Err(e @ ParseError::Malformed { format: f, .. }) => {
            assert_eq!(f, format);
            let message = e.to_string();
            assert!(message.starts_with(&format!("The {format} document could not be read: ")));
            message
        }
        other => panic!("{format}: expected Malformed, got {other:?}"),
    }
}

// ---------------------------------------------------------------- pdf

/// A PDF with one page per sentence, in Helvetica, each drawn with one Tj.
fn pdf(pages: &[&str], title: Option<&str>) -> Vec<u8> {
    use lopdf::content::{Content, Operation};
    use lopdf::{Document, Object, Stream, dictionary};

    let mut doc = Document::with_version("1.5");
    let pages_id = doc.new_object_id();
    let font_id = doc.add_object(dictionary! {
        "Type" => "Font", "Subtype" => "Type1", "BaseFont" => "Helvetica",
    });
    let resources_id = doc.add_object(dictionary! { "Font" => dictionary! { "F1" => font_id } });
    let mut kids: Vec<Object> = Vec::new();
    for text in pages {
        let operations = if text.is_empty() {
            // A page with only vector graphics, as a scanned page has only an image.
            vec![
                Operation::new("m", vec![0.into(), 0.into()]),
                Operation::new("l", vec![100.into(), 100.into()]),
                Operation::new("S", vec![]),
            ]
        } else {
            vec![
                Operation::new("BT", vec![]),
                Operation::new("Tf", vec!["F1".into(), 18.into()]),
                Operation::new("Td", vec![72.into(), 700.into()]),
                Operation::new("Tj", vec![Object::string_literal(*text)]),
                Operation::new("ET", vec![]),
            ]
        };
        let content = Content { operations }.encode().unwrap();
        let content_id = doc.add_object(Stream::new(dictionary! {}, content));
        let page_id = doc.add_object(dictionary! {
            "Type" => "Page", "Parent" => pages_id, "Contents" => content_id,
        });
        kids.push(page_id.into());
    }
    let count = kids.len() as i64;
    doc.objects.insert(
        pages_id,
        Object::Dictionary(dictionary! {
            "Type" => "Pages",
            "Kids" => kids,
            "Count" => count,
            "Resources" => resources_id,
            "MediaBox" => vec![0.into(), 0.into(), 595.into(), 842.into()],
        }),
    );
    let catalog_id = doc.add_object(dictionary! { "Type" => "Catalog", "Pages" => pages_id });
    doc.trailer.set("Root", catalog_id);
    if let Some(title) = title {
        let info_id = doc.add_object(dictionary! { "Title" => Object::string_literal(title) });
        doc.trailer.set("Info", info_id);
    }
    let mut out = Vec::new();
    doc.save_to(&mut out).unwrap();
    out
}

#[test]
fn pdf_pages_in_order_with_count_and_title() {
    let bytes = pdf(
        &[
            "The first page talks about apples.",
            "The second page talks about pears.",
        ],
        Some("Fruit report"),
    );
    let doc = read(&bytes, Format::Pdf);
    assert_eq!(doc.pages, Some(2));
    assert_eq!(doc.title.as_deref(), Some("Fruit report"));
    let first = doc
        .text
        .find("The first page talks about apples.")
        .expect(&doc.text);
    let second = doc
        .text
        .find("The second page talks about pears.")
        .expect(&doc.text);
    assert!(first < second, "{}", doc.text);
    assert!(
        doc.text[first..second].contains("\n\n"),
        "pages are not apart: {:?}",
        doc.text
    );
}

#[test]
fn pdf_without_text_is_empty_and_says_why() {
    let bytes = pdf(&["", ""], None);
    let err = extract(&bytes, Format::Pdf, &Limits::default()).unwrap_err();
    assert!(
        matches!(
            err,
            ParseError::Empty {
                format: Format::Pdf
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("no text layer"), "{err}");
    assert!(err.to_string().contains("OCR"), "{err}");
}

#[test]
fn pdf_truncated_or_garbage_is_malformed() {
    let bytes = pdf(&["Some words on a page."], None);
    malformed(&bytes[..bytes.len() / 3], Format::Pdf);
    malformed(b"%PDF-1.7\n this is not really a pdf at all", Format::Pdf);
    malformed(&pseudo_random(4096), Format::Pdf);
}

#[test]
fn pdf_that_panics_the_reader_is_malformed() {
    // pdf-extract `expect`s a MediaBox; renaming the key (same length, so the xref table stays
    // right) makes it panic, which must come back as an error.
    let bytes = pdf(&["Boxless page."], None);
    let at = bytes.windows(9).position(|w| w == b"/MediaBox").unwrap();
    let mut bytes = bytes;
    bytes[at..at + 9].copy_from_slice(b"/MediaBax");
    let message = malformed(&bytes, Format::Pdf);
    assert!(message.contains("reader failed on it"), "{message}");
}

#[test]
fn pdf_over_the_page_limit() {
    let bytes = pdf(&["one", "two", "three"], None);
    let limits = Limits {
        max_pages: 2,
        ..Limits::default()
    };
    let err = extract(&bytes, Format::Pdf, &limits).unwrap_err();
    assert!(
        matches!(
            err,
            ParseError::TooLarge {
                limit: Limit::Pages,
                max: 2,
                found: Some(3),
                ..
            }
        ),
        "{err:?}"
    );
}

// ---------------------------------------------------------------- docx

fn docx() -> Vec<u8> {
    use docx_rs::{Docx, Hyperlink, HyperlinkType, Paragraph, Run, Table, TableCell, TableRow};

    let para = |text: &str| Paragraph::new().add_run(Run::new().add_text(text));
    let cell = |text: &str| TableCell::new().add_paragraph(para(text));
    let mut out = Cursor::new(Vec::new());
    Docx::new()
        .add_paragraph(para("Annual Review").style("Title"))
        .add_paragraph(para("Goals for next year").style("Heading1"))
        .add_paragraph(para("We grew the garden by a third."))
        .add_paragraph(
            Paragraph::new()
                .add_run(Run::new().add_text("Details are in "))
                .add_hyperlink(
                    Hyperlink::new("https://example.com/plan", HyperlinkType::External)
                        .add_run(Run::new().add_text("the planting guide")),
                )
                .add_run(Run::new().add_text(".")),
        )
        .add_table(Table::new(vec![
            TableRow::new(vec![cell("Crop"), cell("Beds")]),
            TableRow::new(vec![cell("Tomatoes"), cell("4")]),
        ]))
        .build()
        .pack(&mut out)
        .unwrap();
    out.into_inner()
}

#[test]
fn docx_headings_paragraphs_links_and_tables() {
    let doc = read(&docx(), Format::Docx);
    assert_eq!(
        doc.text,
        "# Annual Review\n# Goals for next year\nWe grew the garden by a third.\n\
         Details are in the planting guide.\nCrop | Beds\nTomatoes | 4"
    );
    assert_eq!(doc.title.as_deref(), Some("Annual Review"));
    assert_eq!(doc.pages, None);
}

#[test]
fn docx_garbage_and_foreign_zips_are_malformed() {
    malformed(&pseudo_random(2048), Format::Docx);
    let message = malformed(
        &zip_of(&[("notes/hello.txt", b"hello there")]),
        Format::Docx,
    );
    assert!(message.contains("not a valid Word document"), "{message}");
    let bytes = docx();
    malformed(&bytes[..bytes.len() / 2], Format::Docx);
}

// ---------------------------------------------------------------- zip bombs

fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options =
        zip::write::FileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    for (name, body) in entries {
        zip.start_file(*name, options).unwrap();
        zip.write_all(body).unwrap();
    }
    zip.finish().unwrap().into_inner()
}

#[test]
fn zip_bomb_fails_on_declared_size_before_parsing() {
    let zeros = vec![0u8; 1 << 20];
    let bytes = zip_of(&[("word/document.xml", &zeros), ("xl/workbook.xml", &zeros)]);
    assert!(
        bytes.len() < 20_000,
        "the bomb should be small: {}",
        bytes.len()
    );
    let limits = Limits {
        max_unpacked_bytes: 1 << 20,
        ..Limits::default()
    };
    for format in [Format::Docx, Format::Xlsx] {
        let err = extract(&bytes, format, &limits).unwrap_err();
        assert!(
            matches!(err, ParseError::TooLarge { limit: Limit::UnpackedBytes, found: Some(n), .. } if n == 2 << 20),
            "{err:?}"
        );
        assert!(err.to_string().contains("ZIP bomb"), "{err}");
    }
}

#[test]
fn zip_bomb_that_lies_about_its_size_fails_while_inflating() {
    let mut bytes = zip_of(&[("word/document.xml", &vec![b'a'; 1 << 20])]);
    // Rewrite the uncompressed size in the local header (offset 22) and the central directory
    // entry (offset 24) to 10 bytes, so only inflating shows the real size.
    let mut patched = 0;
    for i in 0..bytes.len().saturating_sub(4) {
        let at = match &bytes[i..i + 4] {
            [0x50, 0x4b, 0x03, 0x04] => i + 22,
            [0x50, 0x4b, 0x01, 0x02] => i + 24,
            _ => continue,
        };
        bytes[at..at + 4].copy_from_slice(&10u32.to_le_bytes());
        patched += 1;
    }
    assert_eq!(patched, 2);
    let limits = Limits {
        max_unpacked_bytes: 64 * 1024,
        ..Limits::default()
    };
    let err = extract(&bytes, Format::Docx, &limits).unwrap_err();
    assert!(
        matches!(
            err,
            ParseError::TooLarge {
                limit: Limit::UnpackedBytes,
                found: None,
                ..
            }
        ),
        "{err:?}"
    );
}

// ---------------------------------------------------------------- xlsx / xls

fn xlsx() -> Vec<u8> {
    use rust_xlsxwriter::{ExcelDateTime, Format as CellFormat, Workbook};

    let mut book = Workbook::new();
    let sales = book.add_worksheet();
    sales.set_name("Sales").unwrap();
    sales.write_string(0, 0, "Region").unwrap();
    sales.write_string(0, 1, "Revenue").unwrap();
    sales.write_string(0, 2, "Closed").unwrap();
    sales.write_string(1, 0, "North").unwrap();
    sales.write_number(1, 1, 1200).unwrap();
    let date = ExcelDateTime::from_ymd(2024, 3, 15).unwrap();
    let date_format = CellFormat::new().set_num_format("yyyy-mm-dd");
    sales
        .write_datetime_with_format(1, 2, &date, &date_format)
        .unwrap();
    sales.write_string(2, 0, "South").unwrap();
    sales.write_number(2, 1, 87.5).unwrap();
    let staff = book.add_worksheet();
    staff.set_name("Staff").unwrap();
    staff.write_string(0, 0, "Name").unwrap();
    staff.write_string(0, 1, "Team").unwrap();
    staff.write_string(1, 0, "Ada").unwrap();
    staff.write_string(1, 1, "Engines").unwrap();
    book.add_worksheet().set_name("Blank").unwrap();
    book.save_to_buffer().unwrap()
}

#[test]
fn xlsx_sheets_render_as_column_value_rows() {
    let doc = read(&xlsx(), Format::Xlsx);
    assert_eq!(
        doc.text,
        "# Sheet: Sales\nRegion: North; Revenue: 1200; Closed: 2024-03-15\n\
         Region: South; Revenue: 87.5\n\n# Sheet: Staff\nName: Ada; Team: Engines"
    );
}

#[test]
fn spreadsheets_garbage_is_malformed() {
    malformed(&pseudo_random(3000), Format::Xlsx);
    malformed(&zip_of(&[("hello.txt", b"hi")]), Format::Xlsx);
    malformed(&pseudo_random(3000), Format::Xls);
    // An xlsx is not an xls: the legacy reader wants an OLE compound file.
    malformed(&xlsx(), Format::Xls);
}

// ---------------------------------------------------------------- html

#[test]
fn html_drops_noise_keeps_structure() {
    let html = r#"<!doctype html>
<html><head><title> Garden   notes </title><style>p { color: red }</style>
<script>var tracking = "do not index";</script></head>
<body>
  <nav><a href="/">Home</a> <a href="/about">About us</a></nav>
  <h1>Spring   planting</h1>
  <p>Sow peas &amp; beans
     after the frost.</p>
  <ul><li>Water daily</li><li>Weed <b>weekly</b></li></ul>
  <table><tr><th>Crop</th><th>Month</th></tr><tr><td>Peas</td><td>March</td></tr></table>
  <noscript>Enable JavaScript</noscript>
</body></html>"#;
    let doc = read(html.as_bytes(), Format::Html);
    assert_eq!(
        doc.text,
        "# Spring planting\nSow peas & beans after the frost.\n- Water daily\n- Weed weekly\n\
         Crop | Month\nPeas | March"
    );
    assert_eq!(doc.title.as_deref(), Some("Garden notes"));
}

#[test]
fn html_with_only_noise_is_empty() {
    let err = extract(
        b"<script>x()</script><nav>Home</nav>",
        Format::Html,
        &Limits::default(),
    )
    .unwrap_err();
    assert!(
        matches!(
            err,
            ParseError::Empty {
                format: Format::Html
            }
        ),
        "{err:?}"
    );
    assert_eq!(err.to_string(), "The html document contains no text.");
}

// ---------------------------------------------------------------- text formats

#[test]
fn csv_rows_name_their_columns() {
    let csv = "\u{feff}city,population\r\nOslo,709000\r\nBergen,291000\r\n";
    let doc = read(csv.as_bytes(), Format::Csv);
    assert_eq!(
        doc.text,
        "city: Oslo; population: 709000\ncity: Bergen; population: 291000"
    );
    let message = malformed(b"a,b\n\"unterminated,1\n2,\xff\n", Format::Csv);
    assert!(message.contains("UTF-8"), "{message}");
}

#[test]
fn markdown_kept_as_written_with_title() {
    let md = "# Release notes\n\n\n\n- item   one\n    - nested\n\n```\ncode  here\n```\n";
    let doc = read(md.as_bytes(), Format::Markdown);
    assert_eq!(
        doc.text,
        "# Release notes\n\n- item one\n    - nested\n\n```\ncode here\n```"
    );
    assert_eq!(doc.title.as_deref(), Some("Release notes"));
}

#[test]
fn utf16_text_is_converted_and_bad_utf8_names_the_offset() {
    let mut le = vec![0xFF, 0xFE];
    le.extend("Grüße, 世界\n".encode_utf16().flat_map(u16::to_le_bytes));
    assert_eq!(read(&le, Format::Text).text, "Grüße, 世界");
    let message = malformed(b"caf\xe9 au lait", Format::Text);
    assert!(message.contains("offset 3"), "{message}");
}

#[test]
fn legacy_doc_is_refused_with_advice() {
    let err = extract(
        b"\xD0\xCF\x11\xE0 whatever",
        Format::Doc,
        &Limits::default(),
    )
    .unwrap_err();
    assert!(
        matches!(err, ParseError::Unsupported(Format::Doc)),
        "{err:?}"
    );
    assert!(err.to_string().contains(".docx"), "{err}");
}

#[test]
fn input_and_text_limits() {
    let limits = Limits {
        max_input_bytes: 10,
        ..Limits::default()
    };
    let err = extract(b"eleven char", Format::Text, &limits).unwrap_err();
    assert!(
        matches!(
            err,
            ParseError::TooLarge {
                limit: Limit::InputBytes,
                max: 10,
                found: Some(11),
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        "The txt document is 11 bytes, over the limit of 10 bytes."
    );
    let limits = Limits {
        max_text_chars: 20,
        ..Limits::default()
    };
    let csv = "a,b\n".to_owned() + &"1,2\n".repeat(50);
    let err = extract(csv.as_bytes(), Format::Csv, &limits).unwrap_err();
    assert!(
        matches!(
            err,
            ParseError::TooLarge {
                limit: Limit::TextChars,
                ..
            }
        ),
        "{err:?}"
    );
    let err = extract(&[b'x'; 21], Format::Text, &limits).unwrap_err();
    assert!(matches!(
        err,
        ParseError::TooLarge {
            limit: Limit::TextChars,
            found: Some(21),
            ..
        }
    ));
}

// ---------------------------------------------------------------- lookups

#[test]
fn format_lookups() {
    assert_eq!(
        Format::from_extension("reports/2024/Q3.PDF"),
        Some(Format::Pdf)
    );
    assert_eq!(Format::from_extension("pdf"), Some(Format::Pdf));
    assert_eq!(Format::from_extension(".htm"), Some(Format::Html));
    assert_eq!(
        Format::from_extension("notes.markdown"),
        Some(Format::Markdown)
    );
    assert_eq!(Format::from_extension("a.b/readme.txt"), Some(Format::Text));
    assert_eq!(Format::from_extension("a.pdf/README"), None);
    assert_eq!(Format::from_extension("archive.tar.gz"), None);

    assert_eq!(
        Format::from_mime("Text/HTML; charset=UTF-8"),
        Some(Format::Html)
    );
    assert_eq!(Format::from_mime("text/x-markdown"), Some(Format::Markdown));
    assert_eq!(
        Format::from_mime("application/vnd.ms-excel"),
        Some(Format::Xls)
    );
    assert_eq!(Format::from_mime("image/png"), None);

    assert_eq!(Format::from_converse("md"), Some(Format::Markdown));
    assert_eq!(Format::from_converse("txt"), Some(Format::Text));
    assert_eq!(Format::from_converse("json"), None);
    assert_eq!(Format::from_converse("PDF"), None);

    for format in Format::ALL {
        assert_eq!(Format::from_mime(format.mime()), Some(format), "{format}");
        assert_eq!(
            Format::from_extension(format.name()),
            Some(format),
            "{format}"
        );
        if format != Format::Json {
            assert_eq!(
                Format::from_converse(format.name()),
                Some(format),
                "{format}"
            );
        }
    }
}

/// Deterministic noise (xorshift), so a failure reproduces.
fn pseudo_random(len: usize) -> Vec<u8> {
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect()
}

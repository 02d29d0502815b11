//! Office formats: docx through docx-rs's reader, xlsx and xls through calamine, and the ZIP
//! bomb guard the ZIP-based ones pass first.

use std::collections::HashMap;
use std::io::{self, Cursor, Read};

use calamine::{Data, Reader};
use docx_rs::{
    DocumentChild, Paragraph, ParagraphChild, Run, RunChild, StructuredDataTagChild, Table,
    TableCellContent, TableChild, TableRowChild,
};

use crate::tabular::Rows;
use crate::text::{Indent, normalise};
use crate::{Extracted, Format, Limit, Limits, ParseError, Sink, cause, malformed};

/// Fails a ZIP-based document whose entries unpack past [`Limits::max_unpacked_bytes`].
///
/// The central directory's declared sizes are summed first, which is free and catches the
/// common bomb. Declared sizes can lie, and neither docx-rs nor calamine caps what it inflates,
/// so every entry is then inflated once into nothing, stopping at the limit: memory stays flat
/// and the cost is bounded by the limit, where the parsers would have held it all at once.
fn check_archive(bytes: &[u8], format: Format, limits: &Limits) -> Result<(), ParseError> {
    let not_zip = |e: zip::result::ZipError| {
        malformed(
            format,
            format!(
                "it is not a ZIP package, as every {format} file is ({})",
                cause(e)
            ),
        )
    };
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).map_err(not_zip)?;
    let too_large = |found| ParseError::TooLarge {
        format,
        limit: Limit::UnpackedBytes,
        max: limits.max_unpacked_bytes,
        found,
    };
    let mut declared: u64 = 0;
    for i in 0..archive.len() {
        let entry = archive.by_index_raw(i).map_err(not_zip)?;
        declared = declared.saturating_add(entry.size());
    }
    if declared > limits.max_unpacked_bytes {
        return Err(too_large(Some(declared)));
    }
    let mut left = limits.max_unpacked_bytes;
    for i in 0..archive.len() {
        let entry = archive.by_index(i).map_err(|e| match e {
            zip::result::ZipError::UnsupportedArchive(m) if m.contains("assword") => {
                ParseError::Encrypted(format)
            }
            other => not_zip(other),
        })?;
        let inflated =
            io::copy(&mut entry.take(left.saturating_add(1)), &mut io::sink()).map_err(|e| {
                malformed(
                    format,
                    format!("an entry of its ZIP package is corrupt ({})", cause(e)),
                )
            })?;
        if inflated > left {
            return Err(too_large(None));
        }
        left -= inflated;
    }
    Ok(())
}

pub(crate) fn read_docx(bytes: &[u8], limits: &Limits) -> Result<Extracted, ParseError> {
    check_archive(bytes, Format::Docx, limits)?;
    let docx = docx_rs::read_docx(bytes).map_err(|e| {
        malformed(
            Format::Docx,
            format!("it is not a valid Word document ({})", cause(e)),
        )
    })?;
    let mut w = DocxWriter {
        sink: Sink::new(Format::Docx, limits),
        headings: heading_styles(&docx.styles),
        title: None,
    };
    for child in &docx.document.children {
        match child {
            DocumentChild::Paragraph(p) => w.paragraph(p)?,
            DocumentChild::Table(t) => w.table(t)?,
            DocumentChild::StructuredDataTag(sdt) => w.sdt(&sdt.children)?,
            _ => {}
        }
    }
    let text = normalise(&w.sink.finish(), Indent::Drop);
    Ok(Extracted {
        text,
        title: w.title,
        pages: None,
    })
}

/// What a paragraph style makes of its paragraphs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Heading {
    Title,
    Level(usize),
}

/// Heading styles by id. Word's built-in heading styles carry an outline level, which is what
/// makes them headings whatever the style is called (a German document's "berschrift1"), and
/// documents from other tools often use the bare ids `Heading1`..`Heading9` and `Title`.
fn heading_styles(styles: &docx_rs::Styles) -> HashMap<String, Heading> {
    let mut map = HashMap::new();
    for style in &styles.styles {
        if let Some(heading) = style_id_heading(&style.style_id) {
            map.insert(style.style_id.clone(), heading);
        } else if let Some(level) = &style.paragraph_property.outline_lvl {
            // Level 9 means "body text" in OOXML.
            if level.v < 9 {
                map.insert(style.style_id.clone(), Heading::Level(level.v + 1));
            }
        }
    }
    map
}

fn style_id_heading(id: &str) -> Option<Heading> {
    let lower = id.to_ascii_lowercase();
    if lower == "title" {
        return Some(Heading::Title);
    }
    let level: usize = lower.strip_prefix("heading")?.trim().parse().ok()?;
    (1..=9).contains(&level).then_some(Heading::Level(level))
}

#[derive(Debug)]
struct DocxWriter {
    sink: Sink,
    headings: HashMap<String, Heading>,
    title: Option<String>,
}

impl DocxWriter {
    fn paragraph(&mut self, p: &Paragraph) -> Result<(), ParseError> {
        let mut text = String::new();
        paragraph_text(&p.children, &mut text);
        let text = text.trim();
        if text.is_empty() {
            return Ok(());
        }
        let heading = match &p.property.outline_lvl {
            Some(level) if level.v < 9 => Some(Heading::Level(level.v + 1)),
            _ => p.property.style.as_ref().and_then(|s| {
                self.headings
                    .get(&s.val)
                    .copied()
                    .or_else(|| style_id_heading(&s.val))
            }),
        };
        let line = match heading {
            Some(Heading::Title) => {
                if self.title.is_none() {
                    self.title = Some(text.split_whitespace().collect::<Vec<_>>().join(" "));
                }
                format!("# {text}")
            }
            Some(Heading::Level(level)) => format!("{} {text}", "#".repeat(level)),
            None if p.has_numbering || p.property.numbering_property.is_some() => {
                format!("- {text}")
            }
            None => text.to_owned(),
        };
        self.sink.line(&line)
    }

    fn table(&mut self, table: &Table) -> Result<(), ParseError> {
        for TableChild::TableRow(row) in &table.rows {
            let mut cells = Vec::new();
            for TableRowChild::TableCell(cell) in &row.cells {
                let mut text = String::new();
                cell_text(&cell.children, &mut text);
                let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
                if !text.is_empty() {
                    cells.push(text);
                }
            }
            self.sink.line(&cells.join(" | "))?;
        }
        self.sink.blank()
    }

    fn sdt(&mut self, children: &[StructuredDataTagChild]) -> Result<(), ParseError> {
        let mut loose = String::new();
        for child in children {
            match child {
                StructuredDataTagChild::Paragraph(p) => self.paragraph(p)?,
                StructuredDataTagChild::Table(t) => self.table(t)?,
                StructuredDataTagChild::StructuredDataTag(inner) => self.sdt(&inner.children)?,
                StructuredDataTagChild::Run(run) => run_text(run, &mut loose),
                _ => {}
            }
        }
        self.sink.line(loose.trim())
    }
}

/// A cell's paragraphs (and any table nested in it) read as one line of the row.
fn cell_text(children: &[TableCellContent], out: &mut String) {
    for child in children {
        match child {
            TableCellContent::Paragraph(p) => {
                paragraph_text(&p.children, out);
                out.push(' ');
            }
            TableCellContent::Table(t) => {
                for TableChild::TableRow(row) in &t.rows {
                    for TableRowChild::TableCell(cell) in &row.cells {
                        cell_text(&cell.children, out);
                    }
                }
            }
            TableCellContent::StructuredDataTag(sdt) => sdt_text(&sdt.children, out),
            TableCellContent::TableOfContents(_) => {}
        }
    }
}

fn sdt_text(children: &[StructuredDataTagChild], out: &mut String) {
    for child in children {
        match child {
            StructuredDataTagChild::Run(run) => run_text(run, out),
            StructuredDataTagChild::Paragraph(p) => {
                paragraph_text(&p.children, out);
                out.push(' ');
            }
            StructuredDataTagChild::Table(t) => {
                for TableChild::TableRow(row) in &t.rows {
                    for TableRowChild::TableCell(cell) in &row.cells {
                        cell_text(&cell.children, out);
                    }
                }
            }
            StructuredDataTagChild::StructuredDataTag(inner) => sdt_text(&inner.children, out),
            _ => {}
        }
    }
}

/// The text a reader sees: tracked insertions are in, tracked deletions and moved-away text
/// are out, hyperlinks keep their text.
fn paragraph_text(children: &[ParagraphChild], out: &mut String) {
    for child in children {
        match child {
            ParagraphChild::Run(run) => run_text(run, out),
            ParagraphChild::Hyperlink(link) => paragraph_text(&link.children, out),
            ParagraphChild::Insert(insert) => {
                for child in &insert.children {
                    if let docx_rs::InsertChild::Run(run) = child {
                        run_text(run, out);
                    }
                }
            }
            ParagraphChild::MoveTo(moved) => {
                for child in &moved.children {
                    if let docx_rs::MoveToChild::Run(run) = child {
                        run_text(run, out);
                    }
                }
            }
            ParagraphChild::StructuredDataTag(sdt) => sdt_text(&sdt.children, out),
            _ => {}
        }
    }
}

fn run_text(run: &Run, out: &mut String) {
    for child in &run.children {
        match child {
            RunChild::Text(t) => out.push_str(&t.text),
            RunChild::Tab(_) | RunChild::PTab(_) => out.push(' '),
            RunChild::Break(_) | RunChild::CarriageReturn(_) => out.push('\n'),
            _ => {}
        }
    }
}

pub(crate) fn read_workbook(
    bytes: &[u8],
    format: Format,
    limits: &Limits,
) -> Result<Extracted, ParseError> {
    let bad = |e: &dyn std::fmt::Display| {
        malformed(
            format,
            format!("it is not a valid Excel workbook ({})", cause(e)),
        )
    };
    let mut book = if format == Format::Xlsx {
        check_archive(bytes, format, limits)?;
        calamine::Sheets::Xlsx(calamine::Xlsx::new(Cursor::new(bytes)).map_err(|e| bad(&e))?)
    } else {
        calamine::Sheets::Xls(calamine::Xls::new(Cursor::new(bytes)).map_err(|e| match e {
            calamine::XlsError::Password => ParseError::Encrypted(format),
            other => bad(&other),
        })?)
    };
    let mut sink = Sink::new(format, limits);
    // Every sheet, hidden ones too: they often hold the lookup tables the visible ones refer to.
    for name in book.sheet_names() {
        let range = book.worksheet_range(&name).map_err(|e| bad(&e))?;
        if range
            .used_cells()
            .all(|(_, _, data)| cell(data).trim().is_empty())
        {
            continue;
        }
        sink.line(&format!("# Sheet: {name}"))?;
        let mut rows = Rows::default();
        for row in range.rows() {
            rows.row(row.iter().map(cell).collect(), &mut sink)?;
        }
        rows.finish(&mut sink)?;
        sink.blank()?;
    }
    let text = normalise(&sink.finish(), Indent::Drop);
    Ok(Extracted {
        text,
        title: None,
        pages: None,
    })
}

/// A cell as the sheet shows it, near enough: dates as ISO 8601 rather than Excel's serial day
/// numbers, which mean nothing to a reader.
fn cell(data: &Data) -> String {
    match data {
        Data::DateTime(dt) if dt.is_datetime() => {
            let (y, mo, d, h, mi, s, _) = dt.to_ymd_hms_milli();
            if (h, mi, s) == (0, 0, 0) {
                format!("{y:04}-{mo:02}-{d:02}")
            } else {
                format!("{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02}")
            }
        }
        other => other.to_string(),
    }
}

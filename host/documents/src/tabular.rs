//! Rows of cells (CSV records, spreadsheet rows) rendered as text.
//!
//! The first non-empty row is taken as the header, and every later row becomes one line of
//! `column: value` pairs joined by `; `. A retrieval system cuts text into chunks of a few
//! hundred tokens and embeds each alone, so a chunk from the middle of a tab-separated table
//! would be numbers whose meaning sat in a header several chunks away. Naming the column in
//! every row makes each line, and so each chunk, stand on its own ("Region: North; Revenue:
//! 1200" is what a question about northern revenue matches), at the price of repeating the
//! header names. Empty cells are left out rather than written as `column: `.

use crate::text::{Indent, decode, normalise};
use crate::{Extracted, Format, Limits, ParseError, Sink, malformed};

#[derive(Debug, Default)]
pub(crate) struct Rows {
    header: Option<Vec<String>>,
    rows: usize,
}

impl Rows {
    /// Renders one row; the first non-empty one becomes the header.
    pub(crate) fn row(&mut self, cells: Vec<String>, sink: &mut Sink) -> Result<(), ParseError> {
        let cells: Vec<String> = cells.into_iter().map(|c| one_line(&c)).collect();
        if cells.iter().all(String::is_empty) {
            return Ok(());
        }
        let Some(header) = &self.header else {
            self.header = Some(cells);
            return Ok(());
        };
        let mut line = String::new();
        for (i, value) in cells.iter().enumerate() {
            if value.is_empty() {
                continue;
            }
            if !line.is_empty() {
                line.push_str("; ");
            }
            match header.get(i).filter(|name| !name.is_empty()) {
                Some(name) => line.push_str(name),
                None => line.push_str(&format!("column {}", i + 1)),
            }
            line.push_str(": ");
            line.push_str(value);
        }
        self.rows += 1;
        sink.line(&line)
    }

    /// Ends the table; a table that is only a header still says what its columns are.
    pub(crate) fn finish(self, sink: &mut Sink) -> Result<(), ParseError> {
        match self.header {
            Some(header) if self.rows == 0 => sink.line(&header.join(" | ")),
            _ => Ok(()),
        }
    }
}

fn one_line(cell: &str) -> String {
    cell.split_whitespace().collect::<Vec<_>>().join(" ")
}

pub(crate) fn read_csv(bytes: &[u8], limits: &Limits) -> Result<Extracted, ParseError> {
    let text = decode(bytes, Format::Csv)?;
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(sniff_delimiter(&text))
        .from_reader(text.as_bytes());
    let mut sink = Sink::new(Format::Csv, limits);
    let mut rows = Rows::default();
    for record in reader.records() {
        let record = record.map_err(|e| {
            let at = e
                .position()
                .map(|p| format!(" at line {}", p.line()))
                .unwrap_or_default();
            malformed(
                Format::Csv,
                format!("it is not valid CSV{at} ({})", crate::cause(e)),
            )
        })?;
        rows.row(record.iter().map(str::to_owned).collect(), &mut sink)?;
    }
    rows.finish(&mut sink)?;
    Ok(Extracted {
        text: normalise(&sink.finish(), Indent::Drop),
        title: None,
        pages: None,
    })
}

/// Spreadsheet exports from European locales use `;`, and some tools write tabs under a .csv
/// name; reading those with `,` would make every row a single cell. The delimiter that occurs
/// most in the first line wins, `,` on a tie.
fn sniff_delimiter(text: &str) -> u8 {
    let first = text.lines().next().unwrap_or_default();
    let count = |d: char| first.chars().filter(|&c| c == d).count();
    let (comma, semi, tab) = (count(','), count(';'), count('\t'));
    if semi > comma && semi >= tab {
        b';'
    } else if tab > comma && tab > semi {
        b'\t'
    } else {
        b','
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_then_pairs_skipping_empty_cells() {
        let csv = "name,age,city\n\nAda,36,London\nAlan,,\"Wilmslow,\nCheshire\"\n";
        let doc = read_csv(csv.as_bytes(), &Limits::default()).unwrap();
        assert_eq!(
            doc.text,
            "name: Ada; age: 36; city: London\nname: Alan; city: Wilmslow, Cheshire"
        );
    }

    #[test]
    fn semicolons_and_extra_columns() {
        let csv = "a;b\n1;2;3\n";
        let doc = read_csv(csv.as_bytes(), &Limits::default()).unwrap();
        assert_eq!(doc.text, "a: 1; b: 2; column 3: 3");
    }

    #[test]
    fn header_only_table_lists_its_columns() {
        let doc = read_csv(b"x,y\n", &Limits::default()).unwrap();
        assert_eq!(doc.text, "x | y");
    }
}

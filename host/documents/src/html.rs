//! HTML through html5ever (via `scraper`), walked by hand because no renderer lays text out
//! for retrieval: html2text draws tables as box art wrapped at a fixed width, which splits a
//! cell's words across lines.
//!
//! Headings become Markdown-style `#` lines (a chunker that splits on headings, and a model,
//! can see the structure), list items `- ` lines, and each table row one line of its cells
//! joined by ` | ` so a cell stays next to the others of its row.

use crate::text::{Indent, decode, normalise};
use crate::{Extracted, Format, Limits, ParseError, Sink};
use scraper::{Html, Node};

pub(crate) fn read(bytes: &[u8], limits: &Limits) -> Result<Extracted, ParseError> {
    let source = decode(bytes, Format::Html)?;
    let html = Html::parse_document(&source);
    let title = title(&html);
    let mut w = Walker {
        sink: Sink::new(Format::Html, limits),
        line: String::new(),
        prefix: String::new(),
        pre: 0,
        cell_depth: 0,
        cell: String::new(),
        row: Vec::new(),
        row_depth: 0,
    };
    // An explicit stack rather than recursion: a hostile page nests elements thousands deep,
    // and a stack overflow aborts the process where a panic could have been caught.
    let mut stack = vec![(html.tree.root(), false)];
    while let Some((node, closing)) = stack.pop() {
        match node.value() {
            Node::Element(el) => {
                let name = el.name();
                if closing {
                    w.close(name)?;
                    continue;
                }
                if is_noise(name, el) {
                    continue;
                }
                w.open(name)?;
                stack.push((node, true));
            }
            Node::Text(text) => {
                w.text(text)?;
                continue;
            }
            Node::Document | Node::Fragment => {}
            _ => continue,
        }
        stack.extend(node.children().rev().map(|child| (child, false)));
    }
    w.flush()?;
    w.end_row()?;
    let text = normalise(&w.sink.finish(), Indent::Drop);
    Ok(Extracted {
        text,
        title,
        pages: None,
    })
}

/// Elements whose text is not the document's: code, styling, navigation, widgets, and what
/// the page itself hides.
fn is_noise(name: &str, el: &scraper::node::Element) -> bool {
    if matches!(
        name,
        "head"
            | "script"
            | "style"
            | "noscript"
            | "template"
            | "nav"
            | "svg"
            | "math"
            | "iframe"
            | "object"
            | "embed"
            | "canvas"
            | "select"
            | "button"
    ) {
        return true;
    }
    el.attr("hidden").is_some()
        || el.attr("aria-hidden") == Some("true")
        || el.attr("role") == Some("navigation")
        || el.attr("style").is_some_and(|style| {
            style.split(';').any(|decl| {
                let decl: String = decl.chars().filter(|c| !c.is_whitespace()).collect();
                decl.eq_ignore_ascii_case("display:none")
            })
        })
}

fn is_block(name: &str) -> bool {
    matches!(
        name,
        "p" | "div"
            | "section"
            | "article"
            | "main"
            | "header"
            | "footer"
            | "aside"
            | "blockquote"
            | "address"
            | "figure"
            | "figcaption"
            | "ul"
            | "ol"
            | "dl"
            | "dt"
            | "dd"
            | "table"
            | "caption"
            | "thead"
            | "tbody"
            | "tfoot"
            | "form"
            | "fieldset"
            | "legend"
            | "details"
            | "summary"
            | "hr"
            | "body"
            | "html"
    )
}

fn heading_level(name: &str) -> Option<usize> {
    match name {
        "h1" => Some(1),
        "h2" => Some(2),
        "h3" => Some(3),
        "h4" => Some(4),
        "h5" => Some(5),
        "h6" => Some(6),
        _ => None,
    }
}

#[derive(Debug)]
struct Walker {
    sink: Sink,
    line: String,
    /// What the next non-empty line starts with (`## `, `- `).
    prefix: String,
    pre: usize,
    /// How many cells deep we are; a table nested in a cell reads as part of that cell.
    cell_depth: usize,
    cell: String,
    row: Vec<String>,
    row_depth: usize,
}

impl Walker {
    fn open(&mut self, name: &str) -> Result<(), ParseError> {
        if self.cell_depth > 0 {
            // Inside a cell everything stays on the row's line.
            if name == "td" || name == "th" {
                self.cell_depth += 1;
            }
            self.cell.push(' ');
            return Ok(());
        }
        match name {
            "tr" => {
                self.flush()?;
                self.end_row()?;
                self.row_depth += 1;
            }
            "td" | "th" => {
                self.flush()?;
                self.cell_depth = 1;
                self.cell.clear();
            }
            "br" => self.flush()?,
            "li" => {
                self.flush()?;
                self.prefix = "- ".to_owned();
            }
            "pre" => {
                self.flush()?;
                self.pre += 1;
            }
            _ => {
                if let Some(level) = heading_level(name) {
                    self.flush()?;
                    self.prefix = format!("{} ", "#".repeat(level));
                } else if is_block(name) {
                    self.flush()?;
                }
            }
        }
        Ok(())
    }

    fn close(&mut self, name: &str) -> Result<(), ParseError> {
        if self.cell_depth > 0 {
            if name == "td" || name == "th" {
                self.cell_depth -= 1;
                if self.cell_depth == 0 {
                    let cell = self.cell.split_whitespace().collect::<Vec<_>>().join(" ");
                    if !cell.is_empty() {
                        self.row.push(cell);
                    }
                }
            } else {
                self.cell.push(' ');
            }
            return Ok(());
        }
        match name {
            "tr" => {
                self.row_depth = self.row_depth.saturating_sub(1);
                self.end_row()
            }
            "pre" => {
                self.pre = self.pre.saturating_sub(1);
                self.flush()
            }
            "li" => {
                self.flush()?;
                self.prefix.clear();
                Ok(())
            }
            _ if heading_level(name).is_some() => {
                self.flush()?;
                self.prefix.clear();
                Ok(())
            }
            _ if is_block(name) => self.flush(),
            _ => Ok(()),
        }
    }

    fn text(&mut self, text: &str) -> Result<(), ParseError> {
        if self.cell_depth > 0 {
            self.cell.push_str(text);
        } else if self.pre > 0 {
            let mut pieces = text.split('\n');
            if let Some(first) = pieces.next() {
                self.line.push_str(first);
            }
            for piece in pieces {
                self.flush()?;
                self.line.push_str(piece);
            }
        } else {
            // Outside <pre>, HTML treats a newline in the source as a space.
            self.line.push_str(&text.replace('\n', " "));
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), ParseError> {
        if self.line.trim().is_empty() {
            self.line.clear();
            return Ok(());
        }
        let line = format!("{}{}", self.prefix, self.line.trim());
        self.line.clear();
        self.prefix.clear();
        self.sink.line(&line)
    }

    fn end_row(&mut self) -> Result<(), ParseError> {
        if self.row.is_empty() {
            return Ok(());
        }
        let line = self.row.join(" | ");
        self.row.clear();
        self.sink.line(&line)
    }
}

/// The `<title>` in the document's `<head>` (an SVG's `<title>` elsewhere is not the page's).
fn title(html: &Html) -> Option<String> {
    html.tree
        .nodes()
        .find(|node| {
            node.value()
                .as_element()
                .is_some_and(|el| el.name() == "title")
                && node
                    .parent()
                    .and_then(|p| p.value().as_element().map(|el| el.name() == "head"))
                    .unwrap_or(false)
        })
        .map(|node| {
            let text: String = node
                .children()
                .filter_map(|c| c.value().as_text().map(|t| t.to_string()))
                .collect();
            text.split_whitespace().collect::<Vec<_>>().join(" ")
        })
        .filter(|title| !title.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deep_nesting_does_not_overflow_the_stack() {
        let html = format!("{}deep{}", "<div>".repeat(20_000), "</div>".repeat(20_000));
        let doc = read(html.as_bytes(), &Limits::default()).unwrap();
        assert_eq!(doc.text, "deep");
    }

    #[test]
    fn pre_keeps_lines_and_hidden_is_dropped() {
        let html = "<body><pre>a  b\nc</pre><p hidden>secret</p><p style=\"display: none\">x</p>\
                    <p>Last<br>line</p></body>";
        let doc = read(html.as_bytes(), &Limits::default()).unwrap();
        assert_eq!(doc.text, "a b\nc\nLast\nline");
    }
}

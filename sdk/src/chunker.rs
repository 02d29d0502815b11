//! The `chunker` world: implement [`Guest`] and export it with [`export_chunker!`](crate::export_chunker).
//!
//! ```
//! use mantle_sdk::chunker::{Chunk, Document, Guest};
//! struct Whole;
//! impl Guest for Whole {
//!     fn split(document: Document, _config: String) -> Result<Vec<Chunk>, mantle_sdk::PluginError> {
//!         Ok(vec![Chunk::new(&document.text, 0)])
//!     }
//! }
//! let chunks = Whole::split(mantle_sdk::testkit::document("hello"), String::new()).unwrap();
//! assert_eq!(chunks[0].text, "hello");
//! ```

pub use crate::bindings::chunker::exports::mantle::plugin::chunking::{Chunk, Document, Guest};
pub use crate::{PluginError, Span};

impl Chunk {
    /// A top-level chunk holding `text`, which starts at byte `start` of the document.
    pub fn new(text: &str, start: usize) -> Self {
        Self {
            text: text.to_owned(),
            span: Span::at(start, text.len()),
            parent: None,
            level: 0,
            metadata: Vec::new(),
        }
    }

    /// Makes this a child of the chunk at index `parent` of the returned list.
    pub fn with_parent(mut self, parent: u32, level: u32) -> Self {
        self.parent = Some(parent);
        self.level = level;
        self
    }
}

//! # mantle-store
//!
//! Mantle's records in one embedded sled database: one tree per resource kind, values
//! serde-encoded in an envelope carrying their schema version, and Bedrock-style ids.
//!
//! ```
//! use mantle_store::{Record, Store};
//! #[derive(serde::Serialize, serde::Deserialize, Debug, PartialEq)]
//! struct Note { text: String }
//! impl Record for Note { const TREE: &'static str = "notes"; const SCHEMA_VERSION: u32 = 1; }
//!
//! let store = Store::temporary()?;
//! let notes = store.table::<Note>()?;
//! notes.put("n1", &Note { text: "hi".into() })?;
//! store.flush()?;
//! assert_eq!(notes.get("n1")?, Some(Note { text: "hi".into() }));
//! # Ok::<(), mantle_store::StoreError>(())
//! ```

mod ids;
mod table;

pub use ids::{
    ArnScope, CLIENT_TOKEN_RULE, is_client_token, is_resource_id, new_id, new_request_id,
    new_resource_id, now_rfc3339, page,
};
pub use table::{Record, Table};

use std::path::Path;

/// What can go wrong in the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("storage error: {0}")]
    Sled(#[from] sled::Error),
    #[error("record {key} in {tree} cannot be decoded: {message}")]
    Decode {
        tree: &'static str,
        key: String,
        message: String,
    },
    #[error(
        "record {key} in {tree} has schema version {found}, newer than this build's {supported}"
    )]
    NewerSchema {
        tree: &'static str,
        key: String,
        found: u32,
        supported: u32,
    },
    #[error("cannot encode record: {0}")]
    Encode(#[from] serde_json::Error),
}

/// The database: open one per data directory.
#[derive(Debug, Clone)]
pub struct Store {
    db: sled::Db,
}

impl Store {
    /// Opens (or creates) the database under `dir`.
    pub fn open(dir: &Path) -> Result<Self, StoreError> {
        let db = sled::Config::new()
            .path(dir)
            .mode(sled::Mode::HighThroughput)
            .open()?;
        Ok(Self { db })
    }

    /// A database that lives in a temporary directory and vanishes on drop.
    pub fn temporary() -> Result<Self, StoreError> {
        Ok(Self {
            db: sled::Config::new().temporary(true).open()?,
        })
    }

    /// The table of `T` records.
    pub fn table<T: Record>(&self) -> Result<Table<T>, StoreError> {
        Ok(Table::new(self.db.open_tree(T::TREE)?))
    }

    /// A raw tree, for byte-oriented stores such as plugins' `kv`.
    pub fn tree(&self, name: &str) -> Result<sled::Tree, StoreError> {
        Ok(self.db.open_tree(name)?)
    }

    /// Makes every write so far durable. Call it before telling a client a write succeeded.
    pub fn flush(&self) -> Result<(), StoreError> {
        self.db.flush()?;
        Ok(())
    }
}

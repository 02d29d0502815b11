//! Typed tables over sled trees.

use std::marker::PhantomData;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::StoreError;

/// A kind of record, kept in its own tree.
pub trait Record: Serialize + DeserializeOwned {
    /// The tree's name.
    const TREE: &'static str;
    /// Bumped whenever the stored shape changes; older records pass through [`Record::migrate`].
    const SCHEMA_VERSION: u32;

    /// Brings a record stored at schema `version` up to [`Record::SCHEMA_VERSION`].
    fn migrate(version: u32, value: serde_json::Value) -> Result<serde_json::Value, String> {
        let _ = version;
        Ok(value)
    }
}

#[derive(Serialize, Deserialize)]
struct Envelope<T> {
    v: u32,
    data: T,
}

/// The records of one kind.
#[derive(Debug, Clone)]
pub struct Table<T> {
    tree: sled::Tree,
    _record: PhantomData<fn() -> T>,
}

impl<T: Record> Table<T> {
    pub(crate) fn new(tree: sled::Tree) -> Self {
        Self {
            tree,
            _record: PhantomData,
        }
    }

    /// The record under `key`.
    pub fn get(&self, key: &str) -> Result<Option<T>, StoreError> {
        self.tree
            .get(key)?
            .map(|bytes| decode(key, &bytes))
            .transpose()
    }

    /// Stores `record` under `key`, replacing any previous one.
    pub fn put(&self, key: &str, record: &T) -> Result<(), StoreError> {
        self.tree.insert(key, encode(record)?)?;
        Ok(())
    }

    /// Stores `record` under `key` only if the key is free. Returns whether it was stored.
    pub fn insert_new(&self, key: &str, record: &T) -> Result<bool, StoreError> {
        let stored = self
            .tree
            .compare_and_swap(key, None::<&[u8]>, Some(encode(record)?))?;
        Ok(stored.is_ok())
    }

    /// Atomically replaces the record under `key` with what `change` makes of it; `change` may
    /// run more than once under contention, and its error aborts without writing.
    pub fn update<E: From<StoreError>>(
        &self,
        key: &str,
        mut change: impl FnMut(Option<T>) -> Result<Option<T>, E>,
    ) -> Result<Option<T>, E> {
        loop {
            let old = self.tree.get(key).map_err(StoreError::from)?;
            let current = old.as_ref().map(|bytes| decode(key, bytes)).transpose()?;
            let new = change(current)?;
            let new_bytes = new.as_ref().map(encode).transpose()?;
            let swapped = self
                .tree
                .compare_and_swap(key, old, new_bytes)
                .map_err(StoreError::from)?;
            if swapped.is_ok() {
                return Ok(new);
            }
        }
    }

    /// Removes the record under `key`, returning it.
    pub fn delete(&self, key: &str) -> Result<Option<T>, StoreError> {
        self.tree
            .remove(key)?
            .map(|bytes| decode(key, &bytes))
            .transpose()
    }

    /// Every record, in key order.
    pub fn all(&self) -> Result<Vec<(String, T)>, StoreError> {
        self.scan_prefix("")
    }

    /// Records whose key starts with `prefix`, in key order.
    pub fn scan_prefix(&self, prefix: &str) -> Result<Vec<(String, T)>, StoreError> {
        self.tree
            .scan_prefix(prefix)
            .map(|item| {
                let (key, bytes) = item?;
                let key = String::from_utf8_lossy(&key).into_owned();
                let record = decode(&key, &bytes)?;
                Ok((key, record))
            })
            .collect()
    }
}

fn encode<T: Record>(record: &T) -> Result<Vec<u8>, StoreError> {
    Ok(serde_json::to_vec(&Envelope {
        v: T::SCHEMA_VERSION,
        data: record,
    })?)
}

fn decode<T: Record>(key: &str, bytes: &[u8]) -> Result<T, StoreError> {
    let error = |message: String| StoreError::Decode {
        tree: T::TREE,
        key: key.to_owned(),
        message,
    };
    let envelope: Envelope<serde_json::Value> =
        serde_json::from_slice(bytes).map_err(|e| error(e.to_string()))?;
    if envelope.v > T::SCHEMA_VERSION {
        return Err(StoreError::NewerSchema {
            tree: T::TREE,
            key: key.to_owned(),
            found: envelope.v,
            supported: T::SCHEMA_VERSION,
        });
    }
    let value = if envelope.v < T::SCHEMA_VERSION {
        T::migrate(envelope.v, envelope.data).map_err(error)?
    } else {
        envelope.data
    };
    serde_json::from_value(value).map_err(|e| error(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Store;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct V2 {
        name: String,
        size: u32,
    }

    impl Record for V2 {
        const TREE: &'static str = "things";
        const SCHEMA_VERSION: u32 = 2;
        fn migrate(
            version: u32,
            mut value: serde_json::Value,
        ) -> Result<serde_json::Value, String> {
            if version == 1 {
                value["size"] = 0.into();
            }
            Ok(value)
        }
    }

    #[derive(Debug, Serialize, Deserialize)]
    struct V1 {
        name: String,
    }

    impl Record for V1 {
        const TREE: &'static str = "things";
        const SCHEMA_VERSION: u32 = 1;
    }

    #[test]
    fn old_records_are_migrated_and_newer_ones_refused() {
        let store = Store::temporary().unwrap();
        store
            .table::<V1>()
            .unwrap()
            .put("a", &V1 { name: "a".into() })
            .unwrap();
        let v2 = store.table::<V2>().unwrap();
        assert_eq!(
            v2.get("a").unwrap(),
            Some(V2 {
                name: "a".into(),
                size: 0
            })
        );
        v2.put(
            "b",
            &V2 {
                name: "b".into(),
                size: 3,
            },
        )
        .unwrap();
        let error = store.table::<V1>().unwrap().get("b").unwrap_err();
        assert!(matches!(
            error,
            StoreError::NewerSchema {
                found: 2,
                supported: 1,
                ..
            }
        ));
    }

    #[test]
    fn insert_new_and_update_are_atomic() {
        let store = Store::temporary().unwrap();
        let table = store.table::<V2>().unwrap();
        let thing = V2 {
            name: "x".into(),
            size: 1,
        };
        assert!(table.insert_new("x", &thing).unwrap());
        assert!(!table.insert_new("x", &thing).unwrap());
        let updated: Option<V2> = table
            .update::<StoreError>("x", |old| {
                Ok(old.map(|t| V2 {
                    size: t.size + 1,
                    ..t
                }))
            })
            .unwrap();
        assert_eq!(updated.unwrap().size, 2);
        assert_eq!(table.scan_prefix("x").unwrap().len(), 1);
        assert!(table.delete("x").unwrap().is_some());
        assert!(table.get("x").unwrap().is_none());
    }
}

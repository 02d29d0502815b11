//! Knowledge-base, data-source and ingestion-job ids: ten letters and digits, as Bedrock's
//! `Id` pattern (`[0-9a-zA-Z]{10}`), parsed once at the edge.

use std::fmt;
use std::str::FromStr;

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize};

use crate::KnowledgeError;

const ID_PATTERN: &str = "Member must satisfy regular expression pattern: [0-9a-zA-Z]{10}";

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident, $field:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
        #[serde(into = "String")]
        pub struct $name(String);

        impl $name {
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// A fresh id.
            pub(crate) fn new() -> Self {
                Self(mantle_store::new_resource_id())
            }

            /// The id of a stored record, which was valid when it was written.
            pub(crate) fn stored(id: &str) -> Self {
                Self(id.to_owned())
            }
        }

        impl FromStr for $name {
            type Err = KnowledgeError;

            fn from_str(id: &str) -> Result<Self, Self::Err> {
                if mantle_store::is_resource_id(id) {
                    Ok(Self(id.to_owned()))
                } else {
                    Err(KnowledgeError::invalid($field, ID_PATTERN))
                }
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                deserializer.deserialize_str(Parsed::<Self>(std::marker::PhantomData))
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> Self {
                id.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

id_type!(
    /// A knowledge base's id.
    ///
    /// ```
    /// use mantle_knowledge::KnowledgeBaseId;
    /// assert!("KB12345678".parse::<KnowledgeBaseId>().is_ok());
    /// assert!("KB1".parse::<KnowledgeBaseId>().is_err());
    /// ```
    KnowledgeBaseId,
    "knowledgeBaseId"
);
id_type!(
    /// A data source's id, unique within its knowledge base.
    ///
    /// ```
    /// use mantle_knowledge::DataSourceId;
    /// assert!("DS12345678".parse::<DataSourceId>().is_ok());
    /// assert!("bad id!!!!".parse::<DataSourceId>().is_err());
    /// ```
    DataSourceId,
    "dataSourceId"
);
id_type!(
    /// An ingestion job's id, unique within its data source.
    ///
    /// ```
    /// use mantle_knowledge::IngestionJobId;
    /// assert!("JOB0000001".parse::<IngestionJobId>().is_ok());
    /// ```
    IngestionJobId,
    "ingestionJobId"
);

/// Deserializes through `FromStr`, failing inside the visitor so that the JSON path or the
/// path parameter is named.
struct Parsed<T>(std::marker::PhantomData<fn() -> T>);

impl<T: FromStr> Visitor<'_> for Parsed<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<T, E> {
        value.parse().map_err(|_| E::custom(ID_PATTERN))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minted_ids_parse() {
        for _ in 0..100 {
            let id = KnowledgeBaseId::new();
            assert!(id.as_str().parse::<KnowledgeBaseId>().is_ok(), "{id}");
        }
    }
}

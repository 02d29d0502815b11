//! Guardrail identifiers and version labels, parsed once at the edge so the service never sees
//! a malformed one.

use std::fmt;
use std::str::FromStr;

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize};

use crate::GuardrailError;

const IDENTIFIER_PATTERN: &str = "Member must satisfy regular expression pattern: (([a-z0-9]+)|(arn:aws(-[^:]+)?:bedrock:[a-z0-9-]{1,20}:[0-9]{12}:guardrail/[a-z0-9]+))";
const VERSION_PATTERN: &str =
    "Member must satisfy regular expression pattern: (([1-9][0-9]{0,7})|(DRAFT))";

/// A guardrail's id, from either the bare id or its ARN (`guardrailIdentifier` accepts both).
///
/// ```
/// use mantle_guardrails::GuardrailId;
/// let id: GuardrailId = "arn:aws:bedrock:us-east-1:000000000000:guardrail/abc123".parse()?;
/// assert_eq!(id.as_str(), "abc123");
/// assert!("Not-An-Id".parse::<GuardrailId>().is_err());
/// # Ok::<(), mantle_guardrails::GuardrailError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(into = "String")]
pub struct GuardrailId(String);

impl GuardrailId {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// An id minted by the store (lower-case letters and digits).
    pub(crate) fn new() -> Self {
        Self(mantle_store::new_id())
    }

    /// The id of a stored record, which was a `GuardrailId` when it was written.
    pub(crate) fn stored(id: &str) -> Self {
        Self(id.to_owned())
    }
}

impl FromStr for GuardrailId {
    type Err = GuardrailError;

    fn from_str(identifier: &str) -> Result<Self, Self::Err> {
        let id = match identifier.rsplit_once(":guardrail/") {
            Some((prefix, id)) if prefix.starts_with("arn:aws") => id,
            _ => identifier,
        };
        let valid = !id.is_empty()
            && id.len() <= 64
            && id
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
        if valid {
            Ok(Self(id.to_owned()))
        } else {
            Err(GuardrailError::invalid(
                "guardrailIdentifier",
                IDENTIFIER_PATTERN,
            ))
        }
    }
}

impl<'de> Deserialize<'de> for GuardrailId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_str(Parsed::<Self>::new(IDENTIFIER_PATTERN))
    }
}

impl From<GuardrailId> for String {
    fn from(id: GuardrailId) -> Self {
        id.0
    }
}

impl fmt::Display for GuardrailId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A guardrail version: the editable `DRAFT`, or a frozen numbered version.
///
/// ```
/// use mantle_guardrails::GuardrailVersion;
/// assert_eq!("DRAFT".parse::<GuardrailVersion>()?, GuardrailVersion::Draft);
/// assert_eq!("3".parse::<GuardrailVersion>()?, GuardrailVersion::Number(3));
/// assert!("03".parse::<GuardrailVersion>().is_err());
/// assert_eq!(GuardrailVersion::Number(3).to_string(), "3");
/// # Ok::<(), mantle_guardrails::GuardrailError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(into = "String")]
pub enum GuardrailVersion {
    Draft,
    Number(u32),
}

impl FromStr for GuardrailVersion {
    type Err = GuardrailError;

    fn from_str(version: &str) -> Result<Self, Self::Err> {
        if version == "DRAFT" {
            return Ok(Self::Draft);
        }
        parse_number(version).map(Self::Number)
    }
}

/// A numbered version (`1` to `99999999`, no leading zero), as `guardrailVersion`.
pub(crate) fn parse_number(version: &str) -> Result<u32, GuardrailError> {
    version
        .parse::<u32>()
        .ok()
        .filter(|n| (1..=99_999_999).contains(n) && !version.starts_with('0'))
        .ok_or_else(|| GuardrailError::invalid("guardrailVersion", VERSION_PATTERN))
}

impl<'de> Deserialize<'de> for GuardrailVersion {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_str(Parsed::<Self>::new(VERSION_PATTERN))
    }
}

/// Deserializes a string through `FromStr`. The parse fails inside the visitor, not after it,
/// so that deserializers which know the field (JSON paths, axum's path parameters) name it.
struct Parsed<T> {
    constraint: &'static str,
    _parsed: std::marker::PhantomData<fn() -> T>,
}

impl<T> Parsed<T> {
    fn new(constraint: &'static str) -> Self {
        Self {
            constraint,
            _parsed: std::marker::PhantomData,
        }
    }
}

impl<T: FromStr> Visitor<'_> for Parsed<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<T, E> {
        value.parse().map_err(|_| E::custom(self.constraint))
    }
}

impl From<GuardrailVersion> for String {
    fn from(version: GuardrailVersion) -> Self {
        version.to_string()
    }
}

impl fmt::Display for GuardrailVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Draft => f.write_str("DRAFT"),
            Self::Number(n) => write!(f, "{n}"),
        }
    }
}

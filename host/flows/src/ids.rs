//! Prompt and flow identifiers and version labels, parsed once at the edge. Identifiers accept
//! the bare ten-character id or the resource's ARN, as bedrock-agent's patterns do.

use std::fmt;
use std::str::FromStr;

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize};

use crate::FlowsError;

use mantle_store::is_resource_id as is_id;

/// `arn:aws:bedrock:{region}:{account}:{kind}/{rest}` → `rest`, when the prefix is well formed.
fn arn_resource<'a>(arn: &'a str, kind: &str) -> Option<&'a str> {
    let rest = arn.strip_prefix("arn:aws:bedrock:")?;
    let (region, rest) = rest.split_once(':')?;
    let (account, rest) = rest.split_once(':')?;
    let resource = rest.strip_prefix(kind)?.strip_prefix('/')?;
    let region_ok = (1..=20).contains(&region.len())
        && region
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    let account_ok = account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit());
    (region_ok && account_ok).then_some(resource)
}

/// A version label: `DRAFT` (the working copy) or a number (an immutable snapshot).
///
/// ```
/// use mantle_flows::Version;
/// assert_eq!("DRAFT".parse::<Version>()?, Version::Draft);
/// assert_eq!("12".parse::<Version>()?, Version::Number(12));
/// assert!("0".parse::<Version>().is_err());
/// # Ok::<(), mantle_flows::FlowsError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Version {
    Draft,
    Number(u32),
}

const VERSION_PATTERN: &str =
    "Member must satisfy regular expression pattern: (DRAFT|[0-9]{0,4}[1-9][0-9]{0,4})";

impl Version {
    /// The label as the wire writes it.
    pub fn label(self) -> String {
        match self {
            Self::Draft => "DRAFT".to_owned(),
            Self::Number(n) => n.to_string(),
        }
    }

    /// Parses `label`, a failure naming `field` (`promptVersion`, `flowVersion`).
    pub fn parse_labelled(label: &str, field: &str) -> Result<Self, FlowsError> {
        if label == "DRAFT" {
            return Ok(Self::Draft);
        }
        let numeric = (1..=5).contains(&label.len()) && label.bytes().all(|b| b.is_ascii_digit());
        match label.parse::<u32>() {
            Ok(n) if numeric && n > 0 => Ok(Self::Number(n)),
            _ => Err(FlowsError::invalid(field, VERSION_PATTERN)),
        }
    }
}

impl FromStr for Version {
    type Err = FlowsError;

    fn from_str(label: &str) -> Result<Self, Self::Err> {
        Self::parse_labelled(label, "version")
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Draft => f.write_str("DRAFT"),
            Self::Number(n) => write!(f, "{n}"),
        }
    }
}

impl Serialize for Version {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Version {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_str(Parsed::<Self>::new(VERSION_PATTERN))
    }
}

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
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
    /// A prompt's id.
    PromptId
);
id_type!(
    /// A flow's id.
    ///
    /// ```
    /// use mantle_flows::FlowId;
    /// let id: FlowId = "arn:aws:bedrock:us-east-1:123456789012:flow/FL12345678".parse()?;
    /// assert_eq!(id.as_str(), "FL12345678");
    /// assert!("FL1".parse::<FlowId>().is_err());
    /// # Ok::<(), mantle_flows::FlowsError>(())
    /// ```
    FlowId
);
id_type!(
    /// A flow alias's id: ten characters, `TSTALIASID` being the draft's test alias.
    FlowAliasId
);

const PROMPT_PATTERN: &str = "Member must satisfy regular expression pattern: ([0-9a-zA-Z]{10})|(arn:aws:bedrock:[a-z0-9-]{1,20}:[0-9]{12}:prompt/[0-9a-zA-Z]{10})(?::[0-9]{1,5})?";
const FLOW_PATTERN: &str = "Member must satisfy regular expression pattern: (arn:aws:bedrock:[a-z0-9-]{1,20}:[0-9]{12}:flow/[0-9a-zA-Z]{10})|([0-9a-zA-Z]{10})";
const ALIAS_PATTERN: &str = "Member must satisfy regular expression pattern: (arn:aws:bedrock:[a-z0-9-]{1,20}:[0-9]{12}:flow/[0-9a-zA-Z]{10}/alias/[0-9a-zA-Z]{10})|(TSTALIASID|[0-9a-zA-Z]{10})";

/// What `promptIdentifier` names: a prompt, and the version an ARN's `:{version}` suffix picks.
///
/// ```
/// use mantle_flows::{PromptIdentifier, Version};
/// let p: PromptIdentifier = "arn:aws:bedrock:us-east-1:123456789012:prompt/PR12345678:3".parse()?;
/// assert_eq!((p.id.as_str(), p.version), ("PR12345678", Some(Version::Number(3))));
/// let p: PromptIdentifier = "PR12345678".parse()?;
/// assert_eq!(p.version, None);
/// # Ok::<(), mantle_flows::FlowsError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PromptIdentifier {
    pub id: PromptId,
    pub version: Option<Version>,
}

impl PromptIdentifier {
    /// Parses a prompt ARN only (`modelId` names prompts by ARN, never by bare id).
    pub fn from_arn(arn: &str) -> Option<Self> {
        arn_resource(arn, "prompt")?;
        arn.parse().ok()
    }
}

impl FromStr for PromptIdentifier {
    type Err = FlowsError;

    fn from_str(identifier: &str) -> Result<Self, Self::Err> {
        let invalid = || FlowsError::invalid("promptIdentifier", PROMPT_PATTERN);
        if is_id(identifier) {
            return Ok(Self {
                id: PromptId(identifier.to_owned()),
                version: None,
            });
        }
        let resource = arn_resource(identifier, "prompt").ok_or_else(invalid)?;
        let (id, version) = match resource.split_once(':') {
            Some((id, version)) => {
                let version = Version::parse_labelled(version, "promptIdentifier")
                    .ok()
                    .filter(|v| *v != Version::Draft)
                    .ok_or_else(invalid)?;
                (id, Some(version))
            }
            None => (resource, None),
        };
        if !is_id(id) {
            return Err(invalid());
        }
        Ok(Self {
            id: PromptId(id.to_owned()),
            version,
        })
    }
}

impl<'de> Deserialize<'de> for PromptIdentifier {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_str(Parsed::<Self>::new(PROMPT_PATTERN))
    }
}

impl FromStr for FlowId {
    type Err = FlowsError;

    fn from_str(identifier: &str) -> Result<Self, Self::Err> {
        let id = arn_resource(identifier, "flow").unwrap_or(identifier);
        if is_id(id) {
            Ok(Self(id.to_owned()))
        } else {
            Err(FlowsError::invalid("flowIdentifier", FLOW_PATTERN))
        }
    }
}

impl<'de> Deserialize<'de> for FlowId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_str(Parsed::<Self>::new(FLOW_PATTERN))
    }
}

impl FlowAliasId {
    /// The alias every flow has, which runs its working draft.
    pub const TEST: &'static str = "TSTALIASID";

    pub fn is_test(&self) -> bool {
        self.0 == Self::TEST
    }
}

/// A flow alias, named by its id or by its ARN (which also names the flow).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlowAliasIdentifier {
    pub id: FlowAliasId,
    /// The flow the ARN names, when the alias was given as an ARN.
    pub flow: Option<FlowId>,
}

impl FromStr for FlowAliasIdentifier {
    type Err = FlowsError;

    fn from_str(identifier: &str) -> Result<Self, Self::Err> {
        let invalid = || FlowsError::invalid("aliasIdentifier", ALIAS_PATTERN);
        let (flow, alias) = match arn_resource(identifier, "flow") {
            Some(resource) => {
                let (flow, alias) = resource.split_once("/alias/").ok_or_else(invalid)?;
                if !is_id(flow) {
                    return Err(invalid());
                }
                (Some(FlowId(flow.to_owned())), alias)
            }
            None => (None, identifier),
        };
        if !is_id(alias) {
            return Err(invalid());
        }
        Ok(Self {
            id: FlowAliasId(alias.to_owned()),
            flow,
        })
    }
}

impl<'de> Deserialize<'de> for FlowAliasIdentifier {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_str(Parsed::<Self>::new(ALIAS_PATTERN))
    }
}

/// Deserializes through `FromStr`, failing inside the visitor so that the JSON path or the
/// path parameter is named.
struct Parsed<T> {
    pattern: &'static str,
    _type: std::marker::PhantomData<fn() -> T>,
}

impl<T> Parsed<T> {
    fn new(pattern: &'static str) -> Self {
        Self {
            pattern,
            _type: std::marker::PhantomData,
        }
    }
}

impl<T: FromStr> Visitor<'_> for Parsed<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<T, E> {
        value.parse().map_err(|_| E::custom(self.pattern))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minted_ids_are_ids() {
        for _ in 0..100 {
            assert!(is_id(PromptId::new().as_str()));
        }
    }

    #[test]
    fn prompt_identifiers() {
        for bad in [
            "PR1",
            "arn:aws:bedrock:us-east-1:123456789012:prompt/PR12345678:DRAFT",
            "arn:aws:bedrock:us-east-1:123456789012:prompt/PR12345678:0",
            "arn:aws:bedrock:us-east-1:12345:prompt/PR12345678",
            "arn:aws:bedrock:us-east-1:123456789012:flow/PR12345678",
        ] {
            assert!(bad.parse::<PromptIdentifier>().is_err(), "{bad}");
        }
        assert_eq!(PromptIdentifier::from_arn("PR12345678"), None);
        let arn = "arn:aws:bedrock:eu-west-1:123456789012:prompt/PR12345678";
        assert_eq!(PromptIdentifier::from_arn(arn).unwrap().version, None);
    }

    #[test]
    fn flow_alias_identifiers() {
        let alias: FlowAliasIdentifier =
            "arn:aws:bedrock:us-east-1:123456789012:flow/FL12345678/alias/AL12345678"
                .parse()
                .unwrap();
        assert_eq!(alias.id.as_str(), "AL12345678");
        assert_eq!(alias.flow.unwrap().as_str(), "FL12345678");
        assert!(
            "TSTALIASID"
                .parse::<FlowAliasIdentifier>()
                .unwrap()
                .id
                .is_test()
        );
        assert!("short".parse::<FlowAliasIdentifier>().is_err());
    }
}

//! Ids in Bedrock's formats.

/// A 12-character lowercase alphanumeric id, like Bedrock's guardrail and agent ids.
///
/// ```
/// let id = mantle_store::new_id();
/// assert_eq!(id.len(), 12);
/// assert!(id.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()));
/// ```
pub fn new_id() -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let bytes = uuid::Uuid::new_v4().into_bytes();
    bytes[..12]
        .iter()
        .map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char)
        .collect()
}

/// A bedrock-agent resource id (knowledge bases, data sources, prompts, flows…): ten upper-case
/// letters and digits, as Bedrock mints them.
///
/// ```
/// let id = mantle_store::new_resource_id();
/// assert!(mantle_store::is_resource_id(&id));
/// assert!(id.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit()));
/// ```
pub fn new_resource_id() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    uuid::Uuid::new_v4().as_bytes()[..10]
        .iter()
        .map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char)
        .collect()
}

/// Whether `id` has bedrock-agent's id shape, `[0-9a-zA-Z]{10}`.
pub fn is_resource_id(id: &str) -> bool {
    id.len() == 10 && id.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// What bedrock-agent requires of a `clientToken`, worded as its validation message.
pub const CLIENT_TOKEN_RULE: &str = "Member must have length between 33 and 256 and satisfy regular expression pattern: [a-zA-Z0-9](-*[a-zA-Z0-9]){0,256}";

/// Whether `token` is a bedrock-agent `clientToken`: 33 to 256 characters of
/// `[a-zA-Z0-9](-*[a-zA-Z0-9]){0,256}`.
///
/// ```
/// assert!(mantle_store::is_client_token(&"a-1".repeat(11)));
/// assert!(!mantle_store::is_client_token("too-short"));
/// assert!(!mantle_store::is_client_token(&format!("-{}", "a".repeat(40))));
/// ```
pub fn is_client_token(token: &str) -> bool {
    token.starts_with(|c: char| c.is_ascii_alphanumeric())
        && token.ends_with(|c: char| c.is_ascii_alphanumeric())
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        && (33..=256).contains(&token.len())
}

/// One page of a List operation: at most `max` items after the offset that `next_token` (a
/// token this function issued) carries, and the token of the page after, if any. `None` when
/// the token is not one of ours.
///
/// ```
/// let (items, next) = mantle_store::page((0..5).collect::<Vec<_>>(), 2, None).unwrap();
/// assert_eq!((items, next.as_deref()), (vec![0, 1], Some("2")));
/// let (items, next) = mantle_store::page((0..5).collect::<Vec<_>>(), 2, Some("4")).unwrap();
/// assert_eq!((items, next), (vec![4], None));
/// assert!(mantle_store::page(vec![1], 2, Some("x")).is_none());
/// ```
pub fn page<T>(
    items: Vec<T>,
    max: usize,
    next_token: Option<&str>,
) -> Option<(Vec<T>, Option<String>)> {
    let skip = match next_token {
        None => 0,
        Some(token) => token.parse::<usize>().ok()?,
    };
    let next = (skip + max < items.len()).then(|| (skip + max).to_string());
    Some((items.into_iter().skip(skip).take(max).collect(), next))
}

/// Where a server mints ARNs (`arn:aws:bedrock:<region>:<account>:…`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArnScope {
    pub region: String,
    pub account: String,
}

impl ArnScope {
    /// The ARN of this account's resource `kind/id`.
    ///
    /// ```
    /// let scope = mantle_store::ArnScope { region: "us-east-1".into(), account: "123456789012".into() };
    /// assert_eq!(scope.arn("flow", "FL12345678"), "arn:aws:bedrock:us-east-1:123456789012:flow/FL12345678");
    /// assert_eq!(scope.foundation_model_arn("m"), "arn:aws:bedrock:us-east-1::foundation-model/m");
    /// ```
    pub fn arn(&self, kind: &str, id: impl std::fmt::Display) -> String {
        format!(
            "arn:aws:bedrock:{}:{}:{kind}/{id}",
            self.region, self.account
        )
    }

    /// A foundation model's ARN, which names a region but no account.
    pub fn foundation_model_arn(&self, id: &str) -> String {
        format!("arn:aws:bedrock:{}::foundation-model/{id}", self.region)
    }
}

/// Now, as Bedrock writes timestamps (RFC 3339, UTC).
///
/// ```
/// let now = mantle_store::now_rfc3339();
/// assert!(now.ends_with('Z') && now.contains('T'));
/// ```
pub fn now_rfc3339() -> String {
    use time::format_description::well_known::Rfc3339;
    time::OffsetDateTime::now_utc()
        .format(&Rfc3339)
        .unwrap_or_else(|_| "1970-01-01T00:00:00Z".to_owned())
}

/// A request id in the UUID form AWS uses for `x-amzn-RequestId`.
pub fn new_request_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

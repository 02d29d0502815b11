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

/// Where a server mints ARNs (`arn:aws:bedrock:<region>:<account>:…`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArnScope {
    pub region: String,
    pub account: String,
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

//! SigV4 verification: parse the `Authorization` header, check its scope and time window, then
//! recompute the signature with `aws-sigv4` (the AWS SDKs' own signer) over exactly the headers
//! the client signed, and compare in constant time.
//!
//! What the recomputation covers is what botocore signs for Bedrock: the method, the path
//! double-encoded (so `%3A` in a model ARN is signed as `%253A`), dot segments removed, the
//! sorted query, the signed headers, and the payload's SHA-256 (or `UNSIGNED-PAYLOAD` when the
//! client says so in `x-amz-content-sha256`).

use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{
    PercentEncodingMode, SignableBody, SignableRequest, SigningSettings, UriPathNormalizationMode,
    sign,
};
use aws_sigv4::sign::v4;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use time::OffsetDateTime;
use time::macros::format_description;

use crate::AccessError;

/// How far a request's `x-amz-date` may be from the server's clock, as AWS allows.
pub const CLOCK_SKEW: Duration = Duration::from_secs(15 * 60);

/// The signing name every Bedrock client (runtime, agent, agent runtime) signs with.
pub const SERVICE: &str = "bedrock";

const ALGORITHM: &str = "AWS4-HMAC-SHA256";

/// The parts of a request a signature covers.
#[derive(Debug, Clone, Copy)]
pub struct SignedRequest<'a> {
    pub method: &'a http::Method,
    pub uri: &'a http::Uri,
    pub headers: &'a http::HeaderMap,
    pub body: &'a [u8],
}

/// An `Authorization: AWS4-HMAC-SHA256 Credential=…, SignedHeaders=…, Signature=…` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Authorization<'a> {
    pub(crate) key_id: &'a str,
    pub(crate) date: &'a str,
    pub(crate) region: &'a str,
    pub(crate) service: &'a str,
    pub(crate) terminator: &'a str,
    pub(crate) signed_headers: Vec<&'a str>,
    pub(crate) signature: &'a str,
}

impl<'a> Authorization<'a> {
    /// `None` when the header is not a SigV4 header at all (a bearer token, say).
    pub(crate) fn parse(header: &'a str) -> Option<Result<Self, AccessError>> {
        let rest = header.strip_prefix(ALGORITHM)?;
        Some(Self::parse_parameters(rest.trim_start()))
    }

    fn parse_parameters(rest: &'a str) -> Result<Self, AccessError> {
        let (mut credential, mut signed_headers, mut signature) = (None, None, None);
        for part in rest.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let Some((name, value)) = part.split_once('=') else {
                return Err(incomplete(format!(
                    "Authorization header requires each component to be name=value: '{part}'."
                )));
            };
            match name {
                "Credential" => credential = Some(value),
                "SignedHeaders" => signed_headers = Some(value),
                "Signature" => signature = Some(value),
                _ => {}
            }
        }
        let missing = |what: &str| {
            incomplete(format!(
                "Authorization header requires '{what}' parameter. Authorization={ALGORITHM} {rest}"
            ))
        };
        let credential = credential.ok_or_else(|| missing("Credential"))?;
        let signed_headers = signed_headers.ok_or_else(|| missing("SignedHeaders"))?;
        let signature = signature.ok_or_else(|| missing("Signature"))?;
        let scope: Vec<&str> = credential.split('/').collect();
        let [key_id, date, region, service, terminator] = scope[..] else {
            return Err(incomplete(format!(
                "Credential should be of the form AccessKeyId/Date/Region/Service/aws4_request, not '{credential}'."
            )));
        };
        Ok(Self {
            key_id,
            date,
            region,
            service,
            terminator,
            signed_headers: signed_headers.split(';').collect(),
            signature,
        })
    }
}

fn incomplete(message: String) -> AccessError {
    AccessError::IncompleteSignature(message)
}

/// When the client says it signed, from `x-amz-date` (or `date`).
pub(crate) fn signing_time(headers: &http::HeaderMap) -> Result<(String, SystemTime), AccessError> {
    let text = headers
        .get("x-amz-date")
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| {
            incomplete(
                "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header."
                    .into(),
            )
        })?;
    let format = format_description!("[year][month][day]T[hour][minute][second]Z");
    let parsed = time::PrimitiveDateTime::parse(text, &format)
        .map_err(|_| {
            AccessError::InvalidSignature(format!(
                "X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\", not '{text}'."
            ))
        })?
        .assume_utc();
    Ok((text.to_owned(), parsed.into()))
}

/// Checks the scope and the time window, before any secret is looked at.
pub(crate) fn check_scope(
    auth: &Authorization<'_>,
    date_text: &str,
    signed_at: SystemTime,
    now: SystemTime,
    region: &str,
) -> Result<(), AccessError> {
    if auth.terminator != "aws4_request" {
        return Err(AccessError::InvalidSignature(format!(
            "Credential should be scoped with a valid terminator: 'aws4_request', not '{}'.",
            auth.terminator
        )));
    }
    if auth.service != SERVICE {
        return Err(AccessError::InvalidSignature(format!(
            "Credential should be scoped to correct service: '{SERVICE}'."
        )));
    }
    if auth.region != region {
        return Err(AccessError::InvalidSignature(format!(
            "Credential should be scoped to a valid region: this server is '{region}', the request was signed for '{}'.",
            auth.region
        )));
    }
    if !date_text.starts_with(auth.date) || auth.date.len() != 8 {
        return Err(AccessError::InvalidSignature(format!(
            "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '{}' != '{}', from '{date_text}'.",
            auth.date,
            &date_text[..8.min(date_text.len())]
        )));
    }
    if !auth.signed_headers.contains(&"host") {
        return Err(AccessError::InvalidSignature(
            "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.".into(),
        ));
    }
    let stamp = |t: SystemTime| {
        let format = format_description!("[year][month][day]T[hour][minute][second]Z");
        OffsetDateTime::from(t).format(&format).unwrap_or_default()
    };
    if signed_at + CLOCK_SKEW < now {
        return Err(AccessError::InvalidSignature(format!(
            "Signature expired: {date_text} is now earlier than {} ({} - 15 min.)",
            stamp(now - CLOCK_SKEW),
            stamp(now)
        )));
    }
    if signed_at > now + CLOCK_SKEW {
        return Err(AccessError::InvalidSignature(format!(
            "Signature not yet current: {date_text} is still later than {} ({} + 15 min.)",
            stamp(now + CLOCK_SKEW),
            stamp(now)
        )));
    }
    Ok(())
}

/// Recomputes the signature with `secret` (and the session token the request carries) and
/// compares it with the one the client sent.
pub(crate) fn check_signature(
    auth: &Authorization<'_>,
    request: &SignedRequest<'_>,
    secret: &str,
    session_token: Option<&str>,
    signed_at: SystemTime,
) -> Result<(), AccessError> {
    let mut headers = Vec::new();
    for name in &auth.signed_headers {
        let values = request.headers.get_all(*name);
        let mut any = false;
        for value in values {
            any = true;
            let value = value
                .to_str()
                .map_err(|_| AccessError::signature_mismatch())?;
            headers.push((*name, value));
        }
        if !any {
            return Err(AccessError::signature_mismatch());
        }
    }
    let payload_hash;
    let body = match request
        .headers
        .get("x-amz-content-sha256")
        .and_then(|v| v.to_str().ok())
    {
        Some("UNSIGNED-PAYLOAD") => SignableBody::UnsignedPayload,
        Some(claimed) => {
            payload_hash = hex::encode(Sha256::digest(request.body));
            if !bool::from(claimed.as_bytes().ct_eq(payload_hash.as_bytes())) {
                return Err(AccessError::InvalidSignature(
                    "The provided 'x-amz-content-sha256' header does not match what was computed."
                        .into(),
                ));
            }
            SignableBody::Precomputed(payload_hash)
        }
        None => SignableBody::Bytes(request.body),
    };
    // Only the path and query take part; the host is a signed header like any other.
    let uri = match request.uri.path_and_query() {
        Some(pq) => format!("http://signed{}", pq.as_str()),
        None => "http://signed/".to_owned(),
    };
    let signable = SignableRequest::new(request.method.as_str(), uri, headers.into_iter(), body)
        .map_err(|_| AccessError::signature_mismatch())?;
    let mut settings = SigningSettings::default();
    settings.percent_encoding_mode = PercentEncodingMode::Double;
    settings.uri_path_normalization_mode = UriPathNormalizationMode::Enabled;
    // Exactly what the client listed is signed; nothing is dropped as "unsigned by default".
    settings.excluded_headers = None;
    let identity = Credentials::new(
        auth.key_id,
        secret,
        session_token.map(str::to_owned),
        None,
        "mantle-verifier",
    )
    .into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(auth.region)
        .name(auth.service)
        .time(signed_at)
        .settings(settings)
        .build()
        .map_err(|_| AccessError::signature_mismatch())?
        .into();
    let (_, expected) = sign(signable, &params)
        .map_err(|_| AccessError::signature_mismatch())?
        .into_parts();
    if bool::from(expected.as_bytes().ct_eq(auth.signature.as_bytes())) {
        Ok(())
    } else {
        Err(AccessError::signature_mismatch())
    }
}

/// Credentials as an SDK client holds them, to sign with.
#[derive(Debug, Clone, Copy)]
pub struct ClientCredentials<'a> {
    pub access_key_id: &'a str,
    pub secret_access_key: &'a str,
    pub session_token: Option<&'a str>,
}

impl<'a> ClientCredentials<'a> {
    pub const fn new(
        access_key_id: &'a str,
        secret_access_key: &'a str,
        session_token: Option<&'a str>,
    ) -> Self {
        Self {
            access_key_id,
            secret_access_key,
            session_token,
        }
    }
}

/// Signs `request` the way the AWS SDKs sign a Bedrock call (the headers it already has, the
/// body's SHA-256, `x-amz-date`, and the session token when there is one) — for clients written
/// in Rust, benchmarks and tests.
///
/// ```
/// use std::time::SystemTime;
/// use mantle_access::{ClientCredentials, sign_request};
/// let mut request = http::Request::builder()
///     .method("POST")
///     .uri("http://127.0.0.1:8080/model/smollm2/converse")
///     .header("host", "127.0.0.1:8080")
///     .body(br#"{"messages": []}"#.to_vec())?;
/// let credentials = ClientCredentials::new("AKIDEXAMPLE", "secret", None);
/// sign_request(&mut request, credentials, "us-east-1", SystemTime::now())?;
/// assert!(request.headers()["authorization"].to_str()?.starts_with("AWS4-HMAC-SHA256 "));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn sign_request(
    request: &mut http::Request<Vec<u8>>,
    credentials: ClientCredentials<'_>,
    region: &str,
    at: SystemTime,
) -> Result<(), AccessError> {
    let identity = Credentials::new(
        credentials.access_key_id,
        credentials.secret_access_key,
        credentials.session_token.map(str::to_owned),
        None,
        "mantle",
    )
    .into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name(SERVICE)
        .time(at)
        .settings(SigningSettings::default())
        .build()
        .map_err(|e| AccessError::invalid("signing", e.to_string()))?
        .into();
    let headers: Vec<(String, String)> = request
        .headers()
        .iter()
        .filter_map(|(n, v)| Some((n.as_str().to_owned(), v.to_str().ok()?.to_owned())))
        .collect();
    let uri = request.uri().to_string();
    let signable = SignableRequest::new(
        request.method().as_str(),
        uri,
        headers.iter().map(|(n, v)| (n.as_str(), v.as_str())),
        SignableBody::Bytes(request.body()),
    )
    .map_err(|e| AccessError::invalid("signing", e.to_string()))?;
    let (instructions, _) = sign(signable, &params)
        .map_err(|e| AccessError::invalid("signing", e.to_string()))?
        .into_parts();
    instructions.apply_to_request_http1x(request);
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A request signed as an SDK would, for the tests here and in the service.
    pub(crate) fn signed(
        credentials: ClientCredentials<'_>,
        region: &str,
        at: SystemTime,
        method: &str,
        path: &str,
        body: &[u8],
    ) -> http::Request<Vec<u8>> {
        let mut request = http::Request::builder()
            .method(method)
            .uri(format!("http://127.0.0.1:8080{path}"))
            .header("host", "127.0.0.1:8080")
            .header("content-type", "application/json")
            .body(body.to_vec())
            .unwrap();
        sign_request(&mut request, credentials, region, at).unwrap();
        request
    }

    fn verify(
        request: &http::Request<Vec<u8>>,
        secret: &str,
        now: SystemTime,
    ) -> Result<(), AccessError> {
        let header = request.headers()["authorization"].to_str().unwrap();
        let auth = Authorization::parse(header).unwrap()?;
        let (date, at) = signing_time(request.headers())?;
        check_scope(&auth, &date, at, now, "us-east-1")?;
        let token = request
            .headers()
            .get("x-amz-security-token")
            .map(|v| v.to_str().unwrap());
        check_signature(
            &auth,
            &SignedRequest {
                method: request.method(),
                uri: request.uri(),
                headers: request.headers(),
                body: request.body(),
            },
            secret,
            token,
            at,
        )
    }

    const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

    #[test]
    fn a_signed_request_verifies_and_a_changed_one_does_not() {
        let now = SystemTime::now();
        let path =
            "/model/arn%3Aaws%3Abedrock%3Aus-east-1%3A%3Afoundation-model%2Fx/converse?a=1&b=%2F";
        let request = signed(
            ClientCredentials::new("AKIDEXAMPLE", SECRET, None),
            "us-east-1",
            now,
            "POST",
            path,
            b"{}",
        );
        verify(&request, SECRET, now).unwrap();

        // Another secret, body, path or signed header each break it.
        assert!(matches!(
            verify(&request, "another secret", now),
            Err(AccessError::InvalidSignature(_))
        ));
        let mut tampered = request.clone();
        *tampered.body_mut() = b"{\"x\":1}".to_vec();
        assert!(matches!(
            verify(&tampered, SECRET, now),
            Err(AccessError::InvalidSignature(_))
        ));
        let mut moved = request.clone();
        *moved.uri_mut() = "http://127.0.0.1:8080/model/y/converse?a=1&b=%2F"
            .parse()
            .unwrap();
        assert!(matches!(
            verify(&moved, SECRET, now),
            Err(AccessError::InvalidSignature(_))
        ));
        let mut retyped = request.clone();
        retyped
            .headers_mut()
            .insert("content-type", "text/plain".parse().unwrap());
        assert!(matches!(
            verify(&retyped, SECRET, now),
            Err(AccessError::InvalidSignature(_))
        ));
        // A header the client did not sign may change freely.
        let mut extra = request.clone();
        extra
            .headers_mut()
            .insert("user-agent", "anything".parse().unwrap());
        verify(&extra, SECRET, now).unwrap();
    }

    #[test]
    fn session_tokens_are_signed() {
        let now = SystemTime::now();
        let request = signed(
            ClientCredentials::new("ASIAEXAMPLE", SECRET, Some("token-1")),
            "us-east-1",
            now,
            "GET",
            "/guardrails",
            b"",
        );
        verify(&request, SECRET, now).unwrap();
        let mut swapped = request.clone();
        swapped
            .headers_mut()
            .insert("x-amz-security-token", "token-2".parse().unwrap());
        assert!(verify(&swapped, SECRET, now).is_err());
    }

    #[test]
    fn time_and_scope_are_checked_first() {
        let now = SystemTime::now();
        let old = signed(
            ClientCredentials::new("AKID", SECRET, None),
            "us-east-1",
            now - Duration::from_secs(16 * 60),
            "GET",
            "/",
            b"",
        );
        match verify(&old, SECRET, now) {
            Err(AccessError::InvalidSignature(m)) => {
                assert!(m.starts_with("Signature expired"), "{m}")
            }
            other => panic!("{other:?}"),
        }
        let early = signed(
            ClientCredentials::new("AKID", SECRET, None),
            "us-east-1",
            now + Duration::from_secs(16 * 60),
            "GET",
            "/",
            b"",
        );
        match verify(&early, SECRET, now) {
            Err(AccessError::InvalidSignature(m)) => assert!(m.contains("not yet current"), "{m}"),
            other => panic!("{other:?}"),
        }
        let elsewhere = signed(
            ClientCredentials::new("AKID", SECRET, None),
            "eu-west-1",
            now,
            "GET",
            "/",
            b"",
        );
        match verify(&elsewhere, SECRET, now) {
            Err(AccessError::InvalidSignature(m)) => assert!(m.contains("region"), "{m}"),
            other => panic!("{other:?}"),
        }
        let within = signed(
            ClientCredentials::new("AKID", SECRET, None),
            "us-east-1",
            now - Duration::from_secs(14 * 60),
            "GET",
            "/",
            b"",
        );
        verify(&within, SECRET, now).unwrap();
    }

    #[test]
    fn malformed_headers_say_what_is_missing() {
        assert!(Authorization::parse("Bearer abc").is_none());
        match Authorization::parse("AWS4-HMAC-SHA256 SignedHeaders=host, Signature=00") {
            Some(Err(AccessError::IncompleteSignature(m))) => {
                assert!(m.contains("Credential"), "{m}")
            }
            other => panic!("{other:?}"),
        }
        match Authorization::parse(
            "AWS4-HMAC-SHA256 Credential=AKID/2024, SignedHeaders=host, Signature=00",
        ) {
            Some(Err(AccessError::IncompleteSignature(m))) => {
                assert!(m.contains("AccessKeyId/Date"), "{m}")
            }
            other => panic!("{other:?}"),
        }
        let parsed = Authorization::parse(
            "AWS4-HMAC-SHA256 Credential=AKID/20240101/us-east-1/bedrock/aws4_request, SignedHeaders=host;x-amz-date, Signature=ab",
        )
        .unwrap()
        .unwrap();
        assert_eq!(parsed.key_id, "AKID");
        assert_eq!(parsed.signed_headers, ["host", "x-amz-date"]);
    }
}

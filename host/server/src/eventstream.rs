//! `application/vnd.amazon.eventstream` framing, as the AWS SDKs decode it.
//!
//! A message is `total_len u32 | headers_len u32 | prelude_crc u32 | headers | payload |
//! message_crc u32`, big-endian, CRC32 (IEEE) over the prelude and over everything before the
//! final CRC. Headers here are strings (type 7).

use bytes::{BufMut, Bytes, BytesMut};

/// An event message: `:event-type` = `event_type`, JSON payload.
pub fn event(event_type: &str, payload: &serde_json::Value) -> Bytes {
    message(
        &[
            (":event-type", event_type),
            (":content-type", "application/json"),
            (":message-type", "event"),
        ],
        payload.to_string().as_bytes(),
    )
}

/// An exception message: `:exception-type` = the lowerCamel member name, e.g.
/// `modelStreamErrorException`, payload `{"message": …}`.
pub fn exception(exception_type: &str, message_text: &str) -> Bytes {
    message(
        &[
            (":exception-type", exception_type),
            (":content-type", "application/json"),
            (":message-type", "exception"),
        ],
        serde_json::json!({ "message": message_text })
            .to_string()
            .as_bytes(),
    )
}

/// Encodes one message with string headers.
pub fn message(headers: &[(&str, &str)], payload: &[u8]) -> Bytes {
    let mut encoded_headers = BytesMut::new();
    for (name, value) in headers {
        encoded_headers.put_u8(name.len() as u8);
        encoded_headers.put_slice(name.as_bytes());
        encoded_headers.put_u8(7);
        encoded_headers.put_u16(value.len() as u16);
        encoded_headers.put_slice(value.as_bytes());
    }
    let total = 12 + encoded_headers.len() + payload.len() + 4;
    let mut out = BytesMut::with_capacity(total);
    out.put_u32(total as u32);
    out.put_u32(encoded_headers.len() as u32);
    let prelude_crc = crc32fast::hash(&out[..8]);
    out.put_u32(prelude_crc);
    out.put_slice(&encoded_headers);
    out.put_slice(payload);
    let message_crc = crc32fast::hash(&out);
    out.put_u32(message_crc);
    out.freeze()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Decodes one message the way the SDKs do, checking both CRCs.
    fn decode(bytes: &[u8]) -> (Vec<(String, String)>, Vec<u8>) {
        let total = u32::from_be_bytes(bytes[0..4].try_into().unwrap()) as usize;
        let headers_len = u32::from_be_bytes(bytes[4..8].try_into().unwrap()) as usize;
        assert_eq!(total, bytes.len());
        assert_eq!(
            u32::from_be_bytes(bytes[8..12].try_into().unwrap()),
            crc32fast::hash(&bytes[..8])
        );
        assert_eq!(
            u32::from_be_bytes(bytes[total - 4..].try_into().unwrap()),
            crc32fast::hash(&bytes[..total - 4])
        );
        let mut headers = Vec::new();
        let mut at = 12;
        while at < 12 + headers_len {
            let name_len = bytes[at] as usize;
            let name = String::from_utf8(bytes[at + 1..at + 1 + name_len].to_vec()).unwrap();
            at += 1 + name_len;
            assert_eq!(bytes[at], 7);
            let value_len = u16::from_be_bytes([bytes[at + 1], bytes[at + 2]]) as usize;
            let value = String::from_utf8(bytes[at + 3..at + 3 + value_len].to_vec()).unwrap();
            at += 3 + value_len;
            headers.push((name, value));
        }
        (headers, bytes[12 + headers_len..total - 4].to_vec())
    }

    #[test]
    fn round_trips_with_valid_crcs() {
        let bytes = event(
            "contentBlockDelta",
            &serde_json::json!({"delta": {"text": "hé"}}),
        );
        let (headers, payload) = decode(&bytes);
        assert!(headers.contains(&(":event-type".into(), "contentBlockDelta".into())));
        assert!(headers.contains(&(":message-type".into(), "event".into())));
        let payload: serde_json::Value = serde_json::from_slice(&payload).unwrap();
        assert_eq!(payload["delta"]["text"], "hé");
        let (headers, _) = decode(&exception("throttlingException", "slow down"));
        assert!(headers.contains(&(":message-type".into(), "exception".into())));
    }
}

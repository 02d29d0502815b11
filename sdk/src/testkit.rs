//! A native test kit: build requests, capture logs, a per-thread `kv`, and apply findings the
//! way the host does, so plugin logic is tested with plain `cargo test`.
//!
//! ```
//! use mantle_sdk::guardrail::{Action, Finding, PolicyKind};
//! let request = mantle_sdk::testkit::input(&["mail me at a@b.io"], serde_json::json!({}));
//! let finding = Finding::new(PolicyKind::SensitiveInformation, "EMAIL", 0, 11, "a@b.io")
//!     .with_action(Action::Anonymize);
//! assert_eq!(mantle_sdk::testkit::anonymized(&request, &[finding]), ["mail me at {EMAIL}"]);
//! ```

use std::cell::RefCell;
use std::collections::BTreeMap;

use crate::chunker::Document;
use crate::guardrail::{Action, AssessRequest, Finding, Source, TextBlock};
use crate::log::Level;

thread_local! {
    static LOGS: RefCell<Vec<(Level, String)>> = const { RefCell::new(Vec::new()) };
    static KV: RefCell<BTreeMap<String, Vec<u8>>> = const { RefCell::new(BTreeMap::new()) };
}

/// An assessment request for a model's input.
pub fn input(texts: &[&str], config: serde_json::Value) -> AssessRequest {
    request(Source::Input, texts, config)
}

/// An assessment request for a model's output.
pub fn output(texts: &[&str], config: serde_json::Value) -> AssessRequest {
    request(Source::Output, texts, config)
}

fn request(source: Source, texts: &[&str], config: serde_json::Value) -> AssessRequest {
    AssessRequest {
        source,
        content: texts
            .iter()
            .map(|text| TextBlock {
                text: (*text).to_owned(),
                qualifiers: Vec::new(),
            })
            .collect(),
        config: config.to_string(),
    }
}

/// A plain-text document for a chunker.
pub fn document(text: &str) -> Document {
    Document {
        id: "doc-1".to_owned(),
        text: text.to_owned(),
        content_type: "text/plain".to_owned(),
        metadata: Vec::new(),
    }
}

/// The texts of `request` with every anonymizing finding replaced by its
/// [`Finding::replacement_text`], as the host rewrites them.
pub fn anonymized(request: &AssessRequest, findings: &[Finding]) -> Vec<String> {
    request
        .content
        .iter()
        .enumerate()
        .map(|(index, block)| {
            let mut spans: Vec<&Finding> = findings
                .iter()
                .filter(|f| f.block as usize == index && f.action == Action::Anonymize)
                .collect();
            spans.sort_by_key(|f| (f.span.start, std::cmp::Reverse(f.span.end)));
            let mut out = String::new();
            let mut at = 0usize;
            for finding in spans {
                let (start, end) = (finding.span.start as usize, finding.span.end as usize);
                if start < at {
                    continue;
                }
                out.push_str(&block.text[at..start]);
                out.push_str(&finding.replacement_text());
                at = end;
            }
            out.push_str(&block.text[at..]);
            out
        })
        .collect()
}

/// Takes the log lines captured on this thread so far.
pub fn take_logs() -> Vec<(Level, String)> {
    LOGS.with(|logs| std::mem::take(&mut *logs.borrow_mut()))
}

/// Empties this thread's `kv` store.
pub fn reset_kv() {
    KV.with(|kv| kv.borrow_mut().clear());
}

#[cfg_attr(target_arch = "wasm32", allow(dead_code))]
pub(crate) fn capture_log(level: Level, message: &str) {
    LOGS.with(|logs| logs.borrow_mut().push((level, message.to_owned())));
}

#[cfg_attr(target_arch = "wasm32", allow(dead_code))]
pub(crate) fn with_kv<R>(f: impl FnOnce(&mut BTreeMap<String, Vec<u8>>) -> R) -> R {
    KV.with(|kv| f(&mut kv.borrow_mut()))
}

/// A stand-in embedder for native tests of model-backed policies (natively there is no model):
/// one dimension per hashed lowercase word, so texts that share words are similar. Real
/// behaviour is measured through the host.
///
/// ```
/// let v = mantle_sdk::testkit::bag_of_words("any", &["Cats, cats".to_owned()]).unwrap();
/// assert_eq!(v[0].iter().sum::<f32>(), 2.0);
/// ```
pub fn bag_of_words(
    _model_id: &str,
    texts: &[String],
) -> Result<Vec<Vec<f32>>, crate::PluginError> {
    const DIMS: usize = 256;
    Ok(texts
        .iter()
        .map(|text| {
            let mut v = vec![0.0f32; DIMS];
            for word in text
                .split(|c: char| !c.is_alphanumeric())
                .filter(|w| !w.is_empty())
            {
                let h = word
                    .to_lowercase()
                    .bytes()
                    .fold(7u32, |h, b| h.wrapping_mul(31).wrapping_add(u32::from(b)));
                v[h as usize % DIMS] += 1.0;
            }
            v
        })
        .collect())
}

//! The `guardrail` world: implement [`Guest`] and export it with [`export_guardrail!`](crate::export_guardrail).
//!
//! ```
//! use mantle_sdk::guardrail::{AssessRequest, Assessment, Guest};
//! struct Nothing;
//! impl Guest for Nothing {
//!     fn assess(_: AssessRequest) -> Result<Assessment, mantle_sdk::PluginError> {
//!         Ok(Assessment { findings: vec![] })
//!     }
//! }
//! ```

pub use crate::bindings::guardrail::exports::mantle::plugin::guardrail_policy::{
    Action, AssessRequest, Assessment, Finding, Guest, PolicyKind, Qualifier, Source, TextBlock,
};
pub use crate::{PluginError, Span};

impl AssessRequest {
    /// The policy's configuration parsed as `T`.
    pub fn config<T: serde::de::DeserializeOwned>(&self) -> Result<T, PluginError> {
        crate::parse_config(&self.config)
    }

    /// The blocks a policy should assess, with their indices: every block except grounding
    /// sources and queries, which only feed contextual grounding.
    ///
    /// ```
    /// use mantle_sdk::guardrail::Qualifier;
    /// let mut request = mantle_sdk::testkit::input(&["a", "b"], serde_json::json!({}));
    /// request.content[0].qualifiers = vec![Qualifier::GroundingSource];
    /// let indices: Vec<u32> = request.guarded_blocks().map(|(i, _)| i).collect();
    /// assert_eq!(indices, [1]);
    /// ```
    pub fn guarded_blocks(&self) -> impl Iterator<Item = (u32, &TextBlock)> {
        self.content
            .iter()
            .enumerate()
            .filter(|(_, block)| block.is_guarded())
            .map(|(index, block)| (index as u32, block))
    }
}

/// A sentence window of a guarded block (see [`crate::text::windows`]): the block's index and
/// the window's byte range in it.
pub type Window = (u32, std::ops::Range<usize>);

impl AssessRequest {
    /// The sentence windows of every guarded block, in order, with their texts: what
    /// model-backed policies embed.
    ///
    /// ```
    /// let request = mantle_sdk::testkit::input(&["Hi there you. Bye now then."], serde_json::json!({}));
    /// let (windows, texts) = request.sentence_windows();
    /// assert_eq!(texts, ["Hi there you.", "Hi there you. Bye now then.", "Bye now then."]);
    /// assert_eq!(windows[2], (0, 14..27));
    /// ```
    pub fn sentence_windows(&self) -> (Vec<Window>, Vec<String>) {
        let mut windows = Vec::new();
        let mut texts = Vec::new();
        for (index, block) in self.guarded_blocks() {
            for range in crate::text::windows(&block.text) {
                texts.push(block.text[range.clone()].to_owned());
                windows.push((index, range));
            }
        }
        (windows, texts)
    }
}

/// A Bedrock policy's `inputAction` / `outputAction` / `action`: `BLOCK` (also when absent) or
/// `NONE` (report only); anything else is a config error naming `path`.
///
/// ```
/// use mantle_sdk::guardrail::{Action, block_or_none};
/// assert_eq!(block_or_none(None, "x").unwrap(), Action::Block);
/// assert_eq!(block_or_none(Some("NONE"), "x").unwrap(), Action::None);
/// assert!(block_or_none(Some("MASK"), "filtersConfig[0].action").unwrap_err().message.contains("filtersConfig[0].action"));
/// ```
pub fn block_or_none(value: Option<&str>, path: &str) -> Result<Action, PluginError> {
    match value {
        None | Some("BLOCK") => Ok(Action::Block),
        Some("NONE") => Ok(Action::None),
        Some(other) => Err(PluginError::invalid_config(format!(
            "{path}: unknown action `{other}` (expected BLOCK or NONE)"
        ))),
    }
}

impl TextBlock {
    /// Whether other policies than contextual grounding assess this block.
    pub fn is_guarded(&self) -> bool {
        !self
            .qualifiers
            .iter()
            .any(|q| matches!(q, Qualifier::GroundingSource | Qualifier::Query))
    }
}

impl Finding {
    /// A finding of `kind` in section `policy`, matching `matched` at byte `start` of block
    /// `block`. Its action is [`Action::None`] until [`Finding::with_action`] says otherwise.
    ///
    /// ```
    /// use mantle_sdk::guardrail::{Action, Finding, PolicyKind};
    /// let finding = Finding::new(PolicyKind::SensitiveInformation, "EMAIL", 0, 6, "a@b.io")
    ///     .with_action(Action::Anonymize);
    /// assert_eq!((finding.span.start, finding.span.end), (6, 12));
    /// ```
    pub fn new(
        policy: PolicyKind,
        kind: impl Into<String>,
        block: u32,
        start: usize,
        matched: impl Into<String>,
    ) -> Self {
        let matched = matched.into();
        Self {
            policy,
            type_: kind.into(),
            name: None,
            span: Span::at(start, matched.len()),
            matched,
            block,
            action: Action::None,
            replacement: None,
            score: None,
            threshold: None,
            attributes: Vec::new(),
        }
    }

    /// Sets what the host should do about the finding.
    pub fn with_action(mut self, action: Action) -> Self {
        self.action = action;
        self
    }

    /// Sets the regex or topic name.
    pub fn with_name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Sets the text that replaces the span when anonymizing (default `{TYPE}`).
    pub fn with_replacement(mut self, replacement: impl Into<String>) -> Self {
        self.replacement = Some(replacement.into());
        self
    }

    /// Adds a section-specific attribute, e.g. `("regex", pattern)`.
    pub fn with_attribute(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.attributes.push((key.into(), value.into()));
        self
    }

    /// What replaces the span when anonymizing: the explicit replacement, else `{name}` for a
    /// `REGEX` finding with a name, else `{TYPE}` — the same rule the host applies.
    ///
    /// ```
    /// use mantle_sdk::guardrail::{Finding, PolicyKind};
    /// let email = Finding::new(PolicyKind::SensitiveInformation, "EMAIL", 0, 0, "a@b.io");
    /// assert_eq!(email.replacement_text(), "{EMAIL}");
    /// let ticket = Finding::new(PolicyKind::SensitiveInformation, "REGEX", 0, 0, "T-1").with_name("ticket");
    /// assert_eq!(ticket.replacement_text(), "{ticket}");
    /// ```
    pub fn replacement_text(&self) -> String {
        match (&self.replacement, &self.name) {
            (Some(replacement), _) => replacement.clone(),
            (None, Some(name)) if self.type_ == "REGEX" => format!("{{{name}}}"),
            _ => format!("{{{}}}", self.type_),
        }
    }

    /// Sets a score and the threshold it was compared with (contextual grounding).
    pub fn with_score(mut self, score: f64, threshold: f64) -> Self {
        self.score = Some(score);
        self.threshold = Some(threshold);
        self
    }
}

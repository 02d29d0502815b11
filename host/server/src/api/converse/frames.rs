//! ConverseStream's content-block framing.

use std::time::Instant;

use serde_json::{Value, json};

use mantle_inference::{GenerationEvent, StopReason, tools};

use super::wire::usage;
use crate::eventstream;

/// Turns a generation into ConverseStream frames, block by block: text deltas go to a text
/// block (Bedrock sends no `contentBlockStart` for text), a tool call gets its own block with
/// `contentBlockStart{toolUse}`, argument fragments and `contentBlockStop`.
pub(super) struct BlockFrames {
    index: usize,
    open: bool,
    /// Some block was opened (an empty answer still closes block 0).
    any: bool,
    started: Instant,
    /// Members of the `metadata` event echoed from the request.
    echo: Value,
}

impl BlockFrames {
    /// Frames for `request`'s answer; its `metadata` event echoes the request's
    /// `performanceConfig` and `serviceTier`.
    pub(super) fn new(started: Instant, request: &super::ConverseRequest) -> Self {
        let mut echo = json!({});
        request.echo(&mut echo);
        Self {
            index: 0,
            open: false,
            any: false,
            started,
            echo,
        }
    }

    pub(super) fn text(&mut self, text: &str) -> Vec<bytes::Bytes> {
        self.open = true;
        self.any = true;
        vec![eventstream::event(
            "contentBlockDelta",
            &json!({ "contentBlockIndex": self.index, "delta": { "text": text } }),
        )]
    }

    pub(super) fn tool_start(&mut self, tool_use_id: &str, name: &str) -> Vec<bytes::Bytes> {
        let mut frames = self.close();
        if !frames.is_empty() {
            self.index += 1;
        }
        self.open = true;
        self.any = true;
        frames.push(eventstream::event(
            "contentBlockStart",
            &json!({
                "contentBlockIndex": self.index,
                "start": { "toolUse": { "toolUseId": tool_use_id, "name": name } },
            }),
        ));
        frames
    }

    /// The frames of a tool-call event (start, argument fragment, end).
    pub(super) fn tool_event(&mut self, event: &GenerationEvent) -> Vec<bytes::Bytes> {
        match event {
            GenerationEvent::ToolUseStart { name } => {
                self.tool_start(&tools::new_tool_use_id(), name)
            }
            GenerationEvent::ToolUseDelta(input) => self.tool_delta(input),
            GenerationEvent::ToolUseEnd { .. } => self.close(),
            _ => Vec::new(),
        }
    }

    /// Some text has been sent.
    pub(super) fn has_text(&self) -> bool {
        self.any
    }

    pub(super) fn tool_delta(&mut self, input: &str) -> Vec<bytes::Bytes> {
        vec![eventstream::event(
            "contentBlockDelta",
            &json!({ "contentBlockIndex": self.index, "delta": { "toolUse": { "input": input } } }),
        )]
    }

    pub(super) fn close(&mut self) -> Vec<bytes::Bytes> {
        if !std::mem::take(&mut self.open) {
            return Vec::new();
        }
        vec![eventstream::event(
            "contentBlockStop",
            &json!({ "contentBlockIndex": self.index }),
        )]
    }

    pub(super) fn done(
        &mut self,
        stop_reason: StopReason,
        input: usize,
        output: usize,
        trace: Option<Value>,
    ) -> Vec<bytes::Bytes> {
        let mut metadata = json!({
            "usage": usage(input, output),
            "metrics": { "latencyMs": self.started.elapsed().as_millis() as u64 },
        });
        if let Some(trace) = trace {
            metadata["trace"] = trace;
        }
        if let (Some(metadata), Some(echo)) = (metadata.as_object_mut(), self.echo.as_object()) {
            metadata.extend(echo.clone());
        }
        let mut frames = self.close();
        if !self.any {
            // An empty answer still closes its (empty) first block.
            frames = vec![eventstream::event(
                "contentBlockStop",
                &json!({ "contentBlockIndex": 0 }),
            )];
        }
        frames.push(eventstream::event(
            "messageStop",
            &json!({ "stopReason": stop_reason.as_str() }),
        ));
        frames.push(eventstream::event("metadata", &metadata));
        frames
    }
}

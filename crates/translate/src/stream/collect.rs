//! Responses SSE -> one finished `response` object.

use serde_json::Value;

use super::RATE_LIMITS_EVENT;
use super::assemble::OutputAssembler;
use super::wire::{RawEvent, sniff_kind};
use crate::error::StreamError;
use crate::sse::SseParser;
use crate::tool_names::ToolNameMap;

/// Collects a Responses event stream into the final `response` object, for clients that did
/// not ask to stream (the Codex backend always streams).
///
/// The `output` is built from the streamed items, never read from `response.completed`
/// (often `[]`); it is taken from there only when the stream held no item at all.
///
/// ```
/// use byok_translate::ResponseCollector;
///
/// let mut collector = ResponseCollector::new();
/// collector.feed(br#"data: {"type":"response.output_item.done","output_index":0,"item":{"type":"message","role":"assistant","content":[{"type":"output_text","text":"Hi"}]}}
///
/// data: {"type":"response.completed","response":{"id":"resp_1","status":"completed","output":[]}}
///
/// "#);
/// let response = collector.finish().unwrap();
/// assert_eq!(response["output"][0]["content"][0]["text"], "Hi");
/// ```
#[derive(Debug, Default)]
pub struct ResponseCollector {
    parser: SseParser,
    collect: Collect,
}

#[derive(Debug, Default)]
struct Collect {
    output: OutputAssembler,
    names: ToolNameMap,
    end: Option<Result<Value, StreamError>>,
    /// The last `codex.rate_limits` event, until the caller takes it.
    rate_limits: Option<Value>,
}

impl ResponseCollector {
    /// A collector for one stream.
    pub fn new() -> Self {
        Self::default()
    }

    /// A collector that also restores the tool names a request shortened
    /// (see [`crate::responses_for_codex`]).
    pub fn with_tool_names(tool_names: ToolNameMap) -> Self {
        Self {
            collect: Collect {
                names: tool_names,
                ..Collect::default()
            },
            ..Self::default()
        }
    }

    /// Feeds upstream bytes, split anywhere.
    pub fn feed(&mut self, input: &[u8]) {
        let collect = &mut self.collect;
        self.parser.feed(input, |event| collect.event(event.data));
    }

    /// Whether the terminal event (`response.completed`, `incomplete`, `failed` or `error`) has
    /// come: nothing after it changes the answer, so the caller may stop reading (an upstream
    /// may keep the connection open after it).
    pub fn is_finished(&self) -> bool {
        self.collect.end.is_some()
    }

    /// The data of the last `codex.rate_limits` event fed since the previous call (see
    /// [`crate::SseTranslator::take_rate_limits`]).
    pub fn take_rate_limits(&mut self) -> Option<Value> {
        self.collect.rate_limits.take()
    }

    /// The finished `response` object: after `response.completed`, or `response.incomplete`
    /// (its `status` and `incomplete_details` kept). An error after `response.failed`, an
    /// `error` event, or a stream that ended without any of these.
    pub fn finish(mut self) -> Result<Value, StreamError> {
        let collect = &mut self.collect;
        self.parser.end(|event| collect.event(event.data));
        let mut response = self.collect.end.unwrap_or(Err(StreamError::CutOff))?;
        let output = self.collect.output;
        if !output.is_empty() || !response.get("output").is_some_and(Value::is_array) {
            response["output"] = output.output(&self.collect.names).into();
        }
        Ok(response)
    }
}

impl Collect {
    fn event(&mut self, data: &[u8]) {
        if self.end.is_some() {
            return;
        }
        // The lifecycle events repeat the whole request (10-30 KB of instructions and tools)
        // and change nothing of the answer: not parsed at all (callgrind: they were ~100k of
        // the ~870k instructions of a non-streaming Chat request).
        if matches!(
            sniff_kind(data),
            Some(b"response.created" | b"response.in_progress" | b"response.queued")
        ) {
            return;
        }
        let Ok(event) = serde_json::from_slice::<RawEvent<'_>>(data) else {
            return;
        };
        if event.kind == RATE_LIMITS_EVENT {
            self.rate_limits = serde_json::from_slice(data).ok();
        }
        self.output.event(&event);
        match &*event.kind {
            "response.completed" | "response.incomplete" => {
                let response = event
                    .response
                    .and_then(|raw| serde_json::from_str::<Value>(raw.get()).ok());
                self.end =
                    Some(
                        response
                            .filter(Value::is_object)
                            .ok_or_else(|| StreamError::Failed {
                                message: "the upstream's final event carried no response object"
                                    .into(),
                                code: None,
                            }),
                    );
            }
            "response.failed" | "error" => {
                let (message, code) = event.failure();
                self.end = Some(Err(StreamError::Failed { message, code }));
            }
            _ => {}
        }
    }
}

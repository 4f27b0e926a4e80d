//! Responses SSE -> one finished `response` object.

use serde::Deserialize;
use serde::de::{IgnoredAny, MapAccess, Visitor};
use serde_json::{Map, Value};

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
    /// Whether the finished response keeps the fields that echo the request
    /// ([`ECHOED_REQUEST`]); see [`ResponseCollector::without_request_echo`].
    without_echo: bool,
}

/// The fields of a `response` object that repeat the request the backend was sent: the
/// Codex CLI's instructions alone are ~10 KB of escaped text, and the tools as many again.
const ECHOED_REQUEST: [&str; 2] = ["instructions", "tools"];

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

    /// A collector whose finished response leaves out the fields that echo the request
    /// (`instructions`, `tools`), for a caller that translates it into another API's answer
    /// ([`crate::response_to_chat`], [`crate::response_to_message`] read neither): they are
    /// skipped, not parsed (callgrind: parsing them was ~150k of the ~740k instructions of a
    /// non-streaming Chat request).
    ///
    /// ```
    /// use byok_translate::ResponseCollector;
    ///
    /// let mut collector = ResponseCollector::new().without_request_echo();
    /// collector.feed(br#"data: {"type":"response.completed","response":{"id":"resp_1","instructions":"Be brief.","tools":[],"usage":{"input_tokens":3},"output":[]}}
    ///
    /// "#);
    /// let response = collector.finish().unwrap();
    /// assert_eq!(response["id"], "resp_1");
    /// assert_eq!(response["usage"]["input_tokens"], 3);
    /// assert!(response.get("instructions").is_none() && response.get("tools").is_none());
    /// ```
    #[must_use]
    pub fn without_request_echo(mut self) -> Self {
        self.collect.without_echo = true;
        self
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
        match sniff_kind(data) {
            Some(b"response.created" | b"response.in_progress" | b"response.queued") => return,
            // The final event repeats the request too: its response is read in one pass, not
            // scanned as a raw event first (callgrind: ~40k instructions per answer).
            Some(b"response.completed" | b"response.incomplete") => {
                self.end = self.final_response(data);
                return;
            }
            _ => {}
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
                self.end = self.final_response(data);
            }
            "response.failed" | "error" => {
                let (message, code) = event.failure();
                self.end = Some(Err(StreamError::Failed { message, code }));
            }
            _ => {}
        }
    }
}

impl Collect {
    /// The `response` object of a `response.completed` or `response.incomplete` event;
    /// `None` when the event is no JSON at all (it is skipped, like any such event).
    fn final_response(&self, data: &[u8]) -> Option<Result<Value, StreamError>> {
        #[derive(Deserialize)]
        struct Final<R> {
            response: Option<R>,
        }
        let response = if self.without_echo {
            if let Ok(event) = serde_json::from_slice::<Final<WithoutEcho>>(data) {
                event.response.map(|kept| Value::Object(kept.0))
            } else {
                // A response that is no object still ends the stream, as a failure.
                serde_json::from_slice::<IgnoredAny>(data).ok()?;
                None
            }
        } else {
            serde_json::from_slice::<Final<Value>>(data).ok()?.response
        };
        Some(
            response
                .filter(Value::is_object)
                .ok_or_else(|| StreamError::Failed {
                    message: "the upstream's final event carried no response object".into(),
                    code: None,
                }),
        )
    }
}

/// A `response` object without its [`ECHOED_REQUEST`] fields, which are skipped unparsed.
struct WithoutEcho(Map<String, Value>);

impl<'de> Deserialize<'de> for WithoutEcho {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Fields;
        impl<'de> Visitor<'de> for Fields {
            type Value = WithoutEcho;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a response object")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut fields: A) -> Result<WithoutEcho, A::Error> {
                let mut kept = Map::new();
                while let Some(name) = fields.next_key::<String>()? {
                    if ECHOED_REQUEST.contains(&name.as_str()) {
                        fields.next_value::<IgnoredAny>()?;
                    } else {
                        kept.insert(name, fields.next_value()?);
                    }
                }
                Ok(WithoutEcho(kept))
            }
        }
        deserializer.deserialize_map(Fields)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finish(collector: ResponseCollector, stream: &str) -> Result<Value, StreamError> {
        let mut collector = collector;
        collector.feed(stream.as_bytes());
        collector.finish()
    }

    #[test]
    fn a_final_event_without_a_response_object_fails_and_one_that_is_no_json_is_skipped() {
        for lean in [false, true] {
            let collector = || {
                let collector = ResponseCollector::new();
                if lean {
                    collector.without_request_echo()
                } else {
                    collector
                }
            };
            for stream in [
                "data: {\"type\":\"response.completed\",\"response\":\"resp_1\"}\n\n",
                "data: {\"type\":\"response.completed\"}\n\n",
            ] {
                assert!(
                    matches!(finish(collector(), stream), Err(StreamError::Failed { .. })),
                    "{stream} (lean: {lean})"
                );
            }
            let broken = "data: {\"type\":\"response.completed\",\"response\":{\n\n";
            assert!(matches!(
                finish(collector(), broken),
                Err(StreamError::CutOff)
            ));
            let whole = "data: {\"type\":\"response.incomplete\",\"response\":{\"id\":\"r\",\"status\":\"incomplete\",\"instructions\":\"x\",\"output\":[]}}\n\n";
            let response = finish(collector(), whole).unwrap();
            assert_eq!(response["status"], "incomplete");
            assert_eq!(response.get("instructions").is_some(), !lean);
        }
    }
}

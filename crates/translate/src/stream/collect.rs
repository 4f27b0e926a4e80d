//! Responses SSE -> one finished `response` object.

use serde::de::{IgnoredAny, MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
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
    /// What becomes of the fields that echo the request ([`ECHOED_REQUEST`]).
    echo_mode: EchoMode,
    /// Those fields as text, in [`EchoMode::Text`].
    echo: RequestEcho,
}

/// What a collector does with the fields of the final response that echo the request.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum EchoMode {
    /// Parsed into the response like any field.
    #[default]
    Parsed,
    /// Skipped: [`ResponseCollector::without_request_echo`].
    Dropped,
    /// Kept as their JSON text: [`ResponseCollector::request_echo_as_text`].
    Text,
}

/// The fields of a finished `response` object that repeat the request (`instructions`,
/// `tools`), kept as the JSON text the upstream sent, never parsed: see
/// [`ResponseCollector::request_echo_as_text`]. Empty when there were none.
#[derive(Clone, Debug, Default)]
pub struct RequestEcho(Vec<(String, Box<RawValue>)>);

impl RequestEcho {
    /// Whether it holds no field.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Puts the fields back into `response` (an object), parsed.
    pub fn restore(self, response: &mut Value) {
        let Some(map) = response.as_object_mut() else {
            return;
        };
        for (name, text) in self.0 {
            if let Ok(value) = serde_json::from_str(text.get()) {
                map.insert(name, value);
            }
        }
    }

    /// `response` (an object, without these fields) with them, written out as JSON text: the
    /// fields' text is copied as it came.
    pub fn write(&self, response: &Value) -> Box<RawValue> {
        let written = match response {
            Value::Object(fields) if !self.is_empty() => {
                serde_json::value::to_raw_value(&WithEcho { fields, echo: self })
            }
            other => serde_json::value::to_raw_value(other),
        };
        // A `Value` always serializes (its keys are strings), and so does the text.
        written.unwrap_or_else(|_| RawValue::NULL.to_owned())
    }
}

impl PartialEq for RequestEcho {
    fn eq(&self, other: &Self) -> bool {
        self.0.len() == other.0.len()
            && self
                .0
                .iter()
                .zip(&other.0)
                .all(|((a, x), (b, y))| a == b && x.get() == y.get())
    }
}

/// A response's fields followed by its echoed ones, for writing.
struct WithEcho<'a> {
    fields: &'a Map<String, Value>,
    echo: &'a RequestEcho,
}

impl Serialize for WithEcho<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.fields.len() + self.echo.0.len()))?;
        for (name, value) in self.fields {
            map.serialize_entry(name, value)?;
        }
        for (name, text) in &self.echo.0 {
            map.serialize_entry(name, text)?;
        }
        map.end()
    }
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
        self.collect.echo_mode = EchoMode::Dropped;
        self
    }

    /// A collector that keeps the fields that echo the request (`instructions`, `tools`) as
    /// the JSON text the upstream sent, not parsed, for a caller that answers with the response
    /// written out again ([`ResponseCollector::finish_with_echo`], [`RequestEcho::write`]):
    /// parsing and writing out those ~10 KB of escaped text were ~250k of the ~850k
    /// instructions of a non-streaming Responses request (callgrind). [`finish`](Self::finish)
    /// still gives the whole response.
    ///
    /// ```
    /// use byok_translate::ResponseCollector;
    /// use serde_json::Value;
    ///
    /// let mut collector = ResponseCollector::new().request_echo_as_text();
    /// collector.feed(br#"data: {"type":"response.completed","response":{"id":"resp_1","instructions":"Be\nbrief.","tools":[],"output":[]}}
    ///
    /// "#);
    /// let (response, echo) = collector.finish_with_echo().unwrap();
    /// assert!(response.get("instructions").is_none());
    /// let text = echo.write(&response);
    /// let written: Value = serde_json::from_str(text.get()).unwrap();
    /// assert_eq!(written["instructions"], "Be\nbrief.");
    /// assert_eq!(written["id"], "resp_1");
    /// ```
    #[must_use]
    pub fn request_echo_as_text(mut self) -> Self {
        self.collect.echo_mode = EchoMode::Text;
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
    pub fn finish(self) -> Result<Value, StreamError> {
        let (mut response, echo) = self.finish_with_echo()?;
        echo.restore(&mut response);
        Ok(response)
    }

    /// As [`finish`](Self::finish), the fields that echo the request apart, as text (empty
    /// unless the collector was made with
    /// [`request_echo_as_text`](Self::request_echo_as_text)).
    pub fn finish_with_echo(mut self) -> Result<(Value, RequestEcho), StreamError> {
        let collect = &mut self.collect;
        self.parser.end(|event| collect.event(event.data));
        let mut response = self.collect.end.unwrap_or(Err(StreamError::CutOff))?;
        let output = self.collect.output;
        if !output.is_empty() || !response.get("output").is_some_and(Value::is_array) {
            response["output"] = output.output(&self.collect.names).into();
        }
        Ok((response, self.collect.echo))
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
    fn final_response(&mut self, data: &[u8]) -> Option<Result<Value, StreamError>> {
        let response = match self.echo_mode {
            EchoMode::Parsed => serde_json::from_slice::<Final<Value>>(data).ok()?.response,
            EchoMode::Dropped => lean::<false>(data)?
                .response
                .map(|lean| Value::Object(lean.kept)),
            EchoMode::Text => lean::<true>(data)?.response.map(|lean| {
                self.echo = RequestEcho(
                    lean.echo
                        .into_iter()
                        .map(|(name, text)| (name, text.to_owned()))
                        .collect(),
                );
                Value::Object(lean.kept)
            }),
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

/// A final event, as far as its `response` goes.
#[derive(Deserialize)]
struct Final<R> {
    response: Option<R>,
}

/// The response of a final event without its echo of the request; `None` when the event is no
/// JSON at all, no response when its response is no object.
fn lean<const KEEP: bool>(data: &[u8]) -> Option<Final<WithoutEcho<'_, KEEP>>> {
    if let Ok(event) = serde_json::from_slice(data) {
        Some(event)
    } else {
        // A response that is no object still ends the stream, as a failure.
        serde_json::from_slice::<IgnoredAny>(data).ok()?;
        Some(Final { response: None })
    }
}

/// A `response` object without its [`ECHOED_REQUEST`] fields, which are skipped unparsed
/// (their text borrowed from the event when `KEEP`, else not even that: skipping is cheaper).
struct WithoutEcho<'a, const KEEP: bool> {
    kept: Map<String, Value>,
    echo: Vec<(String, &'a RawValue)>,
}

impl<'de, const KEEP: bool> Deserialize<'de> for WithoutEcho<'de, KEEP> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Fields<const KEEP: bool>;
        impl<'de, const KEEP: bool> Visitor<'de> for Fields<KEEP> {
            type Value = WithoutEcho<'de, KEEP>;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a response object")
            }

            fn visit_map<A: MapAccess<'de>>(
                self,
                mut fields: A,
            ) -> Result<WithoutEcho<'de, KEEP>, A::Error> {
                let mut lean = WithoutEcho {
                    kept: Map::new(),
                    echo: Vec::new(),
                };
                while let Some(name) = fields.next_key::<String>()? {
                    if !ECHOED_REQUEST.contains(&name.as_str()) {
                        lean.kept.insert(name, fields.next_value()?);
                    } else if KEEP {
                        lean.echo.push((name, fields.next_value()?));
                    } else {
                        fields.next_value::<IgnoredAny>()?;
                    }
                }
                Ok(lean)
            }
        }
        deserializer.deserialize_map(Fields::<KEEP>)
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

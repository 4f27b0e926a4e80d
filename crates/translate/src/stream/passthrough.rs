//! Responses SSE -> Responses SSE for a Responses client, with the final event made whole.

use serde::Deserialize;
use serde_json::{Value, json};

use super::assemble::{OutputAssembler, restore_name};
use super::wire::{RawEvent, ResponseHead};
use super::{RATE_LIMITS_EVENT, SseTranslator, StreamState};
use crate::sse::{SseEvent, SseParser};
use crate::tool_names::ToolNameMap;
use crate::usage::{ResponsesUsage, TokenCounts};

/// Passes a Responses event stream on to a Responses client (the Codex CLI, the SDKs).
///
/// Events go out byte for byte as they came, except:
/// * `response.completed` / `response.incomplete` whose `response.output` arrives empty get
///   it filled from the streamed items (the SDKs' final response would be empty otherwise);
/// * tool names shortened for the upstream are restored in items and in the final output;
/// * a stream that ends without a terminal event gets a `response.failed` event, so the
///   client reports an error instead of waiting or taking a partial answer as whole;
/// * when the response is kept by byok ([`ResponsesPassthrough::stored`]), the lifecycle
///   events say so (`store: true`, the client's `previous_response_id`) and the finished
///   response is kept for [`ResponsesPassthrough::take_response`].
///
/// ```
/// use byok_translate::{ResponsesPassthrough, SseTranslator, StreamState, ToolNameMap};
///
/// let mut passthrough = ResponsesPassthrough::new(ToolNameMap::default());
/// let mut out = Vec::new();
/// let created = b"event: response.created\ndata: {\"type\":\"response.created\",\"response\":{\"id\":\"resp_1\"}}\n\n";
/// passthrough.feed(created, &mut out);
/// assert_eq!(out, created); // untouched
/// passthrough.finish(&mut out); // but the stream stopped there
/// assert!(String::from_utf8(out).unwrap().contains("event: response.failed"));
/// assert!(matches!(passthrough.state(), StreamState::Cut { .. }));
/// ```
#[derive(Debug)]
pub struct ResponsesPassthrough {
    parser: SseParser,
    pass: Pass,
}

#[derive(Debug)]
struct Pass {
    names: ToolNameMap,
    output: OutputAssembler,
    state: StreamState,
    /// The usage of the terminal event, for [`SseTranslator::usage`].
    usage: Option<ResponsesUsage>,
    /// The response's `id`, `model`, `created_at`, for the event that reports a cut-off.
    head: Option<Value>,
    last_sequence: Option<u64>,
    /// Set when byok keeps this response.
    stored: Option<Kept>,
    /// The finished response, kept when `stored` is set.
    response: Option<Value>,
    /// The last `codex.rate_limits` event, until the caller takes it.
    rate_limits: Option<Value>,
    /// The `model` the lifecycle events report, when not the upstream's
    /// ([`ResponsesPassthrough::answering_as`]).
    model: Option<String>,
}

impl ResponsesPassthrough {
    /// A passthrough for one stream; `tool_names` restores names shortened in the request.
    pub fn new(tool_names: ToolNameMap) -> Self {
        let pass = Pass {
            names: tool_names,
            output: OutputAssembler::default(),
            state: StreamState::Running,
            usage: None,
            head: None,
            last_sequence: None,
            stored: None,
            response: None,
            rate_limits: None,
            model: None,
        };
        Self {
            parser: SseParser::new(),
            pass,
        }
    }

    /// The lifecycle events report `model` (the name the client asked for, an alias
    /// included) instead of the upstream's. Events whose model is already `model` go out
    /// untouched; only the others are rewritten.
    ///
    /// ```
    /// use byok_translate::{ResponsesPassthrough, SseTranslator, ToolNameMap};
    /// let mut passthrough = ResponsesPassthrough::new(ToolNameMap::default()).answering_as("gpt-5-high");
    /// let mut out = Vec::new();
    /// passthrough.feed(b"data: {\"type\":\"response.created\",\"response\":{\"id\":\"resp_1\",\"model\":\"gpt-5\"}}\n\n", &mut out);
    /// assert!(String::from_utf8(out).unwrap().contains(r#""model":"gpt-5-high""#));
    /// ```
    #[must_use]
    pub fn answering_as(mut self, model: impl Into<String>) -> Self {
        self.pass.model = Some(model.into());
        self
    }

    /// Serves the stream as a response byok keeps: its lifecycle events report `store: true`
    /// and `previous_response_id` (see [`crate::served_as_stored`]), and the finished response
    /// (completed or incomplete, `output` whole) is kept for [`Self::take_response`].
    ///
    /// ```
    /// use byok_translate::{ResponsesPassthrough, SseTranslator, ToolNameMap};
    ///
    /// let mut passthrough = ResponsesPassthrough::new(ToolNameMap::default()).stored(Some("resp_0".into()));
    /// let mut out = Vec::new();
    /// passthrough.feed(b"data: {\"type\":\"response.output_item.done\",\"output_index\":0,\"item\":{\"type\":\"reasoning\",\"id\":\"rs_1\",\"encrypted_content\":\"gAAA\"}}\n\n", &mut out);
    /// passthrough.feed(b"data: {\"type\":\"response.completed\",\"response\":{\"id\":\"resp_1\",\"store\":false,\"output\":[]}}\n\n", &mut out);
    /// let response = passthrough.take_response().unwrap();
    /// assert_eq!(response["store"], true);
    /// assert_eq!(response["previous_response_id"], "resp_0");
    /// assert_eq!(response["output"][0]["encrypted_content"], "gAAA");
    /// assert!(String::from_utf8(out).unwrap().contains(r#""store":true"#));
    /// ```
    #[must_use]
    pub fn stored(mut self, previous_response_id: Option<String>) -> Self {
        self.pass.stored = Some(Kept {
            previous_response_id,
        });
        self
    }

    /// The finished response of a [`Self::stored`] stream, once, after its
    /// `response.completed` (or `response.incomplete`) event went through `feed`.
    pub fn take_response(&mut self) -> Option<Value> {
        self.pass.response.take()
    }
}

impl SseTranslator for ResponsesPassthrough {
    fn feed(&mut self, input: &[u8], out: &mut Vec<u8>) {
        let pass = &mut self.pass;
        self.parser.feed(input, |event| pass.event(&event, out));
    }

    fn finish(&mut self, out: &mut Vec<u8>) {
        let pass = &mut self.pass;
        self.parser.end(|event| pass.event(&event, out));
        if self.pass.state == StreamState::Running {
            self.pass.cut_off(out);
        }
    }

    fn state(&self) -> StreamState {
        self.pass.state.clone()
    }

    fn usage(&self) -> Option<TokenCounts> {
        self.pass.usage.map(TokenCounts::from)
    }

    fn take_rate_limits(&mut self) -> Option<Value> {
        self.pass.rate_limits.take()
    }
}

/// What the events of a response byok keeps report.
#[derive(Debug)]
struct Kept {
    previous_response_id: Option<String>,
}

/// The lifecycle fields a cut-off event repeats (and the model, where it lies in the event).
#[derive(Deserialize)]
struct Head<'a> {
    #[serde(default)]
    id: Value,
    #[serde(borrow, default)]
    model: Option<&'a serde_json::value::RawValue>,
    #[serde(default)]
    created_at: Value,
}

impl Pass {
    fn event(&mut self, event: &SseEvent<'_>, out: &mut Vec<u8>) {
        if self.state != StreamState::Running {
            return;
        }
        let Ok(parsed) = serde_json::from_slice::<RawEvent<'_>>(event.data) else {
            out.extend_from_slice(event.raw); // not a JSON event: not ours to judge
            return;
        };
        if parsed.kind == RATE_LIMITS_EVENT {
            self.rate_limits = serde_json::from_slice(event.data).ok();
        }
        self.output.event(&parsed);
        self.last_sequence = parsed.sequence_number.or(self.last_sequence);
        // Where this event's `response.model` lies in its data, when it must be rewritten.
        let other_model = self.learn_head(&parsed, event.data);
        match &*parsed.kind {
            "response.completed" | "response.incomplete" => {
                // The terminal event comes once: parsing its response again costs little.
                let head = parsed
                    .response
                    .and_then(|raw| serde_json::from_str::<ResponseHead<'_>>(raw.get()).ok());
                self.usage = head.as_ref().and_then(|head| head.usage);
                self.state = if parsed.kind == "response.completed" {
                    StreamState::Completed
                } else {
                    let reason = head
                        .as_ref()
                        .and_then(|head| head.incomplete_details.as_ref())
                        .and_then(|details| details.reason.as_deref());
                    StreamState::Incomplete {
                        reason: reason.unwrap_or("unknown").to_owned(),
                    }
                };
                let empty = parsed
                    .response
                    .is_some_and(|raw| has_empty_output(raw.get()));
                if empty || !self.names.is_empty() || self.stored.is_some() {
                    let edited = self.rewrite(event, out, |pass, value| {
                        if let Some(response) = value.get_mut("response") {
                            pass.mark_model(response);
                            if empty || !pass.names.is_empty() {
                                let output = if empty || !pass.output.is_empty() {
                                    pass.output.output(&pass.names)
                                } else {
                                    restored(response.get("output"), &pass.names)
                                };
                                response["output"] = output.into();
                            }
                            pass.mark_stored(response);
                        }
                    });
                    if self.stored.is_some() {
                        self.response =
                            edited.and_then(|mut value| value.get_mut("response").map(Value::take));
                    }
                    return;
                }
            }
            "response.created" | "response.in_progress" | "response.queued"
                if self.stored.is_some() =>
            {
                self.rewrite(event, out, |pass, value| {
                    if let Some(response) = value.get_mut("response") {
                        pass.mark_stored(response);
                        pass.mark_model(response);
                    }
                });
                return;
            }
            "response.failed" | "error" => {
                self.state = StreamState::Failed {
                    message: parsed.failure().0,
                };
            }
            "response.output_item.added" | "response.output_item.done"
                if !self.names.is_empty() =>
            {
                self.rewrite(event, out, |pass, value| {
                    if let Some(item) = value.get_mut("item") {
                        restore_name(item, &pass.names);
                    }
                });
                return;
            }
            _ => {}
        }
        match other_model {
            Some(at) => self.splice_model(event, at, out),
            None => out.extend_from_slice(event.raw),
        }
    }

    /// Passes `event` on with the model in `at` (a range of its data) replaced by the one to
    /// answer as: the bytes around it copied as they are (cheaper than re-serialising an 11 KB
    /// lifecycle event), or the whole event rewritten when its data is not one line of it.
    fn splice_model(&self, event: &SseEvent<'_>, at: std::ops::Range<usize>, out: &mut Vec<u8>) {
        let (raw, data) = (event.raw.as_ptr() as usize, event.data.as_ptr() as usize);
        let in_raw = data >= raw && data + event.data.len() <= raw + event.raw.len();
        let Some(model) = self.model.as_deref().filter(|_| in_raw) else {
            self.rewrite(event, out, |pass, value| {
                if let Some(response) = value.get_mut("response") {
                    pass.mark_model(response);
                }
            });
            return;
        };
        let offset = data - raw;
        out.extend_from_slice(&event.raw[..offset + at.start]);
        super::chunk::write_str(out, model);
        out.extend_from_slice(&event.raw[offset + at.end..]);
    }

    /// Keeps the first lifecycle event's head (for a cut-off event); where this event's
    /// `response.model` lies in `data` when it is not the one to answer as.
    fn learn_head(&mut self, parsed: &RawEvent<'_>, data: &[u8]) -> Option<std::ops::Range<usize>> {
        if self.head.is_some() && self.model.is_none() {
            return None;
        }
        let head = parsed
            .response
            .and_then(|raw| serde_json::from_str::<Head<'_>>(raw.get()).ok())?;
        let upstream_model = head.model.map(serde_json::value::RawValue::get);
        if self.head.is_none() {
            let model = match (&self.model, upstream_model) {
                (Some(model), _) => Value::from(model.as_str()),
                (None, Some(raw)) => serde_json::from_str(raw).unwrap_or_default(),
                (None, None) => Value::Null,
            };
            self.head = Some(json!({"id": head.id, "model": model, "created_at": head.created_at}));
        }
        let wanted = self.model.as_deref()?;
        let raw = upstream_model?;
        if serde_json::from_str::<&str>(raw).ok() == Some(wanted) {
            return None;
        }
        // `raw` borrows from `data`: its place there is where the model is written.
        let start = (raw.as_ptr() as usize).checked_sub(data.as_ptr() as usize)?;
        (start + raw.len() <= data.len()).then_some(start..start + raw.len())
    }

    /// Re-emits an event after `change` edits its JSON; the edited event, if it was JSON.
    fn rewrite(
        &self,
        event: &SseEvent<'_>,
        out: &mut Vec<u8>,
        change: impl FnOnce(&Self, &mut Value),
    ) -> Option<Value> {
        let Ok(mut value) = serde_json::from_slice::<Value>(event.data) else {
            out.extend_from_slice(event.raw);
            return None;
        };
        change(self, &mut value);
        write_event(out, event.event, &value);
        Some(value)
    }

    /// The model the client asked for, when it is to be echoed.
    fn mark_model(&self, response: &mut Value) {
        if let (Some(model), Some(map)) = (&self.model, response.as_object_mut()) {
            map.insert("model".into(), model.as_str().into());
        }
    }

    /// What a kept response's events report (nothing changes for one byok does not keep).
    fn mark_stored(&self, response: &mut Value) {
        if let Some(kept) = &self.stored {
            crate::stored::served_as_stored(response, kept.previous_response_id.as_deref());
        }
    }

    fn cut_off(&mut self, out: &mut Vec<u8>) {
        let message = "the upstream stream ended before response.completed; retry the request";
        let mut response = self.head.clone().unwrap_or_else(|| json!({"id": null}));
        response["object"] = "response".into();
        response["status"] = "failed".into();
        response["output"] = self.output.output(&self.names).into();
        response["error"] = json!({"code": "server_error", "message": message});
        response["incomplete_details"] = Value::Null;
        let sequence = self.last_sequence.map_or(0, |last| last + 1);
        let event =
            json!({"type": "response.failed", "sequence_number": sequence, "response": response});
        write_event(out, Some("response.failed"), &event);
        self.state = StreamState::Cut {
            message: message.into(),
        };
    }
}

fn write_event(out: &mut Vec<u8>, name: Option<&str>, value: &Value) {
    if let Some(name) = name {
        out.extend_from_slice(b"event: ");
        out.extend_from_slice(name.as_bytes());
        out.push(b'\n');
    }
    out.extend_from_slice(b"data: ");
    super::chunk::write_json(out, value);
    out.extend_from_slice(b"\n\n");
}

/// Whether a `response` object's `output` is absent or `[]`.
fn has_empty_output(response: &str) -> bool {
    #[derive(Deserialize)]
    struct Output<'a> {
        #[serde(borrow, default)]
        output: Option<&'a serde_json::value::RawValue>,
    }
    serde_json::from_str::<Output<'_>>(response).is_ok_and(|o| {
        o.output.is_none_or(|raw| {
            raw.get()
                .trim_start_matches('[')
                .trim_start()
                .starts_with(']')
        })
    })
}

fn restored(output: Option<&Value>, names: &ToolNameMap) -> Vec<Value> {
    let mut items = output
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    for item in &mut items {
        restore_name(item, names);
    }
    items
}

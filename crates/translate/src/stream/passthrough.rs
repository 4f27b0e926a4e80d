//! Responses SSE -> Responses SSE for a Responses client, with the final event made whole.

use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Value, json};

use super::assemble::{OutputAssembler, restore_name};
use super::wire::{self, IncompleteDetails, RawEvent};
use super::{Emptied, RATE_LIMITS_EVENT, SseTranslator, StreamState, without_instructions};
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
        // Nearly every byte goes out again: room for them at once, not by doubling (callgrind:
        // growing the output of the 11 KB events cost ~80k instructions per stream).
        out.reserve(input.len());
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

/// The fields of an event's `response` object that byok reads or may change, each as the
/// JSON text it came as (so that its place in the event is known), and what a cut-off event
/// repeats. One parse of the object finds them all; everything else in it (the 10-30 KB
/// `instructions` of every lifecycle event) is skipped without being copied.
#[derive(Deserialize)]
struct Fields<'a> {
    #[serde(default)]
    id: Value,
    #[serde(default)]
    created_at: Value,
    #[serde(borrow, default)]
    model: Raw<'a>,
    #[serde(borrow, default)]
    store: Raw<'a>,
    #[serde(borrow, default)]
    previous_response_id: Raw<'a>,
    #[serde(borrow, default)]
    output: Raw<'a>,
    #[serde(borrow, default)]
    usage: Raw<'a>,
    #[serde(borrow, default)]
    incomplete_details: Raw<'a>,
}

/// A field's JSON text, `null` included (`Option<&RawValue>` would read `null` as absent);
/// `None` when the field is absent.
#[derive(Clone, Copy, Default)]
struct Raw<'a>(Option<&'a RawValue>);

impl<'de: 'a, 'a> Deserialize<'de> for Raw<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        <&'a RawValue>::deserialize(deserializer).map(|raw| Self(Some(raw)))
    }
}

impl<'a> Raw<'a> {
    fn parse<T: Deserialize<'a>>(self) -> Option<T> {
        serde_json::from_str(self.0?.get()).ok()
    }
}

/// An event's response fields, and where in the event's data they are: they were read from
/// that data, or from a copy of it whose long `instructions` were emptied (`emptied`).
struct Found<'a> {
    fields: Fields<'a>,
    /// The bytes the fields were read from.
    read: &'a [u8],
    emptied: Option<Emptied>,
}

impl Found<'_> {
    /// Where `field`'s text is in the event's data.
    fn range(&self, field: Raw<'_>) -> Option<std::ops::Range<usize>> {
        let text = field.0?.get().as_bytes();
        let start = offset(self.read, text)?;
        let start = self
            .emptied
            .map_or(start, |emptied| emptied.original(start));
        Some(start..start + text.len())
    }
}

/// A range of an event's data, and what replaces it.
type Edit = (std::ops::Range<usize>, Vec<u8>);

/// Where `inner`, a part of `outer`, lies in it.
fn offset(outer: &[u8], inner: &[u8]) -> Option<usize> {
    let at = (inner.as_ptr() as usize).checked_sub(outer.as_ptr() as usize)?;
    (at + inner.len() <= outer.len()).then_some(at)
}

/// The response of an event, to keep.
#[derive(Deserialize)]
struct Response {
    response: Value,
}

/// What reporting the model to answer as takes in one event.
enum ModelEdit {
    /// Nothing: no model to answer as, or the event names it already.
    Same,
    /// The model's text replaced with this.
    Write(Vec<u8>),
    /// The event names no model: it must be added.
    Missing,
}

/// What a served event's `response` gets changed to.
struct Marks {
    /// The model the client asked for ([`ResponsesPassthrough::answering_as`]).
    model: bool,
    /// The output to report instead of the upstream's.
    output: Option<Vec<Value>>,
    /// `store` and `previous_response_id` as byok serves a response it keeps.
    stored: bool,
    /// The changed response is wanted back (to keep it).
    keep: bool,
}

/// The events that carry the whole response, and what the passthrough does with each.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Whole {
    /// `response.created`, `in_progress`, `queued`.
    Lifecycle,
    /// `response.completed`.
    Completed,
    /// `response.incomplete`.
    Incomplete,
}

impl Whole {
    fn of(kind: &[u8]) -> Option<Self> {
        match kind {
            b"response.created" | b"response.in_progress" | b"response.queued" => {
                Some(Self::Lifecycle)
            }
            b"response.completed" => Some(Self::Completed),
            b"response.incomplete" => Some(Self::Incomplete),
            _ => None,
        }
    }
}

/// An event that carries the whole response, read in one pass for what the passthrough needs.
#[derive(Deserialize)]
struct Enveloped<'a> {
    #[serde(default)]
    sequence_number: Option<u64>,
    #[serde(borrow, default)]
    response: Option<Fields<'a>>,
}

impl Pass {
    fn event(&mut self, event: &SseEvent<'_>, out: &mut Vec<u8>) {
        if self.state != StreamState::Running {
            return;
        }
        // The events that carry the whole response (its 10-30 KB `instructions`) are read once,
        // for the fields the passthrough needs (callgrind: reading them first as a raw event and
        // then their response again cost ~170k instructions per stream), and from a copy with
        // the instructions emptied (serde skips a string at ~4 instructions a byte), the
        // fields' places mapped back to the event as it came.
        let mut scratch = Vec::new();
        if let Some(whole) = wire::sniff_kind(event.data).and_then(Whole::of) {
            let emptied = without_instructions(event.data, &mut scratch);
            let read = if emptied.is_some() {
                scratch.as_slice()
            } else {
                event.data
            };
            if let Ok(enveloped) = serde_json::from_slice::<Enveloped<'_>>(read) {
                self.last_sequence = enveloped.sequence_number.or(self.last_sequence);
                let found = enveloped.response.map(|fields| Found {
                    fields,
                    read,
                    emptied,
                });
                self.whole(whole, event, found.as_ref(), out);
                return;
            }
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
        let found = parsed
            .response
            .and_then(|raw| serde_json::from_str::<Fields<'_>>(raw.get()).ok())
            .map(|fields| Found {
                fields,
                read: event.data,
                emptied: None,
            });
        if let Some(whole) = Whole::of(parsed.kind.as_bytes()) {
            self.whole(whole, event, found.as_ref(), out);
            return;
        }
        if let Some(found) = &found {
            self.learn_head(&found.fields);
        }
        match &*parsed.kind {
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
        self.pass_on(event, found.as_ref(), out);
    }

    /// An event that carries the whole response: a lifecycle one (marked when byok keeps the
    /// response) or the terminal one (its `output` made whole, and the response kept).
    fn whole(
        &mut self,
        whole: Whole,
        event: &SseEvent<'_>,
        found: Option<&Found<'_>>,
        out: &mut Vec<u8>,
    ) {
        let fields = found.map(|found| &found.fields);
        if let Some(fields) = fields {
            self.learn_head(fields);
        }
        let mut marks = Marks {
            model: true,
            output: None,
            stored: true,
            keep: false,
        };
        if whole == Whole::Lifecycle {
            if self.stored.is_some() {
                self.mark(event, found, &marks, out);
            } else {
                self.pass_on(event, found, out);
            }
            return;
        }
        self.usage = fields.and_then(|f| f.usage.parse());
        self.state = if whole == Whole::Completed {
            StreamState::Completed
        } else {
            let details =
                fields.and_then(|f| f.incomplete_details.parse::<IncompleteDetails<'_>>());
            let reason = details.as_ref().and_then(|d| d.reason.as_deref());
            StreamState::Incomplete {
                reason: reason.unwrap_or("unknown").to_owned(),
            }
        };
        let empty = fields.is_some_and(|f| f.output.0.is_none_or(is_empty_array));
        if !empty && self.names.is_empty() && self.stored.is_none() {
            self.pass_on(event, found, out);
            return;
        }
        if empty || !self.names.is_empty() {
            marks.output = Some(if empty || !self.output.is_empty() {
                self.output.output(&self.names)
            } else {
                let upstream = fields.and_then(|f| f.output.parse::<Value>());
                restored(upstream.as_ref(), &self.names)
            });
        }
        marks.keep = self.stored.is_some();
        let edited = self.mark(event, found, &marks, out);
        if marks.keep {
            self.response = edited;
        }
    }

    /// Passes `event` on as it came, but for the model it reports when that is not the one to
    /// answer as.
    fn pass_on(&self, event: &SseEvent<'_>, found: Option<&Found<'_>>, out: &mut Vec<u8>) {
        if let Some(found) = found
            && matches!(self.model_edit(&found.fields), ModelEdit::Write(_))
        {
            let marks = Marks {
                model: true,
                output: None,
                stored: false,
                keep: false,
            };
            self.mark(event, Some(found), &marks, out);
        } else {
            out.extend_from_slice(event.raw);
        }
    }

    /// Passes `event` on with its `response` (whose fields are `fields`) changed as `marks`
    /// say; the changed response, when `marks.keep` asks for it.
    ///
    /// The changed fields are spliced in and the bytes around them copied as they are (an
    /// 11 KB lifecycle event costs a copy, not a parse into a `Value` and a serialisation:
    /// measured with callgrind, that was 60 % of a kept Responses stream's instructions); the
    /// whole event is rewritten only when a field to change is missing (a splice cannot add
    /// it) or the data is not one line of the event.
    fn mark(
        &self,
        event: &SseEvent<'_>,
        found: Option<&Found<'_>>,
        marks: &Marks,
        out: &mut Vec<u8>,
    ) -> Option<Value> {
        if let Some(found) = found
            && let Some(at) = offset(event.raw, event.data)
            && let Some(mut edits) = self.edits(found, marks)
        {
            let data = event.data;
            edits.sort_by_key(|(range, _)| range.start);
            out.extend_from_slice(&event.raw[..at]);
            let start = out.len();
            let mut copied = 0;
            for (range, with) in edits {
                out.extend_from_slice(&data[copied..range.start]);
                out.extend_from_slice(&with);
                copied = range.end;
            }
            out.extend_from_slice(&data[copied..]);
            let edited = marks
                .keep
                .then(|| serde_json::from_slice::<Response>(&out[start..]).ok())
                .flatten()
                .map(|edited| edited.response);
            out.extend_from_slice(&event.raw[at + data.len()..]);
            return edited;
        }
        self.rewrite(event, out, |pass, value| {
            if let Some(response) = value.get_mut("response") {
                if marks.model {
                    pass.mark_model(response);
                }
                if let Some(output) = &marks.output {
                    response["output"] = output.clone().into();
                }
                if marks.stored {
                    pass.mark_stored(response);
                }
            }
        })
        .and_then(|mut value| value.get_mut("response").map(Value::take))
    }

    /// The splices `marks` make in an event's data (whose response's fields are `found`):
    /// each range of it and what replaces it. `None` when a field to change is absent.
    fn edits(&self, found: &Found<'_>, marks: &Marks) -> Option<Vec<Edit>> {
        let fields = &found.fields;
        let at = |field: Raw<'_>| found.range(field);
        let mut edits = Vec::new();
        if marks.model {
            match self.model_edit(fields) {
                ModelEdit::Same => {}
                ModelEdit::Write(model) => edits.push((at(fields.model)?, model)),
                ModelEdit::Missing => return None,
            }
        }
        if let Some(output) = &marks.output {
            let mut with = Vec::new();
            super::chunk::write_json(&mut with, output);
            edits.push((at(fields.output)?, with));
        }
        if marks.stored
            && let Some(kept) = &self.stored
        {
            edits.push((at(fields.store)?, b"true".to_vec()));
            let mut with = Vec::new();
            super::chunk::write_json(&mut with, &kept.previous_response_id);
            edits.push((at(fields.previous_response_id)?, with));
        }
        Some(edits)
    }

    /// What reporting the model to answer as takes.
    fn model_edit(&self, fields: &Fields<'_>) -> ModelEdit {
        let Some(wanted) = self.model.as_deref() else {
            return ModelEdit::Same;
        };
        let Some(upstream) = fields.model.0 else {
            return ModelEdit::Missing;
        };
        if serde_json::from_str::<&str>(upstream.get()).ok() == Some(wanted) {
            return ModelEdit::Same;
        }
        let mut with = Vec::new();
        super::chunk::write_str(&mut with, wanted);
        ModelEdit::Write(with)
    }

    /// Keeps the first lifecycle event's head, for a cut-off event.
    fn learn_head(&mut self, fields: &Fields<'_>) {
        if self.head.is_some() {
            return;
        }
        let model = match (&self.model, fields.model.0) {
            (Some(model), _) => Value::from(model.as_str()),
            (None, Some(raw)) => serde_json::from_str(raw.get()).unwrap_or_default(),
            (None, None) => Value::Null,
        };
        self.head = Some(json!({"id": fields.id, "model": model, "created_at": fields.created_at}));
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

/// Whether an `output` is `[]` (or `null`).
fn is_empty_array(output: &RawValue) -> bool {
    let output = output.get();
    output == "null" || output.trim_start_matches('[').trim_start().starts_with(']')
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

//! Chat Completions chunk SSE -> Responses events.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::answer::{Head, base_id, function_call_item, response_object};
use super::chunk::{Chunk, ToolCallDelta};
use super::item::{Kind, Open};
use crate::sse::SseParser;
use crate::stream::{SseTranslator, StreamState};
use crate::usage::{ChatUsage, TokenCounts};

/// Builds a Responses event stream from a Chat Completions chunk stream, for a Responses
/// client served by a Chat-only upstream.
///
/// It emits what the official SDKs' stream helpers check: `response.created` and
/// `in_progress` first, the same response id in every lifecycle event, for every item an
/// `output_item.added` and a matching `output_item.done` (with `content_part` and text or
/// argument deltas in between), `sequence_number` on every event, and `response.completed`
/// (or `incomplete`) with the whole `output` and the usage. A failed or cut-off stream
/// ends with `response.failed`.
///
/// ```
/// use byok_translate::{ResponsesStreamBuilder, SseTranslator, StreamState};
///
/// let mut builder = ResponsesStreamBuilder::new("llama");
/// let mut out = Vec::new();
/// builder.feed(br#"data: {"id":"chatcmpl-1","created":7,"model":"llama","choices":[{"index":0,"delta":{"role":"assistant","content":"Hi"}}]}
///
/// data: {"id":"chatcmpl-1","created":7,"model":"llama","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}
///
/// data: [DONE]
///
/// "#, &mut out);
/// builder.finish(&mut out);
/// let events = String::from_utf8(out).unwrap();
/// assert!(events.starts_with("event: response.created\n"));
/// assert!(events.contains(r#""delta":"Hi""#));
/// assert!(events.contains("event: response.completed\n"));
/// assert_eq!(builder.state(), StreamState::Completed);
/// ```
#[derive(Debug)]
pub struct ResponsesStreamBuilder {
    parser: SseParser,
    build: Build,
}

#[derive(Debug)]
struct Build {
    model: String,
    state: StreamState,
    sequence: u64,
    /// The response id (`resp_` + the Chat id), set by the first chunk.
    id: Option<String>,
    created_at: Value,
    /// Finished items by `output_index`.
    items: BTreeMap<u32, Value>,
    next_index: u32,
    open: Option<Open>,
    calls: Vec<Call>,
    finish_reason: Option<String>,
    usage: Option<ChatUsage>,
}

#[derive(Debug)]
struct Call {
    chat_index: u32,
    output_index: u32,
    id: String,
    name: String,
    arguments: String,
    open: bool,
}

impl ResponsesStreamBuilder {
    /// A builder for one stream; `model` names the model until the chunks name it.
    pub fn new(model: &str) -> Self {
        let build = Build {
            model: model.to_owned(),
            state: StreamState::Running,
            sequence: 0,
            id: None,
            created_at: 0.into(),
            items: BTreeMap::new(),
            next_index: 0,
            open: None,
            calls: Vec::new(),
            finish_reason: None,
            usage: None,
        };
        Self {
            parser: SseParser::new(),
            build,
        }
    }
}

impl SseTranslator for ResponsesStreamBuilder {
    fn feed(&mut self, input: &[u8], out: &mut Vec<u8>) {
        let build = &mut self.build;
        self.parser.feed(input, |event| build.data(event.data, out));
    }

    fn finish(&mut self, out: &mut Vec<u8>) {
        let build = &mut self.build;
        self.parser.end(|event| build.data(event.data, out));
        if self.build.state == StreamState::Running {
            if self.build.finish_reason.is_some() {
                // The answer was whole; only `[DONE]` went missing.
                self.build.complete(out);
            } else {
                let message =
                    "the upstream stream ended before the answer was complete; retry the request";
                self.build.fail(out, message, None);
                self.build.state = StreamState::Cut {
                    message: message.into(),
                };
            }
        }
    }

    fn state(&self) -> StreamState {
        self.build.state.clone()
    }

    fn usage(&self) -> Option<TokenCounts> {
        self.build.usage.map(TokenCounts::from)
    }
}

impl Build {
    fn data(&mut self, data: &[u8], out: &mut Vec<u8>) {
        if self.state != StreamState::Running {
            return;
        }
        if data.trim_ascii() == b"[DONE]" {
            self.complete(out);
            return;
        }
        let Ok(chunk) = serde_json::from_slice::<Chunk<'_>>(data) else {
            return;
        };
        if let Some(error) = &chunk.error {
            let message = error
                .get("message")
                .and_then(Value::as_str)
                .unwrap_or("the upstream reported an error");
            let code = error.get("code").and_then(Value::as_str).map(str::to_owned);
            self.fail(out, message, code);
            return;
        }
        if self.id.is_none() {
            self.start(&chunk, out);
        }
        if let Some(usage) = chunk.usage {
            self.usage = Some(usage);
        }
        for choice in chunk.choices.iter().filter(|choice| choice.index == 0) {
            let delta = &choice.delta;
            if let Some(text) = delta
                .reasoning_content
                .as_deref()
                .or(delta.reasoning.as_deref())
            {
                self.text(out, Kind::Reasoning, text);
            }
            if let Some(text) = &delta.content {
                self.text(out, Kind::Text, text);
            }
            if let Some(text) = &delta.refusal {
                self.text(out, Kind::Refusal, text);
            }
            for call in &delta.tool_calls {
                self.tool_call(out, call);
            }
            if let Some(reason) = &choice.finish_reason {
                self.finish_reason = Some(reason.clone().into_owned());
            }
        }
    }

    fn emit(&mut self, out: &mut Vec<u8>, kind: &str, mut event: Value) {
        event["type"] = kind.into();
        event["sequence_number"] = self.sequence.into();
        self.sequence += 1;
        out.extend_from_slice(b"event: ");
        out.extend_from_slice(kind.as_bytes());
        out.extend_from_slice(b"\ndata: ");
        crate::stream::write_json(out, &event);
        out.extend_from_slice(b"\n\n");
    }

    fn base(&self) -> &str {
        self.id
            .as_deref()
            .and_then(|id| id.strip_prefix("resp_"))
            .unwrap_or_default()
    }

    /// The `response` object as it stands, `status` set by the caller.
    fn response(&self, finish_reason: Option<&str>, output: Vec<Value>) -> Value {
        response_object(&Head {
            id: self.id.clone().unwrap_or_else(|| "resp_unknown".into()),
            created_at: self.created_at.clone(),
            model: self.model.clone().into(),
            finish_reason,
            output,
            usage: self.usage,
        })
    }

    fn start(&mut self, chunk: &Chunk<'_>, out: &mut Vec<u8>) {
        self.id = Some(format!(
            "resp_{}",
            base_id(chunk.id.as_deref().unwrap_or("unknown"))
        ));
        if let Some(model) = chunk.model.as_deref().filter(|model| !model.is_empty()) {
            model.clone_into(&mut self.model);
        }
        if let Some(created) = &chunk.created {
            self.created_at = created.clone();
        }
        let mut response = self.response(None, Vec::new());
        response["status"] = "in_progress".into();
        response["usage"] = Value::Null;
        self.emit(out, "response.created", json!({"response": response}));
        self.emit(out, "response.in_progress", json!({"response": response}));
    }

    fn text(&mut self, out: &mut Vec<u8>, kind: Kind, text: &str) {
        if text.is_empty() {
            return;
        }
        if self.open.as_ref().is_none_or(|open| open.kind != kind) {
            self.close_all(out);
            let output_index = self.next_index;
            self.next_index += 1;
            let open = Open::new(kind, self.base(), output_index);
            self.emit_all(out, open.added());
            self.open = Some(open);
        }
        if let Some(open) = self.open.as_mut() {
            let event = open.delta(text);
            self.emit_all(out, [event]);
        }
    }

    fn emit_all(
        &mut self,
        out: &mut Vec<u8>,
        events: impl IntoIterator<Item = (&'static str, Value)>,
    ) {
        for (kind, body) in events {
            self.emit(out, kind, body);
        }
    }

    fn close_open(&mut self, out: &mut Vec<u8>) {
        if let Some(open) = self.open.take() {
            let output_index = open.output_index;
            let (events, item) = open.done();
            self.emit_all(out, events);
            self.finish_item(out, output_index, item);
        }
    }

    fn finish_item(&mut self, out: &mut Vec<u8>, output_index: u32, item: Value) {
        self.emit(
            out,
            "response.output_item.done",
            json!({"output_index": output_index, "item": item}),
        );
        self.items.insert(output_index, item);
    }

    fn tool_call(&mut self, out: &mut Vec<u8>, delta: &ToolCallDelta<'_>) {
        let function = delta.function.as_ref();
        let arguments = function
            .and_then(|f| f.arguments.as_deref())
            .unwrap_or_default();
        let known = self
            .calls
            .iter()
            .position(|call| call.chat_index == delta.index);
        let at = if let Some(at) = known {
            at
        } else {
            self.start_call(out, delta);
            self.calls.len() - 1
        };
        if arguments.is_empty() {
            return;
        }
        let call = &mut self.calls[at];
        call.arguments.push_str(arguments);
        // Late arguments of a call already closed still reach the final output.
        if call.open {
            let body = json!({"item_id": format!("fc_{}", call.id), "output_index": call.output_index, "delta": arguments});
            self.emit(out, "response.function_call_arguments.delta", body);
        }
    }

    fn start_call(&mut self, out: &mut Vec<u8>, delta: &ToolCallDelta<'_>) {
        self.close_all(out);
        let output_index = self.next_index;
        self.next_index += 1;
        let id = delta.id.as_deref().map_or_else(
            || format!("call_{}_{}", self.base(), delta.index),
            str::to_owned,
        );
        let name = delta
            .function
            .as_ref()
            .and_then(|f| f.name.as_deref())
            .unwrap_or_default()
            .to_owned();
        let item = json!({"type": "function_call", "id": format!("fc_{id}"), "call_id": id,
                          "name": name, "arguments": "", "status": "in_progress"});
        self.emit(
            out,
            "response.output_item.added",
            json!({"output_index": output_index, "item": item}),
        );
        let call = Call {
            chat_index: delta.index,
            output_index,
            id,
            name,
            arguments: String::new(),
            open: true,
        };
        self.calls.push(call);
    }

    /// Closes the open message or reasoning item, and the open tool calls.
    fn close_all(&mut self, out: &mut Vec<u8>) {
        self.close_open(out);
        for at in 0..self.calls.len() {
            if !self.calls[at].open {
                continue;
            }
            self.calls[at].open = false;
            let call = &self.calls[at];
            let (output_index, item_id) = (call.output_index, format!("fc_{}", call.id));
            let body = json!({"item_id": item_id, "output_index": output_index, "arguments": call.arguments});
            self.emit(out, "response.function_call_arguments.done", body);
            let call = &self.calls[at];
            let item = function_call_item(&call.id, &call.name, &call.arguments);
            self.finish_item(out, output_index, item);
        }
    }

    fn complete(&mut self, out: &mut Vec<u8>) {
        if self.id.is_none() {
            let message = "the upstream stream ended without an answer; retry the request";
            self.fail(out, message, None);
            return;
        }
        self.close_all(out);
        // Arguments that came after their call was closed are in `calls`: the output gets them.
        for call in &self.calls {
            self.items.insert(
                call.output_index,
                function_call_item(&call.id, &call.name, &call.arguments),
            );
        }
        let output = self.items.values().cloned().collect();
        let response = self.response(self.finish_reason.as_deref(), output);
        let kind = if response["status"] == "incomplete" {
            "response.incomplete"
        } else {
            "response.completed"
        };
        self.emit(out, kind, json!({"response": response}));
        self.state = if kind == "response.incomplete" {
            StreamState::Incomplete {
                reason: response["incomplete_details"]["reason"]
                    .as_str()
                    .unwrap_or("unknown")
                    .to_owned(),
            }
        } else {
            StreamState::Completed
        };
    }

    fn fail(&mut self, out: &mut Vec<u8>, message: &str, code: Option<String>) {
        let output = self.items.values().cloned().collect();
        let mut response = self.response(None, output);
        response["status"] = "failed".into();
        response["error"] =
            json!({"code": code.unwrap_or_else(|| "server_error".into()), "message": message});
        self.emit(out, "response.failed", json!({"response": response}));
        self.state = StreamState::Failed {
            message: message.to_owned(),
        };
    }
}

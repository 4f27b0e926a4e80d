//! Helpers shared by the integration tests: the recorded fixtures, and readers of what the
//! translators write (Chat chunks, Responses events), so tests compare what a client sees.
#![allow(dead_code, reason = "each test binary uses its own subset")]

use std::path::PathBuf;

use byok_translate::{ChatOptions, ChatStreamTranslator, SseParser, SseTranslator, StreamState};
use serde_json::Value;

/// Every recorded stream (`tests/data/*.sse`).
pub const FIXTURES: [&str; 6] = [
    "text",
    "tools",
    "reasoning",
    "structured",
    "text-empty-output",
    "tools-empty-output",
];

pub fn data_path(file: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(file)
}

pub fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(data_path(&format!("{name}.sse"))).expect("fixture exists")
}

/// The `data:` payloads of an SSE stream, parsed as JSON where they are JSON.
pub fn events(sse: &[u8]) -> Vec<Value> {
    let mut parser = SseParser::new();
    let mut out = Vec::new();
    let mut push = |event: byok_translate::SseEvent<'_>| {
        out.push(
            serde_json::from_slice(event.data)
                .unwrap_or_else(|_| Value::String(event.text().into_owned())),
        );
    };
    parser.feed(sse, &mut push);
    parser.end(&mut push);
    out
}

/// Runs any translator over `chunks`, returning its output and final state.
pub fn run<'a>(
    translator: &mut dyn SseTranslator,
    chunks: impl IntoIterator<Item = &'a [u8]>,
) -> (Vec<u8>, StreamState) {
    let mut out = Vec::new();
    for chunk in chunks {
        translator.feed(chunk, &mut out);
    }
    translator.finish(&mut out);
    (out, translator.state())
}

pub fn to_chat(options: ChatOptions, stream: &[u8]) -> (Vec<u8>, StreamState) {
    run(&mut ChatStreamTranslator::new(options), [stream])
}

pub fn with_usage() -> ChatOptions {
    ChatOptions {
        include_usage: true,
        ..ChatOptions::default()
    }
}

/// A tool call as a Chat client assembles it from the chunks.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ToolCall {
    pub index: u64,
    pub id: String,
    pub name: String,
    pub arguments: String,
}

/// What a Chat client makes of a chunk stream.
#[derive(Debug, Default)]
pub struct ChatView {
    pub chunks: Vec<Value>,
    pub content: String,
    pub reasoning: String,
    pub refusal: String,
    pub tool_calls: Vec<ToolCall>,
    pub finish_reasons: Vec<String>,
    pub usage: Option<Value>,
    pub errors: Vec<Value>,
    pub done_last: bool,
}

impl ChatView {
    /// Asserts that a non-streamed Chat `message` has the text and reasoning this stream showed.
    pub fn assert_same_text(&self, message: &Value, name: &str) {
        assert_eq!(
            message["content"].as_str().unwrap_or_default(),
            self.content,
            "{name}"
        );
        assert_eq!(
            message["reasoning_content"].as_str().unwrap_or_default(),
            self.reasoning,
            "{name}"
        );
    }
}

pub fn chat_view(sse: &[u8]) -> ChatView {
    let mut view = ChatView::default();
    let payloads = events(sse);
    view.done_last = payloads.last() == Some(&Value::String("[DONE]".into()));
    for chunk in payloads {
        if chunk.get("error").is_some() {
            view.errors.push(chunk);
            continue;
        }
        if !chunk.is_object() {
            continue;
        }
        if let Some(usage) = chunk.get("usage").filter(|usage| !usage.is_null()) {
            view.usage = Some(usage.clone());
        }
        for choice in chunk["choices"].as_array().expect("choices is an array") {
            let delta = &choice["delta"];
            let text = |key: &str| {
                delta
                    .get(key)
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned()
            };
            view.content += &text("content");
            view.reasoning += &text("reasoning_content");
            view.refusal += &text("refusal");
            for call in delta
                .get("tool_calls")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let index = call["index"].as_u64().expect("tool calls have an index");
                if !view.tool_calls.iter().any(|c| c.index == index) {
                    view.tool_calls.push(ToolCall {
                        index,
                        ..ToolCall::default()
                    });
                }
                let slot = view
                    .tool_calls
                    .iter()
                    .position(|c| c.index == index)
                    .unwrap();
                let slot = &mut view.tool_calls[slot];
                if let Some(id) = call.get("id").and_then(Value::as_str) {
                    id.clone_into(&mut slot.id);
                }
                if let Some(name) = call.pointer("/function/name").and_then(Value::as_str) {
                    slot.name += name;
                }
                if let Some(arguments) = call.pointer("/function/arguments").and_then(Value::as_str)
                {
                    slot.arguments += arguments;
                }
            }
            if let Some(reason) = choice.get("finish_reason").and_then(Value::as_str) {
                view.finish_reasons.push(reason.to_owned());
            }
        }
        view.chunks.push(chunk);
    }
    view
}

/// What the recorded stream says the answer is, from a list of output items.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Recorded {
    pub content: String,
    pub reasoning: String,
    pub tool_calls: Vec<(String, String, String)>,
}

pub fn recorded(items: &[Value]) -> Recorded {
    let mut answer = Recorded::default();
    for item in items {
        match item["type"].as_str() {
            Some("message") => {
                for part in item["content"].as_array().into_iter().flatten() {
                    answer.content += part["text"].as_str().unwrap_or_default();
                }
            }
            Some("reasoning") => {
                let parts: Vec<&str> = item["summary"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|p| p["text"].as_str())
                    .collect();
                if !parts.is_empty() {
                    if !answer.reasoning.is_empty() {
                        answer.reasoning += "\n\n";
                    }
                    answer.reasoning += &parts.join("\n\n");
                }
            }
            Some("function_call") => answer.tool_calls.push((
                item["call_id"].as_str().unwrap_or_default().to_owned(),
                item["name"].as_str().unwrap_or_default().to_owned(),
                item["arguments"].as_str().unwrap_or_default().to_owned(),
            )),
            _ => {}
        }
    }
    answer
}

/// The items of the recorded `response.output_item.done` events.
pub fn done_items(stream: &[u8]) -> Vec<Value> {
    events(stream)
        .into_iter()
        .filter(|event| event["type"] == "response.output_item.done")
        .map(|event| event["item"].clone())
        .collect()
}

/// The recorded `response.completed` event's `response`.
pub fn completed(stream: &[u8]) -> Value {
    events(stream)
        .into_iter()
        .find(|event| event["type"] == "response.completed")
        .map(|event| event["response"].clone())
        .expect("the fixture completes")
}

impl ChatView {
    pub fn answer(&self) -> Recorded {
        Recorded {
            content: self.content.clone(),
            reasoning: self.reasoning.clone(),
            tool_calls: self
                .tool_calls
                .iter()
                .map(|c| (c.id.clone(), c.name.clone(), c.arguments.clone()))
                .collect(),
        }
    }
}

/// The recording with each ~10 KB `instructions` string cut to a few words, every other byte
/// as recorded: the same events and line structure in a fifth of the bytes, so that tests
/// that replay a stream once per byte stay fast.
pub fn short_instructions(stream: &[u8]) -> Vec<u8> {
    let key = br#""instructions":""#;
    let mut out = Vec::with_capacity(stream.len());
    let mut rest = stream;
    while let Some(at) = rest.windows(key.len()).position(|window| window == key) {
        let value = at + key.len();
        out.extend_from_slice(&rest[..value]);
        out.extend_from_slice(b"You are Codex.");
        let mut end = value;
        while rest[end] != b'"' {
            end += if rest[end] == b'\\' { 2 } else { 1 };
        }
        rest = &rest[end..];
    }
    out.extend_from_slice(rest);
    out
}

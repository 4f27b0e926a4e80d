//! Responses SSE -> Anthropic Messages SSE.

use super::request::MessagesOptions;
use super::{signature, usage};
use crate::sse::SseParser;
use crate::stream::chunk::{Text, write_str};
use crate::stream::wire::{Delta, Event, Item, ResponseHead};
use crate::stream::{Parsed, SseTranslator, StreamState, parse_event};
use crate::usage::{ResponsesUsage, TokenCounts};

/// Translates a Responses event stream into the Anthropic Messages event stream, incrementally.
///
/// `message_start` (the id from the stream, the model the client asked for) and a `ping`
/// first; then one content block at a time, numbered from 0: `text` (`text_delta`),
/// `thinking` (`thinking_delta`, then a `signature_delta` carrying the reasoning item, when
/// the client asked for thinking), `tool_use` (`input_json_delta`); then `message_delta` with
/// the `stop_reason` (`end_turn`, `tool_use`, `max_tokens`, `refusal`) and the usage, and
/// `message_stop`. A failed or cut-off upstream ends the stream with an `error` event in
/// Anthropic's shape. The output is a pure function of the input bytes, however split.
///
/// ```
/// use byok_translate::{MessagesOptions, MessagesStreamTranslator, SseTranslator, StreamState};
///
/// let options = MessagesOptions { model: "claude-sonnet-4-5".into(), ..Default::default() };
/// let mut translator = MessagesStreamTranslator::new(options);
/// let mut out = Vec::new();
/// translator.feed(b"data: {\"type\":\"response.created\",\"response\":{\"id\":\"resp_1\"}}\n\n", &mut out);
/// translator.feed(b"data: {\"type\":\"response.output_text.delta\",\"output_index\":0,\"delta\":\"Hi\"}\n\n", &mut out);
/// translator.feed(b"data: {\"type\":\"response.completed\",\"response\":{\"id\":\"resp_1\"}}\n\n", &mut out);
/// translator.finish(&mut out);
/// let text = String::from_utf8(out).unwrap();
/// assert!(text.starts_with("event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\""));
/// assert!(text.contains(r#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hi"}}"#));
/// assert!(text.contains(r#""stop_reason":"end_turn""#));
/// assert!(text.ends_with("event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"));
/// assert_eq!(translator.state(), StreamState::Completed);
/// ```
#[derive(Debug)]
pub struct MessagesStreamTranslator {
    parser: SseParser,
    core: Core,
}

#[derive(Debug)]
struct Core {
    options: MessagesOptions,
    state: StreamState,
    /// The message id, once known (`msg_` and the Responses id).
    id: Option<String>,
    started: bool,
    /// The index the next content block gets.
    next_index: u32,
    open: Option<Open>,
    /// Output items whose text or reasoning came as deltas (their `done` must not repeat it).
    streamed: Vec<u32>,
    /// Function call items whose block was opened, and whether arguments were sent for them.
    tools: Vec<(u32, bool)>,
    refused: bool,
    /// What the terminal event reported.
    usage: Option<ResponsesUsage>,
}

/// The content block being written; Anthropic streams one block at a time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Open {
    index: u32,
    kind: Block,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Block {
    /// Text of one content part of one message item.
    Text {
        item: u32,
        part: u32,
    },
    /// The summary of one reasoning item; `part` is the summary part last written.
    Thinking {
        item: u32,
        part: Option<u32>,
    },
    ToolUse {
        item: u32,
    },
}

impl MessagesStreamTranslator {
    /// A translator for one stream.
    pub fn new(options: MessagesOptions) -> Self {
        let core = Core {
            options,
            state: StreamState::Running,
            id: None,
            started: false,
            next_index: 0,
            open: None,
            streamed: Vec::new(),
            tools: Vec::new(),
            refused: false,
            usage: None,
        };
        Self {
            parser: SseParser::new(),
            core,
        }
    }
}

impl SseTranslator for MessagesStreamTranslator {
    fn feed(&mut self, input: &[u8], out: &mut Vec<u8>) {
        if self.core.state == StreamState::Running {
            let core = &mut self.core;
            self.parser.feed(input, |event| core.event(event.data, out));
        }
    }

    fn finish(&mut self, out: &mut Vec<u8>) {
        if self.core.state != StreamState::Running {
            return;
        }
        let core = &mut self.core;
        self.parser.end(|event| core.event(event.data, out));
        if self.core.state == StreamState::Running {
            let message = "the upstream stream ended before response.completed; retry the request";
            self.core.fail(out, message, None);
            self.core.state = StreamState::Cut {
                message: message.to_owned(),
            };
        }
    }

    fn state(&self) -> StreamState {
        self.core.state.clone()
    }

    fn usage(&self) -> Option<TokenCounts> {
        self.core.usage.map(TokenCounts::from)
    }
}

/// Writes one event: `event: {name}` and the data `{"type":"{name}"` + `body` + `}`.
fn event(out: &mut Vec<u8>, name: &str, body: impl FnOnce(&mut Vec<u8>)) {
    out.extend_from_slice(b"event: ");
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b"\ndata: {\"type\":\"");
    out.extend_from_slice(name.as_bytes());
    out.push(b'"');
    body(out);
    out.extend_from_slice(b"}\n\n");
}

fn number(out: &mut Vec<u8>, n: impl Into<u64>) {
    out.extend_from_slice(n.into().to_string().as_bytes());
}

/// The `error` event, in Anthropic's error shape, for a failure the upstream reported.
pub(crate) fn error_type(code: Option<&str>) -> &'static str {
    match code {
        Some("rate_limit_exceeded" | "usage_limit_reached" | "usage_not_included") => {
            "rate_limit_error"
        }
        Some("server_is_overloaded" | "slow_down") => "overloaded_error",
        Some(
            "context_length_exceeded" | "invalid_prompt" | "invalid_request_error" | "bad_request",
        ) => "invalid_request_error",
        _ => "api_error",
    }
}

impl Core {
    fn event(&mut self, data: &[u8], out: &mut Vec<u8>) {
        if self.state != StreamState::Running {
            return;
        }
        let mut scratch = Vec::new();
        match parse_event(data, &mut scratch, Self::wants) {
            Some(Parsed::Delta(kind, delta)) => self.delta(kind, &delta, out),
            Some(Parsed::Event(event)) => self.handle(&event, out),
            None => {}
        }
    }

    /// Whether an event of this type can change the output (the others are not parsed).
    fn wants(kind: &[u8]) -> bool {
        matches!(
            kind,
            b"response.created"
                | b"response.in_progress"
                | b"response.output_text.delta"
                | b"response.refusal.delta"
                | b"response.reasoning_summary_text.delta"
                | b"response.reasoning_text.delta"
                | b"response.output_item.added"
                | b"response.function_call_arguments.delta"
                | b"response.function_call_arguments.done"
                | b"response.output_item.done"
                | b"response.completed"
                | b"response.incomplete"
                | b"response.failed"
                | b"error"
        )
    }

    fn handle(&mut self, event: &Event<'_>, out: &mut Vec<u8>) {
        if let Some(head) = &event.response {
            self.learn_head(head);
        }
        let item_index = event.output_index.unwrap_or(0);
        match &*event.kind {
            "response.created" | "response.in_progress" => self.start(out),
            kind if kind.as_bytes().ends_with(b".delta") => {
                let delta = Delta {
                    output_index: event.output_index,
                    content_index: event.content_index,
                    summary_index: event.summary_index,
                    text: event.delta.clone(),
                    json: None,
                };
                self.delta(kind.as_bytes(), &delta, out);
            }
            "response.output_item.added" => match event.item.as_ref().map(|i| &*i.kind) {
                Some("function_call") => {
                    let item = event.item.as_ref().expect("matched");
                    self.tool_start(out, item_index, item);
                }
                Some("reasoning") if self.options.thinking => {
                    self.open_block(
                        out,
                        Block::Thinking {
                            item: item_index,
                            part: None,
                        },
                    );
                }
                _ => {}
            },
            "response.function_call_arguments.done" => {
                if let Some(arguments) = &event.arguments {
                    self.tool_arguments_whole(out, item_index, arguments);
                }
            }
            "response.output_item.done" => {
                if let Some(item) = &event.item {
                    self.item_done(out, item_index, item);
                }
            }
            "response.completed" => {
                let reason = if !self.tools.is_empty() {
                    "tool_use"
                } else if self.refused {
                    "refusal"
                } else {
                    "end_turn"
                };
                self.complete(out, reason, event.response.as_ref());
            }
            "response.incomplete" => {
                let reason = event
                    .response
                    .as_ref()
                    .and_then(|r| r.incomplete_details.as_ref())
                    .and_then(|d| d.reason.as_deref());
                let stop = if reason == Some("content_filter") {
                    "refusal"
                } else {
                    "max_tokens"
                };
                let reason = reason.unwrap_or("max_output_tokens").to_owned();
                self.complete(out, stop, event.response.as_ref());
                self.state = StreamState::Incomplete { reason };
            }
            "response.failed" | "error" => {
                let error = event.response.as_ref().and_then(|r| r.error.as_ref());
                let message = error
                    .and_then(|e| e.message.as_deref())
                    .or(event.message.as_deref())
                    .unwrap_or("the upstream failed the response");
                let code = error
                    .and_then(|e| e.code.as_deref())
                    .or(event.code.as_deref());
                let message = message.to_owned();
                let code = code.map(str::to_owned);
                self.fail(out, &message, code.as_deref());
            }
            _ => {}
        }
    }

    fn delta(&mut self, kind: &[u8], event: &Delta<'_>, out: &mut Vec<u8>) {
        let text = event
            .json
            .map(Text::Json)
            .or(event.text.as_deref().map(Text::Plain));
        let (Some(text), item) = (text, event.output_index.unwrap_or(0)) else {
            return;
        };
        match kind {
            b"response.output_text.delta" | b"response.refusal.delta" => {
                self.mark_streamed(item);
                self.refused |= kind == b"response.refusal.delta";
                let part = event.content_index.unwrap_or(0);
                self.text(out, Block::Text { item, part }, text);
            }
            b"response.reasoning_summary_text.delta" | b"response.reasoning_text.delta"
                if self.options.thinking =>
            {
                self.mark_streamed(item);
                let part = event.summary_index.or(event.content_index).unwrap_or(0);
                self.thinking(out, item, part, text);
            }
            b"response.function_call_arguments.delta" => {
                if let Some(tool) = self.tools.iter_mut().find(|(i, _)| *i == item) {
                    tool.1 = true;
                    self.json_delta(out, item, text);
                }
            }
            _ => {}
        }
    }

    fn learn_head(&mut self, head: &ResponseHead<'_>) {
        if self.id.is_none() && !head.id.is_empty() {
            let id = head.id.strip_prefix("resp_").unwrap_or(&head.id);
            self.id = Some(format!("msg_{id}"));
        }
    }

    /// `message_start` and a `ping`, as Anthropic's streams begin.
    fn start(&mut self, out: &mut Vec<u8>) {
        if self.started {
            return;
        }
        self.started = true;
        let id = self.id.as_deref().unwrap_or("msg_unknown");
        event(out, "message_start", |out| {
            out.extend_from_slice(b",\"message\":{\"id\":");
            write_str(out, id);
            out.extend_from_slice(b",\"type\":\"message\",\"role\":\"assistant\",\"model\":");
            write_str(out, &self.options.model);
            out.extend_from_slice(
                b",\"content\":[],\"stop_reason\":null,\"stop_sequence\":null,\"usage\":{\"input_tokens\":0,\"cache_creation_input_tokens\":0,\"cache_read_input_tokens\":0,\"output_tokens\":0}}",
            );
        });
        event(out, "ping", |_| {});
    }

    fn mark_streamed(&mut self, item: u32) {
        if self.streamed.last() != Some(&item) && !self.streamed.contains(&item) {
            self.streamed.push(item);
        }
    }

    /// Opens a block (closing the one open), unless it is the one open.
    fn open_block(&mut self, out: &mut Vec<u8>, kind: Block) {
        self.start(out);
        if self.open.is_some_and(|open| same_block(open.kind, kind)) {
            return;
        }
        self.close_block(out);
        let index = self.next_index;
        self.next_index += 1;
        self.open = Some(Open { index, kind });
        event(out, "content_block_start", |out| {
            out.extend_from_slice(b",\"index\":");
            number(out, index);
            out.extend_from_slice(match kind {
                Block::Text { .. } => b",\"content_block\":{\"type\":\"text\",\"text\":\"\"}",
                Block::Thinking { .. } => {
                    b",\"content_block\":{\"type\":\"thinking\",\"thinking\":\"\",\"signature\":\"\"}"
                }
                Block::ToolUse { .. } => b"",
            });
        });
    }

    fn close_block(&mut self, out: &mut Vec<u8>) {
        if let Some(open) = self.open.take() {
            event(out, "content_block_stop", |out| {
                out.extend_from_slice(b",\"index\":");
                number(out, open.index);
            });
        }
    }

    /// A `content_block_delta` of the open block: `,"delta":{"type":"{kind}","{field}":` + value.
    fn block_delta(&self, out: &mut Vec<u8>, kind: &str, field: &str, value: Text<'_>) {
        let index = self.open.map_or(0, |open| open.index);
        event(out, "content_block_delta", |out| {
            out.extend_from_slice(b",\"index\":");
            number(out, index);
            out.extend_from_slice(b",\"delta\":{\"type\":\"");
            out.extend_from_slice(kind.as_bytes());
            out.extend_from_slice(b"\",\"");
            out.extend_from_slice(field.as_bytes());
            out.extend_from_slice(b"\":");
            value.write(out);
            out.push(b'}');
        });
    }

    fn text(&mut self, out: &mut Vec<u8>, block: Block, text: Text<'_>) {
        self.open_block(out, block);
        self.block_delta(out, "text_delta", "text", text);
    }

    /// Reasoning summary text; parts of one item share its block, a blank line apart.
    fn thinking(&mut self, out: &mut Vec<u8>, item: u32, part: u32, text: Text<'_>) {
        self.open_block(out, Block::Thinking { item, part: None });
        if let Some(Open {
            kind: Block::Thinking { part: last, .. },
            ..
        }) = &mut self.open
        {
            let new_part = last.is_some_and(|last| last != part);
            *last = Some(part);
            if new_part {
                self.block_delta(out, "thinking_delta", "thinking", Text::Plain("\n\n"));
            }
        }
        self.block_delta(out, "thinking_delta", "thinking", text);
    }

    fn tool_start(&mut self, out: &mut Vec<u8>, item_index: u32, item: &Item<'_>) {
        if self.tools.iter().any(|(i, _)| *i == item_index) {
            return;
        }
        self.start(out);
        self.close_block(out);
        self.tools.push((item_index, false));
        let index = self.next_index;
        self.next_index += 1;
        self.open = Some(Open {
            index,
            kind: Block::ToolUse { item: item_index },
        });
        let name = self
            .options
            .tool_names
            .original(item.name.as_deref().unwrap_or(""));
        let id = item.call_id.as_deref().unwrap_or("");
        event(out, "content_block_start", |out| {
            out.extend_from_slice(b",\"index\":");
            number(out, index);
            out.extend_from_slice(b",\"content_block\":{\"type\":\"tool_use\",\"id\":");
            write_str(out, id);
            out.extend_from_slice(b",\"name\":");
            write_str(out, name);
            out.extend_from_slice(b",\"input\":{}}");
        });
    }

    fn json_delta(&mut self, out: &mut Vec<u8>, item: u32, json: Text<'_>) {
        if self
            .open
            .is_some_and(|open| open.kind == Block::ToolUse { item })
        {
            self.block_delta(out, "input_json_delta", "partial_json", json);
        }
    }

    /// Arguments that came whole, without deltas, are sent whole.
    fn tool_arguments_whole(&mut self, out: &mut Vec<u8>, item: u32, arguments: &str) {
        let Some(tool) = self.tools.iter_mut().find(|(i, _)| *i == item) else {
            return;
        };
        if !tool.1 && !arguments.is_empty() {
            tool.1 = true;
            self.json_delta(out, item, Text::Plain(arguments));
        }
    }

    /// A finished item: what never came as deltas is sent from the item itself.
    fn item_done(&mut self, out: &mut Vec<u8>, item_index: u32, item: &Item<'_>) {
        match &*item.kind {
            "function_call" => {
                self.tool_start(out, item_index, item);
                if let Some(arguments) = &item.arguments {
                    self.tool_arguments_whole(out, item_index, arguments);
                }
                if self
                    .open
                    .is_some_and(|o| o.kind == Block::ToolUse { item: item_index })
                {
                    self.close_block(out);
                }
            }
            "message" => {
                if !self.streamed.contains(&item_index) {
                    for (part, content) in (0u32..).zip(&item.content) {
                        let text = match (&*content.kind, &content.text, &content.refusal) {
                            ("output_text", Some(text), _) => text,
                            ("refusal", _, Some(refusal)) => {
                                self.refused = true;
                                refusal
                            }
                            _ => continue,
                        };
                        if !text.is_empty() {
                            let block = Block::Text {
                                item: item_index,
                                part,
                            };
                            self.text(out, block, Text::Plain(text));
                        }
                    }
                }
                if self.open.is_some_and(
                    |o| matches!(o.kind, Block::Text { item, .. } if item == item_index),
                ) {
                    self.close_block(out);
                }
            }
            "reasoning" if self.options.thinking => {
                if !self.streamed.contains(&item_index) {
                    for (part, summary) in (0u32..).zip(&item.summary) {
                        if let Some(text) = summary.text.as_deref().filter(|t| !t.is_empty()) {
                            self.thinking(out, item_index, part, Text::Plain(text));
                        }
                    }
                }
                self.open_block(
                    out,
                    Block::Thinking {
                        item: item_index,
                        part: None,
                    },
                );
                let carried =
                    signature::encode(item.id.as_deref(), item.encrypted_content.as_deref());
                if let Some(carried) = carried {
                    self.block_delta(out, "signature_delta", "signature", Text::Plain(&carried));
                }
                self.close_block(out);
            }
            _ => {}
        }
    }

    fn complete(&mut self, out: &mut Vec<u8>, reason: &str, response: Option<&ResponseHead<'_>>) {
        self.start(out);
        self.close_block(out);
        self.usage = response.and_then(|r| r.usage);
        let usage = self.usage.unwrap_or_default();
        event(out, "message_delta", |out| {
            out.extend_from_slice(b",\"delta\":{\"stop_reason\":\"");
            out.extend_from_slice(reason.as_bytes());
            out.extend_from_slice(b"\",\"stop_sequence\":null},\"usage\":");
            write_usage(out, usage);
        });
        event(out, "message_stop", |_| {});
        self.state = StreamState::Completed;
    }

    fn fail(&mut self, out: &mut Vec<u8>, message: &str, code: Option<&str>) {
        event(out, "error", |out| {
            out.extend_from_slice(b",\"error\":{\"type\":\"");
            out.extend_from_slice(error_type(code).as_bytes());
            out.extend_from_slice(b"\",\"message\":");
            write_str(out, message);
            out.push(b'}');
        });
        self.state = StreamState::Failed {
            message: message.to_owned(),
        };
    }
}

/// Whether two blocks are the same one (a thinking block whatever part it is at).
fn same_block(a: Block, b: Block) -> bool {
    match (a, b) {
        (Block::Thinking { item: x, .. }, Block::Thinking { item: y, .. }) => x == y,
        _ => a == b,
    }
}

fn write_usage(out: &mut Vec<u8>, usage: ResponsesUsage) {
    crate::stream::chunk::write_json(out, &usage::MessagesUsage::from(usage));
}

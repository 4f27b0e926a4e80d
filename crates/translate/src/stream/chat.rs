//! Responses SSE -> Chat Completions chunk SSE, the hot path.

use super::chunk::{ChunkWriter, Text, TextField, error_event};
use super::tool_calls::ToolCalls;
use super::wire::{Delta, Event, Item, ResponseHead, incomplete_finish_reason};
use super::{Parsed, RATE_LIMITS_EVENT, SseTranslator, StreamState, parse_event};
use crate::answer::ChatOptions;
use crate::options::ReasoningMode;
use crate::sse::SseParser;
use crate::usage::{ChatUsage, ResponsesUsage, TokenCounts};

/// Translates a Responses event stream into Chat Completions chunk SSE, incrementally.
///
/// It follows the mapping the golden tests pin (`crates/translate/tests/golden.rs`): the role
/// chunk first, text, refusal and reasoning deltas, tool calls numbered from 0, exactly one
/// `finish_reason`, the usage chunk when asked for, `data: [DONE]` on success, and an OpenAI-shaped error event when the upstream fails or
/// the stream is cut off. Ids and `created` come from the stream, so the output is a pure
/// function of the input bytes, however they are split.
///
/// ```
/// use byok_translate::{ChatOptions, ChatStreamTranslator, SseTranslator, StreamState};
///
/// let mut translator = ChatStreamTranslator::new(ChatOptions::default());
/// let mut out = Vec::new();
/// translator.feed(b"data: {\"type\":\"response.created\",\"response\":{\"id\":\"resp_1\",\"created_at\":1,\"model\":\"gpt-5\"}}\n\n", &mut out);
/// translator.feed(b"data: {\"type\":\"response.output_text.delta\",\"output_index\":0,\"delta\":\"Hi\"}\n\n", &mut out);
/// translator.feed(b"data: {\"type\":\"response.completed\",\"response\":{\"id\":\"resp_1\"}}\n\n", &mut out);
/// translator.finish(&mut out);
/// let text = String::from_utf8(out).unwrap();
/// assert!(text.contains(r#""delta":{"content":"Hi"}"#));
/// assert!(text.contains(r#""finish_reason":"stop""#));
/// assert!(text.ends_with("data: [DONE]\n\n"));
/// assert_eq!(translator.state(), StreamState::Completed);
/// ```
#[derive(Debug)]
pub struct ChatStreamTranslator {
    parser: SseParser,
    core: Core,
}

#[derive(Debug)]
struct Core {
    options: ChatOptions,
    chunks: ChunkWriter,
    started: bool,
    state: StreamState,
    /// The usage of the terminal event, for [`SseTranslator::usage`].
    usage: Option<ResponsesUsage>,
    tool_calls: ToolCalls,
    /// Output items whose text or reasoning came as deltas (their `done` must not repeat it).
    streamed: Vec<u32>,
    /// The (item, part) of the last reasoning text, to separate the next part from it.
    last_reasoning: Option<(u32, u32)>,
    think_open: bool,
    /// The last `codex.rate_limits` event, until the caller takes it.
    rate_limits: Option<serde_json::Value>,
    /// The `model` the chunks report, when not the upstream's (see [`ChatStreamTranslator::answering_as`]).
    model: Option<String>,
}

impl ChatStreamTranslator {
    /// A translator for one stream.
    pub fn new(options: ChatOptions) -> Self {
        let core = Core {
            options,
            chunks: ChunkWriter::default(),
            started: false,
            state: StreamState::Running,
            usage: None,
            tool_calls: ToolCalls::default(),
            streamed: Vec::new(),
            last_reasoning: None,
            think_open: false,
            rate_limits: None,
            model: None,
        };
        Self {
            parser: SseParser::new(),
            core,
        }
    }

    /// The chunks report `model` as their model (the name the client asked for, an alias such
    /// as `gpt-5-high` included) instead of the upstream's `gpt-5`, as the OpenAI API echoes
    /// the requested model.
    ///
    /// ```
    /// use byok_translate::{ChatOptions, ChatStreamTranslator, SseTranslator};
    /// let options = ChatOptions { reasoning: Default::default(), include_usage: false, tool_names: Default::default() };
    /// let mut translator = ChatStreamTranslator::new(options).answering_as("gpt-5-high");
    /// let mut out = Vec::new();
    /// translator.feed(b"data: {\"type\":\"response.created\",\"response\":{\"id\":\"resp_1\",\"created_at\":1,\"model\":\"gpt-5\"}}\n\n", &mut out);
    /// translator.feed(b"data: {\"type\":\"response.output_text.delta\",\"output_index\":0,\"delta\":\"Hi\"}\n\n", &mut out);
    /// let text = String::from_utf8(out).unwrap();
    /// assert!(text.contains(r#""model":"gpt-5-high""#), "{text}");
    /// ```
    #[must_use]
    pub fn answering_as(mut self, model: impl Into<String>) -> Self {
        self.core.model = Some(model.into());
        self
    }
}

impl SseTranslator for ChatStreamTranslator {
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
            error_event(out, message, None);
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

    fn take_rate_limits(&mut self) -> Option<serde_json::Value> {
        self.core.rate_limits.take()
    }
}

impl Core {
    fn event(&mut self, data: &[u8], out: &mut Vec<u8>) {
        // Events after the end, and lines that are not JSON events (keep-alives, the `[DONE]`
        // of proxies), carry nothing.
        if self.state != StreamState::Running {
            return;
        }
        let mut scratch = Vec::new();
        match parse_event(data, &mut scratch, |kind| self.wants(kind)) {
            Some(Parsed::Delta(kind, delta)) => self.delta(kind, &delta, out),
            Some(Parsed::Event(event)) if event.kind == RATE_LIMITS_EVENT => {
                self.rate_limits = serde_json::from_slice(data).ok();
            }
            Some(Parsed::Event(event)) => self.handle(&event, out),
            None => {}
        }
    }

    /// Whether an event of this type can change the output. The others (`*.done` of parts,
    /// `in_progress` once the head is known, ...) are not even parsed: lifecycle events carry
    /// the whole 10-30 KB `instructions`, and not parsing is the cheapest parse of all.
    fn wants(&self, kind: &[u8]) -> bool {
        match kind {
            b"response.created" | b"response.in_progress" => !self.chunks.has_head(),
            b"response.output_text.delta"
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
            | b"codex.rate_limits" => true,
            _ => false,
        }
    }

    fn handle(&mut self, event: &Event<'_>, out: &mut Vec<u8>) {
        if let Some(head) = &event.response {
            self.learn_head(head);
        }
        let output_index = event.output_index.unwrap_or(0);
        match &*event.kind {
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
            "response.output_item.added" => {
                if let Some(item) = event
                    .item
                    .as_ref()
                    .filter(|item| item.kind == "function_call")
                {
                    self.tool_call_start(out, output_index, item);
                }
            }
            "response.function_call_arguments.done" => {
                if let Some(arguments) = &event.arguments {
                    self.tool_call_arguments_done(out, output_index, arguments);
                }
            }
            "response.output_item.done" => {
                if let Some(item) = &event.item {
                    self.item_done(out, output_index, item);
                }
            }
            "response.completed" => {
                let reason = if self.tool_calls.is_empty() {
                    "stop"
                } else {
                    "tool_calls"
                };
                self.complete(out, reason, event.response.as_ref());
                self.state = StreamState::Completed;
            }
            "response.incomplete" => {
                let details = event
                    .response
                    .as_ref()
                    .and_then(|r| r.incomplete_details.as_ref());
                let upstream_reason = details.and_then(|d| d.reason.as_deref());
                let reason = incomplete_finish_reason(upstream_reason);
                self.complete(out, reason, event.response.as_ref());
                self.state = StreamState::Incomplete {
                    reason: upstream_reason.unwrap_or(reason).to_owned(),
                };
            }
            "response.failed" => {
                let error = event.response.as_ref().and_then(|r| r.error.as_ref());
                let message = error
                    .and_then(|e| e.message.as_deref())
                    .unwrap_or("the upstream failed the response");
                self.fail(out, message, error.and_then(|e| e.code.as_deref()));
            }
            "error" => {
                let message = event
                    .message
                    .as_deref()
                    .unwrap_or("the upstream reported an error");
                self.fail(out, message, event.code.as_deref());
            }
            _ => {}
        }
        self.start_if_known(out);
    }

    /// The role chunk goes first, as soon as the stream shows it is an answer.
    fn start_if_known(&mut self, out: &mut Vec<u8>) {
        if !self.started && self.state == StreamState::Running && self.chunks.has_head() {
            self.start(out);
        }
    }

    fn delta(&mut self, kind: &[u8], event: &Delta<'_>, out: &mut Vec<u8>) {
        let text = event
            .json
            .map(Text::Json)
            .or(event.text.as_deref().map(Text::Plain));
        let (Some(delta), output_index) = (text, event.output_index.unwrap_or(0)) else {
            return;
        };
        match kind {
            b"response.output_text.delta" => {
                self.mark_streamed(output_index);
                self.content(out, TextField::Content, delta);
            }
            b"response.refusal.delta" => {
                self.mark_streamed(output_index);
                self.content(out, TextField::Refusal, delta);
            }
            b"response.reasoning_summary_text.delta" | b"response.reasoning_text.delta" => {
                self.mark_streamed(output_index);
                let part = event.summary_index.or(event.content_index).unwrap_or(0);
                self.reasoning(out, (output_index, part), delta);
            }
            b"response.function_call_arguments.delta" => {
                self.tool_call_arguments(out, output_index, delta);
            }
            _ => {}
        }
        self.start_if_known(out);
    }

    fn learn_head(&mut self, head: &ResponseHead<'_>) {
        if !self.chunks.has_head() && !head.id.is_empty() {
            let created = head
                .created_at
                .as_ref()
                .map_or_else(|| "0".to_owned(), ToString::to_string);
            let model = self.model.as_deref().unwrap_or(&head.model);
            self.chunks.set_head(&head.id, &created, model);
        }
    }

    fn start(&mut self, out: &mut Vec<u8>) {
        if !self.started {
            self.started = true;
            if !self.chunks.has_head() {
                // An upstream that skipped `response.created`: the chunks still need an id.
                let model = self.model.as_deref().unwrap_or_default();
                self.chunks.set_head("unknown", "0", model);
            }
            self.chunks.role(out);
        }
    }

    fn mark_streamed(&mut self, output_index: u32) {
        if self.streamed.last() != Some(&output_index) && !self.streamed.contains(&output_index) {
            self.streamed.push(output_index);
        }
    }

    /// Answer text (content or refusal): closes a `<think>` block first.
    fn content(&mut self, out: &mut Vec<u8>, field: TextField, text: Text<'_>) {
        self.start(out);
        self.close_think(out);
        self.chunks.text(out, field, text);
    }

    fn reasoning(&mut self, out: &mut Vec<u8>, part: (u32, u32), text: Text<'_>) {
        let mode = self.options.reasoning;
        if mode == ReasoningMode::Hidden {
            return;
        }
        self.start(out);
        let field = match mode {
            ReasoningMode::ThinkTags => {
                if !self.think_open {
                    self.think_open = true;
                    self.chunks
                        .text(out, TextField::Content, Text::Plain("<think>"));
                }
                TextField::Content
            }
            _ => TextField::Reasoning,
        };
        // Separate summary parts the way the upstream's reasoning items separate them.
        if self.last_reasoning.is_some_and(|last| last != part) {
            self.chunks.text(out, field, Text::Plain("\n\n"));
        }
        self.last_reasoning = Some(part);
        self.chunks.text(out, field, text);
    }

    fn close_think(&mut self, out: &mut Vec<u8>) {
        if self.think_open {
            self.think_open = false;
            self.chunks
                .text(out, TextField::Content, Text::Plain("</think>\n\n"));
        }
    }

    fn tool_call_start(&mut self, out: &mut Vec<u8>, output_index: u32, item: &Item<'_>) {
        let arguments = item.arguments.as_deref().unwrap_or("");
        let Some(index) = self.tool_calls.start(output_index, !arguments.is_empty()) else {
            return;
        };
        self.start(out);
        self.close_think(out);
        let name = self
            .options
            .tool_names
            .original(item.name.as_deref().unwrap_or(""));
        let id = item.call_id.as_deref().unwrap_or("");
        self.chunks.tool_call_start(out, index, id, name, arguments);
    }

    fn tool_call_arguments(&mut self, out: &mut Vec<u8>, output_index: u32, arguments: Text<'_>) {
        if let Some(index) = self.tool_calls.arguments(output_index) {
            self.chunks.tool_call_arguments(out, index, arguments);
        }
    }

    /// Arguments that came whole, without deltas, are sent whole.
    fn tool_call_arguments_done(&mut self, out: &mut Vec<u8>, output_index: u32, arguments: &str) {
        if self.tool_calls.waiting(output_index) && !arguments.is_empty() {
            self.tool_call_arguments(out, output_index, Text::Plain(arguments));
        }
    }

    /// A finished item whose parts never came as deltas is sent from the item itself.
    fn item_done(&mut self, out: &mut Vec<u8>, output_index: u32, item: &Item<'_>) {
        match &*item.kind {
            "function_call" => {
                self.tool_call_start(out, output_index, item);
                if let Some(arguments) = &item.arguments {
                    self.tool_call_arguments_done(out, output_index, arguments);
                }
            }
            "message" if !self.streamed.contains(&output_index) => {
                for part in &item.content {
                    match (&*part.kind, &part.text, &part.refusal) {
                        ("output_text", Some(text), _) if !text.is_empty() => {
                            self.content(out, TextField::Content, Text::Plain(text));
                        }
                        ("refusal", _, Some(refusal)) if !refusal.is_empty() => {
                            self.content(out, TextField::Refusal, Text::Plain(refusal));
                        }
                        _ => {}
                    }
                }
            }
            "reasoning" if !self.streamed.contains(&output_index) => {
                for (part, summary) in (0u32..).zip(&item.summary) {
                    if let Some(text) = summary.text.as_deref().filter(|text| !text.is_empty()) {
                        self.reasoning(out, (output_index, part), Text::Plain(text));
                    }
                }
            }
            _ => {}
        }
    }

    fn complete(&mut self, out: &mut Vec<u8>, reason: &str, response: Option<&ResponseHead<'_>>) {
        self.start(out);
        self.close_think(out);
        self.chunks.finish(out, reason);
        self.usage = response.and_then(|r| r.usage);
        if self.options.include_usage {
            self.chunks
                .usage(out, ChatUsage::from(self.usage.unwrap_or_default()));
        }
        ChunkWriter::done(out);
    }

    fn fail(&mut self, out: &mut Vec<u8>, message: &str, code: Option<&str>) {
        error_event(out, message, code);
        self.state = StreamState::Failed {
            message: message.to_owned(),
        };
    }
}

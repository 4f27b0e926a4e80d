//! A streamed answer: its protocol, its bytes, and the report of how it went.

use std::sync::{Arc, Mutex, PoisonError};

use bytes::Bytes;
use serde_json::json;

use crate::{ByokError, ByteStream};

/// The protocol a stream speaks to its client, which decides how its error event looks.
///
/// ```
/// use byok_types::{ByokError, StreamProtocol};
/// let err = ByokError::Timeout("the upstream sent nothing for 300000 ms".into());
/// let event = String::from_utf8(StreamProtocol::Responses.error_event(&err).to_vec()).unwrap();
/// assert!(event.trim_start().starts_with("event: error\ndata: {"));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum StreamProtocol {
    /// Chat Completions chunks: success ends with `data: [DONE]`.
    Chat,
    /// Responses events: success ends with `response.completed` (or `incomplete` / `failed`).
    Responses,
    /// Anthropic Messages events: success ends with `message_stop`.
    Anthropic,
}

impl StreamProtocol {
    /// The event that tells the client the stream failed, in the protocol's own shape:
    /// OpenAI's error object as a `data:` line for Chat clients; a Responses `error` event
    /// (which also carries that object) for Responses clients; Anthropic's
    /// `{"type":"error","error":{"type","message"}}` for Messages clients.
    ///
    /// It starts with a blank line, which ends any event the upstream left half-written (SSE
    /// parsers skip blank lines between events).
    pub fn error_event(self, err: &ByokError) -> Bytes {
        let body = err.to_openai_json();
        let text = match self {
            Self::Chat => format!("\n\ndata: {body}\n\n"),
            Self::Responses => {
                let error = &body["error"];
                let event = json!({
                    "type": "error",
                    "code": error["code"],
                    "message": error["message"],
                    "param": error["param"],
                    "error": error,
                });
                format!("\n\nevent: error\ndata: {event}\n\n")
            }
            Self::Anthropic => format!("\n\nevent: error\ndata: {}\n\n", err.to_anthropic_json()),
        };
        Bytes::from(text)
    }
}

/// Token counts of one answer, as the upstream reported them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct TokenUsage {
    /// Input (prompt) tokens, cached ones included.
    pub input: u64,
    /// Output (completion) tokens, reasoning ones included.
    pub output: u64,
    /// Of the input tokens, those served from the prompt cache.
    pub cached: u64,
    /// Of the output tokens, those spent on reasoning.
    pub reasoning: u64,
}

impl TokenUsage {
    /// The `usage` of a whole JSON answer: a Chat completion (`prompt_tokens`), a Responses
    /// object (`input_tokens`) or an Anthropic message (`input_tokens` plus cache reads).
    ///
    /// ```
    /// use byok_types::TokenUsage;
    /// use serde_json::json;
    ///
    /// let usage = |input, output, cached, reasoning| {
    ///     Some(TokenUsage { input, output, cached, reasoning })
    /// };
    /// let chat = json!({"usage": {"prompt_tokens": 3, "completion_tokens": 5,
    ///     "prompt_tokens_details": {"cached_tokens": 2}}});
    /// let responses = json!({"object": "response", "usage": {"input_tokens": 7,
    ///     "output_tokens": 11, "output_tokens_details": {"reasoning_tokens": 4}}});
    /// let anthropic = json!({"type": "message", "usage": {"input_tokens": 1,
    ///     "output_tokens": 2, "cache_read_input_tokens": 9}});
    /// assert_eq!(TokenUsage::of_answer(&chat), usage(3, 5, 2, 0));
    /// assert_eq!(TokenUsage::of_answer(&responses), usage(7, 11, 0, 4));
    /// assert_eq!(TokenUsage::of_answer(&anthropic), usage(1, 2, 9, 0));
    /// assert_eq!(TokenUsage::of_answer(&json!({"usage": null})), None);
    /// ```
    pub fn of_answer(answer: &serde_json::Value) -> Option<Self> {
        let usage = answer.get("usage")?;
        let count = |names: &[&str]| names.iter().find_map(|n| usage.get(n)?.as_u64());
        let detail = |pairs: [(&str, &str); 2]| {
            pairs
                .iter()
                .find_map(|(outer, inner)| usage.get(outer)?.get(inner)?.as_u64())
        };
        Some(Self {
            input: count(&["prompt_tokens", "input_tokens"])?,
            output: count(&["completion_tokens", "output_tokens"])?,
            cached: detail([
                ("prompt_tokens_details", "cached_tokens"),
                ("input_tokens_details", "cached_tokens"),
            ])
            .or_else(|| count(&["cache_read_input_tokens"]))
            .unwrap_or(0),
            reasoning: detail([
                ("completion_tokens_details", "reasoning_tokens"),
                ("output_tokens_details", "reasoning_tokens"),
            ])
            .unwrap_or(0),
        })
    }
}

/// How a stream ended.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum StreamEnd {
    /// The answer is whole.
    Completed,
    /// The answer ended early for a reason the client was told (`max_output_tokens`,
    /// `content_filter`, ...).
    Incomplete {
        /// The upstream's reason.
        reason: String,
    },
    /// The upstream reported a failure; the client got it as an error event.
    Failed {
        /// What went wrong, as told to the client.
        message: String,
    },
    /// The stream stopped before its end: the upstream closed or broke early, went silent
    /// past the idle timeout, or byok cut it at shutdown. The client got an error event.
    Cut {
        /// What happened, as told to the client.
        message: String,
    },
}

#[derive(Debug, Default)]
struct Report {
    usage: Option<TokenUsage>,
    end: Option<StreamEnd>,
}

/// What an executor's stream reports about itself as it runs: the token usage once the
/// upstream told it, and how the stream ended.
///
/// Shared (cheap to clone): the executor's stream writes it, the server reads it for its log
/// line when the stream is over. The first end written wins, so a later cut cannot overwrite
/// a stream that had already completed.
///
/// ```
/// use byok_types::{StreamEnd, StreamReport, TokenUsage};
/// let report = StreamReport::new();
/// let reader = report.clone();
/// report.set_usage(TokenUsage { input: 12, output: 3, ..TokenUsage::default() });
/// report.set_end(StreamEnd::Completed);
/// report.set_end(StreamEnd::Cut { message: "too late".into() });
/// assert_eq!(reader.usage().map(|u| u.input), Some(12));
/// assert_eq!(reader.end(), Some(StreamEnd::Completed));
/// ```
#[derive(Clone, Debug, Default)]
pub struct StreamReport(Arc<Mutex<Report>>);

impl StreamReport {
    /// An empty report: no usage known, not ended.
    pub fn new() -> Self {
        Self::default()
    }

    fn edit<T>(&self, f: impl FnOnce(&mut Report) -> T) -> T {
        f(&mut self.0.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// Records the token usage (the latest report wins).
    pub fn set_usage(&self, usage: TokenUsage) {
        self.edit(|r| r.usage = Some(usage));
    }

    /// Records how the stream ended, unless an end was recorded already.
    pub fn set_end(&self, end: StreamEnd) {
        self.edit(|r| {
            r.end.get_or_insert(end);
        });
    }

    /// The token usage, if the upstream reported it.
    pub fn usage(&self) -> Option<TokenUsage> {
        self.edit(|r| r.usage)
    }

    /// How the stream ended; `None` while it runs (or if it was dropped before its end).
    pub fn end(&self) -> Option<StreamEnd> {
        self.edit(|r| r.end.clone())
    }
}

/// A streamed answer: server-sent events in `protocol`, and the report its stream fills in.
///
/// ```
/// use byok_types::{ProviderStream, StreamProtocol, StreamReport};
/// let report = StreamReport::new();
/// let body = Box::pin(futures::stream::empty());
/// let stream = ProviderStream::new(StreamProtocol::Chat, body, report.clone());
/// assert_eq!(stream.protocol, StreamProtocol::Chat);
/// ```
#[non_exhaustive]
pub struct ProviderStream {
    /// The protocol the events speak (and any error event appended to them must speak).
    pub protocol: StreamProtocol,
    /// The events, as they arrive.
    pub body: ByteStream,
    /// Filled in by `body` as it runs; read once it is over.
    pub report: StreamReport,
}

impl ProviderStream {
    /// A stream of `protocol` events whose `body` fills in `report`.
    pub fn new(protocol: StreamProtocol, body: ByteStream, report: StreamReport) -> Self {
        Self {
            protocol,
            body,
            report,
        }
    }
}

impl std::fmt::Debug for ProviderStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProviderStream")
            .field("protocol", &self.protocol)
            .field("report", &self.report)
            .finish_non_exhaustive()
    }
}

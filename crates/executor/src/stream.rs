//! Upstream bodies turned into the caller's `ByteStream` as they arrive: passed through or
//! translated, with an idle-read timeout, and always ending with a terminal event.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use byok_translate::SseTranslator;
use byok_types::{ByokError, ByteStream, Silence};
use bytes::Bytes;
use futures::Stream;
use serde_json::json;

use crate::upstream::BodyError;

/// Which protocol the caller's stream speaks, for the error event that ends a broken stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Protocol {
    /// Chat Completions chunks: success ends with `data: [DONE]`.
    Chat,
    /// Responses events: success ends with `response.completed` (or `incomplete` / `failed`).
    Responses,
}

impl Protocol {
    /// The event that tells the caller the stream failed: OpenAI's error object for Chat
    /// clients, a Responses `error` event (which also carries that object) for Responses clients.
    pub(crate) fn error_event(self, err: &ByokError) -> Bytes {
        let body = err.to_openai_json();
        let text = match self {
            Self::Chat => format!("data: {body}\n\n"),
            Self::Responses => {
                let error = &body["error"];
                let event = json!({
                    "type": "error",
                    "code": error["code"],
                    "message": error["message"],
                    "param": error["param"],
                    "error": error,
                });
                format!("event: error\ndata: {event}\n\n")
            }
        };
        Bytes::from(text)
    }
}

/// What happens to the upstream's bytes on their way to the caller.
pub(crate) trait Shape: Send + Unpin + 'static {
    /// Bytes to send for one upstream chunk (possibly empty).
    fn feed(&mut self, input: Bytes) -> Bytes;
    /// Bytes to send once the upstream ended cleanly: an error event if the stream was cut.
    fn finish(&mut self) -> Bytes;
}

/// Bytes passed through untouched, watched for the terminal event so a stream cut short still
/// ends with an error event, never silently.
pub(crate) struct Passthrough {
    protocol: Protocol,
    /// The start of the current line: enough to recognise a terminal event.
    line: Vec<u8>,
    terminal_seen: bool,
}

/// How much of a line's start the watch keeps.
const LINE_PREFIX: usize = 48;

impl Passthrough {
    pub(crate) fn new(protocol: Protocol) -> Self {
        Self {
            protocol,
            line: Vec::with_capacity(LINE_PREFIX),
            terminal_seen: false,
        }
    }

    fn observe(&mut self, mut bytes: &[u8]) {
        while let Some(end) = bytes.iter().position(|b| *b == b'\n' || *b == b'\r') {
            self.take_prefix(&bytes[..end]);
            self.check_line();
            self.line.clear();
            bytes = &bytes[end + 1..];
        }
        self.take_prefix(bytes);
    }

    fn take_prefix(&mut self, bytes: &[u8]) {
        let room = LINE_PREFIX.saturating_sub(self.line.len());
        self.line.extend_from_slice(&bytes[..bytes.len().min(room)]);
    }

    fn check_line(&mut self) {
        let line = self.line.as_slice();
        let data = line.strip_prefix(b"data:").map(<[u8]>::trim_ascii_start);
        let event = line.strip_prefix(b"event:").map(<[u8]>::trim_ascii_start);
        let terminal = match self.protocol {
            Protocol::Chat => {
                data.is_some_and(|d| d.starts_with(b"[DONE]") || d.starts_with(br#"{"error""#))
            }
            Protocol::Responses => {
                const EVENTS: [&[u8]; 4] = [
                    b"response.completed",
                    b"response.incomplete",
                    b"response.failed",
                    b"error",
                ];
                event.is_some_and(|e| EVENTS.contains(&e))
                    || data.is_some_and(|d| {
                        EVENTS.iter().any(|t| {
                            d.strip_prefix(br#"{"type":""#)
                                .is_some_and(|r| r.starts_with(t) && r.get(t.len()) == Some(&b'"'))
                        })
                    })
            }
        };
        self.terminal_seen |= terminal;
    }
}

impl Shape for Passthrough {
    fn feed(&mut self, input: Bytes) -> Bytes {
        self.observe(&input);
        input
    }

    fn finish(&mut self) -> Bytes {
        // A last line without its newline still counts.
        self.check_line();
        if self.terminal_seen {
            Bytes::new()
        } else {
            self.protocol.error_event(&cut_short())
        }
    }
}

/// Bytes translated by one of byok-translate's incremental translators.
pub(crate) struct Translated<T>(pub(crate) T);

impl<T: SseTranslator + Send + Unpin + 'static> Shape for Translated<T> {
    fn feed(&mut self, input: Bytes) -> Bytes {
        let mut out = Vec::new();
        self.0.feed(&input, &mut out);
        Bytes::from(out)
    }

    fn finish(&mut self) -> Bytes {
        let mut out = Vec::new();
        self.0.finish(&mut out);
        Bytes::from(out)
    }
}

/// The error of a stream that ended before its terminal event.
pub(crate) fn cut_short() -> ByokError {
    ByokError::BadGateway("the upstream ended the stream before it finished; try again".into())
}

/// The error of an answer whose connection broke before its body was complete.
pub(crate) fn broken(err: &BodyError) -> ByokError {
    ByokError::BadGateway(format!(
        "the upstream connection broke before the answer was complete ({err}); try again"
    ))
}

/// The error of a stream that went quiet for longer than the idle timeout.
pub(crate) fn idle_timeout(idle: Duration) -> ByokError {
    ByokError::Timeout(format!(
        "the upstream sent nothing for {} ms; try again",
        idle.as_millis()
    ))
}

/// Sends `body` through `shape` to the caller as it arrives. A chunk that does not come within
/// `idle`, or a broken connection, ends the stream with `protocol`'s error event.
pub(crate) fn shaped<S, B>(body: B, shape: S, idle: Duration, protocol: Protocol) -> ByteStream
where
    S: Shape,
    B: Stream<Item = std::result::Result<Bytes, BodyError>> + Send + 'static,
{
    Box::pin(Shaped {
        body: Box::pin(body),
        shape,
        protocol,
        idle: Silence::new(idle),
        done: false,
    })
}

/// The stream [`shaped`] returns.
struct Shaped<S, B> {
    body: Pin<Box<B>>,
    shape: S,
    protocol: Protocol,
    /// The idle timeout: a whole period without a chunk ends the stream.
    idle: Silence,
    done: bool,
}

impl<S, B> Stream for Shaped<S, B>
where
    S: Shape,
    B: Stream<Item = std::result::Result<Bytes, BodyError>> + Send + 'static,
{
    type Item = byok_types::Result<Bytes>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        while !this.done {
            let out = match this.body.as_mut().poll_next(cx) {
                Poll::Ready(Some(Ok(chunk))) => {
                    this.idle.heard();
                    this.shape.feed(chunk)
                }
                Poll::Ready(None) => {
                    this.done = true;
                    this.shape.finish()
                }
                Poll::Ready(Some(Err(err))) => {
                    this.done = true;
                    tracing::warn!(error = %err, "upstream stream broke");
                    this.protocol.error_event(&broken(&err))
                }
                Poll::Pending => {
                    if this.idle.poll_quiet(cx).is_pending() {
                        return Poll::Pending;
                    }
                    this.done = true;
                    let idle = this.idle.period();
                    tracing::warn!(idle_ms = idle.as_millis(), "upstream stream went idle");
                    this.protocol.error_event(&idle_timeout(idle))
                }
            };
            if !out.is_empty() {
                return Poll::Ready(Some(Ok(out)));
            }
        }
        Poll::Ready(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(protocol: Protocol, chunks: &[&str]) -> String {
        let mut p = Passthrough::new(protocol);
        let mut out = Vec::new();
        for c in chunks {
            out.extend_from_slice(&p.feed(Bytes::copy_from_slice(c.as_bytes())));
        }
        out.extend_from_slice(&p.finish());
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn finished_chat_streams_pass_untouched() {
        let chunks = ["data: {\"choices\":[]}\n\ndata: [DO", "NE]\n\n"];
        assert_eq!(run(Protocol::Chat, &chunks), chunks.concat());
        // Without a final newline, too.
        assert_eq!(run(Protocol::Chat, &["data: [DONE]"]), "data: [DONE]");
    }

    #[test]
    fn cut_chat_streams_end_with_an_error_event() {
        let out = run(Protocol::Chat, &["data: {\"choices\":[]}\n\n"]);
        let last = out.trim_end().rsplit("\n\n").next().unwrap();
        let event: serde_json::Value =
            serde_json::from_str(last.strip_prefix("data: ").unwrap()).unwrap();
        assert_eq!(event["error"]["type"], "upstream_error");
        assert!(!out.contains("[DONE]"));
    }

    #[test]
    fn responses_streams_are_finished_by_a_terminal_event() {
        let done = "event: response.completed\ndata: {\"type\":\"response.completed\"}\n\n";
        assert_eq!(run(Protocol::Responses, &[done]), done);
        let data_only = "data: {\"type\":\"response.failed\",\"response\":{}}\n\n";
        assert_eq!(run(Protocol::Responses, &[data_only]), data_only);
        let cut = "event: response.output_text.delta\ndata: {\"type\":\"response.output_text.delta\"}\n\n";
        let out = run(Protocol::Responses, &[cut]);
        assert!(out.starts_with(cut));
        assert!(out[cut.len()..].starts_with("event: error\ndata: {"));
        // `response.completed_extra` is no terminal event.
        let near = "data: {\"type\":\"response.completed_x\"}\n\n";
        assert!(run(Protocol::Responses, &[near]).contains("event: error"));
    }
}

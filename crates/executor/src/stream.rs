//! Upstream bodies turned into the caller's `ByteStream` as they arrive: passed through or
//! translated, with an idle-read timeout, and always ending with a terminal event.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use byok_translate::{SseTranslator, StreamState, TokenCounts};
use byok_types::{
    ByokError, ProviderStream, Silence, StreamEnd, StreamProtocol as Protocol, StreamReport,
    TokenUsage,
};
use bytes::Bytes;
use futures::Stream;
use serde_json::Value;

use crate::upstream::BodyError;

/// What happens to the upstream's bytes on their way to the caller.
pub(crate) trait Shape: Send + Unpin + 'static {
    /// Bytes to send for one upstream chunk (possibly empty).
    fn feed(&mut self, input: Bytes) -> Bytes;
    /// Bytes to send once the upstream ended cleanly: an error event if the stream was cut.
    fn finish(&mut self) -> Bytes;
    /// How the stream ended, once the bytes sent so far ended it.
    fn end(&self) -> Option<StreamEnd>;
    /// The token usage the upstream reported, if it did.
    fn usage(&self) -> Option<TokenUsage>;
}

/// Bytes passed through untouched, watched for the terminal event so a stream cut short still
/// ends with an error event, never silently.
pub(crate) struct Passthrough {
    protocol: Protocol,
    /// The start of the current line: enough to recognise a terminal event.
    line: Vec<u8>,
    /// The last byte seen was a CR: a LF right after it belongs to the same line ending.
    after_cr: bool,
    /// The end the event being read names, once its blank line completes it.
    ending: Option<StreamEnd>,
    end: Option<StreamEnd>,
    usage: UsageSniffer,
}

/// How much of a line's start the watch keeps.
const LINE_PREFIX: usize = 48;

impl Passthrough {
    pub(crate) fn new(protocol: Protocol) -> Self {
        Self {
            protocol,
            line: Vec::with_capacity(LINE_PREFIX),
            after_cr: false,
            ending: None,
            end: None,
            usage: UsageSniffer::default(),
        }
    }

    fn observe(&mut self, mut bytes: &[u8]) {
        if self.after_cr && bytes.first() == Some(&b'\n') {
            bytes = &bytes[1..];
        }
        self.after_cr = false;
        while let Some(end) = memchr::memchr2(b'\n', b'\r', bytes) {
            self.take_prefix(&bytes[..end]);
            self.check_line();
            self.line.clear();
            // CRLF is one line ending.
            let crlf = bytes[end] == b'\r' && bytes.get(end + 1) == Some(&b'\n');
            self.after_cr = bytes[end] == b'\r' && end + 1 == bytes.len();
            bytes = &bytes[end + 1 + usize::from(crlf)..];
        }
        self.take_prefix(bytes);
    }

    fn take_prefix(&mut self, bytes: &[u8]) {
        let room = LINE_PREFIX.saturating_sub(self.line.len());
        self.line.extend_from_slice(&bytes[..bytes.len().min(room)]);
    }

    fn check_line(&mut self) {
        let line = self.line.as_slice();
        if self.end.is_some() {
            return;
        }
        if line.is_empty() {
            // The blank line that completes an event: a terminal one ends the stream.
            self.end = self.ending.take();
            return;
        }
        if self.ending.is_some() {
            return;
        }
        let data = line.strip_prefix(b"data:").map(<[u8]>::trim_ascii_start);
        let event = line.strip_prefix(b"event:").map(<[u8]>::trim_ascii_start);
        let failed = || StreamEnd::Failed {
            message: "the upstream reported an error".into(),
        };
        // Passthrough serves the OpenAI APIs only; an Anthropic stream is always translated.
        self.ending = if self.protocol == Protocol::Chat {
            data.and_then(|d| {
                if d.starts_with(b"[DONE]") {
                    Some(StreamEnd::Completed)
                } else {
                    d.starts_with(br#"{"error""#).then(failed)
                }
            })
        } else {
            responses_terminal(event, data).map(|kind| match kind {
                b"response.completed" => StreamEnd::Completed,
                b"response.incomplete" => StreamEnd::Incomplete {
                    reason: "unknown".into(),
                },
                _ => failed(),
            })
        };
    }
}

/// The terminal event a Responses line names, by its `event:` name or its data's `type`.
fn responses_terminal(event: Option<&[u8]>, data: Option<&[u8]>) -> Option<&'static [u8]> {
    const EVENTS: [&[u8]; 4] = [
        b"response.completed",
        b"response.incomplete",
        b"response.failed",
        b"error",
    ];
    if let Some(event) = event {
        return EVENTS.iter().copied().find(|t| *t == event);
    }
    let data = data?.strip_prefix(br#"{"type":""#)?;
    EVENTS
        .iter()
        .copied()
        .find(|t| data.starts_with(t) && data.get(t.len()) == Some(&b'"'))
}

impl Shape for Passthrough {
    fn feed(&mut self, input: Bytes) -> Bytes {
        self.observe(&input);
        self.usage.feed(&input);
        input
    }

    fn finish(&mut self) -> Bytes {
        // A last line without its newline still counts, and so does a last event without
        // its blank line.
        self.check_line();
        self.line.clear();
        self.check_line();
        self.usage.feed(b"\n");
        if self.end.is_some() {
            Bytes::new()
        } else {
            let err = cut_short();
            self.end = Some(StreamEnd::Cut {
                message: err.to_string(),
            });
            self.protocol.error_event(&err)
        }
    }

    fn end(&self) -> Option<StreamEnd> {
        self.end.clone()
    }

    fn usage(&self) -> Option<TokenUsage> {
        self.usage.found
    }
}

/// Lines longer than this are not inspected for token counts (they are still sent).
const MAX_SNIFFED_LINE: usize = 1024 * 1024;

/// Finds the token counts in passed-through SSE bytes, whatever the chunk boundaries: the
/// `usage` of a Chat chunk or of a Responses event's `response`.
#[derive(Default)]
struct UsageSniffer {
    line: Vec<u8>,
    overlong: bool,
    found: Option<TokenUsage>,
}

impl UsageSniffer {
    /// Looks at every line the chunk completes. Lines wholly inside the chunk are read in
    /// place; only a line split across chunks is copied.
    fn feed(&mut self, chunk: &[u8]) {
        let mut rest = chunk;
        while let Some(end) = memchr::memchr(b'\n', rest) {
            let (line, tail) = rest.split_at(end + 1);
            rest = tail;
            let usage = if self.line.is_empty() && !self.overlong {
                usage_in_line(line)
            } else {
                self.keep(line);
                let usage = (!self.overlong)
                    .then(|| usage_in_line(&self.line))
                    .flatten();
                self.line.clear();
                self.overlong = false;
                usage
            };
            self.found = usage.or(self.found);
        }
        self.keep(rest);
    }

    /// Keeps part of an unfinished line, unless the line is too long to bother with.
    fn keep(&mut self, part: &[u8]) {
        if self.overlong {
            return;
        }
        if self.line.len() + part.len() > MAX_SNIFFED_LINE {
            self.overlong = true;
            self.line.clear();
        } else {
            self.line.extend_from_slice(part);
        }
    }
}

fn usage_in_line(line: &[u8]) -> Option<TokenUsage> {
    let data = line.strip_prefix(b"data:")?.trim_ascii();
    // Parse only the rare lines that can hold usage.
    memchr::memmem::find(data, b"\"usage\"")?;
    let value: Value = serde_json::from_slice(data).ok()?;
    let usage = value
        .get("usage")
        .or_else(|| value.get("response")?.get("usage"))?;
    let count = |names: [&str; 2]| names.iter().find_map(|n| usage.get(n)?.as_u64());
    let detail = |names: [(&str, &str); 2]| {
        names
            .iter()
            .find_map(|(outer, inner)| usage.get(outer)?.get(inner)?.as_u64())
            .unwrap_or(0)
    };
    Some(TokenUsage {
        input: count(["prompt_tokens", "input_tokens"])?,
        output: count(["completion_tokens", "output_tokens"])?,
        cached: detail([
            ("prompt_tokens_details", "cached_tokens"),
            ("input_tokens_details", "cached_tokens"),
        ]),
        reasoning: detail([
            ("completion_tokens_details", "reasoning_tokens"),
            ("output_tokens_details", "reasoning_tokens"),
        ]),
    })
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

    fn end(&self) -> Option<StreamEnd> {
        match self.0.state() {
            StreamState::Running => None,
            StreamState::Completed => Some(StreamEnd::Completed),
            StreamState::Incomplete { reason } => Some(StreamEnd::Incomplete { reason }),
            StreamState::Cut { message } => Some(StreamEnd::Cut { message }),
            StreamState::Failed { message } => Some(StreamEnd::Failed { message }),
            // A state added to byok-translate later: ended, but not known how.
            _ => Some(StreamEnd::Failed {
                message: "the stream ended in a state byok does not know".into(),
            }),
        }
    }

    fn usage(&self) -> Option<TokenUsage> {
        self.0.usage().map(token_usage)
    }
}

/// byok-translate's counts as byok-types' (the two crates depend on none of each other).
pub(crate) fn token_usage(counts: TokenCounts) -> TokenUsage {
    TokenUsage {
        input: counts.input,
        output: counts.output,
        cached: counts.cached,
        reasoning: counts.reasoning,
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
/// `idle`, or a broken connection, ends the stream with `protocol`'s error event. The stream's
/// report gets the usage and the end as soon as the shape knows them.
///
/// The stream ends with the chunk that carries the terminal event, whether or not the upstream
/// closes its connection: the body is dropped then (an upstream that lingers after
/// `response.completed` has nothing more to say).
pub(crate) fn shaped<S, B>(body: B, shape: S, idle: Duration, protocol: Protocol) -> ProviderStream
where
    S: Shape,
    B: Stream<Item = std::result::Result<Bytes, BodyError>> + Send + 'static,
{
    let report = StreamReport::new();
    let stream = Shaped {
        body: Some(Box::pin(body)),
        shape,
        protocol,
        idle: Silence::new(idle),
        report: report.clone(),
        done: false,
    };
    ProviderStream::new(protocol, Box::pin(stream), report)
}

/// The stream [`shaped`] returns.
struct Shaped<S, B> {
    /// `None` once the stream ended: dropped at once, so its connection is let go.
    body: Option<Pin<Box<B>>>,
    shape: S,
    protocol: Protocol,
    /// The idle timeout: a whole period without a chunk ends the stream.
    idle: Silence,
    report: StreamReport,
    done: bool,
}

impl<S: Shape, B> Shaped<S, B> {
    /// Passes what the shape knows to the report, once the stream has ended.
    fn report_end(&self) -> bool {
        let Some(end) = self.shape.end() else {
            return false;
        };
        if let Some(usage) = self.shape.usage() {
            self.report.set_usage(usage);
        }
        self.report.set_end(end);
        true
    }

    /// Ends the stream with byok's own error event (broken or idle upstream).
    fn cut(&mut self, err: &ByokError) -> Bytes {
        self.done = true;
        if !self.report_end() {
            self.report.set_end(StreamEnd::Cut {
                message: err.to_string(),
            });
        }
        self.protocol.error_event(err)
    }
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
            let Some(body) = this.body.as_mut() else {
                break;
            };
            let out = match body.as_mut().poll_next(cx) {
                Poll::Ready(Some(Ok(chunk))) => {
                    this.idle.heard();
                    let out = this.shape.feed(chunk);
                    if this.report_end() {
                        // The terminal event came: nothing after it matters.
                        this.done = true;
                    }
                    out
                }
                Poll::Ready(None) => {
                    this.done = true;
                    let out = this.shape.finish();
                    this.report_end();
                    out
                }
                Poll::Ready(Some(Err(err))) => {
                    tracing::warn!(error = %err, "upstream stream broke");
                    this.cut(&broken(&err))
                }
                Poll::Pending => {
                    if this.idle.poll_quiet(cx).is_pending() {
                        return Poll::Pending;
                    }
                    let idle = this.idle.period();
                    tracing::warn!(idle_ms = idle.as_millis(), "upstream stream went idle");
                    this.cut(&idle_timeout(idle))
                }
            };
            if this.done {
                this.body = None;
            }
            if !out.is_empty() {
                return Poll::Ready(Some(Ok(out)));
            }
        }
        this.body = None;
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
    fn the_end_comes_with_the_blank_line_that_completes_the_terminal_event() {
        let mut p = Passthrough::new(Protocol::Responses);
        let _ = p.feed(Bytes::from_static(b"event: response.completed\r\n"));
        assert_eq!(p.end(), None, "the event's data has not come yet");
        let _ = p.feed(Bytes::from_static(
            b"data: {\"type\":\"response.completed\"}\r",
        ));
        let _ = p.feed(Bytes::from_static(b"\n"));
        assert_eq!(p.end(), None);
        let _ = p.feed(Bytes::from_static(b"\r\n"));
        assert_eq!(p.end(), Some(StreamEnd::Completed));
        let mut p = Passthrough::new(Protocol::Chat);
        let _ = p.feed(Bytes::from_static(b"data: [DONE]\n"));
        assert_eq!(p.end(), None);
        let _ = p.feed(Bytes::from_static(b"\n"));
        assert_eq!(p.end(), Some(StreamEnd::Completed));
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
        assert!(out[cut.len()..].starts_with("\n\nevent: error\ndata: {"));
        // `response.completed_extra` is no terminal event.
        let near = "data: {\"type\":\"response.completed_x\"}\n\n";
        assert!(run(Protocol::Responses, &[near]).contains("event: error"));
    }
}

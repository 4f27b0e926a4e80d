//! Streaming an upstream's server-sent events to the client.
//!
//! Bytes go out as they arrive, with no buffering. While the upstream is silent, a comment line
//! keeps proxies and clients from timing out. An upstream error ends the stream with an
//! OpenAI-shaped error event. When the client hangs up, hyper drops the body, and with it the
//! upstream stream: the upstream request is cancelled at once.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Body;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use byok_types::{ByokError, ByteStream, Silence};
use bytes::Bytes;
use futures::{Stream, StreamExt};
use serde_json::Value;
use tokio_util::sync::{CancellationToken, WaitForCancellationFutureOwned};

use crate::access_log::{RequestLog, StreamEnd, TokenUsage};

/// The comment line sent while the upstream is silent (SSE parsers skip it).
pub(crate) const KEEP_ALIVE: &[u8] = b": keep-alive\n\n";

/// Lines longer than this are not inspected for token counts (they are still sent).
const MAX_SNIFFED_LINE: usize = 1024 * 1024;

/// A `text/event-stream` response that relays `upstream`.
///
/// `cut` ends the stream early (with an error event) when the server's shutdown grace is over.
pub(crate) fn response(
    upstream: ByteStream,
    keep_alive: Duration,
    cut: CancellationToken,
    log: RequestLog,
) -> Response {
    log.set_streamed();
    let body = Relay {
        upstream: Some(upstream),
        tail: EventTail::default(),
        silence: Silence::new(keep_alive),
        cut: Box::pin(cut.cancelled_owned()),
        sniffer: UsageSniffer::default(),
        log,
    };
    let mut response = Response::new(Body::from_stream(body));
    *response.status_mut() = StatusCode::OK;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    // Tells nginx-style reverse proxies not to buffer the stream.
    headers.insert("x-accel-buffering", HeaderValue::from_static("no"));
    response
}

/// The response body: the upstream's chunks as they come, a keep-alive comment after each
/// `keep_alive` of silence, an error event if the stream fails or is cut.
struct Relay {
    /// `None` once the stream has ended (after an error event).
    upstream: Option<ByteStream>,
    /// The end of what was sent: a keep-alive may only go between two events.
    tail: EventTail,
    /// A keep-alive period without anything sent to the client.
    silence: Silence,
    cut: Pin<Box<WaitForCancellationFutureOwned>>,
    sniffer: UsageSniffer,
    log: RequestLog,
}

impl Relay {
    /// A chunk for the client, noting when it went out and any token counts it carries.
    fn send(&mut self, bytes: Bytes) -> Poll<Option<Result<Bytes, std::io::Error>>> {
        self.silence.heard();
        self.tail.push(&bytes);
        if let Some(usage) = self.sniffer.feed(&bytes) {
            self.log.set_usage(usage);
        }
        Poll::Ready(Some(Ok(bytes)))
    }

    /// Ends the stream with `err` as its last event.
    fn fail(&mut self, err: &ByokError) -> Poll<Option<Result<Bytes, std::io::Error>>> {
        self.upstream = None;
        self.log.set_end(StreamEnd::Failed);
        Poll::Ready(Some(Ok(error_event(err))))
    }
}

impl Stream for Relay {
    type Item = Result<Bytes, std::io::Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        let Some(upstream) = this.upstream.as_mut() else {
            return Poll::Ready(None);
        };
        if this.cut.as_mut().poll(cx).is_ready() {
            return this.fail(&ByokError::Internal(
                "byok is shutting down and cut this stream; send the request again".into(),
            ));
        }
        match upstream.poll_next_unpin(cx) {
            Poll::Ready(Some(Ok(bytes))) => return this.send(bytes),
            Poll::Ready(Some(Err(err))) => {
                tracing::warn!(error = %err, "the upstream stream failed");
                return this.fail(&err);
            }
            Poll::Ready(None) => {
                this.upstream = None;
                this.log.set_end(StreamEnd::Finished);
                return Poll::Ready(None);
            }
            Poll::Pending => {}
        }
        // The upstream is silent: a keep-alive once `keep_alive` has passed since the last send.
        while this.silence.poll_quiet(cx).is_ready() {
            this.silence.heard();
            // Inside an event (the upstream paused mid-event), a comment line would break it.
            if this.tail.between_events() {
                return Poll::Ready(Some(Ok(Bytes::from_static(KEEP_ALIVE))));
            }
        }
        Poll::Pending
    }
}

/// The last bytes sent, enough to tell whether they ended an event.
struct EventTail([u8; 4]);

impl Default for EventTail {
    /// Nothing sent yet: between events.
    fn default() -> Self {
        Self(*b"\r\n\r\n")
    }
}

impl EventTail {
    fn push(&mut self, bytes: &[u8]) {
        for &byte in &bytes[bytes.len().saturating_sub(4)..] {
            self.0.rotate_left(1);
            self.0[3] = byte;
        }
    }

    /// Whether the bytes sent end with a blank line (`\n\n`, `\r\r` or `\r\n\r\n`).
    fn between_events(&self) -> bool {
        let last = &self.0[2..];
        last == b"\n\n" || last == b"\r\r" || self.0 == *b"\r\n\r\n"
    }
}

/// An error as the last event of a stream: `data: {"error":{...}}`.
pub(crate) fn error_event(err: &ByokError) -> Bytes {
    // The blank line first ends any event the upstream left half-written.
    Bytes::from(format!("\n\ndata: {}\n\n", err.to_openai_json()))
}

/// Finds the token counts in a stream of SSE bytes, whatever the chunk boundaries.
#[derive(Default)]
struct UsageSniffer {
    line: Vec<u8>,
    overlong: bool,
}

impl UsageSniffer {
    /// Looks at every line the chunk completes. Lines wholly inside the chunk are read in
    /// place; only a line split across chunks is copied.
    fn feed(&mut self, chunk: &[u8]) -> Option<TokenUsage> {
        let mut found = None;
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
            found = usage.or(found);
        }
        self.keep(rest);
        found
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
    TokenUsage::from_json(&value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tells_whether_the_bytes_sent_ended_an_event() {
        let mut tail = EventTail::default();
        assert!(tail.between_events());
        for (chunk, between) in [
            (&b"data: {\"a\":"[..], false),
            (b"1}\n", false),
            (b"\n", true),
            (b"data: x\r\n", false),
            (b"\r\n", true),
            (b"data: y\r\r", true),
            (b": comment\n", false),
        ] {
            tail.push(chunk);
            assert_eq!(tail.between_events(), between, "after {chunk:?}");
        }
    }

    #[test]
    fn skips_an_overlong_line_and_reads_the_next() {
        let mut sniffer = UsageSniffer::default();
        let long = vec![b'x'; MAX_SNIFFED_LINE];
        assert_eq!(sniffer.feed(b"data: {\"usage\":"), None);
        assert_eq!(sniffer.feed(&long), None);
        assert_eq!(sniffer.feed(b"}\n\n"), None);
        let usage = b"data: {\"usage\":{\"input_tokens\":1,\"output_tokens\":2}}\n";
        assert_eq!(
            sniffer.feed(usage),
            Some(TokenUsage {
                prompt: 1,
                completion: 2
            })
        );
    }

    #[test]
    fn finds_usage_split_across_chunks() {
        let stream = b"data: {\"choices\":[]}\n\ndata: {\"usage\":{\"prompt_tokens\":4,\"completion_tokens\":9}}\n\ndata: [DONE]\n\n";
        for split in 1..stream.len() {
            let mut sniffer = UsageSniffer::default();
            let first = sniffer.feed(&stream[..split]);
            let second = sniffer.feed(&stream[split..]);
            assert_eq!(
                first.or(second),
                Some(TokenUsage {
                    prompt: 4,
                    completion: 9
                }),
                "split at {split}"
            );
        }
    }
}

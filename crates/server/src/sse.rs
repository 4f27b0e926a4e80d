//! Streaming an upstream's server-sent events to the client.
//!
//! Bytes go out as they arrive, with no buffering. While the upstream is silent, a comment line
//! keeps proxies and clients from timing out. An upstream error, or the shutdown cut, ends the
//! stream with an error event in the stream's own protocol (Chat, Responses, Anthropic). When
//! the client hangs up, hyper drops the body, and with it the upstream stream: the upstream
//! request is cancelled at once. Token usage and the way the stream ended come from the
//! executor's [`StreamReport`], never from re-reading the bytes sent.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Body;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use byok_types::{
    ByokError, ByteStream, ProviderStream, Silence, StreamEnd, StreamProtocol, StreamReport,
};
use bytes::Bytes;
use futures::{Stream, StreamExt};
use tokio_util::sync::{CancellationToken, WaitForCancellationFutureOwned};

use crate::access_log::RequestLog;

/// The comment line sent while the upstream is silent (SSE parsers skip it).
pub(crate) const KEEP_ALIVE: &[u8] = b": keep-alive\n\n";

/// What Anthropic's own streams send while silent, and what Anthropic clients expect.
pub(crate) const ANTHROPIC_PING: &[u8] = b"event: ping\ndata: {\"type\":\"ping\"}\n\n";

/// A `text/event-stream` response that relays `upstream`.
///
/// `cut` ends the stream early (with an error event) when the server's shutdown grace is over.
pub(crate) fn response(
    upstream: ProviderStream,
    keep_alive: Duration,
    cut: CancellationToken,
    log: RequestLog,
) -> Response {
    log.set_stream(upstream.report.clone());
    let body = Relay {
        upstream: Some(upstream.body),
        protocol: upstream.protocol,
        report: upstream.report,
        tail: EventTail::default(),
        silence: Silence::new(keep_alive),
        cut: Box::pin(cut.cancelled_owned()),
        log,
        started: false,
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
    /// The protocol of the stream, for the error events byok itself writes.
    protocol: StreamProtocol,
    /// What the executor's stream reports; byok's own ends are written into it too.
    report: StreamReport,
    /// The end of what was sent: a keep-alive may only go between two events.
    tail: EventTail,
    /// A keep-alive period without anything sent to the client.
    silence: Silence,
    cut: Pin<Box<WaitForCancellationFutureOwned>>,
    log: RequestLog,
    /// Whether a chunk went out yet (the first one times the request's first byte).
    started: bool,
}

impl Relay {
    /// A chunk for the client, noting when it went out.
    fn send(&mut self, bytes: Bytes) -> Poll<Option<Result<Bytes, std::io::Error>>> {
        if !self.started {
            self.started = true;
            self.log.set_first_byte();
        }
        self.silence.heard();
        self.tail.push(&bytes);
        Poll::Ready(Some(Ok(bytes)))
    }

    /// Ends the stream with `err` as its last event, in the stream's protocol, recorded as
    /// `end` unless the executor's stream had already ended.
    fn fail(
        &mut self,
        err: &ByokError,
        end: StreamEnd,
    ) -> Poll<Option<Result<Bytes, std::io::Error>>> {
        self.upstream = None;
        self.report.set_end(end);
        Poll::Ready(Some(Ok(self.protocol.error_event(err))))
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
            let err = ByokError::Internal(
                "byok is shutting down and cut this stream; send the request again".into(),
            );
            let end = StreamEnd::Cut {
                message: err.to_string(),
            };
            return this.fail(&err, end);
        }
        match upstream.poll_next_unpin(cx) {
            Poll::Ready(Some(Ok(bytes))) => return this.send(bytes),
            Poll::Ready(Some(Err(err))) => {
                tracing::warn!(error = %err, "the upstream stream failed");
                let end = StreamEnd::Failed {
                    message: err.to_string(),
                };
                return this.fail(&err, end);
            }
            Poll::Ready(None) => {
                this.upstream = None;
                this.log.set_body_ended();
                return Poll::Ready(None);
            }
            Poll::Pending => {}
        }
        // The upstream is silent: a keep-alive once `keep_alive` has passed since the last send.
        while this.silence.poll_quiet(cx).is_ready() {
            this.silence.heard();
            // Inside an event (the upstream paused mid-event), a comment line would break it.
            if this.tail.between_events() {
                let keep_alive = match this.protocol {
                    StreamProtocol::Anthropic => ANTHROPIC_PING,
                    _ => KEEP_ALIVE,
                };
                return Poll::Ready(Some(Ok(Bytes::from_static(keep_alive))));
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
}

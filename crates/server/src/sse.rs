//! Streaming an upstream's server-sent events to the client.
//!
//! Bytes go out as they arrive, with no buffering. While the upstream is silent, a comment line
//! keeps proxies and clients from timing out. An upstream error ends the stream with an
//! OpenAI-shaped error event. When the client hangs up, hyper drops the body, and with it the
//! upstream stream: the upstream request is cancelled at once.

use std::time::Duration;

use axum::body::Body;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use byok_types::{ByokError, ByteStream};
use bytes::Bytes;
use futures::{StreamExt, stream};
use serde_json::Value;
use tokio_util::sync::CancellationToken;

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
    let state = Relay {
        upstream: Some(upstream),
        keep_alive,
        cut,
        sniffer: UsageSniffer::default(),
        log,
    };
    let body = stream::unfold(state, Relay::next_chunk);
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

struct Relay {
    /// `None` once the stream has ended (after an error event).
    upstream: Option<ByteStream>,
    keep_alive: Duration,
    cut: CancellationToken,
    sniffer: UsageSniffer,
    log: RequestLog,
}

impl Relay {
    async fn next_chunk(mut self) -> Option<(Result<Bytes, std::io::Error>, Self)> {
        let upstream = self.upstream.as_mut()?;
        // `next()` is cancel-safe: a timed-out wait loses nothing.
        let next = tokio::select! {
            next = tokio::time::timeout(self.keep_alive, upstream.next()) => next,
            () = self.cut.cancelled() => Ok(Some(Err(ByokError::Internal(
                "byok is shutting down and cut this stream; send the request again".into(),
            )))),
        };
        match next {
            Err(_silent) => Some((Ok(Bytes::from_static(KEEP_ALIVE)), self)),
            Ok(Some(Ok(bytes))) => {
                if let Some(usage) = self.sniffer.feed(&bytes) {
                    self.log.set_usage(usage);
                }
                Some((Ok(bytes), self))
            }
            Ok(Some(Err(err))) => {
                tracing::warn!(error = %err, "the upstream stream failed");
                self.upstream = None;
                self.log.set_end(StreamEnd::Failed);
                Some((Ok(error_event(&err)), self))
            }
            Ok(None) => {
                self.log.set_end(StreamEnd::Finished);
                None
            }
        }
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

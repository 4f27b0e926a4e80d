//! The hold-back: a 200 answer of the backend is read until its first output event before the
//! client is given anything, so that a failure the backend reports inside the stream before
//! any output (`response.failed` after `response.created`: overload, rate limit, usage limit)
//! is handled like the HTTP error it stands for: tried again, another account, or a 429 with
//! `Retry-After`.
//!
//! Only the lifecycle events are held back: `response.created`, `response.in_progress`,
//! `response.queued`, the backend's `codex.rate_limits`, comments and keep-alives. The first
//! other event releases what was held, in the same chunk as it came, so when the first output
//! event follows at once (as it does: the backend sends `created`, `in_progress` and the first
//! `output_item.added` together) the client waits for nothing. The events are told apart by
//! their name or the start of their data, without parsing them; only a failure is parsed.
//!
//! This is on the hot path of every Codex answer: it scans the bytes up to the first output
//! event (a few KB, the lifecycle events' `instructions` included) once more, and not one
//! byte further (`SseParser::feed_until`).

use std::ops::ControlFlow;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use byok_translate::SseParser;
use byok_types::{ByokError, ProviderId, RateLimitStore, Result};
use bytes::Bytes;
use futures::{Stream, StreamExt};

use crate::stream::idle_timeout;
use crate::upstream::{BodyError, UpstreamResponse};
use crate::upstream_error::stream_failure;

/// A body's chunks as they arrive.
type Body = Pin<Box<dyn Stream<Item = std::result::Result<Bytes, BodyError>> + Send>>;

/// A backend answer whose first output event has come (or whose stream ended before one):
/// what was read so far, and the rest of the body.
pub(crate) struct Started {
    /// The chunks read so far, the one with the first output event last.
    held: Vec<Bytes>,
    /// The rest of the body; `None` once it ended (or broke: then `broke` says how).
    rest: Option<Body>,
    broke: Option<BodyError>,
}

impl std::fmt::Debug for Started {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Started")
            .field("held", &self.held.len())
            .field("ended", &self.rest.is_none())
            .finish_non_exhaustive()
    }
}

impl Started {
    /// The whole body, from its first byte: the held chunks, then the rest as it arrives.
    pub(crate) fn bytes_stream(
        self,
    ) -> impl Stream<Item = std::result::Result<Bytes, BodyError>> + Send + 'static {
        let held = futures::stream::iter(self.held.into_iter().map(Ok));
        let broke = futures::stream::iter(self.broke.map(Err));
        let rest = futures::stream::iter(self.rest).flatten();
        held.chain(broke).chain(rest)
    }
}

/// Where the in-stream `codex.rate_limits` events read during the hold-back go.
#[derive(Clone, Copy)]
pub(crate) struct LimitsSink<'a> {
    pub(crate) store: Option<&'a Arc<RateLimitStore>>,
    pub(crate) account: &'a str,
}

/// Reads `response` until its first output event. `Err` when the backend failed the response
/// before any output in a way byok acts on ([`stream_failure`]), or went silent for `idle`
/// before it; else the answer, nothing of it lost. A stream that ends or breaks before any
/// output is handed on as it is (its shaping reports the cut to the client).
pub(crate) async fn hold_back(
    response: UpstreamResponse,
    idle: Duration,
    limits: LimitsSink<'_>,
) -> Result<Started> {
    let mut body: Body = Box::pin(response.bytes_stream());
    let mut watch = Watch::default();
    let mut held = Vec::new();
    loop {
        let chunk = match tokio::time::timeout(idle, body.next()).await {
            Err(_) => return Err(idle_timeout(idle)),
            Ok(None) => {
                return Ok(Started {
                    held,
                    rest: None,
                    broke: None,
                });
            }
            Ok(Some(Err(err))) => {
                return Ok(Started {
                    held,
                    rest: None,
                    broke: Some(err),
                });
            }
            Ok(Some(Ok(chunk))) => chunk,
        };
        let verdict = watch.feed(&chunk, limits);
        held.push(chunk);
        match verdict {
            Verdict::Wait => {}
            Verdict::Release => {
                return Ok(Started {
                    held,
                    rest: Some(body),
                    broke: None,
                });
            }
            Verdict::Failed(err) => {
                tracing::info!(error = %err, status = err.status(), "the backend failed the response before any output");
                return Err(err);
            }
        }
    }
}

/// What the events read so far decide.
enum Verdict {
    /// Only lifecycle events so far.
    Wait,
    /// An output event (or any event that is not a lifecycle one) came.
    Release,
    /// A failure that stands for an HTTP error came before any output.
    Failed(ByokError),
}

#[derive(Default)]
struct Watch {
    parser: SseParser,
}

impl Watch {
    fn feed(&mut self, chunk: &[u8], limits: LimitsSink<'_>) -> Verdict {
        let mut verdict = Verdict::Wait;
        // The first event that decides ends the reading: the rest is not looked at.
        self.parser.feed_until(chunk, |event| {
            let kind = event
                .event
                .map(str::as_bytes)
                .or_else(|| data_kind(event.data));
            verdict = match kind {
                Some(b"response.created" | b"response.in_progress" | b"response.queued") => {
                    Verdict::Wait
                }
                Some(b"codex.rate_limits") => {
                    if let (Some(store), Ok(value)) =
                        (limits.store, serde_json::from_slice(event.data))
                    {
                        store.record_event(ProviderId::Codex, limits.account, &value);
                    }
                    Verdict::Wait
                }
                Some(b"response.failed" | b"error") => {
                    stream_failure(event.data).map_or(Verdict::Release, Verdict::Failed)
                }
                // Data that is no JSON event (a proxy's keep-alive) holds nothing back.
                None if !event.data.starts_with(b"{") => Verdict::Wait,
                _ => Verdict::Release,
            };
            if matches!(verdict, Verdict::Wait) {
                ControlFlow::Continue(())
            } else {
                ControlFlow::Break(())
            }
        });
        verdict
    }
}

/// The `type` of an event's data written the usual way (`{"type":"...`), unparsed.
fn data_kind(data: &[u8]) -> Option<&[u8]> {
    let rest = data.trim_ascii_start().strip_prefix(br#"{"type":""#)?;
    Some(&rest[..memchr::memchr(b'"', rest)?])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn verdicts(chunks: &[&str]) -> Vec<&'static str> {
        let mut watch = Watch::default();
        let limits = LimitsSink {
            store: None,
            account: "a",
        };
        chunks
            .iter()
            .map(|c| match watch.feed(c.as_bytes(), limits) {
                Verdict::Wait => "wait",
                Verdict::Release => "release",
                Verdict::Failed(_) => "failed",
            })
            .collect()
    }

    const CREATED: &str = "event: response.created\ndata: {\"type\":\"response.created\",\"response\":{\"id\":\"r\"}}\n\n";

    #[test]
    fn lifecycle_events_wait_and_the_first_output_releases() {
        let added = "event: response.output_item.added\ndata: {\"type\":\"response.output_item.added\"}\n\n";
        assert_eq!(verdicts(&[CREATED, added]), ["wait", "release"]);
        // Split anywhere, and data-only events.
        let data_only = "data: {\"type\":\"response.in_progress\"}\n\n: ping\n\ndata: {\"type\":\"response.output_text.delta\"";
        assert_eq!(
            verdicts(&[&CREATED[..20], &CREATED[20..], data_only, "}\n\n"]),
            ["wait", "wait", "wait", "release"]
        );
        // A stream whose first event is output releases at once.
        assert_eq!(verdicts(&[added]), ["release"]);
    }

    #[test]
    fn failures_byok_acts_on_stop_the_stream_others_go_through() {
        let overload = "event: response.failed\ndata: {\"type\":\"response.failed\",\"response\":{\"error\":{\"code\":\"server_is_overloaded\",\"message\":\"busy\"}}}\n\n";
        assert_eq!(verdicts(&[CREATED, overload]), ["wait", "failed"]);
        let other = "data: {\"type\":\"response.failed\",\"response\":{\"error\":{\"code\":\"context_length_exceeded\"}}}\n\n";
        assert_eq!(verdicts(&[CREATED, other]), ["wait", "release"]);
    }

    #[test]
    fn in_stream_rate_limits_are_recorded_while_held() {
        let store = Arc::new(RateLimitStore::default());
        let mut watch = Watch::default();
        let event = "event: codex.rate_limits\ndata: {\"type\":\"codex.rate_limits\",\"rate_limits\":{\"primary\":{\"used_percent\":40.0,\"window_minutes\":300,\"reset_at\":1900000000}}}\n\n";
        let limits = LimitsSink {
            store: Some(&store),
            account: "acct",
        };
        assert!(matches!(
            watch.feed(event.as_bytes(), limits),
            Verdict::Wait
        ));
        let snapshot = store.get(ProviderId::Codex, "acct").unwrap();
        let primary = snapshot.families()[0].primary.clone().unwrap();
        assert!((primary.used_percent - 40.0).abs() < f64::EPSILON);
    }
}

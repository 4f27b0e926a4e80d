//! Incremental translators of SSE streams, all driven the same way through [`SseTranslator`].

mod assemble;
mod chat;
pub(crate) mod chunk;
mod collect;
mod delta;
mod passthrough;
mod tool_calls;
pub(crate) mod wire;

pub use chat::ChatStreamTranslator;
pub(crate) use chunk::write_json;
pub use collect::ResponseCollector;
pub use passthrough::ResponsesPassthrough;
pub(crate) use wire::incomplete_finish_reason;

/// One event of the hot path, as far as a translator wants it read.
#[allow(
    clippy::large_enum_variant,
    reason = "returned and matched at once, never stored: boxing would allocate per event"
)]
pub(crate) enum Parsed<'a> {
    /// A `*.delta` event, its type and its fields (read without a full parse when it is
    /// written the usual way).
    Delta(&'a [u8], wire::Delta<'a>),
    /// Any other event, parsed.
    Event(wire::Event<'a>),
}

/// Reads one event's data, unless `wants` says its type cannot matter (then it is not even
/// parsed: lifecycle events carry the whole 10-30 KB `instructions`). Lines that are not JSON
/// events (keep-alives, the `[DONE]` of proxies) give `None`.
pub(crate) fn parse_event(data: &[u8], wants: impl FnOnce(&[u8]) -> bool) -> Option<Parsed<'_>> {
    match wire::sniff_kind(data) {
        Some(kind) if !wants(kind) => None,
        Some(kind) if kind.ends_with(b".delta") => {
            let after_kind = wire::KIND_PREFIX.len() + kind.len() + 1;
            let fast = delta::read_delta_after(data, after_kind);
            fast.or_else(|| serde_json::from_slice(data).ok())
                .map(|delta| Parsed::Delta(kind, delta))
        }
        _ => serde_json::from_slice(data).ok().map(Parsed::Event),
    }
}

/// An incremental stream translator: upstream bytes in, translated SSE bytes out.
///
/// Every translator of this crate implements it, so a caller wraps them all the same way:
/// `feed` each received chunk, `finish` when the upstream closes, and read `state` to learn
/// whether the stream ended well and `usage` for the tokens it cost.
pub trait SseTranslator {
    /// Feeds upstream bytes (split anywhere), appends translated SSE bytes to `out`.
    fn feed(&mut self, input: &[u8], out: &mut Vec<u8>);
    /// Upstream ended: flushes, and if no terminal event was seen emits the error event.
    fn finish(&mut self, out: &mut Vec<u8>);
    /// Where the stream stands (so the caller knows whether it ended well).
    fn state(&self) -> StreamState;
    /// The token counts the upstream reported, once it has (with the terminal event, as a
    /// rule, whether or not the client asked to be sent them). `None` until then, and for
    /// translators that do not read usage.
    fn usage(&self) -> Option<crate::TokenCounts> {
        None
    }
    /// The data of the last `codex.rate_limits` event fed since the previous call: the Codex
    /// backend's in-stream report of the account's limits, for the caller to record. The
    /// event itself is not the client's business (Chat) or passed on as it came (Responses).
    fn take_rate_limits(&mut self) -> Option<serde_json::Value> {
        None
    }
}

/// The type of the Codex backend's in-stream rate-limit event.
pub(crate) const RATE_LIMITS_EVENT: &str = "codex.rate_limits";

/// Where a translated stream stands.
///
/// Every state but `Running` is terminal: the client has been sent the stream's end.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum StreamState {
    /// No terminal event yet.
    Running,
    /// The answer ended well.
    Completed,
    /// The answer ended early, its reason given to the client (`max_output_tokens`,
    /// `content_filter`, ...).
    Incomplete {
        /// The upstream's reason.
        reason: String,
    },
    /// The upstream reported a failure; the client got an error event.
    Failed {
        /// What went wrong, as told to the client.
        message: String,
    },
    /// The upstream's stream ended before its terminal event; the client got an error event.
    Cut {
        /// What the client was told.
        message: String,
    },
}

//! Incremental translators of SSE streams, all driven the same way through [`SseTranslator`].

mod assemble;
mod chat;
mod chunk;
mod collect;
mod delta;
mod passthrough;
mod tool_calls;
mod wire;

pub use chat::ChatStreamTranslator;
pub(crate) use chunk::write_json;
pub use collect::ResponseCollector;
pub use passthrough::ResponsesPassthrough;
pub(crate) use wire::incomplete_finish_reason;

/// An incremental stream translator: upstream bytes in, translated SSE bytes out.
///
/// Every translator of this crate implements it, so a caller wraps them all the same way:
/// `feed` each received chunk, `finish` when the upstream closes, and read `state` to learn
/// whether the stream ended well.
pub trait SseTranslator {
    /// Feeds upstream bytes (split anywhere), appends translated SSE bytes to `out`.
    fn feed(&mut self, input: &[u8], out: &mut Vec<u8>);
    /// Upstream ended: flushes, and if no terminal event was seen emits the error event.
    fn finish(&mut self, out: &mut Vec<u8>);
    /// Where the stream stands (so the caller knows whether it ended well).
    fn state(&self) -> StreamState;
}

/// Where a translated stream stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StreamState {
    /// No terminal event yet.
    Running,
    /// The answer ended well (completed, or incomplete with its reason given to the client).
    Completed,
    /// The upstream failed or the stream was cut off; the client got an error event.
    Failed {
        /// What went wrong, as told to the client.
        message: String,
    },
}

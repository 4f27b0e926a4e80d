//! Responses SSE -> one finished `response` object.

use serde_json::Value;

use crate::error::StreamError;

/// Collects a Responses event stream into the final `response` object, its `output` built
/// from the streamed items (never from `response.completed.output`, often `[]`).
#[derive(Debug, Default)]
pub struct ResponseCollector {
    _todo: (),
}

impl ResponseCollector {
    /// A collector for one stream.
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds upstream bytes, split anywhere.
    pub fn feed(&mut self, input: &[u8]) {
        let _ = input;
    }

    /// The finished `response` object, or why there is none.
    pub fn finish(self) -> Result<Value, StreamError> {
        Err(StreamError::CutOff)
    }
}

//! Responses SSE -> Chat Completions chunk SSE, the hot path.

use super::{SseTranslator, StreamState};
use crate::answer::ChatOptions;

/// Translates a Responses event stream into Chat Completions chunks, incrementally.
pub struct ChatStreamTranslator {
    options: ChatOptions,
    state: StreamState,
}

impl ChatStreamTranslator {
    /// A translator for one stream.
    pub fn new(options: ChatOptions) -> Self {
        Self {
            options,
            state: StreamState::Running,
        }
    }
}

impl SseTranslator for ChatStreamTranslator {
    fn feed(&mut self, input: &[u8], out: &mut Vec<u8>) {
        let _ = (input, out, &self.options);
    }

    fn finish(&mut self, out: &mut Vec<u8>) {
        let _ = out;
    }

    fn state(&self) -> StreamState {
        self.state.clone()
    }
}

//! Chat Completions chunk SSE -> Responses events.

use crate::stream::{SseTranslator, StreamState};

/// Builds a Responses event stream from a Chat Completions chunk stream.
pub struct ResponsesStreamBuilder {
    model: String,
    state: StreamState,
}

impl ResponsesStreamBuilder {
    /// A builder for one stream; `model` names the model until the chunks name it.
    pub fn new(model: &str) -> Self {
        Self {
            model: model.to_owned(),
            state: StreamState::Running,
        }
    }
}

impl SseTranslator for ResponsesStreamBuilder {
    fn feed(&mut self, input: &[u8], out: &mut Vec<u8>) {
        let _ = (input, out, &self.model);
    }

    fn finish(&mut self, out: &mut Vec<u8>) {
        let _ = out;
    }

    fn state(&self) -> StreamState {
        self.state.clone()
    }
}

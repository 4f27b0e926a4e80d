//! A `chat.completion` object -> a Responses `response` object.

use serde_json::Value;

/// Builds the Responses `response` object of a finished `chat.completion` object.
pub fn chat_to_response(chat_completion: &Value) -> Value {
    let _ = chat_completion;
    Value::Null
}

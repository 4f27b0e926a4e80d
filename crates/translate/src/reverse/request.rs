//! Responses request -> Chat Completions request.

use serde_json::Value;

use crate::error::TranslateError;

/// Translates a Responses request body into a Chat Completions request body.
pub fn responses_to_chat_request(body: &Value) -> Result<Value, TranslateError> {
    let _ = body;
    Err(TranslateError::NotAnObject)
}

//! Chat Completions request -> Responses request.

use serde_json::Value;

use crate::error::TranslateError;
use crate::options::Preset;
use crate::tool_names::ToolNameMap;

/// A translated request: the body to send, and the tool names it shortened.
#[derive(Clone, Debug)]
pub struct TranslatedRequest {
    /// The Responses request body.
    pub body: Value,
    /// Restores the tool names shortened in `body` (empty when none was).
    pub tool_names: ToolNameMap,
}

/// Translates a Chat Completions request body into a Responses request body for `preset`.
pub fn chat_to_responses(
    chat: &Value,
    preset: Preset,
) -> Result<TranslatedRequest, TranslateError> {
    let _ = (chat, preset);
    Err(TranslateError::NotAnObject)
}

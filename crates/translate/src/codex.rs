//! A Responses request from a Responses client, made acceptable to the Codex backend.

use serde_json::Value;

use crate::error::TranslateError;
use crate::request::TranslatedRequest;

/// Rewrites a Responses request so the Codex backend accepts it, changing only what it refuses.
pub fn responses_for_codex(body: Value) -> Result<TranslatedRequest, TranslateError> {
    drop(body);
    Err(TranslateError::NotAnObject)
}

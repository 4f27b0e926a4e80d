//! Token usage as Anthropic reports it.

use serde::Serialize;

use crate::usage::ResponsesUsage;

/// Anthropic's `usage`: `input_tokens` counts only the tokens not read from the cache.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[allow(clippy::struct_field_names, reason = "Anthropic's field names")]
pub(crate) struct MessagesUsage {
    pub input_tokens: u64,
    pub cache_creation_input_tokens: u64,
    pub cache_read_input_tokens: u64,
    pub output_tokens: u64,
}

impl From<ResponsesUsage> for MessagesUsage {
    fn from(usage: ResponsesUsage) -> Self {
        let cached = usage.input_tokens_details.cached_tokens;
        Self {
            input_tokens: usage.input_tokens.saturating_sub(cached),
            cache_creation_input_tokens: 0,
            cache_read_input_tokens: cached,
            output_tokens: usage.output_tokens,
        }
    }
}

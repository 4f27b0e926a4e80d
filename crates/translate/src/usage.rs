//! Token usage in both APIs' shapes, and the mapping between them.

use serde::{Deserialize, Serialize};

/// Usage as the Responses API reports it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
pub(crate) struct ResponsesUsage {
    #[serde(default)]
    pub input_tokens: u64,
    #[serde(default)]
    pub input_tokens_details: CachedTokens,
    #[serde(default)]
    pub output_tokens: u64,
    #[serde(default)]
    pub output_tokens_details: ReasoningTokens,
    #[serde(default)]
    pub total_tokens: u64,
}

/// Usage as Chat Completions reports it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
pub(crate) struct ChatUsage {
    #[serde(default)]
    pub prompt_tokens: u64,
    #[serde(default)]
    pub completion_tokens: u64,
    #[serde(default)]
    pub total_tokens: u64,
    #[serde(default)]
    pub prompt_tokens_details: CachedTokens,
    #[serde(default)]
    pub completion_tokens_details: ReasoningTokens,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
pub(crate) struct CachedTokens {
    #[serde(default)]
    pub cached_tokens: u64,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
pub(crate) struct ReasoningTokens {
    #[serde(default)]
    pub reasoning_tokens: u64,
}

/// The token counts of one answer, as the upstream reported them, whatever the API's shape.
///
/// Translators report them through [`SseTranslator::usage`](crate::SseTranslator::usage), so
/// that a caller (an access log, a quota) need not parse the translated bytes again.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct TokenCounts {
    /// Input (prompt) tokens, cached ones included.
    pub input: u64,
    /// Output (completion) tokens, reasoning ones included.
    pub output: u64,
    /// Of the input tokens, those served from the prompt cache.
    pub cached: u64,
    /// Of the output tokens, those spent on reasoning.
    pub reasoning: u64,
}

impl From<ResponsesUsage> for TokenCounts {
    fn from(usage: ResponsesUsage) -> Self {
        Self {
            input: usage.input_tokens,
            output: usage.output_tokens,
            cached: usage.input_tokens_details.cached_tokens,
            reasoning: usage.output_tokens_details.reasoning_tokens,
        }
    }
}

impl From<ChatUsage> for TokenCounts {
    fn from(usage: ChatUsage) -> Self {
        ResponsesUsage::from(usage).into()
    }
}

impl ResponsesUsage {
    /// Reads the usage of a `response` object, if it has one.
    pub fn deserialize_from(value: &serde_json::Value) -> Option<Self> {
        Self::deserialize(value).ok()
    }
}

impl From<ResponsesUsage> for ChatUsage {
    fn from(usage: ResponsesUsage) -> Self {
        Self {
            prompt_tokens: usage.input_tokens,
            completion_tokens: usage.output_tokens,
            total_tokens: total(usage.total_tokens, usage.input_tokens, usage.output_tokens),
            prompt_tokens_details: usage.input_tokens_details,
            completion_tokens_details: usage.output_tokens_details,
        }
    }
}

impl From<ChatUsage> for ResponsesUsage {
    fn from(usage: ChatUsage) -> Self {
        Self {
            input_tokens: usage.prompt_tokens,
            input_tokens_details: usage.prompt_tokens_details,
            output_tokens: usage.completion_tokens,
            output_tokens_details: usage.completion_tokens_details,
            total_tokens: total(
                usage.total_tokens,
                usage.prompt_tokens,
                usage.completion_tokens,
            ),
        }
    }
}

/// Some upstreams leave the total out; it is the sum by definition.
fn total(given: u64, input: u64, output: u64) -> u64 {
    if given == 0 { input + output } else { given }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn responses_usage_maps_to_chat_usage_with_details() {
        let usage: ResponsesUsage = serde_json::from_str(
            r#"{"input_tokens":2354,"input_tokens_details":{"cached_tokens":1536},
                "output_tokens":342,"output_tokens_details":{"reasoning_tokens":256},"total_tokens":2696}"#,
        )
        .unwrap();
        let chat = serde_json::to_value(ChatUsage::from(usage)).unwrap();
        assert_eq!(
            chat,
            serde_json::json!({"prompt_tokens":2354,"completion_tokens":342,"total_tokens":2696,
                "prompt_tokens_details":{"cached_tokens":1536},
                "completion_tokens_details":{"reasoning_tokens":256}})
        );
        assert_eq!(ResponsesUsage::from(ChatUsage::from(usage)), usage);
    }

    #[test]
    fn a_missing_total_is_the_sum() {
        let chat: ChatUsage =
            serde_json::from_str(r#"{"prompt_tokens":3,"completion_tokens":4}"#).unwrap();
        assert_eq!(ResponsesUsage::from(chat).total_tokens, 7);
    }
}

#![doc = include_str!("../README.md")]

mod answer;
mod anthropic;
mod codex;
mod compact;
mod error;
mod messages;
mod models;
mod options;
mod request;
mod reverse;
mod sse;
mod stored;
mod stream;
mod tool_names;
mod usage;

pub use answer::{ChatOptions, response_to_chat};
pub use anthropic::{
    ClaudeModels, MessagesOptions, MessagesStreamTranslator, TranslatedMessages,
    estimate_input_tokens, messages_to_responses, response_to_message,
};
pub use codex::responses_for_codex;
pub use compact::{COMPACTION_TRIGGER, compact_for_codex, compaction_answer};
pub use error::{StreamError, TranslateError};
pub use models::{
    EFFORT_WORDS, ModelEntry, ResolvedModel, bundled_models, codex_catalog, model_ids,
    resolve_chat_alias, resolve_model, resolve_responses_alias,
};
pub use options::{Preset, ReasoningMode};
pub use request::{TranslatedRequest, chat_to_responses};
pub use reverse::{ResponsesStreamBuilder, chat_to_response, responses_to_chat_request};
pub use sse::{SseEvent, SseParser};
pub use stored::{
    Expanded, ItemsQuery, Order, References, StoredResponse, expand_references, give_input_ids,
    input_items_page, served_as_stored,
};
pub use stream::{
    ChatStreamTranslator, RequestEcho, ResponseCollector, ResponsesPassthrough, SseTranslator,
    StreamState,
};
pub use tool_names::{MAX_TOOL_NAME_LEN, ToolNameMap};
pub use usage::TokenCounts;

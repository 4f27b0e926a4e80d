//! The Anthropic Messages API on top of the Responses API: requests, answers and streams.
//!
//! [`messages_to_responses`] turns a `POST /v1/messages` body into a Responses body (for the
//! Codex backend or OpenAI's `/v1/responses`); [`MessagesStreamTranslator`] turns the
//! Responses stream into Messages events; [`response_to_message`] turns a finished response
//! into one `message` object; [`ClaudeModels`] says which GPT model answers a Claude name;
//! [`estimate_input_tokens`] answers `count_tokens`.
//!
//! # Request mapping
//!
//! | Messages | Responses |
//! | --- | --- |
//! | `system` (string or text blocks), `system`-role messages anywhere | `instructions`, joined by blank lines |
//! | `text` block | `input_text` (user) / `output_text` (assistant) part |
//! | `image` (`base64`, `url`) | `input_image` (a data URL for base64) |
//! | `document` (`base64` PDF, `text`, `url`) | `input_file` / `input_text` |
//! | `tool_use` | `function_call` (`input` as JSON text) |
//! | `tool_result` (string or blocks, `is_error`) | `function_call_output` (text, or parts when it holds images; `Error:` first when `is_error`) |
//! | `thinking` / `redacted_thinking` with a byok signature | the `reasoning` item the signature carries (id, `encrypted_content`), the thinking text as its summary |
//! | `thinking` with another signature (real Claude's) | dropped: GPT cannot read it |
//! | `tools` (`input_schema`) | function tools (`parameters`, `strict: false`); names over 64 characters shortened and restored in answers |
//! | `web_search_*` server tool | `{"type": "web_search"}` (`allowed_domains`, `user_location` kept) |
//! | other Anthropic-defined tools (`bash_*`, `text_editor_*`, `computer_*`, ...) | refused (400) |
//! | `tool_choice` `auto` / `any` / `tool` / `none`, `disable_parallel_tool_use` | `auto` / `required` / `{type: function, name}` / `none`, `parallel_tool_calls` |
//! | `output_config.effort` `low` / `medium` / `high` / `max` | `reasoning.effort` `low` / `medium` / `high` / `xhigh` |
//! | `thinking.budget_tokens` (when no `output_config.effort`) | `reasoning.effort`: below 4,000 `low`, below 16,000 `medium`, else `high` |
//! | `thinking.type` `enabled` / `adaptive` | `reasoning.summary: "auto"`, and reasoning comes back as thinking blocks |
//! | `output_config.format` (`json_schema`) | `text.format` |
//! | `max_tokens` | `max_output_tokens` (OpenAI); dropped for Codex, which refuses it |
//! | `temperature`, `top_p` | kept (OpenAI); dropped for Codex, which refuses them |
//! | `metadata.user_id` | `safety_identifier` (OpenAI); dropped for Codex |
//! | `stop_sequences` (non-empty) | refused (400): the Responses API cannot stop on a sequence |
//! | `top_k`, `service_tier`, `container`, `mcp_servers`, `context_management`, `cache_control` | dropped |
//!
//! The mapped model may be an alias (`gpt-5.5-high`): it is resolved by the one rule of
//! [`crate::resolve_responses_alias`], where the client's effort wins over the suffix.
//!
//! # What comes back
//!
//! Reasoning becomes `thinking` blocks only when the client asked for thinking; their
//! `signature` carries the reasoning item (see `signature.rs`), so a client that sends the
//! blocks back (as Anthropic requires within a tool loop) continues the same reasoning.
//! Web search calls the backend made are not shown as `server_tool_use` blocks; their
//! findings are in the text. Usage: `input_tokens` is the uncached input,
//! `cache_read_input_tokens` the cached part, `output_tokens` includes reasoning.

mod answer;
mod count;
mod models;
mod request;
mod signature;
mod stream;
mod usage;

pub use answer::response_to_message;
pub use count::estimate_input_tokens;
pub use models::ClaudeModels;
pub use request::{MessagesOptions, TranslatedMessages, messages_to_responses};
pub use stream::MessagesStreamTranslator;

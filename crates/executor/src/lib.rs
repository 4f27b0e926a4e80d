#![doc = include_str!("../README.md")]

mod anthropic;
mod codex;
mod executor;
mod http;
pub mod models;
mod openai_api;
mod retry;
mod stored;
mod stream;
mod upstream;
mod upstream_error;
mod wait;

pub use byok_translate::{ClaudeModels, ReasoningMode};
pub use executor::{
    CodexExecutor, DEFAULT_CODEX_BASE_URL, DEFAULT_IDLE_TIMEOUT, DEFAULT_OPENAI_BASE_URL, Mode,
    ModelsAnswer,
};
pub use http::ProviderHttp;
pub use openai_api::{API_KEY_ACCOUNT, prompt_cache_key};
pub use retry::RetryPolicy;

#![doc = include_str!("../README.md")]

mod api_key;
mod executor;
mod failure;
mod http;
pub mod models;
mod oauth;
mod pool;
mod retry;
mod send;
mod stored;
mod stream;
mod upstream;

pub use api_key::{API_KEY_ACCOUNT, prompt_cache_key};
pub use byok_translate::ReasoningMode;
pub use executor::{
    CodexExecutor, DEFAULT_CODEX_BASE_URL, DEFAULT_IDLE_TIMEOUT, DEFAULT_OPENAI_BASE_URL, Mode,
};
pub use http::ProviderHttp;
pub use retry::RetryPolicy;

//! Shared vocabulary of the byok crates.
//!
//! Everything two byok crates both need to name lives here: the [`ChatRequest`] a client sends,
//! the [`OAuthToken`] of a ChatGPT sign-in, the [`ByokError`] every layer returns, the
//! [`ProviderExecutor`] trait the server calls, what it answers ([`ProviderResponse`],
//! [`ByteStream`]) and the [`RateLimitStore`] of upstream rate-limit headers.
//!
//! ```
//! use byok_types::{ByokError, ProviderId, Secret};
//!
//! let key = Secret::new("sk-very-secret");
//! assert_eq!(format!("{key:?}"), "***");
//! assert_eq!(ProviderId::Codex.to_string(), "codex");
//!
//! let err = ByokError::invalid_request("`messages` must be an array", Some("messages"));
//! assert_eq!(err.status(), 400);
//! assert_eq!(err.to_openai_json()["error"]["param"], "messages");
//! ```

mod error;
mod executor;
mod provider;
mod ratelimit;
mod request;
mod secret;
mod token;

pub use error::{ByokError, Result};
pub use executor::{ByteStream, ProviderExecutor, ProviderResponse};
pub use provider::ProviderId;
pub use ratelimit::{RateLimitSnapshot, RateLimitStore};
pub use request::ChatRequest;
pub use secret::Secret;
pub use token::{AccountId, OAuthToken};

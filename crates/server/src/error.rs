//! Errors: [`ApiError`] answers a client in OpenAI's shape, [`AnthropicError`] in Anthropic's; [`ServeError`] stops the server.

use std::net::SocketAddr;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use byok_types::ByokError;

/// A [`ByokError`] answered over HTTP: its status, OpenAI's error object as the body and
/// `Retry-After` (whole seconds, rounded up) when the error knows how long to wait.
///
/// ```
/// use axum::response::IntoResponse;
/// use byok_server::ApiError;
/// use byok_types::ByokError;
///
/// let response = ApiError(ByokError::NotFound("no such model".into())).into_response();
/// assert_eq!(response.status(), 404);
/// ```
#[derive(Debug)]
pub struct ApiError(pub ByokError);

impl From<ByokError> for ApiError {
    fn from(err: ByokError) -> Self {
        Self(err)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        answer(&self.0, self.0.to_openai_json())
    }
}

/// A [`ByokError`] answered on the Anthropic API's endpoints (`/v1/messages`): the same status
/// and `Retry-After` as [`ApiError`], the body in Anthropic's shape
/// (`{"type": "error", "error": {"type", "message"}}`), which Anthropic's SDKs and Claude Code
/// read.
///
/// ```
/// use axum::response::IntoResponse;
/// use byok_server::AnthropicError;
/// use byok_types::ByokError;
///
/// let response = AnthropicError(ByokError::Unauthorized("no key".into())).into_response();
/// assert_eq!(response.status(), 401);
/// ```
#[derive(Debug)]
pub struct AnthropicError(pub ByokError);

impl From<ByokError> for AnthropicError {
    fn from(err: ByokError) -> Self {
        Self(err)
    }
}

impl IntoResponse for AnthropicError {
    fn into_response(self) -> Response {
        answer(&self.0, self.0.to_anthropic_json())
    }
}

/// What an error answer was about, for the request's access-log line (`access_log.rs`): the
/// error's `Display`, which never holds an upstream body or a secret. So a request refused
/// before anything went upstream (bad input, an unknown model, no account) is one line that
/// says why, not that line and another.
#[derive(Clone, Debug)]
pub(crate) struct AnsweredError(pub(crate) String);

/// `err`'s status, `body`, and `Retry-After` when the error knows how long to wait (the
/// rounding is byok-types': see `ByokError::retry_after_secs`).
fn answer(err: &ByokError, body: serde_json::Value) -> Response {
    let status = StatusCode::from_u16(err.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = (status, axum::Json(body)).into_response();
    response
        .extensions_mut()
        .insert(AnsweredError(err.to_string()));
    if let Some(secs) = err.retry_after_secs() {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    response
}

/// A client key that cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientKeyError {
    /// `key_sha256` is not a SHA-256 as `sha256sum` prints it.
    #[error(
        "`key_sha256` must be 64 hex digits, the SHA-256 of the key (`printf %s KEY | sha256sum`)"
    )]
    NotSha256,
}

/// Why [`serve`](crate::serve) could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServeError {
    /// Listening beyond this machine without a client key would let anyone who can reach the
    /// address use the account behind byok.
    #[error(
        "refusing to listen on {addr} without a client key: anyone who can reach this address \
         could use your OpenAI account. Set a key with `--client-key KEY` (or the BYOK_CLIENT_KEY \
         environment variable, or `[[client_keys]]` in byok.toml) and give it to your clients, or listen on 127.0.0.1 only"
    )]
    ClientKeyRequired {
        /// The address that was asked for.
        addr: SocketAddr,
    },
    /// The listening socket failed.
    #[error("the server's socket failed: {0}")]
    Io(#[from] std::io::Error),
}

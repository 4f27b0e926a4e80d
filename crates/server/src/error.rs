//! Errors: [`ApiError`] answers a client in OpenAI's shape; [`ServeError`] stops the server.

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
        let status =
            StatusCode::from_u16(self.0.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut response = (status, axum::Json(self.0.to_openai_json())).into_response();
        // The rounding is byok-types' (see `ByokError::retry_after_secs`).
        let retry_after = self.0.retry_after_secs();
        if let Some(secs) = retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
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
         environment variable) and give it to your clients, or listen on 127.0.0.1 only"
    )]
    ClientKeyRequired {
        /// The address that was asked for.
        addr: SocketAddr,
    },
    /// The listening socket failed.
    #[error("the server's socket failed: {0}")]
    Io(#[from] std::io::Error),
}

//! The optional client key: who may use this server.

use axum::extract::{Request, State};
use axum::http::{HeaderMap, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use byok_types::{ByokError, ClientId, Secret};
use subtle::ConstantTimeEq;

use crate::{AnthropicError, ApiError};

/// Lets a request through when no key is configured or when it carries the key, as
/// `Authorization: Bearer KEY` (OpenAI's SDKs) or `x-api-key: KEY` (Anthropic-style clients).
///
/// A request let through carries its [`ClientId`] as an extension: derived from the key it
/// authenticated with, or [`ClientId::local`] when the server has no key. The handlers put it
/// in the executor's [`RequestContext`](byok_types::RequestContext).
pub(crate) async fn require_client_key(
    State(key): State<Option<Secret>>,
    mut request: Request,
    next: Next,
) -> Response {
    let client = match key {
        Some(key) if !carries_key(request.headers(), &key) => {
            if crate::anthropic::is_anthropic_path(request.uri().path()) {
                return AnthropicError(ByokError::Unauthorized(
                    "missing or wrong client key: this byok server was started with \
                     `--client-key`; send that key as `x-api-key: KEY` or `Authorization: Bearer \
                     KEY` (ANTHROPIC_API_KEY or ANTHROPIC_AUTH_TOKEN for Claude Code)"
                        .into(),
                ))
                .into_response();
            }
            return ApiError(ByokError::Unauthorized(
                "missing or wrong client key: this byok server was started with `--client-key`; \
                 send that key as `Authorization: Bearer KEY` (the `api_key` of an OpenAI SDK)"
                    .into(),
            ))
            .into_response();
        }
        Some(key) => ClientId::from_key(&key),
        None => ClientId::local(),
    };
    request.extensions_mut().insert(client);
    next.run(request).await
}

fn carries_key(headers: &HeaderMap, key: &Secret) -> bool {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.as_bytes().strip_prefix(b"Bearer "));
    let api_key = headers
        .get("x-api-key")
        .map(axum::http::HeaderValue::as_bytes);
    // Both candidates are always compared, so timing does not tell which header was tried.
    let by_bearer = bearer.is_some_and(|sent| same_secret(sent, key));
    let by_api_key = api_key.is_some_and(|sent| same_secret(sent, key));
    by_bearer | by_api_key
}

/// Compares in constant time for a given length (a wrong length is refused at once, which
/// tells an attacker no more than the key's length).
fn same_secret(sent: &[u8], key: &Secret) -> bool {
    bool::from(sent.trim_ascii().ct_eq(key.expose().as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, value.parse().unwrap());
        }
        map
    }

    #[test]
    fn accepts_bearer_or_x_api_key_only_with_the_right_key() {
        let key = Secret::new("k-123");
        assert!(carries_key(
            &headers(&[("authorization", "Bearer k-123")]),
            &key
        ));
        assert!(carries_key(&headers(&[("x-api-key", "k-123")]), &key));
        assert!(!carries_key(
            &headers(&[("authorization", "Bearer k-124")]),
            &key
        ));
        assert!(!carries_key(&headers(&[("authorization", "k-123")]), &key));
        assert!(!carries_key(
            &headers(&[("authorization", "Bearer k-12")]),
            &key
        ));
        assert!(!carries_key(&headers(&[]), &key));
    }
}

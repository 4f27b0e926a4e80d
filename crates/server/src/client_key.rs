//! The client keys: who may use this server, which models each key may ask for, and how many
//! tokens a day it may spend.
//!
//! A key is kept as its SHA-256 only (from `key` or `key_sha256` of `[[client_keys]]`, or the
//! single `client_key`, called `default`): what a request sends is hashed once and compared
//! with every key's digest in constant time, so neither the keys nor the timing tell anything.

use std::sync::Arc;

use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use byok_types::{
    ByokError, ClientId, ClientKeyStatus, KeyRefusalLabels, Secret, human, next_utc_midnight,
    utc_day,
};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::access_log::RequestLog;
use crate::error::ClientKeyError;
use crate::{AnthropicError, ApiError, AppState};

/// The name the single `client_key` (`--client-key`, `BYOK_CLIENT_KEY`) goes by in figures.
pub const DEFAULT_KEY_NAME: &str = "default";

/// One key clients may send, with its name, the models it may use and its budget of tokens per
/// UTC day (a `[[client_keys]]` entry of byok.toml).
///
/// ```
/// use byok_server::ClientKey;
/// use byok_types::Secret;
/// let key = ClientKey::new("alice", &Secret::new("k-alice"))
///     .with_models(vec!["gpt-5.5".into(), "gpt-5.6-*".into()])
///     .with_daily_tokens(100_000);
/// assert!(key.allows("gpt-5.5") && key.allows("gpt-5.6-sol"));
/// assert!(!key.allows("gpt-5.5-high"));
/// assert!(!format!("{key:?}").contains("k-alice"));
/// let same = ClientKey::from_sha256_hex(
///     "alice",
///     "0e0d0a8fb6c8a4dca9b5bba4e8b0e0c4f6d2d8a7c5b0e8f4a6c2e4d6b8a0c2e4",
/// );
/// assert!(same.is_ok());
/// assert!(ClientKey::from_sha256_hex("alice", "not hex").is_err());
/// ```
#[derive(Clone)]
pub struct ClientKey {
    name: String,
    sha256: [u8; 32],
    models: Option<Vec<String>>,
    daily_tokens: Option<u64>,
}

impl ClientKey {
    /// The key `key`, called `name`: every model, no budget.
    pub fn new(name: impl Into<String>, key: &Secret) -> Self {
        Self {
            name: name.into(),
            sha256: Sha256::digest(key.expose().trim().as_bytes()).into(),
            models: None,
            daily_tokens: None,
        }
    }

    /// The key whose SHA-256 is `hex` (64 hex digits, as `sha256sum` prints it), called
    /// `name`, so byok.toml need not hold the key itself.
    pub fn from_sha256_hex(name: impl Into<String>, hex: &str) -> Result<Self, ClientKeyError> {
        let hex = hex.trim().as_bytes();
        let digit = |c: u8| char::from(c).to_digit(16);
        let mut sha256 = [0u8; 32];
        if hex.len() != 64 {
            return Err(ClientKeyError::NotSha256);
        }
        for (byte, pair) in sha256.iter_mut().zip(hex.chunks(2)) {
            let (Some(high), Some(low)) = (digit(pair[0]), digit(pair[1])) else {
                return Err(ClientKeyError::NotSha256);
            };
            // Two hex digits: at most 255.
            *byte = u8::try_from(high * 16 + low).unwrap_or(u8::MAX);
        }
        Ok(Self {
            name: name.into(),
            sha256,
            models: None,
            daily_tokens: None,
        })
    }

    /// Only these models: names as clients send them, or a prefix ending in `*`
    /// (`gpt-5.5*` allows `gpt-5.5` and its effort aliases such as `gpt-5.5-high`).
    #[must_use]
    pub fn with_models(mut self, models: Vec<String>) -> Self {
        self.models = Some(models);
        self
    }

    /// At most `tokens` tokens (input plus output) per UTC day.
    #[must_use]
    pub fn with_daily_tokens(mut self, tokens: u64) -> Self {
        self.daily_tokens = Some(tokens);
        self
    }

    /// The key's name, as figures and logs show it.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The models it may use; `None`: every model.
    pub fn models(&self) -> Option<&[String]> {
        self.models.as_deref()
    }

    /// Its budget of tokens per UTC day, if it has one.
    pub fn daily_tokens(&self) -> Option<u64> {
        self.daily_tokens
    }

    /// Whether `other` is the same key (by its SHA-256), whatever the names.
    pub fn same_key(&self, other: &Self) -> bool {
        bool::from(self.sha256.ct_eq(&other.sha256))
    }

    /// Whether it may use the model a client named `model`.
    pub fn allows(&self, model: &str) -> bool {
        self.models.as_ref().is_none_or(|models| {
            models
                .iter()
                .any(|allowed| match allowed.strip_suffix('*') {
                    Some(prefix) => model.starts_with(prefix),
                    None => allowed == model,
                })
        })
    }

    /// The identity of requests sent with this key (the same as [`ClientId::from_key`]).
    fn client_id(&self) -> ClientId {
        ClientId::from_key_sha256(&self.sha256)
    }
}

impl std::fmt::Debug for ClientKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientKey")
            .field("name", &self.name)
            .field("models", &self.models)
            .field("daily_tokens", &self.daily_tokens)
            .finish_non_exhaustive()
    }
}

/// The request's client key, for the handlers: `None` when the server has no keys.
#[derive(Clone, Debug)]
pub(crate) struct Caller(Option<Arc<ClientKey>>);

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Self(parts.extensions.get::<Arc<ClientKey>>().cloned()))
    }
}

impl Caller {
    /// Whether the model listing shows `model` to this caller.
    pub(crate) fn sees(&self, model: &str) -> bool {
        self.0.as_ref().is_none_or(|key| key.allows(model))
    }

    /// Lets a request for `model` through, or says why not: a model the key may not use
    /// (403, naming those it may), or a budget spent today (429 until 00:00 UTC).
    pub(crate) async fn admit(&self, state: &AppState, model: &str) -> Result<(), ByokError> {
        self.check_model(state, model)?;
        let Some(key) = &self.0 else {
            return Ok(());
        };
        let Some(budget) = key.daily_tokens else {
            return Ok(());
        };
        let now = byok_types::unix_now();
        let used = state.config.key_usage.used(&key.name, utc_day(now)).await?;
        match over_budget(&key.name, used, budget, now) {
            Some(err) => {
                refused(state, key, "budget");
                Err(err)
            }
            None => Ok(()),
        }
    }

    /// Refuses a model the key may not use (403, naming those it may).
    pub(crate) fn check_model(&self, state: &AppState, model: &str) -> Result<(), ByokError> {
        match &self.0 {
            Some(key) if !key.allows(model) => {
                refused(state, key, "model");
                let allowed = key.models.as_deref().unwrap_or_default().join(", ");
                Err(ByokError::ModelNotAllowed(format!(
                    "the client key `{}` may not use the model `{model}`; it may use: {allowed} \
                     (the `models` of its [[client_keys]] entry in byok.toml)",
                    key.name
                )))
            }
            _ => Ok(()),
        }
    }
}

/// Counts a request refused to `key` for `reason` (`model`, `budget`).
fn refused(state: &AppState, key: &ClientKey, reason: &'static str) {
    state
        .config
        .metrics
        .key_refusals
        .get_or_create(&KeyRefusalLabels {
            key: key.name.clone(),
            reason,
        })
        .inc();
}

/// The 429 of a key called `name` that spent `used` of its `budget` tokens today, as of `now`;
/// `None` while some budget is left.
fn over_budget(name: &str, used: u64, budget: u64, now: i64) -> Option<ByokError> {
    if used < budget {
        return None;
    }
    let resets_at = next_utc_midnight(now);
    let wait = resets_at - now;
    Some(ByokError::RateLimited {
        message: format!(
            "the client key `{name}` has used {used} of its {budget} tokens for today (UTC); \
             its budget resets at {} (in {}). Try again then, or ask whoever runs this byok to \
             raise its `daily_tokens` in byok.toml",
            human::utc(resets_at),
            human::span(wait),
        ),
        resets_at: Some(resets_at),
        retry_after: Some(std::time::Duration::from_secs(wait.unsigned_abs())),
    })
}

/// Every key's figures of today, for `/v1/status` and `/metrics`.
pub(crate) async fn statuses(state: &AppState, now: i64) -> Vec<ClientKeyStatus> {
    let mut out = Vec::with_capacity(state.keys.len());
    for key in state.keys.iter() {
        // A store that cannot answer shows 0 rather than failing the whole status.
        let used = state
            .config
            .key_usage
            .used(&key.name, utc_day(now))
            .await
            .unwrap_or_default();
        out.push(
            ClientKeyStatus::new(key.name.clone(), used, now)
                .models(key.models.clone())
                .daily_tokens(key.daily_tokens),
        );
    }
    out
}

/// Lets a request through when no key is configured or when it carries one of the keys, as
/// `Authorization: Bearer KEY` (OpenAI's SDKs) or `x-api-key: KEY` (Anthropic-style clients).
///
/// A request let through carries its [`ClientId`] as an extension: derived from the key it
/// authenticated with, or [`ClientId::local`] when the server has no key. The handlers put it
/// in the executor's [`RequestContext`](byok_types::RequestContext); the key itself goes to the
/// handlers ([`Caller`]) and to the access log, which counts its tokens.
pub(crate) async fn require_client_key(
    State(keys): State<Arc<[Arc<ClientKey>]>>,
    mut request: Request,
    next: Next,
) -> Response {
    if keys.is_empty() {
        request.extensions_mut().insert(ClientId::local());
        return next.run(request).await;
    }
    let Some(key) = matching_key(request.headers(), &keys) else {
        if crate::anthropic::is_anthropic_path(request.uri().path()) {
            return AnthropicError(ByokError::Unauthorized(
                "missing or wrong client key: this byok server was started with client keys \
                 (`--client-key` or `[[client_keys]]`); send yours as `x-api-key: KEY` or \
                 `Authorization: Bearer KEY` (ANTHROPIC_API_KEY or ANTHROPIC_AUTH_TOKEN for \
                 Claude Code)"
                    .into(),
            ))
            .into_response();
        }
        return ApiError(ByokError::Unauthorized(
            "missing or wrong client key: this byok server was started with client keys \
             (`--client-key` or `[[client_keys]]`); send yours as `Authorization: Bearer KEY` \
             (the `api_key` of an OpenAI SDK)"
                .into(),
        ))
        .into_response();
    };
    if let Some(log) = request.extensions().get::<RequestLog>() {
        log.set_client_key(key.name());
    }
    request.extensions_mut().insert(key.client_id());
    request.extensions_mut().insert(key);
    next.run(request).await
}

/// The key the request carries, if it carries one of `keys`.
fn matching_key(headers: &HeaderMap, keys: &[Arc<ClientKey>]) -> Option<Arc<ClientKey>> {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.as_bytes().strip_prefix(b"Bearer "));
    let api_key = headers
        .get("x-api-key")
        .map(axum::http::HeaderValue::as_bytes);
    let digest = |sent: Option<&[u8]>| -> Option<[u8; 32]> {
        sent.map(|sent| Sha256::digest(sent.trim_ascii()).into())
    };
    let sent = [digest(bearer), digest(api_key)];
    // Every key is compared with both candidates, so timing does not tell which matched.
    let mut found = None;
    for key in keys {
        let hit = sent
            .iter()
            .flatten()
            .fold(subtle::Choice::from(0), |hit, digest| {
                hit | digest.ct_eq(&key.sha256)
            });
        if bool::from(hit) && found.is_none() {
            found = Some(Arc::clone(key));
        }
    }
    found
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

    fn name_of(headers: &HeaderMap, keys: &[Arc<ClientKey>]) -> Option<String> {
        matching_key(headers, keys).map(|k| k.name().to_owned())
    }

    #[test]
    fn accepts_bearer_or_x_api_key_only_with_a_right_key() {
        let keys = [
            Arc::new(ClientKey::new("a", &Secret::new("k-123"))),
            Arc::new(
                ClientKey::from_sha256_hex(
                    "b",
                    // sha256("k-456")
                    &sha_hex("k-456"),
                )
                .unwrap(),
            ),
        ];
        let named = |pairs| name_of(&headers(pairs), &keys);
        assert_eq!(
            named(&[("authorization", "Bearer k-123")]).as_deref(),
            Some("a")
        );
        assert_eq!(named(&[("x-api-key", "k-456")]).as_deref(), Some("b"));
        assert_eq!(named(&[("authorization", "Bearer k-124")]), None);
        assert_eq!(named(&[("authorization", "k-123")]), None);
        assert_eq!(named(&[("authorization", "Bearer k-12")]), None);
        assert_eq!(named(&[]), None);
    }

    fn sha_hex(key: &str) -> String {
        use std::fmt::Write as _;
        Sha256::digest(key.as_bytes())
            .iter()
            .fold(String::new(), |mut hex, b| {
                let _ = write!(hex, "{b:02x}");
                hex
            })
    }

    #[test]
    fn a_key_by_its_sha256_has_the_identity_of_the_key_itself() {
        let by_hash = ClientKey::from_sha256_hex("x", &sha_hex("k-1")).unwrap();
        assert_eq!(by_hash.client_id(), ClientId::from_key(&Secret::new("k-1")));
        assert!(ClientKey::from_sha256_hex("x", &sha_hex("k-1")[1..]).is_err());
    }

    #[test]
    fn the_budget_refuses_from_the_budget_on_until_midnight_utc() {
        // 2026-12-02 21:00 UTC.
        let now = 1_796_245_200;
        assert!(over_budget("alice", 999, 1_000, now).is_none());
        let err = over_budget("alice", 1_000, 1_000, now).expect("spent");
        assert_eq!(err.status(), 429);
        assert_eq!(err.retry_after_secs(), Some(3 * 3600));
        let json = err.to_openai_json();
        assert_eq!(json["error"]["code"], "rate_limit_exceeded");
        assert_eq!(json["error"]["resets_at"], 1_796_256_000);
        let message = json["error"]["message"].as_str().unwrap();
        assert!(
            message.contains("`alice` has used 1000 of its 1000 tokens")
                && message.contains("2026-12-03 00:00 UTC (in 3 h 0 min)"),
            "{message}"
        );
    }
}

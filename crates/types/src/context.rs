//! What an executor may know about the request it serves, beyond its body.

use std::sync::{Arc, Mutex, PoisonError};

use http::HeaderMap;
use http::header::{AUTHORIZATION, COOKIE, PROXY_AUTHORIZATION};
use sha2::{Digest, Sha256};

use crate::Secret;

/// Who sent a request, as a stable name that is safe to log and store: a short SHA-256 hex
/// of the client key the request authenticated with, or `local` when the server has no key.
///
/// Never the key itself, so it can key per-client state (stored responses, sessions) and go
/// into logs. Two requests with the same key get the same identity.
///
/// ```
/// use byok_types::{ClientId, Secret};
/// let id = ClientId::from_key(&Secret::new("my-local-key"));
/// assert_eq!(id, ClientId::from_key(&Secret::new("my-local-key")));
/// assert_ne!(id, ClientId::local());
/// assert!(!format!("{id:?}").contains("my-local-key"));
/// assert_eq!(ClientId::local().as_str(), "local");
/// ```
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ClientId(String);

/// How many hex digits of the key's SHA-256 an identity keeps: 64 bits, plenty to tell a
/// server's few client keys apart, and too few to be a stand-in for the key.
const ID_HEX_DIGITS: usize = 16;

impl ClientId {
    /// The identity of requests authenticated with `key`.
    pub fn from_key(key: &Secret) -> Self {
        Self::from_key_sha256(&Sha256::digest(key.expose().as_bytes()).into())
    }

    /// The identity of requests authenticated with the key whose SHA-256 is `digest` (a
    /// `key_sha256` of `[[client_keys]]`): the same as [`ClientId::from_key`] of that key.
    ///
    /// ```
    /// use byok_types::{ClientId, Secret};
    /// use sha2::{Digest, Sha256};
    /// let digest: [u8; 32] = Sha256::digest(b"k-1").into();
    /// assert_eq!(ClientId::from_key_sha256(&digest), ClientId::from_key(&Secret::new("k-1")));
    /// ```
    pub fn from_key_sha256(digest: &[u8; 32]) -> Self {
        let mut hex = String::with_capacity(ID_HEX_DIGITS);
        for byte in &digest[..ID_HEX_DIGITS / 2] {
            use std::fmt::Write as _;
            let _ = write!(hex, "{byte:02x}");
        }
        Self(hex)
    }

    /// The identity of every request to a server that has no client key.
    pub fn local() -> Self {
        Self("local".to_owned())
    }

    /// The identity as text: 16 hex digits, or `local`.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for ClientId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ClientId({})", self.0)
    }
}

impl std::fmt::Display for ClientId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Everything about one request an executor may use besides its body: who sent it and the
/// headers it came with (Codex session headers such as `session-id` and
/// `x-codex-turn-state`, `x-client-request-id`, `x-byok-reasoning`, ...).
///
/// The headers that carry credentials (`authorization`, `x-api-key`, `cookie`,
/// `proxy-authorization`) are removed when it is built, so an executor can never forward
/// the client's key upstream by mistake.
///
/// ```
/// use byok_types::{ClientId, RequestContext};
/// let mut headers = http::HeaderMap::new();
/// headers.insert("session-id", "0199a4f2-7c1e-7000-8000-000000000001".parse().unwrap());
/// headers.insert("authorization", "Bearer my-local-key".parse().unwrap());
/// let ctx = RequestContext::new(ClientId::local(), headers);
/// assert!(ctx.headers().contains_key("session-id"));
/// assert!(!ctx.headers().contains_key("authorization"));
/// ```
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct RequestContext {
    client: ClientId,
    headers: HeaderMap,
    served_by: ServedBy,
}

/// Which upstream account served a request, written by the executor and read by whoever keeps
/// the request's records (the access log, metrics). Cheap to clone: clones share the value.
///
/// ```
/// use byok_types::ServedBy;
/// let served_by = ServedBy::default();
/// let log = served_by.clone();
/// served_by.set("me@example.com");
/// assert_eq!(log.get().as_deref(), Some("me@example.com"));
/// ```
#[derive(Clone, Debug, Default)]
pub struct ServedBy(Arc<Mutex<Option<String>>>);

impl ServedBy {
    /// Records the account (the latest one wins: a request may move to another account).
    pub fn set(&self, account: &str) {
        let mut slot = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if slot.as_deref() != Some(account) {
            *slot = Some(account.to_owned());
        }
    }

    /// The account, once an executor said which.
    pub fn get(&self) -> Option<String> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

impl RequestContext {
    /// The context of a request from `client` that came with `headers` (credentials removed).
    pub fn new(client: ClientId, mut headers: HeaderMap) -> Self {
        for name in [AUTHORIZATION, PROXY_AUTHORIZATION, COOKIE] {
            headers.remove(name);
        }
        headers.remove("x-api-key");
        Self {
            client,
            headers,
            served_by: ServedBy::default(),
        }
    }

    /// The same context, telling `served_by` which account serves the request.
    #[must_use]
    pub fn with_served_by(mut self, served_by: ServedBy) -> Self {
        self.served_by = served_by;
        self
    }

    /// Says which upstream account serves the request (for its log line and metrics).
    pub fn set_account(&self, account: &str) {
        self.served_by.set(account);
    }

    /// The cell the serving account is written to, for an executor that says it later than
    /// it holds the context.
    pub fn served_by(&self) -> ServedBy {
        self.served_by.clone()
    }

    /// The account that serves the request, once the executor said.
    pub fn account(&self) -> Option<String> {
        self.served_by.get()
    }

    /// A context with no headers, for callers that are not serving an HTTP request (tools,
    /// tests): the `local` client.
    pub fn local() -> Self {
        Self::new(ClientId::local(), HeaderMap::new())
    }

    /// Who sent the request.
    pub fn client(&self) -> &ClientId {
        &self.client
    }

    /// The request's headers, without those that carry credentials.
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// A header's value as text, if present and visible ASCII.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name)?.to_str().ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_is_short_hex_of_the_key_digest() {
        let id = ClientId::from_key(&Secret::new("k"));
        assert_eq!(id.as_str().len(), ID_HEX_DIGITS);
        assert!(id.as_str().bytes().all(|b| b.is_ascii_hexdigit()));
        // SHA-256("k") starts 8254c329a92850f6.
        assert_eq!(id.as_str(), "8254c329a92850f6");
    }

    #[test]
    fn every_credential_header_is_removed() {
        let mut headers = HeaderMap::new();
        for name in [
            "authorization",
            "x-api-key",
            "cookie",
            "proxy-authorization",
        ] {
            headers.insert(name, "secret".parse().unwrap());
        }
        headers.insert("x-codex-turn-state", "ts".parse().unwrap());
        let ctx = RequestContext::new(ClientId::local(), headers);
        assert_eq!(ctx.headers().len(), 1);
        assert_eq!(ctx.header("x-codex-turn-state"), Some("ts"));
        assert!(!format!("{ctx:?}").contains("secret"));
    }
}

//! Workspace routing: the origin each account's requests go to.
//!
//! The official client (Codex CLI 0.169; `official-http/02-GET-check.json` in the shared
//! recordings) asks `GET {chatgpt_base}/wham/accounts/check` for its account before its first
//! request and again after a token refresh, with `user-agent`, `authorization`,
//! `chatgpt-account-id` and `accept: */*` (no `originator`, no `version`). The answer lists the
//! accounts of the sign-in, each with a `workspace_backend_origin` (an `https` origin, or
//! `NO_CONSTRAINT`) and an `account_routing_override` (`NO_CONSTRAINT`, `us` or `us_cr`). The
//! client then sends its model requests to that origin, the API path kept
//! (`https://chatgpt.com/backend-api/codex` becomes `{origin}/backend-api/codex`), with
//! `x-openai-account-routing-override: us` (or `us_cr`) unless it is `NO_CONSTRAINT`: the
//! accounts of a data-residency workspace are served from another origin than chatgpt.com.
//!
//! byok does the same for every signed-in account, for `/responses` and `/models`, and keeps
//! the answer in memory: it asks again when the account's token changes (a refresh, another
//! sign-in) or the answer is an hour old. Where the check fails (no answer, a refusal, an
//! answer without a usable origin for the account, a base URL not ending in `/codex`), the
//! configured base URL serves, as it did before byok asked: the official client refuses to
//! send then, but a proxy or self-hosted backend without the endpoint must keep working. The
//! first failure of an account is logged at warn (never with a token), the others at debug,
//! and a failed check is tried again after five minutes.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use byok_auth::CodexIdentity;
use byok_types::{ByokError, OAuthToken, unix_now};
use hyper::Uri;
use hyper::header::{ACCEPT, HeaderMap, HeaderName, HeaderValue, USER_AGENT};
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::{add_account_headers, user_agent};
use crate::RetryPolicy;
use crate::upstream::Upstream;

/// The header that carries an account's routing override to the backend.
pub(crate) const ROUTING_OVERRIDE: HeaderName =
    HeaderName::from_static("x-openai-account-routing-override");
/// How long a check's answer is used.
const CHECK_EVERY_SECS: i64 = 3600;
/// How soon a failed check is tried again.
const RETRY_FAILED_SECS: i64 = 300;
/// How long a check may take (the official client's discovery timeout).
const CHECK_TIMEOUT: Duration = Duration::from_secs(15);
/// What an answer says when it sets no origin or override.
const NO_CONSTRAINT: &str = "NO_CONSTRAINT";

/// Where one account's requests go.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Route {
    /// The Codex base URL for this account, without a trailing slash.
    pub(crate) base_url: String,
    /// The routing override to send (`us`, `us_cr`); none for `NO_CONSTRAINT`.
    pub(crate) routing_override: Option<HeaderValue>,
}

impl Route {
    /// Adds the routing override, if any, to a request's headers.
    pub(crate) fn add_to(&self, headers: &mut HeaderMap) {
        if let Some(value) = &self.routing_override {
            headers.insert(ROUTING_OVERRIDE, value.clone());
        }
    }
}

/// Why a check's answer gives no route.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub(crate) enum RoutingError {
    /// The answer does not list the account.
    #[error("the answer does not list the account")]
    MissingWorkspace,
    /// The answer lists the account more than once.
    #[error("the answer lists the account more than once")]
    DuplicateWorkspace,
    /// The account's entry names no backend origin.
    #[error("the answer names no backend origin for the account")]
    MissingOrigin,
    /// The origin is not one byok sends tokens to.
    #[error(
        "the backend origin is not an https origin (scheme, host and port; http only on loopback)"
    )]
    InvalidOrigin,
    /// The override is none the backend defines.
    #[error("the account routing override is none of NO_CONSTRAINT, us, us_cr")]
    InvalidOverride,
}

/// Why a check failed, in words without secrets.
#[derive(Debug, thiserror::Error)]
enum CheckError {
    #[error("the token carries no ChatGPT account id")]
    NoAccountId,
    #[error("no answer within {} s", CHECK_TIMEOUT.as_secs())]
    Timeout,
    #[error(transparent)]
    Request(ByokError),
    #[error(transparent)]
    Answer(#[from] RoutingError),
}

impl CheckError {
    /// A refused token: the request that follows is refused too, refreshes the token and asks
    /// again with the new one, so this is no news worth a warning.
    fn is_unauthorized(&self) -> bool {
        matches!(self, Self::Request(err) if err.status() == 401)
    }
}

/// The route of the account `account_id` from an `accounts/check` answer, its requests sent to
/// `base_url`'s path on the origin the answer names (`NO_CONSTRAINT`: `base_url` itself).
///
/// The answer lists the accounts (`{"accounts": [{"id", "workspace_backend_origin",
/// "account_routing_override", ...}]}`, or a map of `{"account": {...}}` envelopes; `id` may
/// be `account_id`).
pub(crate) fn route_of(
    answer: &Value,
    account_id: &str,
    base_url: &str,
) -> Result<Route, RoutingError> {
    let entries: Vec<&Value> = match &answer["accounts"] {
        Value::Array(list) => list.iter().collect(),
        Value::Object(map) => map.values().map(|envelope| &envelope["account"]).collect(),
        _ => Vec::new(),
    };
    let id_of = |entry: &Value| {
        entry
            .get("id")
            .or_else(|| entry.get("account_id"))
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    let mut mine = entries
        .into_iter()
        .filter(|entry| id_of(entry).as_deref() == Some(account_id));
    let entry = mine.next().ok_or(RoutingError::MissingWorkspace)?;
    if mine.next().is_some() {
        return Err(RoutingError::DuplicateWorkspace);
    }
    let routing_override = match entry["account_routing_override"].as_str() {
        Some(NO_CONSTRAINT) => None,
        Some(value @ ("us" | "us_cr")) => HeaderValue::from_str(value).ok(),
        _ => return Err(RoutingError::InvalidOverride),
    };
    let origin = entry["workspace_backend_origin"]
        .as_str()
        .ok_or(RoutingError::MissingOrigin)?;
    let base_url = if origin == NO_CONSTRAINT {
        base_url.to_owned()
    } else {
        let path = base_url
            .parse::<Uri>()
            .map_err(|_| RoutingError::InvalidOrigin)?
            .path()
            .trim_end_matches('/')
            .to_owned();
        format!("{}{path}", checked_origin(origin)?)
    };
    Ok(Route {
        base_url,
        routing_override,
    })
}

/// `origin` as `scheme://host[:port]`, if it is one byok sends tokens to: `https`, or `http`
/// on a loopback host (a stand-in on this machine); no credentials, path, query or fragment.
fn checked_origin(origin: &str) -> Result<String, RoutingError> {
    let uri: Uri = origin.parse().map_err(|_| RoutingError::InvalidOrigin)?;
    let authority = uri.authority().ok_or(RoutingError::InvalidOrigin)?;
    let loopback = matches!(authority.host(), "127.0.0.1" | "localhost" | "[::1]");
    let scheme_ok = match uri.scheme_str() {
        Some("https") => true,
        Some("http") => loopback,
        _ => false,
    };
    let bare = matches!(uri.path(), "" | "/") && uri.query().is_none();
    if !scheme_ok
        || !bare
        || authority.as_str().contains('@')
        || origin.trim() != origin
        || origin.contains('#')
    {
        return Err(RoutingError::InvalidOrigin);
    }
    Ok(format!(
        "{}://{authority}",
        uri.scheme_str().unwrap_or("https")
    ))
}

/// The `accounts/check` address for a Codex base URL: `{chatgpt_base}/wham/accounts/check`,
/// where the Codex base is `{chatgpt_base}/codex` (`https://chatgpt.com/backend-api/codex`).
/// None for a base that does not end in `/codex`: byok cannot tell where to ask.
fn check_url(base_url: &str) -> Option<String> {
    let chatgpt_base = base_url.strip_suffix("/codex")?;
    Some(format!("{chatgpt_base}/wham/accounts/check"))
}

/// What byok knows of one account's route.
#[derive(Debug)]
struct Known {
    route: Route,
    /// A digest of the access token it was asked with (the token itself is not kept here).
    token: [u8; 32],
    checked_at: i64,
    failed: bool,
    /// Whether a failure of this account was logged at warn already.
    warned: bool,
}

impl Known {
    /// Whether it may still be used for `token` at `now`.
    fn fresh(&self, token: &[u8; 32], now: i64) -> bool {
        let lasts = if self.failed {
            RETRY_FAILED_SECS
        } else {
            CHECK_EVERY_SECS
        };
        self.token == *token && now - self.checked_at < lasts
    }
}

/// Each signed-in account's route, asked for and kept.
#[derive(Debug)]
pub(crate) struct Routing {
    /// One try per check: a failure falls back at once instead of holding the request.
    upstream: Upstream,
    identity: CodexIdentity,
    /// The configured Codex base URL, without a trailing slash: the fallback.
    base_url: String,
    check_url: Option<String>,
    known: Mutex<HashMap<String, Known>>,
    /// Held while a check runs, so that requests arriving together ask once.
    asking: tokio::sync::Mutex<()>,
}

impl Routing {
    pub(crate) fn new(upstream: &Upstream, identity: CodexIdentity, base_url: String) -> Self {
        let mut upstream = upstream.clone();
        upstream.retry = RetryPolicy::builder().max_attempts(1).build();
        Self {
            upstream,
            identity,
            check_url: check_url(&base_url),
            base_url,
            known: Mutex::default(),
            asking: tokio::sync::Mutex::default(),
        }
    }

    /// Where `account`'s requests go with `token`: the route its last check gave while it is
    /// fresh, else the one it gives now (or the configured base URL if it fails).
    pub(crate) async fn route(&self, account: &str, token: &OAuthToken) -> Route {
        let Some(check_url) = &self.check_url else {
            return self.fallback();
        };
        let digest: [u8; 32] = Sha256::digest(token.access_token.expose().as_bytes()).into();
        if let Some(route) = self.fresh(account, &digest) {
            return route;
        }
        let _asking = self.asking.lock().await;
        if let Some(route) = self.fresh(account, &digest) {
            return route;
        }
        let asked = tokio::time::timeout(CHECK_TIMEOUT, self.ask(check_url, token))
            .await
            .unwrap_or(Err(CheckError::Timeout));
        let mut known = self.known.lock().unwrap_or_else(PoisonError::into_inner);
        let warned = known.get(account).is_some_and(|k| k.warned);
        let unauthorized = asked.as_ref().is_err_and(CheckError::is_unauthorized);
        let (route, failed) = match asked {
            Ok(route) => {
                if route.base_url != self.base_url {
                    tracing::info!(
                        account,
                        base_url = route.base_url,
                        "workspace routing: the account's requests go to its workspace's origin"
                    );
                }
                (route, false)
            }
            Err(error) if !warned && !error.is_unauthorized() => {
                tracing::warn!(account, %error, "workspace routing check failed; the configured base URL serves the account");
                (self.fallback(), true)
            }
            Err(error) => {
                tracing::debug!(account, %error, "workspace routing check failed; the configured base URL serves the account");
                (self.fallback(), true)
            }
        };
        known.insert(
            account.to_owned(),
            Known {
                route: route.clone(),
                token: digest,
                checked_at: unix_now(),
                failed,
                // Kept through a run of failures, so that it is told once.
                warned: failed && (warned || !unauthorized),
            },
        );
        route
    }

    /// The base URL `account`'s last check routed it to, when that is not the configured one.
    pub(crate) fn routed_to(&self, account: &str) -> Option<String> {
        let known = self.known.lock().unwrap_or_else(PoisonError::into_inner);
        let known = known.get(account)?;
        (known.route.base_url != self.base_url).then(|| known.route.base_url.clone())
    }

    fn fresh(&self, account: &str, token: &[u8; 32]) -> Option<Route> {
        let known = self.known.lock().unwrap_or_else(PoisonError::into_inner);
        let known = known.get(account)?;
        known.fresh(token, unix_now()).then(|| known.route.clone())
    }

    fn fallback(&self) -> Route {
        Route {
            base_url: self.base_url.clone(),
            routing_override: None,
        }
    }

    /// One check, as the official client sends it.
    async fn ask(&self, check_url: &str, token: &OAuthToken) -> Result<Route, CheckError> {
        let account_id = token.account_id.as_ref().ok_or(CheckError::NoAccountId)?;
        let headers = self.headers(token).map_err(CheckError::Request)?;
        let (_, answer) = self
            .upstream
            .get_json(check_url, &headers)
            .await
            .map_err(CheckError::Request)?;
        Ok(route_of(&answer, account_id.as_str(), &self.base_url)?)
    }

    /// The official client's check headers, in its order. The user agent is the full one, as
    /// the official client's checks after its start-up carry it (`official-401/04-GET-check`;
    /// its very first check goes out before it knows its own suffix).
    fn headers(&self, token: &OAuthToken) -> byok_types::Result<HeaderMap> {
        let mut headers = HeaderMap::new();
        headers.insert(USER_AGENT, user_agent(&self.identity)?);
        add_account_headers(&mut headers, token)?;
        headers.insert(ACCEPT, HeaderValue::from_static("*/*"));
        Ok(headers)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const BASE: &str = "https://chatgpt.com/backend-api/codex";

    fn answer(origin: &str, routing: &str) -> Value {
        json!({"accounts": [
            {"id": "acct_other", "workspace_backend_origin": "https://other.example",
                "account_routing_override": "us"},
            {"id": "acct_1", "workspace_backend_origin": origin,
                "account_routing_override": routing, "plan_type": "enterprise"},
        ], "account_ordering": ["acct_1"], "default_account_id": "acct_1"})
    }

    #[test]
    fn the_accounts_origin_replaces_the_configured_one_and_keeps_the_path() {
        let route = route_of(&answer("https://eu.chatgpt.com", "us"), "acct_1", BASE).unwrap();
        assert_eq!(route.base_url, "https://eu.chatgpt.com/backend-api/codex");
        assert_eq!(route.routing_override, Some(HeaderValue::from_static("us")));
        let route = route_of(&answer("https://eu.chatgpt.com/", "us_cr"), "acct_1", BASE).unwrap();
        assert_eq!(route.base_url, "https://eu.chatgpt.com/backend-api/codex");
        assert_eq!(
            route.routing_override,
            Some(HeaderValue::from_static("us_cr"))
        );
    }

    #[test]
    fn no_constraint_keeps_the_configured_base_and_sends_no_override() {
        let route = route_of(&answer(NO_CONSTRAINT, NO_CONSTRAINT), "acct_1", BASE).unwrap();
        assert_eq!(route.base_url, BASE);
        assert_eq!(route.routing_override, None);
    }

    #[test]
    fn the_map_shape_and_account_id_are_read_too() {
        let answer = json!({"accounts": {"acct_1": {"account": {"account_id": "acct_1",
            "workspace_backend_origin": "https://eu.chatgpt.com",
            "account_routing_override": "NO_CONSTRAINT"}}}});
        let route = route_of(&answer, "acct_1", BASE).unwrap();
        assert_eq!(route.base_url, "https://eu.chatgpt.com/backend-api/codex");
    }

    #[test]
    fn answers_that_give_no_safe_origin_are_refused() {
        let refused = |origin: &str, routing: &str| {
            route_of(&answer(origin, routing), "acct_1", BASE).unwrap_err()
        };
        for origin in [
            "http://eu.chatgpt.com",
            "https://eu.chatgpt.com/backend-api",
            "https://user:pw@eu.chatgpt.com",
            "https://eu.chatgpt.com?x=1",
            " https://eu.chatgpt.com",
            "ftp://eu.chatgpt.com",
            "eu.chatgpt.com",
        ] {
            assert_eq!(
                refused(origin, "us"),
                RoutingError::InvalidOrigin,
                "{origin}"
            );
        }
        assert_eq!(
            refused("https://eu.chatgpt.com", "eu"),
            RoutingError::InvalidOverride
        );
        let missing = json!({"accounts": [{"id": "acct_1", "account_routing_override": "us"}]});
        assert_eq!(
            route_of(&missing, "acct_1", BASE),
            Err(RoutingError::MissingOrigin)
        );
        assert_eq!(
            route_of(&answer(NO_CONSTRAINT, NO_CONSTRAINT), "acct_9", BASE),
            Err(RoutingError::MissingWorkspace)
        );
        let twice = json!({"accounts": [{"id": "acct_1"}, {"id": "acct_1"}]});
        assert_eq!(
            route_of(&twice, "acct_1", BASE),
            Err(RoutingError::DuplicateWorkspace)
        );
    }

    #[test]
    fn http_is_accepted_on_loopback_only() {
        let route = route_of(
            &answer("http://127.0.0.1:4100", NO_CONSTRAINT),
            "acct_1",
            BASE,
        );
        assert_eq!(
            route.unwrap().base_url,
            "http://127.0.0.1:4100/backend-api/codex"
        );
    }

    #[test]
    fn the_check_is_asked_beside_the_codex_path() {
        assert_eq!(
            check_url(BASE).as_deref(),
            Some("https://chatgpt.com/backend-api/wham/accounts/check")
        );
        assert_eq!(check_url("http://127.0.0.1:9000"), None);
    }

    #[test]
    fn a_route_lasts_an_hour_a_failure_five_minutes_and_neither_past_a_new_token() {
        let known = |failed| Known {
            route: Route {
                base_url: BASE.into(),
                routing_override: None,
            },
            token: [1; 32],
            checked_at: 1000,
            failed,
            warned: failed,
        };
        assert!(known(false).fresh(&[1; 32], 1000 + 3599));
        assert!(!known(false).fresh(&[1; 32], 1000 + 3600));
        assert!(!known(false).fresh(&[2; 32], 1001));
        assert!(known(true).fresh(&[1; 32], 1000 + 299));
        assert!(!known(true).fresh(&[1; 32], 1000 + 300));
    }
}

//! The live model catalog of each signed-in account: `GET {codex_base}/models?client_version=V`,
//! asked as the official Codex CLI asks it
//! (`tests/data/codex-cli/chatgpt-mode/official-http-01.json`: `version`, `authorization`,
//! `chatgpt-account-id`, `originator`, `user-agent`, `accept: */*`).
//!
//! When it is asked, per account:
//! * at start (`byok serve`, `byok models`), unless the copy kept in `models_cache.json` is
//!   fresh: fetched within the hour for the same client version;
//! * then at most once an hour, in the background of a request (never delaying it);
//! * when an answer's `x-models-etag` differs from the tag of the catalog byok holds (the
//!   backend tags every answer with its catalog's version, which is how the official client
//!   learns of a change; a matching tag confirms the catalog instead), once per new tag;
//! * when the backend refuses a model as not supported, before byok answers the 404 (at most
//!   once a minute, so a client retrying a retired model does not turn into a request each).
//!
//! In a team (`state_url`), each fetch is told to the other instances (in Redis), and an
//! instance whose catalog is due takes the team's copy instead of asking the backend when that
//! copy will do ([`TeamCopy`]): fetched within the hour with the same client version (the
//! backend lists models per `client_version`, so a copy asked with another version would let
//! through, or refuse, other models), or, when an answer's tag changed, tagged so. A model the
//! backend refused, and `byok models`, always ask the backend.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};

use byok_auth::{AuthManager, CodexIdentity};
use byok_translate::codex_catalog;
use byok_types::{ByokError, OAuthToken, Result, unix_now};
use hyper::header::{ACCEPT, HeaderMap, HeaderName, HeaderValue, USER_AGENT};

use super::routing::Routing;
use super::{add_account_headers, user_agent};
use crate::models::{AccountModels, ModelCatalog};
use crate::upstream::Upstream;

/// How old a catalog may get before it is asked for again.
const REFRESH_EVERY_SECS: i64 = 3600;
/// How soon after a refused model the catalog may be asked for again.
const AFTER_REFUSAL_SECS: i64 = 60;
/// The header the backend tags its answers with: the version of the catalog they were served
/// with.
pub(crate) const MODELS_ETAG: &str = "x-models-etag";

/// Which copy of an account's catalog a team's other instances fetched will do instead of
/// asking the backend.
#[derive(Clone, Debug)]
pub(crate) enum TeamCopy {
    /// One fetched within the hour with this instance's client version.
    Fresh,
    /// One tagged so (an answer carried the tag), with this instance's client version.
    Tagged(String),
    /// None: the backend is asked.
    None,
}

/// What asks the backend for the catalogs and keeps them: shared (`Arc`) so that a refresh can
/// run in the background of the request that found it due.
#[derive(Debug)]
pub(crate) struct Catalogs {
    upstream: Upstream,
    auth: Arc<AuthManager>,
    /// Where each account's `{codex_base}` is.
    routing: Arc<Routing>,
    identity: CodexIdentity,
    pub(crate) catalog: Arc<ModelCatalog>,
    /// Where the catalogs are kept (`$BYOK_HOME/models_cache.json`); none: only in memory.
    cache: Option<PathBuf>,
    /// Account -> the Unix second byok last asked for its catalog.
    asked: Mutex<HashMap<String, i64>>,
    /// Account -> the last answer tag a refresh was started for.
    chased: Mutex<HashMap<String, String>>,
    /// Account -> held while its catalog is being fetched (one fetch at a time per account).
    fetching: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    /// Where a team's instances tell each other their fetched catalogs; none: alone.
    shared: Option<Arc<dyn byok_types::SharedCatalogs>>,
}

/// How a [`Catalogs`] reaches the backend and names itself.
pub(crate) struct Reach {
    pub(crate) upstream: Upstream,
    pub(crate) auth: Arc<AuthManager>,
    pub(crate) routing: Arc<Routing>,
    pub(crate) identity: CodexIdentity,
}

impl Catalogs {
    pub(crate) fn new(
        reach: Reach,
        catalog: Arc<ModelCatalog>,
        cache: Option<PathBuf>,
        shared: Option<Arc<dyn byok_types::SharedCatalogs>>,
    ) -> Self {
        Self {
            upstream: reach.upstream,
            auth: reach.auth,
            routing: reach.routing,
            identity: reach.identity,
            catalog,
            cache,
            asked: Mutex::default(),
            chased: Mutex::default(),
            fetching: Mutex::default(),
            shared,
        }
    }

    /// Asks the backend for `account`'s catalog now (unless the team's `copy` will do), keeps
    /// it and saves the cache.
    pub(crate) async fn refresh(&self, account: &str, copy: TeamCopy) -> Result<AccountModels> {
        let lock = self.fetch_lock(account);
        let _fetching = lock.lock().await;
        self.refresh_locked(account, copy).await
    }

    /// [`Self::refresh`], its account's fetch lock held by the caller.
    async fn refresh_locked(&self, account: &str, copy: TeamCopy) -> Result<AccountModels> {
        let now = unix_now();
        self.asked(account, now);
        if let Some(models) = self.team_copy(account, &copy, now).await {
            tracing::debug!(
                account,
                etag = models.etag.as_deref(),
                "model catalog taken from the team"
            );
            self.catalog.set(account, models.clone());
            self.save().await;
            return Ok(models);
        }
        let fetched = self.fetch(account).await;
        match &fetched {
            Ok(models) => {
                if let Some(shared) = &self.shared {
                    // Told before it is used here: an instance that sees it in use (a test, a
                    // load balancer's health check) may count on the team having it.
                    let ttl = REFRESH_EVERY_SECS.unsigned_abs();
                    shared.publish(account, &models.to_shared(), ttl).await;
                }
                tracing::debug!(
                    account,
                    models = models.models.len(),
                    etag = models.etag.as_deref(),
                    "model catalog fetched"
                );
                self.catalog.set(account, models.clone());
                self.save().await;
            }
            Err(err) => {
                tracing::info!(account, error = %err, "the model catalog could not be fetched; the last one known (or the bundled list) stays in use");
            }
        }
        fetched
    }

    /// The team's copy of `account`'s catalog, if `copy` says it will do.
    async fn team_copy(&self, account: &str, copy: &TeamCopy, now: i64) -> Option<AccountModels> {
        let shared = self
            .shared
            .as_ref()
            .filter(|_| !matches!(copy, TeamCopy::None))?;
        let models = AccountModels::from_shared(shared.get(account).await?)?;
        let usable = models.client_version == self.identity.version()
            && match copy {
                TeamCopy::Fresh => now - models.fetched_at < REFRESH_EVERY_SECS,
                TeamCopy::Tagged(tag) => models.etag.as_deref() == Some(tag.as_str()),
                TeamCopy::None => false,
            };
        usable.then_some(models)
    }

    /// Whether `account`'s catalog should be asked for: none is known, it is older than an
    /// hour, or it was asked with another client version; and byok has not asked within the
    /// hour (a backend that cannot answer is not asked on every request).
    pub(crate) fn due(&self, account: &str, now: i64) -> bool {
        let stale = self.catalog.account(account).is_none_or(|models| {
            now - models.fetched_at >= REFRESH_EVERY_SECS
                || models.client_version != self.identity.version()
        });
        stale && !self.asked_within(account, now, REFRESH_EVERY_SECS)
    }

    /// Starts a refresh of `account`'s catalog in the background if it is due.
    pub(crate) fn refresh_if_due(self: &Arc<Self>, account: &str) {
        if self.due(account, unix_now()) {
            self.refresh_in_background(account, TeamCopy::Fresh);
        }
    }

    fn refresh_in_background(self: &Arc<Self>, account: &str, copy: TeamCopy) {
        // Claimed now, so that the requests that follow do not start another, and locked now,
        // so that one waiting for this answer (`after_refusal`) gets it.
        self.asked(account, unix_now());
        let Ok(fetching) = self.fetch_lock(account).try_lock_owned() else {
            return; // being fetched already
        };
        let (this, account) = (Arc::clone(self), account.to_owned());
        tokio::spawn(async move {
            let _fetching = fetching;
            let _ = this.refresh_locked(&account, copy).await;
        });
    }

    /// An answer for `account` carried the catalog tag `etag`: the same tag confirms the
    /// catalog, another one means it changed.
    pub(crate) fn answered_with(self: &Arc<Self>, account: &str, etag: Option<&str>) {
        let Some(etag) = etag else {
            return;
        };
        match self.catalog.account(account) {
            Some(models) if models.etag.as_deref() == Some(etag) => {
                self.catalog.confirm(account, unix_now());
            }
            // Once per tag: a backend whose catalog answer carries another tag than its
            // other answers must not make every request ask again.
            _ if self.chase(account, etag) => {
                tracing::debug!(
                    account,
                    etag,
                    "the backend's catalog changed; asking for it"
                );
                self.refresh_in_background(account, TeamCopy::Tagged(etag.to_owned()));
            }
            _ => {}
        }
    }

    /// The backend refused a model for `account`: its catalog is asked for again (unless it
    /// was within the minute), so that the 404 names what it serves now.
    pub(crate) async fn after_refusal(&self, account: &str) {
        if self.asked_within(account, unix_now(), AFTER_REFUSAL_SECS) {
            // Asked just now (maybe still asking, in the background): that answer will do.
            let lock = self.fetch_lock(account);
            drop(lock.lock().await);
        } else {
            let _ = self.refresh(account, TeamCopy::None).await;
        }
    }

    fn fetch_lock(&self, account: &str) -> Arc<tokio::sync::Mutex<()>> {
        Arc::clone(
            self.fetching
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .entry(account.to_owned())
                .or_default(),
        )
    }

    /// Whether `etag` is a tag no refresh was started for yet (and now one is).
    fn chase(&self, account: &str, etag: &str) -> bool {
        let mut chased = self.chased.lock().unwrap_or_else(PoisonError::into_inner);
        if chased.get(account).is_some_and(|seen| seen == etag) {
            return false;
        }
        chased.insert(account.to_owned(), etag.to_owned());
        true
    }

    fn asked(&self, account: &str, now: i64) {
        self.asked
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(account.to_owned(), now);
    }

    fn asked_within(&self, account: &str, now: i64, secs: i64) -> bool {
        self.asked
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(account)
            .is_some_and(|at| now - at < secs)
    }

    /// One `GET /models` as `account`, its token refreshed once if the backend refuses it.
    async fn fetch(&self, account: &str) -> Result<AccountModels> {
        let token = self.auth.get_token_for(account).await?;
        let answer = match self.get_models(account, &token).await {
            Err(ByokError::Upstream { status: 401, .. }) => {
                let token = self.auth.refresh_unless_rotated(account).await?;
                self.get_models(account, &token).await
            }
            other => other,
        };
        let (headers, body) = answer?;
        let models = codex_catalog(&body)
            .filter(|m| !m.is_empty())
            .ok_or_else(|| {
                ByokError::BadGateway("the backend's model catalog lists no models".into())
            })?;
        let etag = [MODELS_ETAG, "etag"]
            .iter()
            .find_map(|name| headers.get(*name)?.to_str().ok())
            .map(str::to_owned);
        Ok(AccountModels::new(
            models,
            etag,
            unix_now(),
            self.identity.version().to_owned(),
        ))
    }

    async fn get_models(
        &self,
        account: &str,
        token: &OAuthToken,
    ) -> Result<(HeaderMap, serde_json::Value)> {
        let query = serde_urlencoded::to_string([("client_version", self.identity.version())])
            .map_err(|e| ByokError::Internal(e.to_string()))?;
        let route = self.routing.route(account, token).await;
        let url = format!("{}/models?{query}", route.base_url);
        let mut headers = self.headers(token)?;
        route.add_to(&mut headers);
        self.upstream.get_json(&url, &headers).await
    }

    /// The official client's `/models` headers, in its order.
    fn headers(&self, token: &OAuthToken) -> Result<HeaderMap> {
        let mut headers = HeaderMap::new();
        let version = HeaderValue::from_str(self.identity.version())
            .map_err(|_| ByokError::Config("the Codex client version is not a header".into()))?;
        headers.insert(HeaderName::from_static("version"), version);
        add_account_headers(&mut headers, token)?;
        headers.insert(
            HeaderName::from_static("originator"),
            HeaderValue::from_static(self.identity.originator()),
        );
        headers.insert(USER_AGENT, user_agent(&self.identity)?);
        headers.insert(ACCEPT, HeaderValue::from_static("*/*"));
        Ok(headers)
    }

    /// Writes the catalogs to the cache file, off the async workers.
    async fn save(&self) {
        let Some(path) = self.cache.clone() else {
            return;
        };
        let catalog = Arc::clone(&self.catalog);
        let saved = tokio::task::spawn_blocking(move || catalog.save(&path)).await;
        if let Ok(Err(err)) = saved {
            tracing::warn!(error = %err, "could not save the model catalog cache");
        }
    }
}

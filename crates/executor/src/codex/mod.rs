//! OAuth mode: the ChatGPT Codex backend, reached with the signed-in accounts in turn.
//!
//! [`CodexBackend::send`] is the one way a Responses body reaches the backend; the fronts
//! (Chat, Responses: [`front`]) translate a client's request into such a body and back.

mod catalog;
mod front;
mod hold;
mod pool;
mod routing;
mod session;
mod status;

use std::sync::Arc;

use byok_auth::{AuthError, AuthManager, CodexIdentity};
use byok_store::ResponseStore;
use byok_types::{ByokError, OAuthToken, ProviderId, Result, unix_now};
use bytes::Bytes;
use hyper::header::{ACCEPT, AUTHORIZATION, HeaderMap, HeaderName, HeaderValue, USER_AGENT};
use serde_json::Value;

use crate::models::{AccountModels, ModelCatalog};
use crate::upstream::{Sender, Upstream};
use crate::upstream_error::{says_client_too_old, says_model_unsupported};
use crate::wait::{all_resting, rest_until};
use catalog::{Catalogs, MODELS_ETAG, Reach, TeamCopy};
pub(crate) use hold::Started;
use hold::{LimitsSink, hold_back};
use pool::{AccountPool, Turn};
use routing::Routing;
pub(crate) use session::Conversation;
use session::{Session, Sessions, TURN_STATE};

/// What a user with no credentials at all is told.
const NO_CREDENTIALS: &str = "no credentials: sign in with `byok login` (ChatGPT account), \
    reuse a Codex CLI sign-in with `byok import-codex-cli`, or set `OPENAI_API_KEY`";

/// The ChatGPT Codex backend with its accounts: the sign-ins (tokens, refresh), the pool that
/// takes turns and rests accounts at their usage limit, and the headers the backend expects.
#[derive(Debug)]
pub(crate) struct CodexBackend {
    upstream: Upstream,
    /// The ChatGPT sign-ins; none means every request is answered 401 with how to sign in.
    auth: Option<Arc<AuthManager>>,
    /// The configured base URL, without a trailing slash; each account's requests go where its
    /// workspace routing says (`routing.rs`), this by default.
    base_url: String,
    /// Each account's origin, from `wham/accounts/check`.
    routing: Arc<Routing>,
    /// Who byok says it is: the official Codex CLI (`identity.rs` of byok-auth).
    pub(crate) identity: CodexIdentity,
    pool: AccountPool,
    /// The account that served each recent conversation, and the turn states to echo.
    /// (Boxed: two maps would make every executor as large as this part.)
    sessions: Box<Sessions>,
    /// Where served responses are kept for later references (`stored.rs`); none: not kept.
    pub(crate) store: Option<Arc<dyn ResponseStore>>,
    /// The model catalog requests are resolved against.
    catalog: Arc<ModelCatalog>,
    /// What asks the backend for each account's catalog; none without sign-ins.
    catalogs: Option<Arc<Catalogs>>,
    /// The rests a team's other instances announced, and where this one announces its own.
    shared_rests: Option<Arc<dyn byok_types::SharedRests>>,
    /// Which account served each conversation last, as a team's instances agree on it; none:
    /// `sessions` alone remembers.
    shared_affinity: Option<Arc<dyn byok_types::SharedAffinity>>,
    /// Where the accounts' rate-limit figures are told to and read from a team's other
    /// instances; none: the figures this instance saw alone.
    shared_ratelimits: Option<Arc<dyn byok_types::SharedRateLimits>>,
}

/// What a [`CodexBackend`] is built from.
pub(crate) struct Parts {
    pub(crate) upstream: Upstream,
    pub(crate) auth: Option<Arc<AuthManager>>,
    pub(crate) base_url: String,
    pub(crate) identity: CodexIdentity,
    pub(crate) store: Option<Arc<dyn ResponseStore>>,
    pub(crate) catalog: Arc<ModelCatalog>,
    pub(crate) models_cache: Option<std::path::PathBuf>,
    pub(crate) shared_rests: Option<Arc<dyn byok_types::SharedRests>>,
    pub(crate) shared_affinity: Option<Arc<dyn byok_types::SharedAffinity>>,
    pub(crate) shared_ratelimits: Option<Arc<dyn byok_types::SharedRateLimits>>,
    pub(crate) shared_catalogs: Option<Arc<dyn byok_types::SharedCatalogs>>,
}

impl CodexBackend {
    pub(crate) fn new(parts: Parts) -> Self {
        let routing = Arc::new(Routing::new(
            &parts.upstream,
            parts.identity.clone(),
            parts.base_url.clone(),
        ));
        let catalogs = parts.auth.as_ref().map(|auth| {
            let reach = Reach {
                upstream: parts.upstream.clone(),
                auth: Arc::clone(auth),
                routing: Arc::clone(&routing),
                identity: parts.identity.clone(),
            };
            Arc::new(Catalogs::new(
                reach,
                Arc::clone(&parts.catalog),
                parts.models_cache,
                parts.shared_catalogs,
            ))
        });
        Self {
            upstream: parts.upstream,
            auth: parts.auth,
            base_url: parts.base_url,
            routing,
            identity: parts.identity,
            pool: AccountPool::default(),
            sessions: Box::default(),
            store: parts.store,
            catalog: parts.catalog,
            catalogs,
            shared_rests: parts.shared_rests,
            shared_affinity: parts.shared_affinity,
            shared_ratelimits: parts.shared_ratelimits,
        }
    }

    /// Asks the backend for the catalog of every signed-in account (`due_only`: those whose
    /// kept copy is missing, older than an hour or of another client version), one account
    /// after the other; what each answered.
    pub(crate) async fn refresh_models(
        &self,
        due_only: bool,
    ) -> Result<Vec<(String, Result<AccountModels>)>> {
        let accounts = self.signed_in_accounts().await?;
        let Some(catalogs) = &self.catalogs else {
            return Ok(Vec::new());
        };
        self.catalog.keep_only(&accounts);
        let now = unix_now();
        let mut answers = Vec::new();
        for account in accounts {
            if due_only && !catalogs.due(&account, now) {
                continue;
            }
            // Due: the team's fresh copy will do; all (`byok models`): the backend is asked.
            let copy = if due_only {
                TeamCopy::Fresh
            } else {
                TeamCopy::None
            };
            let answer = catalogs.refresh(&account, copy).await;
            answers.push((account, answer));
        }
        Ok(answers)
    }

    /// A 404 for a model no signed-in account's catalog holds, naming those it does.
    pub(crate) fn unknown_model(&self, model: &str) -> ByokError {
        ByokError::NotFound(format!(
            "the model `{model}` is not served by the ChatGPT Codex backend for the signed-in \
             accounts (retired, or never one of its models); current models: {}; `byok models` \
             lists them with their effort aliases",
            self.catalog.listed().join(", ")
        ))
    }

    /// Refuses, before anything is sent, a model the live catalogs do not hold. With the
    /// bundled list only, the backend decides (it may serve models byok does not know yet).
    pub(crate) fn check_model(&self, model: &str) -> Result<()> {
        if !model.is_empty()
            && self.catalog.is_live()
            && !self.catalog.get().iter().any(|entry| entry.id == model)
        {
            return Err(self.unknown_model(model));
        }
        Ok(())
    }

    /// The base URL, without a trailing slash.
    pub(crate) fn base_url(&self) -> &str {
        &self.base_url
    }

    /// Sends a Responses body to the backend: the one entry point every front (Chat,
    /// Responses, and any other that can build a Responses body) goes through.
    ///
    /// `body` must be what the backend accepts, i.e. byok-translate's Codex shaping
    /// (`chat_to_responses` with `Preset::Codex`, or `responses_for_codex`): `store: false`
    /// and `stream: true` are set there, not here. `conversation` is the request's
    /// conversation ([`Conversation::of`]): its session, prompt cache key and turn state go
    /// with the body as `session.rs` says. This picks the account (the one that served the
    /// conversation last, else the next in turn; one at its usage limit rests and the next
    /// one serves), sets the identity and session headers, retries what is worth retrying,
    /// and refreshes a refused token once. `Ok` is a 2xx answer read up to its first output
    /// event ([`hold`]): a failure the backend reports inside the stream before that is
    /// handled as the HTTP error it stands for (an overload tried again, a usage limit
    /// resting the account, a rate limit answered 429). A refusal of the model itself becomes
    /// a 404 that names it.
    pub(crate) async fn send(
        &self,
        conversation: &Conversation,
        mut body: Value,
    ) -> Result<Started> {
        let model = body
            .get("model")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let model = model.as_str();
        let accounts = self.signed_in_accounts().await?;
        let now = unix_now();
        // A team's other instances may have rested an account a moment ago: their rests
        // first, so this request does not spend a try on it.
        if let Some(shared) = &self.shared_rests {
            for (account, until) in shared.resting(now).await {
                if self
                    .pool
                    .resting_until(&account, now)
                    .is_none_or(|known| known < until)
                {
                    self.pool.rest(&account, until);
                }
            }
        }
        let mut order = match self.pool.turn(&accounts, now) {
            Turn::Serve(order) => order,
            Turn::AllResting { earliest_reset } => {
                return Err(all_resting(None, earliest_reset, now));
            }
        };
        // Accounts whose live catalog lacks the model are not asked (the catalogs are per
        // plan), unless none has it: then the backend decides.
        let serving: Vec<String> = order
            .iter()
            .filter(|account| self.catalog.serves(account, model))
            .cloned()
            .collect();
        if !serving.is_empty() {
            order = serving;
        }
        self.sessions
            .prefer(
                conversation,
                &mut order,
                self.shared_affinity.as_deref(),
                now,
            )
            .await;
        let mut last_limit = None;
        let mut last_refused = None;
        for account in order {
            if let Some(catalogs) = &self.catalogs {
                catalogs.refresh_if_due(&account);
            }
            let session = conversation.session(&account, &self.sessions, now);
            let filled = conversation.body_for(&mut body, &account, &self.identity);
            let bytes = serde_json::to_vec(&body).map_err(|e| ByokError::Internal(e.to_string()));
            // Another account derives other ids: the next try fills them in afresh.
            filled.undo(&mut body);
            let bytes = Bytes::from(bytes?);
            match self.send_as(&account, &session, &bytes).await {
                Err(err @ ByokError::UsageLimit { .. }) => {
                    let until = rest_until(&err, now);
                    tracing::info!(account, until, "usage limit reached; the account rests");
                    self.pool.rest(&account, until);
                    if let Some(shared) = &self.shared_rests {
                        // Told before the client hears of it: the next request, on any
                        // instance, goes to another account.
                        shared.rest(&account, until).await;
                    }
                    last_limit = Some(err);
                }
                // This account's sign-in does not work (even refreshed): another one may.
                Err(err) if err.status() == 401 => {
                    tracing::warn!(account, error = %err, "the account's credentials were refused");
                    last_refused = Some(err);
                }
                Err(err) => return Err(self.model_error(err, &account, model).await),
                Ok(response) => {
                    conversation.served_as(&account);
                    self.sessions.served(
                        conversation,
                        &account,
                        self.shared_affinity.as_ref(),
                        unix_now(),
                    );
                    return Ok(response);
                }
            }
        }
        if let Some(err) = last_refused.filter(|_| last_limit.is_none()) {
            return Err(err);
        }
        let now = unix_now();
        let earliest = self.pool.earliest_reset(now).unwrap_or(now);
        Err(all_resting(last_limit, earliest, now))
    }

    /// The sign-ins; `signed_in_accounts` found some, so they exist.
    fn auth(&self) -> Result<&AuthManager> {
        self.auth
            .as_deref()
            .ok_or_else(|| ByokError::Unauthorized(NO_CREDENTIALS.into()))
    }

    /// The names of the signed-in accounts; none is a 401 that says how to sign in.
    async fn signed_in_accounts(&self) -> Result<Vec<String>> {
        let Some(auth) = &self.auth else {
            return Err(ByokError::Unauthorized(NO_CREDENTIALS.into()));
        };
        match auth.accounts().await {
            Ok(accounts) if !accounts.is_empty() => Ok(accounts),
            Ok(_) => Err(ByokError::Unauthorized(NO_CREDENTIALS.into())),
            Err(AuthError::NotSignedIn { store }) => Err(ByokError::Unauthorized(format!(
                "{NO_CREDENTIALS} (nothing in {store})"
            ))),
            Err(err) => Err(err.into()),
        }
    }

    /// One account's try: retried as the policy says, and once more after a token refresh if
    /// the backend refused the token (401). Refused again, the sign-in itself is gone: a 401
    /// that says how to sign in again.
    async fn send_as(&self, account: &str, session: &Session, body: &Bytes) -> Result<Started> {
        let token = self.auth()?.get_token_for(account).await?;
        match self.send_with(account, &token, session, body).await {
            Err(ByokError::Upstream { status: 401, .. }) => {
                tracing::info!(account, "the backend refused the token; refreshing it");
                // Naming the refused token: requests refused with it at once cause one refresh.
                let token = self
                    .auth()?
                    .refresh_rejected(account, &token.access_token)
                    .await?;
                match self.send_with(account, &token, session, body).await {
                    Err(ByokError::Upstream { status: 401, .. }) => {
                        Err(self.auth()?.refused_after_refresh(account).await.into())
                    }
                    other => other,
                }
            }
            other => other,
        }
    }

    async fn send_with(
        &self,
        account: &str,
        token: &OAuthToken,
        session: &Session,
        body: &Bytes,
    ) -> Result<Started> {
        let route = self.routing.route(account, token).await;
        let mut headers = self.codex_headers(token, session)?;
        route.add_to(&mut headers);
        let url = format!("{}/responses", route.base_url);
        let sender = Sender {
            provider: ProviderId::Codex,
            account,
        };
        let limits = LimitsSink {
            store: self.upstream.ratelimit.as_ref(),
            account,
        };
        let idle = self.upstream.idle_timeout;
        self.upstream
            .post_then(&url, &headers, body, sender, |response| {
                let turn_state = response.headers().get(TURN_STATE);
                self.sessions
                    .keep_turn_state(session, turn_state, unix_now());
                if let Some(catalogs) = &self.catalogs {
                    let etag = response.headers().get(MODELS_ETAG);
                    catalogs.answered_with(account, etag.and_then(|v| v.to_str().ok()));
                }
                hold_back(response, idle, limits)
            })
            .await
    }

    /// The headers of a `/responses` request, in the order the official client sends them
    /// (`version` first, the identity last); `content-type` is added by the transport.
    fn codex_headers(&self, token: &OAuthToken, session: &Session) -> Result<HeaderMap> {
        let identity = &self.identity;
        let mut headers = HeaderMap::new();
        let version = HeaderValue::from_str(identity.version())
            .map_err(|_| ByokError::Config("the Codex client version is not a header".into()))?;
        headers.insert(HeaderName::from_static("version"), version);
        for (name, value) in &session.headers {
            headers.insert(name.clone(), value.clone());
        }
        headers.insert(ACCEPT, HeaderValue::from_static("text/event-stream"));
        if !add_account_headers(&mut headers, token)? {
            tracing::warn!("the token carries no ChatGPT account id; the backend may refuse it");
        }
        headers.insert(
            HeaderName::from_static("originator"),
            HeaderValue::from_static(identity.originator()),
        );
        headers.insert(USER_AGENT, user_agent(identity)?);
        Ok(headers)
    }
}

/// A value of the sign-in or identity that an HTTP header cannot carry.
fn unsendable(what: &str) -> ByokError {
    ByokError::Config(format!(
        "the {what} holds characters an HTTP header cannot carry; sign in again with `byok login`"
    ))
}

/// Adds `authorization` (marked sensitive, so it is never logged) and `chatgpt-account-id`,
/// as every request to the backend carries them (`/responses`, `/models`, `accounts/check`);
/// whether the token had an account id to send.
pub(crate) fn add_account_headers(headers: &mut HeaderMap, token: &OAuthToken) -> Result<bool> {
    let mut auth = HeaderValue::from_str(&format!("Bearer {}", token.access_token.expose()))
        .map_err(|_| unsendable("access token"))?;
    auth.set_sensitive(true);
    headers.insert(AUTHORIZATION, auth);
    let Some(account_id) = &token.account_id else {
        return Ok(false);
    };
    let value = HeaderValue::from_str(account_id.as_str()).map_err(|_| unsendable("account id"))?;
    headers.insert(HeaderName::from_static("chatgpt-account-id"), value);
    Ok(true)
}

/// The official client's `User-Agent` as byok sends it.
pub(crate) fn user_agent(identity: &CodexIdentity) -> Result<HeaderValue> {
    HeaderValue::from_str(identity.user_agent()).map_err(|_| unsendable("user agent"))
}

impl CodexBackend {
    /// A backend refusal of the model itself becomes a 404 naming the models served now:
    /// the account's catalog is asked for again first (the refusal says it changed). A model
    /// refused because byok's client version is too old for it becomes a 400 that names the
    /// setting to change: only the user can (upgrading is what the backend advises, and byok's
    /// version is a setting so that users can follow the backend without a new release).
    async fn model_error(&self, err: ByokError, account: &str, model: &str) -> ByokError {
        match &err {
            ByokError::Upstream { status, body, .. } if says_client_too_old(*status, body) => {
                self.client_too_old(model)
            }
            ByokError::Upstream { status, body, .. } if says_model_unsupported(*status, body) => {
                if let Some(catalogs) = &self.catalogs {
                    catalogs.after_refusal(account).await;
                }
                self.unknown_model(model)
            }
            _ => err,
        }
    }

    /// The 400 for a model the backend serves only to newer Codex clients than byok says it
    /// is: what to set, where, and to what.
    fn client_too_old(&self, model: &str) -> ByokError {
        ByokError::invalid_param(
            "model",
            "client_version_too_old",
            format!(
                "the ChatGPT Codex backend serves `{model}` only to newer Codex clients than \
                 byok presents itself as (Codex CLI {}): set `codex_client_version` in \
                 byok.toml (or BYOK_CODEX_CLIENT_VERSION, or --codex-client-version) to the \
                 current Codex CLI's version (`codex --version`; byok's default is {}), then \
                 restart byok",
                self.identity.version(),
                byok_auth::identity::DEFAULT_CLIENT_VERSION,
            ),
        )
    }
}

//! `CodexExecutor`: one OpenAI account behind an OpenAI-compatible interface.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use byok_auth::{AuthManager, CodexIdentity};
use byok_store::ResponseStore;
use byok_translate::{ClaudeModels, Preset, ReasoningMode, estimate_input_tokens};
use byok_types::{
    ByokError, ChatRequest, Metrics, ProviderExecutor, ProviderId, ProviderResponse,
    ProviderStatus, RateLimitStore, RequestContext, Result, Secret, SharedAffinity, SharedCatalogs,
    SharedRateLimits, SharedRests,
};
use serde_json::Value;

use crate::codex::{CodexBackend, Parts};
use crate::models::{AccountModels, ModelCatalog};
use crate::openai_api::OpenAiApi;
use crate::{ProviderHttp, RetryPolicy};

/// The OpenAI API's address, for API-key mode.
pub const DEFAULT_OPENAI_BASE_URL: &str = "https://api.openai.com";
/// The ChatGPT Codex backend's address, for OAuth mode.
pub const DEFAULT_CODEX_BASE_URL: &str = "https://chatgpt.com/backend-api/codex";
/// How long a stream may stay silent before byok gives up on it.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(300);

/// One account's answer to [`CodexExecutor::refresh_models`].
#[derive(Debug)]
#[non_exhaustive]
pub struct ModelsAnswer {
    /// The account asked.
    pub account: String,
    /// Its live catalog, or why it could not be had (the last one known stays in use).
    pub answer: Result<AccountModels>,
}

/// Which upstream a [`CodexExecutor`] speaks to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Mode {
    /// An OpenAI API key (`sk-...`): the OpenAI API, requests passed through.
    ApiKey,
    /// A ChatGPT sign-in: the Codex backend, Chat Completions translated to Responses.
    OAuth,
}

impl Mode {
    /// The upstream this mode speaks to.
    pub fn provider(self) -> ProviderId {
        match self {
            Self::ApiKey => ProviderId::OpenAi,
            Self::OAuth => ProviderId::Codex,
        }
    }
}

impl std::fmt::Display for Mode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::ApiKey => "OpenAI API key",
            Self::OAuth => "ChatGPT sign-in (Codex backend)",
        })
    }
}

/// Answers Chat Completions and Responses requests from an OpenAI account: with an API key
/// through the OpenAI API, otherwise through the ChatGPT Codex backend with the signed-in
/// accounts of its [`AuthManager`] (taking turns).
///
/// Built with [`CodexExecutor::builder`]; see the crate docs for an example. The mode is chosen
/// once, when it is built: inside it is the upstream transport shared by both modes and either
/// the OpenAI API part or the Codex backend part.
pub struct CodexExecutor {
    upstream: Upstream,
    reasoning: ReasoningMode,
    /// Client model name -> the model that serves it.
    aliases: BTreeMap<String, String>,
    claude_models: ClaudeModels,
    models: Arc<ModelCatalog>,
}

/// The upstream a [`CodexExecutor`] was built for.
#[derive(Debug)]
enum Upstream {
    OpenAi(OpenAiApi),
    Codex(CodexBackend),
}

#[bon::bon]
impl CodexExecutor {
    /// The executor for these credentials: API-key mode when `api_key` is set (and not
    /// empty), else ChatGPT sign-in mode with the accounts of `auth` (none: every request is
    /// answered 401 with how to sign in).
    #[builder]
    pub fn new(
        /// The shared HTTP client.
        #[builder(into)]
        http: ProviderHttp,
        /// The ChatGPT sign-ins (OAuth mode); API-key mode needs none.
        #[builder(into)]
        auth: Option<Arc<AuthManager>>,
        /// An OpenAI API key: when set, API-key mode.
        #[builder(into)]
        api_key: Option<Secret>,
        /// The upstream's base URL for the mode in use (defaults: [`DEFAULT_OPENAI_BASE_URL`],
        /// [`DEFAULT_CODEX_BASE_URL`]).
        #[builder(into)]
        base_url: Option<String>,
        /// Where the rate-limit headers of every answer are kept.
        #[builder(into)]
        ratelimit: Option<Arc<RateLimitStore>>,
        /// Who byok says it is to the Codex backend: the official Codex CLI's originator, user
        /// agent and version, and the installation id (default: the identity of `auth`, which
        /// the token refresh uses too, else [`CodexIdentity::default`]).
        identity: Option<CodexIdentity>,
        /// How reasoning summaries reach Chat clients (default `reasoning_content`).
        #[builder(default)]
        reasoning: ReasoningMode,
        /// Model names the client may use for others (`[aliases]` in byok.toml, e.g.
        /// `gpt-4o` for `gpt-5.5`); answers report the name the client used.
        #[builder(default)]
        aliases: BTreeMap<String, String>,
        /// The GPT models (or aliases) that answer Anthropic clients' Claude model names, by
        /// family (default: `gpt-5.5` at high, medium and low effort for opus, sonnet, haiku).
        #[builder(default)]
        claude_models: ClaudeModels,
        /// How long the upstream may stay silent, for the answer's head or within a stream
        /// (300 s).
        #[builder(default = DEFAULT_IDLE_TIMEOUT)]
        idle_timeout: Duration,
        /// Where responses served in ChatGPT mode are kept, so that later requests may refer to
        /// them (`previous_response_id`, `item_reference`) and `GET /v1/responses/{id}`
        /// answers. None: nothing is kept, and such references are refused. API-key mode
        /// needs none: the OpenAI API keeps responses itself.
        #[builder(into)]
        store: Option<Arc<dyn ResponseStore>>,
        /// How requests that failed before their first byte are retried (3 tries).
        #[builder(default)]
        retry: RetryPolicy,
        /// Where upstream errors and retries are counted (share the server's, so that one
        /// `GET /metrics` shows them).
        #[builder(into)]
        metrics: Option<Metrics>,
        /// Where the live model catalogs are kept between runs (`$BYOK_HOME/models_cache.json`);
        /// none: only in memory. Read when the executor is built.
        #[builder(into)]
        models_cache: Option<std::path::PathBuf>,
        /// Where the accounts' usage-limit rests are shared with a team's other instances;
        /// none: this executor's pool alone knows them.
        #[builder(into)]
        shared_rests: Option<Arc<dyn SharedRests>>,
        /// Where the account that served each conversation last is shared with a team's other
        /// instances, so that turn 2 through another instance goes to the account whose prompt
        /// cache holds turn 1; none: this executor's memory alone knows it.
        #[builder(into)]
        shared_affinity: Option<Arc<dyn SharedAffinity>>,
        /// Where the accounts' latest rate-limit figures are shared with a team's other
        /// instances: [`status`](Self::status) shows the newest any instance saw, and
        /// [`publish_ratelimits`](Self::publish_ratelimits) tells them what this one saw;
        /// none: the figures of `ratelimit` alone.
        #[builder(into)]
        shared_ratelimits: Option<Arc<dyn SharedRateLimits>>,
        /// Where the accounts' live model catalogs are shared with a team's other instances:
        /// one instance's fetch serves them all (within the hour, for the same client
        /// version); none: each asks the backend itself.
        #[builder(into)]
        shared_catalogs: Option<Arc<dyn SharedCatalogs>>,
    ) -> Self {
        let transport = crate::upstream::Upstream {
            http,
            ratelimit,
            idle_timeout,
            retry,
            metrics,
        };
        let base = |default: &str| {
            let mut url = base_url.unwrap_or_else(|| default.to_owned());
            url.truncate(url.trim_end_matches('/').len());
            url
        };
        let identity = identity
            .or_else(|| auth.as_ref().map(|auth| auth.identity().clone()))
            .unwrap_or_default();
        let models = Arc::new(ModelCatalog::default());
        let upstream = if let Some(key) = api_key.filter(|key| !key.is_empty()) {
            Upstream::OpenAi(OpenAiApi::new(
                transport,
                key,
                base(DEFAULT_OPENAI_BASE_URL),
            ))
        } else {
            if let Some(path) = &models_cache {
                models.load(path);
            }
            Upstream::Codex(CodexBackend::new(Parts {
                upstream: transport,
                auth,
                base_url: base(DEFAULT_CODEX_BASE_URL),
                identity,
                store,
                catalog: Arc::clone(&models),
                models_cache,
                shared_rests,
                shared_affinity,
                shared_ratelimits,
                shared_catalogs,
            }))
        };
        Self {
            upstream,
            reasoning,
            aliases,
            claude_models,
            models,
        }
    }
}

impl CodexExecutor {
    /// The mode the credentials select, e.g. for a start-up message. An empty API key counts
    /// as none.
    pub fn mode(&self) -> Mode {
        match self.upstream {
            Upstream::OpenAi(_) => Mode::ApiKey,
            Upstream::Codex(_) => Mode::OAuth,
        }
    }

    /// The model ids this executor lists, aliases such as `gpt-5.6-sol-high` and the
    /// configured `[aliases]` included, hidden models left out: the live catalogs' once known,
    /// else the bundled list (which holds `o4-mini`). Never empty.
    pub fn supported_models(&self) -> Vec<String> {
        let mut ids = self.models.ids(self.mode() == Mode::ApiKey);
        // A configured alias is a model name clients may pick, like any other.
        ids.extend(
            self.aliases
                .keys()
                .filter(|a| !ids.contains(a))
                .cloned()
                .collect::<Vec<_>>(),
        );
        ids
    }

    /// The model catalogs in use: each signed-in account's live one once known, the bundled
    /// list until then (and always in API-key mode).
    pub fn models(&self) -> &ModelCatalog {
        &self.models
    }

    /// Asks the Codex backend for the model catalog of every signed-in account now (as the
    /// official client does at start), keeps what it answers (and in `models_cache`), and
    /// returns each account's answer. API-key mode: nothing to ask.
    ///
    /// With `due_only`, only the accounts whose kept catalog is missing, older than an hour or
    /// of another client version are asked.
    pub async fn refresh_models(&self, due_only: bool) -> Result<Vec<ModelsAnswer>> {
        match &self.upstream {
            Upstream::OpenAi(_) => Ok(Vec::new()),
            Upstream::Codex(codex) => Ok(codex
                .refresh_models(due_only)
                .await?
                .into_iter()
                .map(|(account, answer)| ModelsAnswer { account, answer })
                .collect()),
        }
    }

    /// Tells a team's other instances (`shared_ratelimits`) the rate-limit figures this one
    /// saw and they do not hold yet; call it soon after the figures change
    /// ([`RateLimitStore::changes`]). Without a team, or in API-key mode: nothing.
    pub async fn publish_ratelimits(&self) {
        if let Upstream::Codex(codex) = &self.upstream {
            codex.publish_ratelimits().await;
        }
    }

    /// Answers a Chat Completions request: a `chat.completion`, or, when `req.stream` is set,
    /// `chat.completion.chunk` events ending in `data: [DONE]` (or an error event).
    ///
    /// `ctx` says who asks and with which headers (use [`RequestContext::local`] outside a
    /// server).
    pub async fn chat(
        &self,
        ctx: &RequestContext,
        mut req: ChatRequest,
    ) -> Result<ProviderResponse> {
        let started = std::time::Instant::now();
        let requested = req.model.clone();
        let aliased = self.aliases.get(&requested);
        if let Some(target) = aliased {
            req.model.clone_from(target);
        }
        let catalog = self.models.get();
        let result = match &self.upstream {
            Upstream::OpenAi(api) => {
                ctx.set_account(crate::API_KEY_ACCOUNT);
                api.chat(req, &catalog).await
            }
            Upstream::Codex(codex) => {
                let reasoning = reasoning_of(ctx)?.unwrap_or(self.reasoning);
                codex.chat(ctx, req, &catalog, reasoning, &requested).await
            }
        };
        let result = result.map(|answer| self.answering_as(answer, &requested, aliased.is_some()));
        log_outcome("chat", &requested, started, &result);
        result
    }

    /// Answers a Responses API request body: a `response` object, or, when the body's `stream`
    /// is true, Responses events. `ctx` as for [`chat`](Self::chat).
    pub async fn responses(
        &self,
        ctx: &RequestContext,
        mut body: Value,
    ) -> Result<ProviderResponse> {
        let started = std::time::Instant::now();
        let (requested, aliased) = self.apply_alias(&mut body);
        let catalog = self.models.get();
        let result = match &self.upstream {
            Upstream::OpenAi(api) => {
                ctx.set_account(crate::API_KEY_ACCOUNT);
                api.responses(body, &catalog).await
            }
            Upstream::Codex(codex) => codex.responses(ctx, body, &catalog, &requested).await,
        };
        let result = result.map(|answer| self.answering_as(answer, &requested, aliased));
        log_outcome("responses", &requested, started, &result);
        result
    }

    /// Compacts a conversation (`POST /v1/responses/compact` body): in API-key mode the OpenAI
    /// API's answer to the request as it came (configured `[aliases]` applied), in ChatGPT
    /// mode the Codex backend's in-band compaction answered in the API's shape
    /// (`response.compaction`, see [`ProviderExecutor::compact`]). `ctx` as for
    /// [`chat`](Self::chat).
    pub async fn compact(&self, ctx: &RequestContext, mut body: Value) -> Result<Value> {
        let started = std::time::Instant::now();
        let (requested, _) = self.apply_alias(&mut body);
        let result = match &self.upstream {
            Upstream::OpenAi(api) => {
                ctx.set_account(crate::API_KEY_ACCOUNT);
                api.compact(body).await
            }
            Upstream::Codex(codex) => codex.compact(ctx, body, &self.models.get()).await,
        };
        log_outcome("compact", &requested, started, &result);
        result
    }

    /// A Responses-shaped body's `model` replaced by its configured `[aliases]` target, if it
    /// has one: the model the client asked for, and whether it was an alias.
    fn apply_alias(&self, body: &mut Value) -> (String, bool) {
        let requested = body
            .get("model")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let target = self.aliases.get(&requested);
        if let Some(target) = target {
            body["model"] = target.as_str().into();
        }
        (requested, target.is_some())
    }

    /// A whole answer's `model` made the one the client asked for (`[aliases]` and effort
    /// aliases included), as the OpenAI API echoes the requested model. The Codex fronts do
    /// the same for streams. API-key answers keep the OpenAI API's own name (a dated
    /// snapshot) unless a configured alias was applied; their streams pass through as they
    /// are. An answer already written out ([`ProviderResponse::Encoded`]) was written with the
    /// requested model by its front.
    fn answering_as(
        &self,
        answer: ProviderResponse,
        requested: &str,
        aliased: bool,
    ) -> ProviderResponse {
        match answer {
            ProviderResponse::Complete(mut value)
                if aliased || matches!(self.upstream, Upstream::Codex(_)) =>
            {
                if let Some(map) = value.as_object_mut() {
                    map.insert("model".into(), requested.into());
                }
                ProviderResponse::Complete(value)
            }
            other => other,
        }
    }

    /// Answers an Anthropic Messages request body (`POST /v1/messages`): a `message` object,
    /// or, when the body's `stream` is true, Messages events. Claude model names map to GPT
    /// models by family ([`ClaudeModels`]); the answer names the model the client asked for.
    /// `ctx` as for [`chat`](Self::chat).
    pub async fn messages(&self, ctx: &RequestContext, body: Value) -> Result<ProviderResponse> {
        let started = std::time::Instant::now();
        let requested = body
            .get("model")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let catalog = self.models.get();
        let result = match self.claude_model(requested) {
            Err(err) => Err(err),
            Ok(model) => match &self.upstream {
                Upstream::OpenAi(api) => api.messages(&body, &model, &catalog).await,
                Upstream::Codex(codex) => codex.messages(ctx, &body, &model, &catalog).await,
            },
        };
        log_outcome("messages", requested, started, &result);
        result
    }

    /// `POST /v1/messages/count_tokens`: `{"input_tokens": N}`, an estimate of the translated
    /// request (see [`byok_translate::estimate_input_tokens`]): neither upstream counts
    /// tokens without answering. A request that could not be sent is refused as it would be.
    pub fn count_tokens(&self, body: &Value) -> Result<Value> {
        let requested = body
            .get("model")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let model = self.claude_model(requested)?;
        let translated =
            crate::anthropic::translate(body, &model, Preset::Codex, &self.models.get())?;
        Ok(serde_json::json!({"input_tokens": estimate_input_tokens(&translated.body)}))
    }

    /// The model that answers an Anthropic client asking for `requested`: its `[aliases]`
    /// target if it has one, then mapped by Claude family.
    fn claude_model(&self, requested: &str) -> Result<String> {
        let name = self
            .aliases
            .get(requested)
            .map_or(requested, String::as_str);
        crate::anthropic::upstream_model(&self.claude_models, name)
    }

    /// `GET /v1/responses/{id}`: in ChatGPT mode a response byok kept for this client; in
    /// API-key mode the OpenAI API's answer, the request passed on as it came.
    pub async fn get_response(&self, ctx: &RequestContext, id: &str, query: &str) -> Result<Value> {
        match &self.upstream {
            Upstream::OpenAi(api) => {
                let path = format!("/v1/responses/{}", path_segment(id)?);
                api.stored(reqwest::Method::GET, &path, query).await
            }
            Upstream::Codex(codex) => codex.stored_response(ctx, id, query).await,
        }
    }

    /// `GET /v1/responses/{id}/input_items`, as [`Self::get_response`].
    pub async fn input_items(&self, ctx: &RequestContext, id: &str, query: &str) -> Result<Value> {
        match &self.upstream {
            Upstream::OpenAi(api) => {
                let path = format!("/v1/responses/{}/input_items", path_segment(id)?);
                api.stored(reqwest::Method::GET, &path, query).await
            }
            Upstream::Codex(codex) => codex.stored_input_items(ctx, id, query).await,
        }
    }

    /// `DELETE /v1/responses/{id}`, as [`Self::get_response`].
    pub async fn delete_response(&self, ctx: &RequestContext, id: &str) -> Result<Value> {
        match &self.upstream {
            Upstream::OpenAi(api) => {
                let path = format!("/v1/responses/{}", path_segment(id)?);
                api.stored(reqwest::Method::DELETE, &path, "").await
            }
            Upstream::Codex(codex) => codex.delete_stored(ctx, id).await,
        }
    }

    /// The upstream's state now: accounts, plans, token expiry, rests and rate-limit windows
    /// (see [`ProviderExecutor::status`]).
    pub async fn status(&self) -> ProviderStatus {
        match &self.upstream {
            Upstream::OpenAi(api) => api.status(),
            Upstream::Codex(codex) => codex.status().await,
        }
    }

    /// The base URL in use, without a trailing slash.
    pub fn base_url(&self) -> &str {
        match &self.upstream {
            Upstream::OpenAi(api) => api.base_url(),
            Upstream::Codex(codex) => codex.base_url(),
        }
    }
}

/// The reasoning display a request asks for with `x-byok-reasoning`, if any; an unknown
/// value is a 400 naming the header.
fn reasoning_of(ctx: &RequestContext) -> Result<Option<ReasoningMode>> {
    let Some(value) = ctx.headers().get("x-byok-reasoning") else {
        return Ok(None);
    };
    value
        .to_str()
        .ok()
        .and_then(ReasoningMode::from_name)
        .map(Some)
        .ok_or_else(|| {
            ByokError::invalid_request(
                "the x-byok-reasoning header must be content, think-tags or hidden",
                None,
            )
        })
}

/// A response id as a URL path segment: ids are `[A-Za-z0-9_-]` (`resp_...`), anything else
/// names no response.
fn path_segment(id: &str) -> Result<&str> {
    if !id.is_empty()
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
        Ok(id)
    } else {
        Err(ByokError::NotFound(format!(
            "Response with id '{id}' not found."
        )))
    }
}

/// A request byok-translate cannot translate: a 400 naming the field at fault.
pub(crate) fn translate_error(err: &byok_translate::TranslateError) -> ByokError {
    ByokError::InvalidRequest {
        message: err.to_string(),
        param: err.param().map(str::to_owned),
        code: err.code(),
    }
}

/// How a request ended, at debug: what, how long, the error. Never a body or a secret.
///
/// Debug, not info: the server's access log already writes one line per request with its
/// status and error (`crates/server/src/access_log.rs`), and many errors are refusals before
/// anything went upstream (bad input, an unknown model, no account), which a line saying
/// "upstream request failed" would misreport. What happens upstream on the way (a refresh,
/// an account resting) is logged where it happens.
fn log_outcome<T>(kind: &str, model: &str, started: std::time::Instant, result: &Result<T>) {
    let elapsed_ms = started.elapsed().as_millis();
    match result {
        Ok(_) => tracing::debug!(kind, model, elapsed_ms, "answered"),
        Err(err) => {
            // Quoted and escaped (`?`): an error's message may quote what the client sent.
            let error = err.to_string();
            tracing::debug!(kind, model, elapsed_ms, status = err.status(), error = ?error, "answered with an error");
        }
    }
}

impl std::fmt::Debug for CodexExecutor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CodexExecutor")
            .field("mode", &self.mode())
            .field("base_url", &self.base_url())
            .field("reasoning", &self.reasoning)
            .field("claude_models", &self.claude_models)
            .finish_non_exhaustive()
    }
}

#[async_trait::async_trait]
impl ProviderExecutor for CodexExecutor {
    fn provider(&self) -> ProviderId {
        self.mode().provider()
    }

    async fn chat(&self, ctx: &RequestContext, request: ChatRequest) -> Result<ProviderResponse> {
        CodexExecutor::chat(self, ctx, request).await
    }

    async fn responses(&self, ctx: &RequestContext, body: Value) -> Result<ProviderResponse> {
        CodexExecutor::responses(self, ctx, body).await
    }

    async fn messages(&self, ctx: &RequestContext, body: Value) -> Result<ProviderResponse> {
        CodexExecutor::messages(self, ctx, body).await
    }

    async fn count_tokens(&self, _ctx: &RequestContext, body: Value) -> Result<Value> {
        CodexExecutor::count_tokens(self, &body)
    }

    async fn compact(&self, ctx: &RequestContext, body: Value) -> Result<Value> {
        CodexExecutor::compact(self, ctx, body).await
    }

    fn supported_models(&self, _ctx: &RequestContext) -> Vec<String> {
        CodexExecutor::supported_models(self)
    }

    async fn get_response(&self, ctx: &RequestContext, id: &str, query: &str) -> Result<Value> {
        CodexExecutor::get_response(self, ctx, id, query).await
    }

    async fn input_items(&self, ctx: &RequestContext, id: &str, query: &str) -> Result<Value> {
        CodexExecutor::input_items(self, ctx, id, query).await
    }

    async fn delete_response(&self, ctx: &RequestContext, id: &str) -> Result<Value> {
        CodexExecutor::delete_response(self, ctx, id).await
    }

    async fn status(&self) -> ProviderStatus {
        CodexExecutor::status(self).await
    }
}

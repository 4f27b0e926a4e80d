#![doc = include_str!("../README.md")]

mod access_log;
mod anthropic;
mod browser;
mod client_key;
mod config;
mod context;
mod error;
mod handlers;
mod page;
mod recent;
mod serve;
mod sse;
mod status;

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use byok_types::ProviderExecutor;
use tokio_util::sync::CancellationToken;
use tower::ServiceBuilder;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};

pub use client_key::{ClientKey, DEFAULT_KEY_NAME};
pub use config::{DEFAULT_BODY_LIMIT, ServerConfig};
pub use error::{AnthropicError, ApiError, ClientKeyError, ServeError};
pub use serve::{check_bind, serve, shutdown_signal};

/// What every request handler shares: the executor that reaches the upstream and the config.
///
/// Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    executor: Arc<dyn ProviderExecutor>,
    config: Arc<ServerConfig>,
    /// Unix seconds of start-up: the `created` of every model in `GET /v1/models`.
    started_at: i64,
    /// Cancelled when the shutdown grace is over: running requests end at once.
    cut: CancellationToken,
    /// The listening address, when [`serve`] knows it: beyond loopback, `Host` is not checked.
    listening_on: Option<std::net::SocketAddr>,
    /// The last hour's requests and tokens, for the status page.
    recent: recent::Recent,
    /// Every key clients may send (none: everyone may use the server).
    keys: Arc<[Arc<client_key::ClientKey>]>,
}

impl AppState {
    /// Shares `executor` and `config` with every request.
    pub fn new(executor: Arc<dyn ProviderExecutor>, config: ServerConfig) -> Self {
        let keys = config.all_keys().into_iter().map(Arc::new).collect();
        Self {
            executor,
            keys,
            config: Arc::new(config),
            started_at: byok_types::unix_now(),
            cut: CancellationToken::new(),
            listening_on: None,
            recent: recent::Recent::default(),
        }
    }

    /// The same state, for a server listening on `addr`.
    pub(crate) fn listening_on(mut self, addr: std::net::SocketAddr) -> Self {
        self.listening_on = Some(addr);
        self
    }

    /// Ends every request still running (streams get a last error event). [`serve`] calls it
    /// when the shutdown grace period is over; call it yourself when you serve [`router`]
    /// another way.
    pub fn cut_running_requests(&self) {
        self.cut.cancel();
    }

    /// Runs an executor call, unless the running requests are cut first.
    async fn until_cut<T>(
        &self,
        call: impl Future<Output = byok_types::Result<T>>,
    ) -> byok_types::Result<T> {
        tokio::select! {
            result = call => result,
            () = self.cut.cancelled() => Err(byok_types::ByokError::Internal(
                "byok is shutting down and cut this request; send it again".into(),
            )),
        }
    }
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("provider", &self.executor.provider())
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// The whole HTTP surface as an axum [`Router`], ready for `axum::serve` or to be nested in
/// an application of your own.
///
/// Endpoints, each also without the `/v1` prefix: `POST /v1/chat/completions`,
/// `POST /v1/responses`, `POST /v1/responses/compact`, `GET`/`DELETE /v1/responses/{id}`,
/// `GET /v1/responses/{id}/input_items`, `GET /v1/models`, `GET /v1/models/{id}`, the Anthropic API's `POST /v1/messages` (also
/// `?beta=true`) and `POST /v1/messages/count_tokens` (errors in Anthropic's shape there); and
/// `GET /healthz`, which needs no client key. Every answer carries an `x-request-id` (the client's, if it sent one).
/// Requests from web pages are checked as the README's security section says: a `Host` that
/// is not loopback or in [`ServerConfig::allowed_hosts`] (checked as if listening on loopback,
/// unless [`serve`] knows better), or an `Origin` that is not loopback or in
/// [`ServerConfig::allowed_origins`], is refused with 403.
///
/// [`serve`] adds the loopback check and graceful shutdown; with `router` you run it your way:
///
/// ```no_run
/// # async fn demo(executor: std::sync::Arc<dyn byok_types::ProviderExecutor>) -> std::io::Result<()> {
/// use byok_server::{AppState, ServerConfig, router};
/// let app = router(AppState::new(executor, ServerConfig::default()));
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:8018").await?;
/// axum::serve(listener, app).await
/// # }
/// ```
pub fn router(state: AppState) -> Router {
    let mut api = Router::new();
    for prefix in ["/v1", ""] {
        api = api
            .route(
                &format!("{prefix}/chat/completions"),
                post(handlers::chat_completions),
            )
            .route(&format!("{prefix}/responses"), post(handlers::responses))
            .route(
                &format!("{prefix}/responses/compact"),
                post(handlers::compact),
            )
            .route(
                &format!("{prefix}/responses/{{id}}"),
                get(handlers::get_response).delete(handlers::delete_response),
            )
            .route(
                &format!("{prefix}/responses/{{id}}/input_items"),
                get(handlers::input_items),
            )
            .route(&format!("{prefix}/models"), get(handlers::list_models))
            .route(&format!("{prefix}/models/{{id}}"), get(handlers::get_model))
            .route(&format!("{prefix}/messages"), post(anthropic::messages))
            .route(
                &format!("{prefix}/messages/count_tokens"),
                post(anthropic::count_tokens),
            );
    }
    // Behind the client key like the API: they name models and accounts.
    api = api
        .route("/v1/status", get(status::status))
        .route("/metrics", get(status::metrics))
        .route("/", get(status::page));
    let api = api.route_layer(axum::middleware::from_fn_with_state(
        Arc::clone(&state.keys),
        client_key::require_client_key,
    ));
    let body_limit = state.config.body_limit;
    let counting = state.clone();
    let browser = browser::BrowserLayer(Arc::new(browser::BrowserRules::new(
        &state.config,
        state.listening_on,
    )));
    Router::new()
        .route("/healthz", get(handlers::healthz))
        .route("/readyz", get(status::readyz))
        .merge(api)
        // After the routes: it applies to the routes already present.
        .method_not_allowed_fallback(handlers::method_not_allowed)
        .fallback(handlers::not_found)
        .with_state(state)
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(
            ServiceBuilder::new()
                .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
                .layer(PropagateRequestIdLayer::x_request_id())
                .layer(axum::middleware::from_fn_with_state(
                    counting,
                    access_log::access_log,
                ))
                .layer(browser),
        )
}

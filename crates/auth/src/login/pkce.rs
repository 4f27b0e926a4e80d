//! Browser sign-in with PKCE, exactly as the Codex CLI does it: a callback server on
//! `127.0.0.1:1455` (or 1457), the authorize page in the browser, a code exchanged for tokens.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Html;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use byok_types::OAuthToken;
use rand::RngCore as _;
use sha2::{Digest as _, Sha256};
use tokio::net::TcpListener;
use tokio::sync::oneshot;

use super::{LoginResult, browser};
use crate::{AuthConfig, AuthError, token_endpoint};

/// The ports the Codex CLI's callback server uses: 1455, else 1457.
pub const DEFAULT_PORTS: [u16; 2] = [1455, 1457];

/// How long to wait for the browser by default.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10 * 60);

/// How a browser sign-in runs.
///
/// Built with [`PkceOptions::builder`] (or [`PkceOptions::default`]); `#[non_exhaustive]`, so
/// an option added later breaks no caller.
///
/// ```
/// use byok_auth::login::pkce::{DEFAULT_PORTS, PkceOptions};
/// let options = PkceOptions::builder().open_browser(false).build();
/// assert_eq!(options.ports, DEFAULT_PORTS);
/// ```
#[derive(Clone, Debug, bon::Builder)]
#[non_exhaustive]
pub struct PkceOptions {
    /// Callback ports to try in order on 127.0.0.1 ([`DEFAULT_PORTS`]); `0` picks a free one.
    #[builder(default = DEFAULT_PORTS.to_vec())]
    pub ports: Vec<u16>,
    /// Open the authorize URL in the local browser (it is always given to `notify` too).
    #[builder(default = true)]
    pub open_browser: bool,
    /// Give up when the browser has not come back after this long.
    #[builder(default = DEFAULT_TIMEOUT)]
    pub timeout: Duration,
}

impl Default for PkceOptions {
    fn default() -> Self {
        Self::builder().build()
    }
}

/// Runs a browser sign-in: binds the callback server, hands the authorize URL to `notify`
/// (to print), opens the browser if asked, and waits for the callback, whose code it
/// exchanges for tokens. The browser is shown a page saying whether it worked.
///
/// A callback whose `state` does not match is answered 400 and ignored: the sign-in goes on
/// waiting for the real one.
///
/// ```no_run
/// # async fn demo() -> Result<(), byok_auth::AuthError> {
/// use byok_auth::AuthConfig;
/// use byok_auth::login::pkce::{self, PkceOptions};
/// let config = AuthConfig::from_env();
/// let signed_in = pkce::login(&config, &PkceOptions::default(), |url| {
///     eprintln!("Sign in to ChatGPT at:\n{url}");
/// })
/// .await?;
/// println!("signed in as {}", signed_in.account_name());
/// # Ok(()) }
/// ```
pub async fn login(
    config: &AuthConfig,
    options: &PkceOptions,
    notify: impl FnOnce(&str) + Send,
) -> Result<LoginResult, AuthError> {
    let listener = bind(&options.ports).await?;
    let port = listener
        .local_addr()
        .map_err(|e| AuthError::CallbackPort {
            ports: options.ports.clone(),
            detail: e.to_string(),
        })?
        .port();
    let redirect_uri = format!("http://localhost:{port}/auth/callback");
    let verifier = random_base64(64);
    let state = random_base64(32);
    let url = authorize_url(config, &redirect_uri, &challenge(&verifier), &state);

    let (done_tx, done_rx) = oneshot::channel();
    let callback = Arc::new(Callback {
        config: config.clone(),
        redirect_uri,
        verifier,
        state,
        done: Mutex::new(Some(done_tx)),
    });
    let server = CallbackServer::start(listener, callback);

    notify(&url);
    if options.open_browser {
        browser::open(&url);
    }
    let outcome = tokio::select! {
        done = done_rx => done.unwrap_or_else(|_| {
            Err(AuthError::LoginDenied("the callback server stopped".into()))
        }),
        () = tokio::time::sleep(options.timeout) => Err(AuthError::LoginTimedOut(options.timeout)),
    };
    server.stop().await;
    outcome.map(LoginResult::new)
}

/// The local server that receives the browser's redirect.
struct CallbackServer {
    stop: oneshot::Sender<()>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl CallbackServer {
    fn start(listener: TcpListener, callback: Arc<Callback>) -> Self {
        let (stop, stopped) = oneshot::channel::<()>();
        let app = axum::Router::new()
            .route("/auth/callback", axum::routing::get(on_callback))
            .with_state(callback);
        let task = tokio::spawn(async move {
            let stopped = async {
                let _ = stopped.await;
            };
            axum::serve(listener, app)
                .with_graceful_shutdown(stopped)
                .await
        });
        Self { stop, task }
    }

    /// Lets the last page reach the browser, then stops listening.
    async fn stop(self) {
        let _ = self.stop.send(());
        let abort = self.task.abort_handle();
        if tokio::time::timeout(Duration::from_secs(5), self.task)
            .await
            .is_err()
        {
            abort.abort();
        }
    }
}

/// Binds the first free port of `ports` on 127.0.0.1.
async fn bind(ports: &[u16]) -> Result<TcpListener, AuthError> {
    let mut last = String::from("no port to try");
    for &port in ports {
        match TcpListener::bind(("127.0.0.1", port)).await {
            Ok(listener) => return Ok(listener),
            Err(e) => {
                tracing::debug!(port, error = %e, "callback port unavailable");
                last = e.to_string();
            }
        }
    }
    Err(AuthError::CallbackPort {
        ports: ports.to_vec(),
        detail: last,
    })
}

/// `len` random bytes, base64url without padding.
fn random_base64(len: usize) -> String {
    let mut bytes = vec![0u8; len];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The S256 code challenge of a verifier.
fn challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// `{issuer}/oauth/authorize?...` with the Codex CLI's parameters.
fn authorize_url(config: &AuthConfig, redirect_uri: &str, challenge: &str, state: &str) -> String {
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("response_type", "code")
        .append_pair("client_id", &config.client_id)
        .append_pair("redirect_uri", redirect_uri)
        .append_pair("scope", "openid profile email offline_access")
        .append_pair("code_challenge", challenge)
        .append_pair("code_challenge_method", "S256")
        .append_pair("id_token_add_organizations", "true")
        .append_pair("codex_cli_simplified_flow", "true")
        .append_pair("state", state)
        .append_pair("originator", "codex_cli_rs")
        .finish();
    format!("{}/oauth/authorize?{query}", config.issuer)
}

/// What the callback handler needs, and where it reports the outcome (once).
struct Callback {
    config: AuthConfig,
    redirect_uri: String,
    verifier: String,
    state: String,
    done: Mutex<Option<oneshot::Sender<Result<OAuthToken, AuthError>>>>,
}

impl Callback {
    fn finish(&self, outcome: Result<OAuthToken, AuthError>) {
        let sender = self
            .done
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(sender) = sender {
            let _ = sender.send(outcome);
        }
    }

    fn is_finished(&self) -> bool {
        self.done
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .is_none()
    }
}

async fn on_callback(
    State(callback): State<Arc<Callback>>,
    Query(params): Query<HashMap<String, String>>,
) -> (StatusCode, Html<String>) {
    if params.get("state") != Some(&callback.state) {
        tracing::warn!("sign-in callback with a wrong state ignored");
        return page(
            StatusCode::BAD_REQUEST,
            "Sign-in link not recognised",
            "This page does not belong to the sign-in byok is waiting for. Start again with <code>byok login</code>.",
        );
    }
    if callback.is_finished() {
        return page(
            StatusCode::OK,
            "Sign-in already finished",
            "You can close this tab.",
        );
    }
    if let Some(error) = params.get("error") {
        let detail = params.get("error_description").unwrap_or(error);
        callback.finish(Err(AuthError::LoginDenied(format!(
            "the sign-in page answered `{error}`"
        ))));
        return page(
            StatusCode::OK,
            "Sign-in not completed",
            &format!(
                "ChatGPT said: {}. Run <code>byok login</code> to try again.",
                escape(detail)
            ),
        );
    }
    let Some(code) = params.get("code").filter(|c| !c.is_empty()) else {
        return page(
            StatusCode::BAD_REQUEST,
            "Sign-in incomplete",
            "The answer carried no authorization code. Run <code>byok login</code> again.",
        );
    };
    // In its own task, so that a browser closing the connection cannot cancel the exchange
    // half-way and leave the login waiting for nothing.
    let code = code.clone();
    let exchange = tokio::spawn(async move {
        let exchanged = token_endpoint::exchange_code(
            &callback.config,
            &code,
            &callback.redirect_uri,
            &callback.verifier,
        )
        .await;
        let shown = match &exchanged {
            Ok(_) => page(
                StatusCode::OK,
                "Signed in to byok",
                "byok can now use your ChatGPT account. You can close this tab and return to the terminal.",
            ),
            Err(e) => page(
                StatusCode::BAD_GATEWAY,
                "Sign-in failed",
                &escape(&e.to_string()),
            ),
        };
        callback.finish(exchanged);
        shown
    });
    exchange.await.unwrap_or_else(|_| {
        page(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Sign-in failed",
            "byok stopped while finishing the sign-in. Run <code>byok login</code> again.",
        )
    })
}

fn page(status: StatusCode, title: &str, body: &str) -> (StatusCode, Html<String>) {
    let html = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>{title}</title></head>\
         <body style=\"font-family:system-ui,sans-serif;max-width:36em;margin:4em auto\">\
         <h1>{title}</h1><p>{body}</p></body></html>"
    );
    (status, Html(html))
}

/// Escapes text for HTML.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn challenge_is_s256_of_a_64_byte_verifier() {
        let verifier = random_base64(64);
        assert_eq!(URL_SAFE_NO_PAD.decode(&verifier).unwrap().len(), 64);
        // RFC 7636 appendix B.
        assert_eq!(
            challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[test]
    fn authorize_url_carries_the_codex_cli_parameters() {
        let config = AuthConfig::builder().build();
        let url = url::Url::parse(&authorize_url(
            &config,
            "http://localhost:1455/auth/callback",
            "ch",
            "st",
        ))
        .unwrap();
        let query: HashMap<_, _> = url.query_pairs().into_owned().collect();
        assert_eq!(url.path(), "/oauth/authorize");
        assert_eq!(query["scope"], "openid profile email offline_access");
        assert_eq!(query["code_challenge_method"], "S256");
        assert_eq!(query["originator"], "codex_cli_rs");
        assert_eq!(query["codex_cli_simplified_flow"], "true");
        assert_eq!(query["id_token_add_organizations"], "true");
        assert_eq!(query["client_id"], "app_EMoamEEZ73f0CkXaXp7hrann");
        assert_eq!(query["redirect_uri"], "http://localhost:1455/auth/callback");
    }
}

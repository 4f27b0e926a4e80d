//! Stand-in upstreams on 127.0.0.1 for the executor's tests: a Codex / OpenAI upstream that
//! replays the recorded streams (with their recorded headers) and misbehaves on demand, and an
//! OAuth issuer that answers refreshes.

#![allow(dead_code, clippy::missing_panics_doc)]

use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use byok_auth::{Account, AuthConfig, AuthManager, FileTokenStore, TokenStore};
use byok_executor::{CodexExecutor, ProviderHttp, RetryPolicy};
use byok_types::{ByteStream, OAuthToken, ProviderResponse, RateLimitStore, Secret};
use futures::StreamExt;
use serde_json::{Value, json};

/// Fields the Codex backend refuses with a 400 (DESIGN.md).
pub const REFUSED_FIELDS: [&str; 12] = [
    "max_tokens",
    "max_output_tokens",
    "max_completion_tokens",
    "temperature",
    "top_p",
    "presence_penalty",
    "frequency_penalty",
    "metadata",
    "seed",
    "top_logprobs",
    "truncation",
    "prompt_cache_retention",
];

/// A recorded stream (`tests/data/NAME.sse`).
pub fn fixture(name: &str) -> String {
    let path = format!("{}/tests/data/{name}.sse", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The headers recorded with a stream (`NAME.meta.json`, the `-empty-output` variants share
/// their original's).
pub fn fixture_headers(name: &str) -> Vec<(String, String)> {
    let base = name.trim_end_matches("-empty-output");
    let path = format!("{}/tests/data/{base}.meta.json", env!("CARGO_MANIFEST_DIR"));
    let meta: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    meta["response_headers"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_owned()))
        .collect()
}

/// What the stand-in answers to one request.
#[derive(Clone, Debug)]
pub enum Reply {
    /// A recorded stream with its recorded headers, sent in 1 KB chunks.
    Fixture(&'static str),
    /// An error status with a JSON body.
    Status(u16, String),
    /// An error status with a JSON body and extra headers.
    StatusWith(u16, String, Vec<(&'static str, String)>),
    /// 200 with a JSON body.
    Json(Value),
    /// 200 `text/event-stream` with this body.
    Sse(String),
    /// The first `n` bytes of a recorded stream, then the connection breaks.
    Cut(&'static str, usize),
    /// A recorded stream without its terminal event, ending cleanly.
    Truncated(&'static str),
    /// The first `n` bytes of a recorded stream, then silence.
    Stall(&'static str, usize),
}

/// One request as the stand-in received it.
#[derive(Clone, Debug)]
pub struct Received {
    pub path: String,
    pub headers: HeaderMap,
    pub body: Value,
}

impl Received {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

struct Shared {
    script: Mutex<VecDeque<Reply>>,
    received: Mutex<Vec<Received>>,
}

/// A stand-in OpenAI / Codex upstream on 127.0.0.1. Answers with its script in order, then
/// with the recorded `text` stream.
pub struct StandIn {
    pub url: String,
    shared: Arc<Shared>,
}

impl StandIn {
    pub async fn start(script: Vec<Reply>) -> Self {
        let shared = Arc::new(Shared {
            script: Mutex::new(script.into()),
            received: Mutex::new(Vec::new()),
        });
        let router = Router::new().fallback(upstream).with_state(shared.clone());
        let url = serve(router).await;
        Self { url, shared }
    }

    /// Every request received so far.
    pub fn received(&self) -> Vec<Received> {
        self.shared.received.lock().unwrap().clone()
    }
}

async fn upstream(
    State(shared): State<Arc<Shared>>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    shared.received.lock().unwrap().push(Received {
        path: uri.path().to_owned(),
        headers,
        body: serde_json::from_slice(&body).unwrap_or(Value::Null),
    });
    let reply = shared
        .script
        .lock()
        .unwrap()
        .pop_front()
        .unwrap_or(Reply::Fixture("text"));
    respond(reply)
}

fn respond(reply: Reply) -> Response {
    let sse = |name: &str, body: Body| {
        let mut response = Response::new(body);
        for (k, v) in fixture_headers(name) {
            response.headers_mut().insert(
                axum::http::HeaderName::try_from(k).unwrap(),
                v.parse().unwrap(),
            );
        }
        response
    };
    match reply {
        Reply::Fixture(name) => sse(name, chunked(fixture(name).as_bytes())),
        Reply::Status(status, body) => respond(Reply::StatusWith(status, body, Vec::new())),
        Reply::StatusWith(status, body, headers) => {
            let mut response = (StatusCode::from_u16(status).unwrap(), body).into_response();
            response
                .headers_mut()
                .insert("content-type", "application/json".parse().unwrap());
            for (k, v) in headers {
                response.headers_mut().insert(k, v.parse().unwrap());
            }
            response
        }
        Reply::Json(value) => axum::Json(value).into_response(),
        Reply::Sse(body) => {
            let mut response = Response::new(chunked(body.as_bytes()));
            response
                .headers_mut()
                .insert("content-type", "text/event-stream".parse().unwrap());
            response
        }
        Reply::Cut(name, n) => {
            let head = fixture(name).into_bytes()[..n].to_vec();
            // The pause lets the head reach the client before the connection breaks.
            let cut = futures::stream::once(async {
                tokio::time::sleep(Duration::from_millis(50)).await;
                Err(std::io::Error::other("cut"))
            });
            let stream = futures::stream::iter([Ok(head)]).chain(cut);
            sse(name, Body::from_stream(stream))
        }
        Reply::Truncated(name) => {
            let text = fixture(name);
            let end = text.find("event: response.completed").unwrap();
            sse(name, chunked(&text.as_bytes()[..end]))
        }
        Reply::Stall(name, n) => {
            let head = fixture(name).into_bytes()[..n].to_vec();
            let stream = futures::stream::iter([Ok::<_, Infallible>(head)])
                .chain(futures::stream::pending());
            sse(name, Body::from_stream(stream))
        }
    }
}

/// A body sent in 1 KB chunks, as a real stream arrives.
fn chunked(bytes: &[u8]) -> Body {
    let chunks: Vec<Result<Vec<u8>, Infallible>> =
        bytes.chunks(1024).map(|c| Ok(c.to_vec())).collect();
    Body::from_stream(futures::stream::iter(chunks))
}

async fn serve(router: Router) -> String {
    use axum::serve::ListenerExt;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    // Small SSE writes must leave at once, as a real server's do (no Nagle delay).
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    format!("http://{addr}")
}

/// A stand-in OAuth issuer: `POST /oauth/token` refreshes, counting the calls.
pub struct Issuer {
    pub url: String,
    refreshes: Arc<AtomicUsize>,
}

impl Issuer {
    pub async fn start() -> Self {
        let refreshes = Arc::new(AtomicUsize::new(0));
        let router = Router::new()
            .route("/oauth/token", axum::routing::post(refresh))
            .with_state(refreshes.clone());
        Self {
            url: serve(router).await,
            refreshes,
        }
    }

    /// How many refresh requests reached the issuer.
    pub fn refreshes(&self) -> usize {
        self.refreshes.load(Ordering::SeqCst)
    }
}

async fn refresh(State(count): State<Arc<AtomicUsize>>, body: Bytes) -> axum::Json<Value> {
    let n = count.fetch_add(1, Ordering::SeqCst) + 1;
    let request: Value = serde_json::from_slice(&body).unwrap();
    // Refresh tokens are `rt-<account id>` in these tests.
    let account_id = request["refresh_token"]
        .as_str()
        .unwrap()
        .trim_start_matches("rt-")
        .to_owned();
    axum::Json(json!({
        "access_token": fake_jwt(&account_id, &format!("refreshed-{n}")),
        "refresh_token": format!("rt-{account_id}"),
        "id_token": fake_jwt(&account_id, "id"),
        "expires_in": 3600,
    }))
}

pub fn unix_now() -> i64 {
    i64::try_from(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs(),
    )
    .unwrap()
}

/// An unsigned JWT whose claims name a ChatGPT account, valid for an hour.
pub fn fake_jwt(account_id: &str, nonce: &str) -> String {
    let b64 = |v: &Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
    let header = b64(&json!({"alg": "none", "typ": "JWT"}));
    let claims = b64(&json!({
        "exp": unix_now() + 3600,
        "email": format!("{account_id}@example.com"),
        "nonce": nonce,
        "https://api.openai.com/auth": {"chatgpt_account_id": account_id, "chatgpt_plan_type": "plus"},
    }));
    format!("{header}.{claims}.sig")
}

/// Signed-in accounts in a temporary `FileTokenStore`, refreshing at `issuer`.
pub struct SignedIn {
    pub dir: tempfile::TempDir,
    pub auth: Arc<AuthManager>,
}

/// Accounts named `name`, with ChatGPT account id `acc-<name>`; the first one is active.
pub async fn signed_in(names: &[&str], issuer: &Issuer) -> SignedIn {
    let dir = tempfile::tempdir().unwrap();
    let store = FileTokenStore::new(dir.path());
    for name in names {
        let id = format!("acc-{name}");
        let token = OAuthToken {
            access_token: Secret::new(fake_jwt(&id, "first")),
            refresh_token: Secret::new(format!("rt-{id}")),
            id_token: Secret::new(fake_jwt(&id, "id")),
            expires_at: Some(unix_now() + 3600),
            account_id: Some(id.as_str().into()),
            last_refresh: Some(unix_now()),
        };
        store
            .save(&Account {
                name: (*name).to_owned(),
                token,
            })
            .await
            .unwrap();
    }
    let config = AuthConfig::new(reqwest::Client::new()).with_issuer(&issuer.url);
    SignedIn {
        auth: Arc::new(AuthManager::new(Arc::new(store), config)),
        dir,
    }
}

/// Retries without waiting long, so tests stay fast.
pub fn fast_retries() -> RetryPolicy {
    RetryPolicy {
        base_delay: Duration::from_millis(1),
        max_delay: Duration::from_millis(20),
        ..RetryPolicy::default()
    }
}

/// An OAuth-mode executor against `upstream`.
pub fn oauth_executor(
    upstream: &StandIn,
    auth: &Arc<AuthManager>,
    limits: &Arc<RateLimitStore>,
) -> CodexExecutor {
    CodexExecutor::builder()
        .http(ProviderHttp::new().unwrap())
        .auth(auth.clone())
        .base_url(upstream.url.clone())
        .ratelimit(limits.clone())
        .retry(fast_retries())
        .idle_timeout(Duration::from_secs(20))
        .build()
}

/// An API-key-mode executor against `upstream`.
pub async fn api_key_executor(upstream: &StandIn, key: &str) -> (CodexExecutor, SignedIn) {
    let issuer = Issuer::start().await;
    let none = signed_in(&[], &issuer).await;
    let executor = CodexExecutor::builder()
        .http(ProviderHttp::new().unwrap())
        .auth(none.auth.clone())
        .api_key(key)
        .base_url(upstream.url.clone())
        .retry(fast_retries())
        .idle_timeout(Duration::from_secs(20))
        .build();
    (executor, none)
}

/// The whole stream, as text.
pub async fn read_stream(mut stream: ByteStream) -> String {
    let mut out = Vec::new();
    while let Some(chunk) = stream.next().await {
        out.extend_from_slice(&chunk.expect("the executor reports failures as events"));
    }
    String::from_utf8(out).unwrap()
}

/// The stream of an answer that must be one.
pub async fn stream_text(answer: ProviderResponse) -> String {
    match answer {
        ProviderResponse::Stream(s) => read_stream(s).await,
        ProviderResponse::Complete(v) => panic!("expected a stream, got {v}"),
    }
}

/// The JSON of an answer that must be one.
pub fn complete(answer: ProviderResponse) -> Value {
    match answer {
        ProviderResponse::Complete(v) => v,
        ProviderResponse::Stream(_) => panic!("expected a complete answer, got a stream"),
    }
}

/// The `data:` payloads of an SSE text, in order.
pub fn data_lines(sse: &str) -> Vec<String> {
    sse.lines()
        .filter_map(|l| l.strip_prefix("data:"))
        .map(|d| d.trim_start().to_owned())
        .collect()
}

/// The Chat chunks of a stream, parsed, `[DONE]` left out.
pub fn chat_chunks(sse: &str) -> Vec<Value> {
    data_lines(sse)
        .iter()
        .filter(|d| d.as_str() != "[DONE]")
        .map(|d| serde_json::from_str(d).unwrap())
        .collect()
}

/// The assistant text the Chat chunks carry.
pub fn chat_content(chunks: &[Value]) -> String {
    chunks
        .iter()
        .filter_map(|c| c["choices"][0]["delta"]["content"].as_str())
        .collect()
}

/// The text the recorded stream's `response.output_text.delta` events carry.
pub fn fixture_text(name: &str) -> String {
    data_lines(&fixture(name))
        .iter()
        .map(|d| serde_json::from_str::<Value>(d).unwrap())
        .filter(|e| e["type"] == "response.output_text.delta")
        .map(|e| e["delta"].as_str().unwrap().to_owned())
        .collect()
}

/// Checks a request the Codex stand-in received against what the backend demands.
pub fn assert_codex_request(received: &Received, account_id: &str) {
    let body = &received.body;
    assert_eq!(received.path, "/responses");
    for field in REFUSED_FIELDS {
        assert!(
            body.get(field).is_none(),
            "refused field `{field}` sent: {body}"
        );
    }
    assert_eq!(body["store"], false);
    assert_eq!(body["stream"], true);
    assert!(
        body["instructions"].is_string(),
        "instructions: {}",
        body["instructions"]
    );
    let input = body["input"].as_array().expect("input is a list");
    assert!(
        input.iter().all(|item| item["role"] != "system"),
        "system role sent: {body}"
    );
    assert_eq!(received.header("chatgpt-account-id"), Some(account_id));
    assert!(
        received
            .header("authorization")
            .unwrap()
            .starts_with("Bearer ey")
    );
    assert_eq!(received.header("originator"), Some("codex_cli_rs"));
    assert_eq!(received.header("accept"), Some("text/event-stream"));
    assert!(
        received
            .header("user-agent")
            .unwrap()
            .starts_with("codex_cli_rs/")
    );
    let session = received.header("session_id").unwrap();
    assert_eq!(uuid::Uuid::parse_str(session).unwrap().get_version_num(), 4);
}

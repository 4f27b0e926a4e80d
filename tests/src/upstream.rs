//! A stand-in for the Codex backend and the ChatGPT issuer, on 127.0.0.1, that replays
//! recorded streams and misbehaves on demand. It keeps every request it received.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use futures::StreamExt;
use serde_json::{Value, json};
use tokio::sync::watch;

use crate::{fixtures, sse};

/// The path of the Codex backend on the stand-in: `codex_base_url` is `{url}/backend-api/codex`.
pub const CODEX_PATH: &str = "/backend-api/codex";

/// How the stand-in answers `POST {CODEX_PATH}/responses`.
#[derive(Clone, Debug)]
pub enum Reply {
    /// A recorded stream (`tools`, `text-empty-output`, ...) with its recorded headers.
    Replay(&'static str),
    /// The first `n` events of a recorded stream, then the connection is closed: a stream that
    /// never reaches `response.completed`.
    CutAfter(&'static str, usize),
    /// The first `n` events of a recorded stream, then silence with the connection held open.
    HangAfter(&'static str, usize),
    /// A recorded stream chosen by the request: `with_tools` when it offers tools, else
    /// `without`.
    ByTools {
        /// The recording for requests with tools.
        with_tools: &'static str,
        /// The recording for the others.
        without: &'static str,
    },
    /// 429 `usage_limit_reached`, as the backend sends it.
    UsageLimit {
        /// The body's `resets_in_seconds`.
        resets_in_seconds: u64,
    },
    /// A plain error status with a JSON body.
    Status(u16),
}

/// One request the stand-in received.
#[derive(Clone, Debug)]
pub struct Received {
    /// The request's path, e.g. `/backend-api/codex/responses`.
    pub path: String,
    /// The request's headers.
    pub headers: HeaderMap,
    /// The request's JSON body.
    pub body: Value,
}

struct Shared {
    reply: Mutex<Reply>,
    received: Mutex<Vec<Received>>,
    refreshes: AtomicUsize,
    /// How many response bodies ended (sent in full, or dropped because the peer went away).
    bodies_ended: watch::Sender<usize>,
}

/// The running stand-in. Dropping it stops it.
pub struct StandIn {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for StandIn {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl StandIn {
    /// Starts a stand-in answering every Codex request with `reply`.
    pub async fn start(reply: Reply) -> Self {
        let shared = Arc::new(Shared {
            reply: Mutex::new(reply),
            received: Mutex::new(Vec::new()),
            refreshes: AtomicUsize::new(0),
            bodies_ended: watch::channel(0).0,
        });
        let app = Router::new()
            .route(&format!("{CODEX_PATH}/responses"), post(codex_responses))
            .route("/oauth/token", post(issuer_token))
            .route("/v1/chat/completions", post(openai_chat))
            .with_state(Arc::clone(&shared));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the stand-in");
        let url = format!("http://{}", listener.local_addr().expect("address"));
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.ok();
        });
        Self { url, shared, task }
    }

    /// The Codex base URL to give byok.
    pub fn codex_base_url(&self) -> String {
        format!("{}{CODEX_PATH}", self.url)
    }

    /// Changes how later requests are answered.
    pub fn set_reply(&self, reply: Reply) {
        *self.shared.reply.lock().expect("lock") = reply;
    }

    /// Every Codex request received so far.
    pub fn received(&self) -> Vec<Received> {
        self.shared.received.lock().expect("lock").clone()
    }

    /// How many refresh requests reached the issuer.
    pub fn refreshes(&self) -> usize {
        self.shared.refreshes.load(Ordering::SeqCst)
    }

    /// A watch on the number of response bodies that ended, to see a connection close.
    pub fn bodies_ended(&self) -> watch::Receiver<usize> {
        self.shared.bodies_ended.subscribe()
    }
}

/// Counts a body as ended when it is dropped, whether it was sent in full or not.
struct EndGuard(Arc<Shared>);

impl Drop for EndGuard {
    fn drop(&mut self) {
        self.0.bodies_ended.send_modify(|n| *n += 1);
    }
}

async fn codex_responses(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let has_tools = body["tools"].as_array().is_some_and(|t| !t.is_empty());
    shared.received.lock().expect("lock").push(Received {
        path: format!("{CODEX_PATH}/responses"),
        headers,
        body,
    });
    let reply = shared.reply.lock().expect("lock").clone();
    match reply {
        Reply::Replay(name) => stream(&shared, name, usize::MAX, false),
        Reply::ByTools {
            with_tools,
            without,
        } => {
            let name = if has_tools { with_tools } else { without };
            stream(&shared, name, usize::MAX, false)
        }
        Reply::CutAfter(name, n) => stream(&shared, name, n, false),
        Reply::HangAfter(name, n) => stream(&shared, name, n, true),
        Reply::UsageLimit { resets_in_seconds } => {
            let body = json!({"error": {
                "type": "usage_limit_reached",
                "message": "The usage limit has been reached",
                "plan_type": "plus",
                "resets_in_seconds": resets_in_seconds,
            }});
            (StatusCode::TOO_MANY_REQUESTS, axum::Json(body)).into_response()
        }
        Reply::Status(status) => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let body = json!({"error": {"message": "the stand-in fails on purpose",
                "type": "server_error", "param": null, "code": null}});
            (status, axum::Json(body)).into_response()
        }
    }
}

/// The first `limit` events of a recording, one chunk each; then the end, or silence.
fn stream(shared: &Arc<Shared>, name: &str, limit: usize, hang: bool) -> Response {
    let events: Vec<Bytes> = sse::events(&fixtures::recorded(name))
        .into_iter()
        .take(limit)
        .map(|e| {
            let name = e.name.map(|n| format!("event: {n}\n")).unwrap_or_default();
            Bytes::from(format!("{name}data: {}\n\n", e.data))
        })
        .collect();
    let guard = EndGuard(Arc::clone(shared));
    let body = futures::stream::iter(events.into_iter().map(Ok::<_, std::io::Error>)).chain(
        futures::stream::once(async move {
            if hang {
                std::future::pending::<()>().await;
            }
            drop(guard);
            Ok(Bytes::new())
        }),
    );
    let mut response = Response::new(Body::from_stream(body));
    let headers = response.headers_mut();
    headers.insert("content-type", "text/event-stream".parse().expect("header"));
    for (name, value) in fixtures::recorded_headers(name) {
        if let (Ok(name), Ok(value)) = (
            axum::http::HeaderName::try_from(name),
            axum::http::HeaderValue::try_from(value),
        ) {
            headers.insert(name, value);
        }
    }
    response
}

/// The OpenAI API's Chat Completions (API-key mode): one plain answer.
async fn openai_chat(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> axum::Json<Value> {
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let model = body["model"].clone();
    shared.received.lock().expect("lock").push(Received {
        path: "/v1/chat/completions".into(),
        headers,
        body,
    });
    axum::Json(json!({
        "id": "chatcmpl-openai", "object": "chat.completion", "created": 1, "model": model,
        "choices": [{"index": 0, "finish_reason": "stop",
            "message": {"role": "assistant", "content": OPENAI_ANSWER}}],
        "usage": {"prompt_tokens": 5, "completion_tokens": 4, "total_tokens": 9},
    }))
}

/// What the stand-in OpenAI API answers.
pub const OPENAI_ANSWER: &str = "an answer from the OpenAI API";

/// The issuer's token endpoint: every refresh gets fresh tokens.
async fn issuer_token(State(shared): State<Arc<Shared>>) -> axum::Json<Value> {
    let n = shared.refreshes.fetch_add(1, Ordering::SeqCst) + 1;
    let jwt = crate::harness::fake_jwt("me@example.com", "acc-e2e", 3600);
    axum::Json(json!({
        "access_token": jwt,
        "id_token": jwt,
        "refresh_token": format!("rt-{n}"),
        "expires_in": 3600,
        "token_type": "Bearer",
    }))
}

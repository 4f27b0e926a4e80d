//! The stand-in OpenAI / Codex upstream: replays the recorded streams with their recorded
//! headers, misbehaves on demand, and keeps every request it received.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use serde_json::Value;

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
    /// No answer at all for this long, then the recorded `text` stream.
    SlowHead(Duration),
    /// A recorded stream whole, then the connection is held open (as an upstream may after
    /// `response.completed`); the stand-in counts the lingering bodies byok let go.
    Linger(&'static str),
}

/// One request as the stand-in received it (byok-test-support's, shared by every stand-in).
pub use byok_test_support::Received;

struct Shared {
    script: Mutex<VecDeque<Reply>>,
    received: Mutex<Vec<Received>>,
    /// Lingering bodies (`Reply::Linger`) byok dropped.
    let_go: Arc<std::sync::atomic::AtomicUsize>,
    /// The model catalog `GET /models` serves and its tag; none: 404, as a backend that
    /// cannot be asked.
    catalog: Mutex<Option<(Value, String)>>,
    /// Every `GET /models` received.
    models_asked: Mutex<Vec<Received>>,
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
            let_go: Arc::default(),
            catalog: Mutex::new(None),
            models_asked: Mutex::new(Vec::new()),
        });
        let router = Router::new()
            .route("/models", axum::routing::get(models))
            .fallback(upstream)
            .with_state(shared.clone());
        let url = serve(router).await;
        Self { url, shared }
    }

    /// Every request received so far.
    pub fn received(&self) -> Vec<Received> {
        self.shared.received.lock().unwrap().clone()
    }

    /// Serves `catalog` (`{"models": [...]}`) at `GET /models` tagged `etag`, tags every answer
    /// with it (`x-models-etag`), and refuses the models it does not hold as the backend does.
    pub fn set_catalog(&self, catalog: Value, etag: &str) {
        *self.shared.catalog.lock().unwrap() = Some((catalog, etag.to_owned()));
    }

    /// Every `GET /models` received so far.
    pub fn models_asked(&self) -> Vec<Received> {
        self.shared.models_asked.lock().unwrap().clone()
    }

    /// How many lingering bodies (`Reply::Linger`) byok has let go of.
    pub fn let_go(&self) -> usize {
        self.shared.let_go.load(std::sync::atomic::Ordering::SeqCst)
    }
}

/// `GET /models?client_version=V`: the catalog, if one is set, for a request that carries
/// what the official client sends (`official-http/01-GET-models.json`).
async fn models(State(shared): State<Arc<Shared>>, uri: Uri, headers: HeaderMap) -> Response {
    // The path with its query: what tells the client version.
    let received = Received {
        path: uri.to_string(),
        headers,
        body: Value::Null,
    };
    shared.models_asked.lock().unwrap().push(received.clone());
    let Some((catalog, etag)) = shared.catalog.lock().unwrap().clone() else {
        return (StatusCode::NOT_FOUND, "{\"detail\":\"Not Found\"}").into_response();
    };
    let version = uri.query().and_then(|q| q.strip_prefix("client_version="));
    if version.is_none() || version != received.header("version") {
        return (
            StatusCode::BAD_REQUEST,
            "{\"detail\":\"client_version is required\"}",
        )
            .into_response();
    }
    if !received
        .header("authorization")
        .is_some_and(|a| a.starts_with("Bearer "))
        || received.header("chatgpt-account-id").is_none()
    {
        return (StatusCode::UNAUTHORIZED, "{\"detail\":\"Unauthorized\"}").into_response();
    }
    let mut response = axum::Json(catalog).into_response();
    response
        .headers_mut()
        .insert("x-models-etag", etag.parse().unwrap());
    response
}

async fn upstream(
    State(shared): State<Arc<Shared>>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let model = body["model"].as_str().unwrap_or_default().to_owned();
    shared.received.lock().unwrap().push(Received {
        path: uri.path().to_owned(),
        headers,
        body,
    });
    let catalog = shared.catalog.lock().unwrap().clone();
    if let Some((catalog, etag)) = catalog {
        let served = catalog["models"]
            .as_array()
            .is_some_and(|models| models.iter().any(|m| m["slug"] == model.as_str()));
        let mut response = if served {
            answer(&shared).await
        } else {
            let detail = format!(
                "The '{model}' model is not supported when using Codex with a ChatGPT account."
            );
            (
                StatusCode::BAD_REQUEST,
                serde_json::json!({ "detail": detail }).to_string(),
            )
                .into_response()
        };
        response
            .headers_mut()
            .insert("x-models-etag", etag.parse().unwrap());
        return response;
    }
    answer(&shared).await
}

/// The next scripted answer.
async fn answer(shared: &Arc<Shared>) -> Response {
    let reply = shared
        .script
        .lock()
        .unwrap()
        .pop_front()
        .unwrap_or(Reply::Fixture("text"));
    if let Reply::SlowHead(wait) = reply {
        tokio::time::sleep(wait).await;
        return respond(Reply::Fixture("text"));
    }
    if let Reply::Linger(name) = reply {
        return linger(name, shared.let_go.clone());
    }
    respond(reply)
}

/// A recorded stream, then a connection held open until byok drops it.
fn linger(name: &'static str, let_go: Arc<std::sync::atomic::AtomicUsize>) -> Response {
    struct Counted(Arc<std::sync::atomic::AtomicUsize>);
    impl Drop for Counted {
        fn drop(&mut self) {
            self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
    }
    let counted = Counted(let_go);
    let body = futures::stream::iter([Ok::<_, Infallible>(fixture(name).into_bytes())]).chain(
        futures::stream::pending().map(move |()| {
            let _keep = &counted;
            Ok(Vec::new())
        }),
    );
    let mut response = Response::new(Body::from_stream(body));
    for (k, v) in fixture_headers(name) {
        response.headers_mut().insert(
            axum::http::HeaderName::try_from(k).unwrap(),
            v.parse().unwrap(),
        );
    }
    response
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
        Reply::SlowHead(_) | Reply::Linger(_) => unreachable!("answered in `upstream`"),
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

/// Serves `router` on 127.0.0.1 (byok-test-support's), for as long as the test runs.
pub async fn serve(router: Router) -> String {
    byok_test_support::serve(router).await.0
}

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
        });
        let router = Router::new().fallback(upstream).with_state(shared.clone());
        let url = serve(router).await;
        Self { url, shared }
    }

    /// Every request received so far.
    pub fn received(&self) -> Vec<Received> {
        self.shared.received.lock().unwrap().clone()
    }

    /// How many lingering bodies (`Reply::Linger`) byok has let go of.
    pub fn let_go(&self) -> usize {
        self.shared.let_go.load(std::sync::atomic::Ordering::SeqCst)
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

//! Stand-ins for byok's tests, written once and used by every crate's tests as a path
//! dev-dependency (`publish = false`: nothing published depends on it; `cargo xtask layers`
//! checks that).
//!
//! * [`issuer`]: the ChatGPT issuer (`auth.openai.com`): PKCE code exchange, device codes,
//!   refresh with rotating refresh tokens, for one account or several, failures on demand.
//!
//! * [`upstream`]: the Codex backend and the OpenAI API: recorded streams replayed (whole, in
//!   chunks or event by event, paced or not), what the backend refuses refused, failures on
//!   demand. The executor's tests, the end-to-end tests and the benchmark all use it.
//!   [`scripted`]: the streams it builds rather than replays (in-band compaction, agent loops).
//!
//! * [`client_version`]: the Codex backend's client version gate (the `version` header and
//!   the `User-Agent` at least each model's `minimal_client_version`), for every stand-in
//!   Codex backend.
//!
//! * [`logs`]: what the test process logs, captured for the test to read.
//!
//! * [`redis`]: a real `redis-server` on a free port, for the shared state's tests (killed and
//!   started again on demand).
//!
//! * [`serve`]: a stand-in's router on 127.0.0.1; [`Received`]: a request it kept;
//!   [`eventually`]: what a test waits for, polled.
//!
//! A stand-in behaves like the real service where byok depends on it, refusals included.

#![allow(clippy::missing_panics_doc)]

pub mod client_version;
pub mod issuer;
pub mod logs;
pub mod redis;
pub mod scripted;
pub mod upstream;

use axum::Router;
use axum::http::HeaderMap;
use axum::serve::ListenerExt as _;
use serde_json::Value;

/// One request as a stand-in received it, kept for the test to look at.
#[derive(Clone, Debug)]
pub struct Received {
    /// The request's path (`/backend-api/codex/responses`), or what the stand-in calls it.
    pub path: String,
    /// The request's headers.
    pub headers: HeaderMap,
    /// The request's JSON body (`null` when it had none, or none that parses).
    pub body: Value,
}

impl Received {
    /// The header `name`, when it is there and readable.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// Serves `router` on a free port of 127.0.0.1, as a stand-in does: its address
/// (`http://127.0.0.1:PORT`) and the task serving it (abort it, or let it run with the test).
///
/// Small SSE writes leave at once (`TCP_NODELAY`), as a real server's do: without it, Nagle's
/// algorithm holds each event back until the previous one is acknowledged.
pub async fn serve(router: Router) -> (String, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    (url, task)
}

/// Polls `check` every 20 ms until it holds, failing the test naming `what` after 5 s: for
/// what happens in the background (a write reaching Redis, a watch noticing an outage).
pub async fn eventually(what: &str, mut check: impl AsyncFnMut() -> bool) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while !check().await {
        assert!(
            std::time::Instant::now() < deadline,
            "{what} did not happen within 5 s"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

//! A stand-in Codex upstream that replays one recorded stream, optionally paced.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderName, HeaderValue, Response, StatusCode};
use axum::routing::post;
use axum::serve::ListenerExt as _;
use bytes::Bytes;
use futures::stream;

use crate::{flag, parsed};

/// A recorded stream, split into its events, with the headers it came with.
struct Replay {
    whole: Bytes,
    events: Vec<Bytes>,
    headers: Vec<(HeaderName, HeaderValue)>,
    pace: Duration,
}

/// `standin --fixture FILE.sse [--pace-ms N]`: serves until killed; prints `http://ADDR`.
pub async fn run(args: &[String]) -> Result<(), String> {
    let fixture = flag(args, "--fixture").ok_or("--fixture FILE.sse is required")?;
    let pace = Duration::from_millis(parsed(args, "--pace-ms", 0)?);
    let replay = Arc::new(load_replay(fixture, pace)?);
    let app = Router::new()
        .route("/responses", post(replay_stream))
        .route("/v1/responses", post(replay_stream))
        .with_state(replay);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| format!("cannot bind: {e}"))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    println!("http://{addr}");
    // Like a real upstream: every event goes out at once, not held back by Nagle's algorithm.
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    axum::serve(listener, app)
        .await
        .map_err(|e| format!("stand-in stopped: {e}"))
}

fn load_replay(fixture: &str, pace: Duration) -> Result<Replay, String> {
    let text = std::fs::read_to_string(fixture).map_err(|e| format!("{fixture}: {e}"))?;
    let events = text
        .split_inclusive("\n\n")
        .map(|e| Bytes::copy_from_slice(e.as_bytes()))
        .collect();
    let meta_path = fixture
        .replace("-empty-output", "")
        .replace(".sse", ".meta.json");
    let mut headers = vec![(
        HeaderName::from_static("content-type"),
        HeaderValue::from_static("text/event-stream; charset=utf-8"),
    )];
    if let Ok(meta) = std::fs::read_to_string(&meta_path) {
        let meta: serde_json::Value =
            serde_json::from_str(&meta).map_err(|e| format!("{meta_path}: {e}"))?;
        if let Some(recorded) = meta["response_headers"].as_object() {
            for (name, value) in recorded {
                if name.starts_with("x-") {
                    let value = value.as_str().unwrap_or_default();
                    headers.push((
                        HeaderName::try_from(name.as_str()).map_err(|e| e.to_string())?,
                        HeaderValue::try_from(value).map_err(|e| e.to_string())?,
                    ));
                }
            }
        }
    }
    Ok(Replay {
        whole: Bytes::from(text),
        events,
        headers,
        pace,
    })
}

async fn replay_stream(State(replay): State<Arc<Replay>>) -> Response<Body> {
    let body = if replay.pace.is_zero() {
        Body::from(replay.whole.clone())
    } else {
        let events = replay.events.clone();
        let pace = replay.pace;
        Body::from_stream(stream::unfold(0usize, move |i| {
            let event = events.get(i).cloned();
            async move {
                let event = event?;
                if i > 0 {
                    tokio::time::sleep(pace).await;
                }
                Some((Ok::<_, std::convert::Infallible>(event), i + 1))
            }
        }))
    };
    let mut response = Response::new(body);
    *response.status_mut() = StatusCode::OK;
    for (name, value) in &replay.headers {
        response.headers_mut().insert(name.clone(), value.clone());
    }
    response
}

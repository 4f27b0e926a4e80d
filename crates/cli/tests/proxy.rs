//! `byok serve` honours the proxy the environment names, for model requests too.

mod common;

use std::sync::{Arc, Mutex};

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, Uri};
use serde_json::{Value, json};
use tokio::process::Command;

use common::{byok, run, serve};

/// What the stand-in proxy was asked for: the request target and its `authorization`.
type Seen = Arc<Mutex<Vec<(String, String)>>>;

/// A forward proxy on 127.0.0.1 that answers every request itself, as the upstream would.
async fn stand_in_proxy() -> (String, Seen) {
    async fn answer(State(seen): State<Seen>, uri: Uri, headers: HeaderMap) -> Json<Value> {
        let authorization = headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        seen.lock().unwrap().push((uri.to_string(), authorization));
        Json(json!({
            "id": "chatcmpl-proxy",
            "object": "chat.completion",
            "created": 1,
            "model": "gpt-4.1",
            "choices": [{
                "index": 0,
                "message": {"role": "assistant", "content": "via the proxy"},
                "finish_reason": "stop"
            }]
        }))
    }
    let seen = Seen::default();
    let app = axum::Router::new()
        .fallback(answer)
        .with_state(seen.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, seen)
}

#[tokio::test]
async fn model_requests_go_through_the_proxy_the_environment_names() {
    let (proxy, seen) = stand_in_proxy().await;
    let dirs = tempfile::tempdir().unwrap();
    // The upstream address is one nothing listens on: only the proxy can answer.
    let (mut child, base, _) = serve(
        byok(&dirs)
            .env("OPENAI_API_KEY", "sk-test")
            .env("HTTP_PROXY", &proxy),
    )
    .await;

    let response = reqwest::Client::new()
        .post(format!("{base}/chat/completions"))
        .json(&json!({"model": "gpt-4.1", "messages": [{"role": "user", "content": "hi"}]}))
        .send()
        .await
        .unwrap();
    let status = response.status();
    let body: Value = response.json().await.unwrap();

    assert_eq!(status, 200, "{body}");
    assert_eq!(body["choices"][0]["message"]["content"], "via the proxy");
    assert_eq!(
        *seen.lock().unwrap(),
        [(
            "http://127.0.0.1:9/v1/chat/completions".to_owned(),
            "Bearer sk-test".to_owned()
        )]
    );
    let pid = child.id().unwrap().to_string();
    let (killed, _, _) = run(Command::new("kill").args(["-TERM", &pid])).await;
    assert!(killed);
    assert!(child.wait().await.unwrap().success());
}

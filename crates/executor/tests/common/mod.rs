//! Stand-ins on 127.0.0.1 for the executor's tests, byok-test-support's: the Codex / OpenAI
//! upstream that replays the recorded streams (with their recorded headers) and misbehaves on
//! demand, and the OAuth issuer that answers refreshes.

#![allow(dead_code, clippy::missing_panics_doc)]

mod upstream;

/// The stand-in issuer and signed-in accounts are byok-test-support's, shared by every crate's
/// tests. (Not every test binary uses every name.)
#[allow(unused_imports)]
pub use byok_test_support::issuer::{Issuer, SignedIn, now as unix_now, signed_in};
pub use upstream::*;

use std::sync::Arc;
use std::time::Duration;

use byok_auth::AuthManager;
use byok_executor::{CodexExecutor, ProviderHttp, RetryPolicy};
use byok_types::{ByteStream, ChatRequest, ProviderResponse, RateLimitStore};
use futures::StreamExt;
use serde_json::Value;

/// Fields the Codex backend refuses with a 400 (the README's "What ChatGPT mode does with Chat
/// fields"; `crates/translate/src/codex.rs` keeps an allowlist for it).
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

/// Retries without waiting long, so tests stay fast.
pub fn fast_retries() -> RetryPolicy {
    RetryPolicy::builder()
        .base_delay(Duration::from_millis(1))
        .max_delay(Duration::from_millis(20))
        .build()
}

/// "Hello" to `gpt-5`, streamed or not.
pub fn hello(stream: bool) -> ChatRequest {
    ChatRequest::from_value(serde_json::json!({
        "model": "gpt-5",
        "stream": stream,
        "messages": [{"role": "user", "content": "Hello"}]
    }))
    .unwrap()
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

/// The account `work` signed in at its issuer: keep it while the executor runs (its
/// credentials live in a temporary directory).
pub struct Work {
    /// The issuer the account refreshes at.
    pub issuer: Issuer,
    /// The signed-in account.
    pub accounts: SignedIn,
}

/// What most tests start from: one account, `work`, signed in at a fresh issuer; a stand-in
/// answering `script` (then the recorded `text`); and an OAuth-mode executor between them.
pub async fn signed_in_executor(script: Vec<Reply>) -> (StandIn, CodexExecutor, Work) {
    let issuer = Issuer::start().await;
    let accounts = signed_in(&["work"], &issuer).await;
    let upstream = stand_in(script).await;
    let executor = oauth_executor(&upstream, &accounts.auth, &Arc::default());
    (upstream, executor, Work { issuer, accounts })
}

/// An API-key-mode executor against `upstream`.
pub async fn api_key_executor(upstream: &StandIn, key: &str) -> (CodexExecutor, SignedIn) {
    api_key_executor_recording(upstream, key, &Arc::default()).await
}

/// An API-key-mode executor against `upstream` that records rate-limit headers in `limits`.
pub async fn api_key_executor_recording(
    upstream: &StandIn,
    key: &str,
    limits: &Arc<RateLimitStore>,
) -> (CodexExecutor, SignedIn) {
    let issuer = Issuer::start().await;
    let none = signed_in(&[], &issuer).await;
    let executor = CodexExecutor::builder()
        .http(ProviderHttp::new().unwrap())
        .auth(none.auth.clone())
        .api_key(key)
        .base_url(upstream.url.clone())
        .ratelimit(limits.clone())
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
        ProviderResponse::Stream(s) => read_stream(s.body).await,
        other => panic!("expected a stream, got {other:?}"),
    }
}

/// The JSON of an answer that must be one.
pub fn complete(answer: ProviderResponse) -> Value {
    match answer {
        ProviderResponse::Complete(v) => v,
        ProviderResponse::Encoded { json, .. } => {
            serde_json::from_slice(&json).expect("an encoded answer is JSON")
        }
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
    // The official client's identity (Codex CLI 0.169.0, `codex exec`).
    assert_eq!(received.header("originator"), Some("codex_exec"));
    assert_eq!(received.header("version"), Some("0.169.0"));
    assert_eq!(received.header("accept"), Some("text/event-stream"));
    let agent = received.header("user-agent").unwrap();
    assert!(agent.starts_with("codex_exec/0.169.0 ("), "{agent}");
    assert!(agent.ends_with(" (codex_exec; 0.169.0)"), "{agent}");
    // One id names the session, as the official client sends it (UUIDv7).
    assert_eq!(received.header("session_id"), None, "the 2025 header");
    let session = received.header("session-id").expect("session-id");
    assert_eq!(uuid::Uuid::parse_str(session).unwrap().get_version_num(), 7);
    assert_eq!(received.header("thread-id"), Some(session));
    assert_eq!(received.header("x-client-request-id"), Some(session));
    assert_eq!(
        received.header("x-codex-window-id"),
        Some(format!("{session}:0").as_str())
    );
    let model = body["model"].as_str().unwrap();
    assert_eq!(
        received.header("x-codex-routing-hint"),
        Some(format!("model={model}").as_str())
    );
    if body["prompt_cache_key"] == session {
        assert_eq!(body["client_metadata"]["session_id"], session);
    }
}

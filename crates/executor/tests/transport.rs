//! A proxy given to `ProviderHttp::builder` carries the model requests (through the
//! proxy-capable client, not byok's lean one), streaming and failing as byok's own client does.

mod common;

use std::time::Duration;

use byok_executor::{CodexExecutor, ProviderHttp};
use common::*;
use serde_json::Value;

/// The name of an upstream no resolver knows: only a proxy can reach it.
const UNRESOLVABLE: &str = "codex.byok-test.invalid";

/// An OAuth executor for an upstream only reachable through its proxy, the stand-in: it gets
/// the requests in absolute form, as an HTTP proxy does.
fn proxied_executor(upstream: &StandIn, accounts: &SignedIn) -> CodexExecutor {
    let http = ProviderHttp::builder()
        .proxy(upstream.url.clone())
        .build()
        .unwrap();
    CodexExecutor::builder()
        .http(http)
        .auth(accounts.auth.clone())
        .base_url(format!("http://{UNRESOLVABLE}"))
        .retry(fast_retries())
        .idle_timeout(Duration::from_secs(20))
        .build()
}

#[tokio::test]
async fn a_proxy_carries_streamed_and_collected_answers() {
    let issuer = Issuer::start().await;
    let accounts = signed_in(&["work"], &issuer).await;
    let upstream = stand_in(vec![Reply::Replay("text"), Reply::Replay("text")]).await;
    let executor = proxied_executor(&upstream, &accounts);

    let sse = stream_text(
        executor
            .chat(&byok_types::RequestContext::local(), hello(true))
            .await
            .unwrap(),
    )
    .await;
    let whole = complete(
        executor
            .chat(&byok_types::RequestContext::local(), hello(false))
            .await
            .unwrap(),
    );

    assert_eq!(chat_content(&chat_chunks(&sse)), fixture_text("text"));
    assert!(sse.ends_with("data: [DONE]\n\n"), "{sse}");
    assert_eq!(
        whole["choices"][0]["message"]["content"],
        fixture_text("text")
    );
    for received in upstream.received() {
        assert_eq!(received.header("host"), Some(UNRESOLVABLE));
        assert_codex_request(&received, "acc-work");
    }
}

#[tokio::test]
async fn through_a_proxy_a_cut_stream_and_an_error_status_are_reported() {
    let issuer = Issuer::start().await;
    let accounts = signed_in(&["work"], &issuer).await;
    let body = r#"{"error":{"message":"The model is overloaded","type":"server_error"}}"#;
    let upstream = stand_in(vec![
        Reply::Part("text", Until::Bytes(5000), Then::Break),
        Reply::StatusWith(400, body.into(), vec![]),
    ])
    .await;
    let executor = proxied_executor(&upstream, &accounts);

    let sse = stream_text(
        executor
            .chat(&byok_types::RequestContext::local(), hello(true))
            .await
            .unwrap(),
    )
    .await;
    let err = executor
        .chat(&byok_types::RequestContext::local(), hello(false))
        .await
        .unwrap_err();

    let last: Value = serde_json::from_str(data_lines(&sse).last().unwrap()).unwrap();
    let message = last["error"]["message"].as_str().unwrap();
    assert!(message.contains("broke"), "{message}");
    assert!(!sse.contains("[DONE]"), "{sse}");
    assert_eq!(err.status(), 400, "{err:?}");
    assert_eq!(
        err.to_openai_json()["error"]["message"],
        "The model is overloaded"
    );
}

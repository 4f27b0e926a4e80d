//! A `reqwest::Client` handed in with `ProviderHttp::with_client` carries the model requests
//! (with whatever it was built with), streaming and failing as byok's own client does.

mod common;

use std::time::Duration;

use byok_executor::{CodexExecutor, ProviderHttp};
use common::*;
use reqwest::header::{HeaderMap, HeaderValue};
use serde_json::Value;

/// An OAuth executor whose requests go through a reqwest client that adds `x-handed-in: yes`.
fn handed_in_executor(upstream: &StandIn, accounts: &SignedIn) -> CodexExecutor {
    let mut headers = HeaderMap::new();
    headers.insert("x-handed-in", HeaderValue::from_static("yes"));
    let client = reqwest::Client::builder()
        .default_headers(headers)
        .build()
        .unwrap();
    CodexExecutor::builder()
        .http(ProviderHttp::with_client(client))
        .auth(accounts.auth.clone())
        .base_url(upstream.url.clone())
        .retry(fast_retries())
        .idle_timeout(Duration::from_secs(20))
        .build()
}

#[tokio::test]
async fn a_handed_in_client_streams_and_collects_the_answers() {
    let issuer = Issuer::start().await;
    let accounts = signed_in(&["work"], &issuer).await;
    let upstream = StandIn::start(vec![Reply::Fixture("text"), Reply::Fixture("text")]).await;
    let executor = handed_in_executor(&upstream, &accounts);

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
        assert_eq!(received.header("x-handed-in"), Some("yes"));
        assert_codex_request(&received, "acc-work");
    }
}

#[tokio::test]
async fn a_handed_in_client_reports_a_cut_stream_and_an_error_status() {
    let issuer = Issuer::start().await;
    let accounts = signed_in(&["work"], &issuer).await;
    let body = r#"{"error":{"message":"The model is overloaded","type":"server_error"}}"#;
    let upstream = StandIn::start(vec![
        Reply::Cut("text", 5000),
        Reply::StatusWith(400, body.into(), vec![]),
    ])
    .await;
    let executor = handed_in_executor(&upstream, &accounts);

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

//! Failures of the Codex backend: refused tokens, server errors, cut and stalled streams,
//! unreachable upstreams.

mod common;

use std::sync::Arc;
use std::time::Duration;

use byok_executor::{CodexExecutor, ProviderHttp};
use byok_types::ByokError;
use common::*;
use serde_json::{Value, json};

/// The last event of a Chat stream, which must be an error.
fn last_error(sse: &str) -> Value {
    assert!(
        !sse.contains("[DONE]"),
        "a failed stream never ends with [DONE]: {sse}"
    );
    let last: Value = serde_json::from_str(data_lines(sse).last().unwrap()).unwrap();
    assert!(last["error"]["message"].is_string(), "{last}");
    last
}

#[tokio::test]
async fn a_401_refreshes_the_token_once_and_retries() {
    let issuer = Issuer::start().await;
    let accounts = signed_in(&["work"], &issuer).await;
    let refused = r#"{"error":{"message":"token expired","type":"invalid_request_error"}}"#;
    let upstream = stand_in(vec![
        Reply::Status(401, refused.into()),
        Reply::Replay("text"),
    ])
    .await;
    let executor = oauth_executor(&upstream, &accounts.auth, &Arc::default());

    let sse = stream_text(
        executor
            .chat(&byok_types::RequestContext::local(), hello(true))
            .await
            .unwrap(),
    )
    .await;

    assert_eq!(chat_content(&chat_chunks(&sse)), fixture_text("text"));
    assert_eq!(issuer.refreshes(), 1);
    let received = upstream.received();
    assert_eq!(received.len(), 2);
    assert_codex_request(&received[1], "acc-work");
    assert_ne!(
        received[0].header("authorization"),
        received[1].header("authorization"),
        "the retry carries the refreshed token"
    );
}

#[tokio::test]
async fn two_requests_refused_with_one_token_cause_one_refresh() {
    let issuer = Issuer::start().await;
    let accounts = signed_in(&["work"], &issuer).await;
    let refused = r#"{"error":{"code":"token_invalidated","message":"invalidated"}}"#;
    let upstream = stand_in(vec![
        Reply::Status(401, refused.into()),
        Reply::Status(401, refused.into()),
    ])
    .await;
    let executor = oauth_executor(&upstream, &accounts.auth, &Arc::default());
    let ctx = byok_types::RequestContext::local();

    // Both are sent with the same token and refused; the second to refresh finds the first
    // one's new token (the refused one is named), so the refresh token rotates once.
    let (a, b) = tokio::join!(
        executor.chat(&ctx, hello(false)),
        executor.chat(&ctx, hello(false))
    );

    for answer in [a, b] {
        let completion = complete(answer.unwrap());
        assert_eq!(
            completion["choices"][0]["message"]["content"],
            fixture_text("text")
        );
    }
    assert_eq!(issuer.refreshes(), 1);
    let received = upstream.received();
    assert_eq!(received.len(), 4);
    assert_eq!(
        received[2].header("authorization"),
        received[3].header("authorization")
    );
}

#[tokio::test]
async fn a_second_401_is_not_refreshed_again() {
    let issuer = Issuer::start().await;
    let accounts = signed_in(&["work"], &issuer).await;
    let refused = r#"{"detail":"Unauthorized"}"#;
    let upstream = stand_in(vec![
        Reply::Status(401, refused.into()),
        Reply::Status(401, refused.into()),
    ])
    .await;
    let executor = oauth_executor(&upstream, &accounts.auth, &Arc::default());

    let err = executor
        .chat(&byok_types::RequestContext::local(), hello(true))
        .await
        .unwrap_err();

    assert_eq!(err.status(), 401);
    assert_eq!(issuer.refreshes(), 1);
    assert_eq!(upstream.received().len(), 2);
    // Refused even freshly refreshed: the sign-in is gone, and the error says what to do.
    let message = err.to_string();
    assert!(
        message.contains("`work`") && message.contains("sign in again with `byok login`"),
        "{message}"
    );
}

#[tokio::test]
async fn server_errors_before_the_first_byte_are_retried() {
    let (upstream, executor, _work) = signed_in_executor(vec![
        Reply::Status(500, r#"{"error":{"message":"boom"}}"#.into()),
        Reply::StatusWith(503, "{}".into(), vec![("retry-after", "0".into())]),
        Reply::Replay("text"),
    ])
    .await;

    let completion = complete(
        executor
            .chat(&byok_types::RequestContext::local(), hello(false))
            .await
            .unwrap(),
    );

    assert_eq!(
        completion["choices"][0]["message"]["content"],
        fixture_text("text")
    );
    let received = upstream.received();
    assert_eq!(received.len(), 3);
    for r in &received {
        assert_codex_request(r, "acc-work");
    }
}

#[tokio::test]
async fn three_tries_in_all_then_the_error() {
    let (upstream, executor, _work) = signed_in_executor(vec![
        Reply::Status(502, "{}".into()),
        Reply::Status(502, "{}".into()),
        Reply::Status(502, r#"{"error":{"message":"still down"}}"#.into()),
    ])
    .await;

    let err = executor
        .chat(&byok_types::RequestContext::local(), hello(true))
        .await
        .unwrap_err();

    assert!(
        matches!(err, ByokError::Upstream { status: 502, .. }),
        "{err:?}"
    );
    assert_eq!(err.to_openai_json()["error"]["message"], "still down");
    assert_eq!(upstream.received().len(), 3);
}

#[tokio::test]
async fn a_connection_cut_mid_stream_ends_with_an_error_event_and_is_not_retried() {
    let issuer = Issuer::start().await;
    let accounts = signed_in(&["work"], &issuer).await;
    let text = fixture("text");
    let cut_at = text.find("event: response.output_text.delta").unwrap() + 300;
    let upstream = stand_in(vec![Reply::Part("text", Until::Bytes(cut_at), Then::Break)]).await;
    let executor = oauth_executor(&upstream, &accounts.auth, &Arc::default());

    let sse = stream_text(
        executor
            .chat(&byok_types::RequestContext::local(), hello(true))
            .await
            .unwrap(),
    )
    .await;

    let error = last_error(&sse);
    assert_eq!(error["error"]["type"], "upstream_error");
    assert_eq!(
        chat_chunks(&sse)[0]["choices"][0]["delta"]["role"],
        "assistant"
    );
    assert_eq!(
        upstream.received().len(),
        1,
        "nothing is retried once bytes were sent"
    );
}

#[tokio::test]
async fn a_connection_cut_while_collecting_is_a_bad_gateway() {
    let (upstream, executor, _work) =
        signed_in_executor(vec![Reply::Part("text", Until::Bytes(5000), Then::Break)]).await;

    let err = executor
        .chat(&byok_types::RequestContext::local(), hello(false))
        .await
        .unwrap_err();

    assert_eq!(err.status(), 502, "{err:?}");
    assert_eq!(
        upstream.received().len(),
        1,
        "not retried once the answer began"
    );
}

#[tokio::test]
async fn a_stream_without_its_terminal_event_is_an_error() {
    let (_upstream, executor, _work) = signed_in_executor(vec![
        Reply::Part("text", Until::Completed, Then::End),
        Reply::Part("text", Until::Completed, Then::End),
    ])
    .await;

    let sse = stream_text(
        executor
            .chat(&byok_types::RequestContext::local(), hello(true))
            .await
            .unwrap(),
    )
    .await;
    last_error(&sse);
    assert_eq!(chat_content(&chat_chunks(&sse)), fixture_text("text"));

    let err = executor
        .chat(&byok_types::RequestContext::local(), hello(false))
        .await
        .unwrap_err();
    assert_eq!(err.status(), 502, "{err:?}");
}

#[tokio::test]
async fn a_stream_that_goes_quiet_ends_with_a_timeout_event() {
    let issuer = Issuer::start().await;
    let accounts = signed_in(&["work"], &issuer).await;
    let text = fixture("text");
    let quiet_from = text.find("event: response.output_text.delta").unwrap();
    let upstream = stand_in(vec![
        Reply::Part("text", Until::Bytes(quiet_from), Then::Hang),
        Reply::Part("text", Until::Bytes(quiet_from), Then::Hang),
    ])
    .await;
    let executor = CodexExecutor::builder()
        .http(ProviderHttp::new().unwrap())
        .auth(accounts.auth.clone())
        .base_url(upstream.url.clone())
        .retry(fast_retries())
        .idle_timeout(Duration::from_millis(300))
        .build();

    let sse = stream_text(
        executor
            .chat(&byok_types::RequestContext::local(), hello(true))
            .await
            .unwrap(),
    )
    .await;
    let error = last_error(&sse);
    assert_eq!(error["error"]["type"], "timeout_error");

    // A Responses client gets a Responses error event.
    let body = json!({"model": "gpt-5", "stream": true, "input": "Hello"});
    let sse = stream_text(
        executor
            .responses(&byok_types::RequestContext::local(), body)
            .await
            .unwrap(),
    )
    .await;
    assert!(sse.contains("event: error\ndata: "), "{sse}");
    assert!(!sse.contains("response.completed"));
}

#[tokio::test]
async fn an_answer_that_never_starts_is_a_timeout_and_not_retried() {
    let issuer = Issuer::start().await;
    let accounts = signed_in(&["work"], &issuer).await;
    let upstream = stand_in(vec![Reply::SlowHead(Duration::from_secs(30))]).await;
    let executor = CodexExecutor::builder()
        .http(ProviderHttp::new().unwrap())
        .auth(accounts.auth.clone())
        .base_url(upstream.url.clone())
        .retry(fast_retries())
        .idle_timeout(Duration::from_millis(300))
        .build();

    let err = executor
        .chat(&byok_types::RequestContext::local(), hello(true))
        .await
        .unwrap_err();

    assert!(matches!(err, ByokError::Timeout(_)), "{err:?}");
    assert_eq!(err.status(), 504);
    assert_eq!(upstream.received().len(), 1);
}

#[tokio::test]
async fn an_unreachable_upstream_is_reported_as_such() {
    let issuer = Issuer::start().await;
    let accounts = signed_in(&["work"], &issuer).await;
    // A port that was free a moment ago: nothing listens there.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let executor = CodexExecutor::builder()
        .http(ProviderHttp::new().unwrap())
        .auth(accounts.auth.clone())
        .base_url(url)
        .retry(fast_retries())
        .build();

    let err = executor
        .chat(&byok_types::RequestContext::local(), hello(true))
        .await
        .unwrap_err();

    assert!(matches!(err, ByokError::Unreachable(_)), "{err:?}");
    assert_eq!(err.status(), 502);
}

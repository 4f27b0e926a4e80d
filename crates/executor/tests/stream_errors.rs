//! Failures the Codex backend reports inside a 200 stream, and streams whose upstream does not
//! close after the terminal event.
//!
//! Before any output, a failure is the HTTP error it stands for: an overload is tried again, a
//! usage limit rests the account and the next one serves, a rate limit is a 429 with its wait.
//! After output, the client's stream ends with an error event that names the cause. Nothing
//! here measures time.

mod common;

use std::sync::Arc;
use std::time::Duration;

use byok_executor::{CodexExecutor, ProviderHttp};
use byok_types::{ByokError, RateLimitStore, RequestContext};
use common::*;
use serde_json::{Value, json};

/// The recorded `text` stream's lifecycle events (`response.created`, `response.in_progress`).
fn lifecycle() -> String {
    let text = fixture("text");
    let end = text.find("event: response.output_item.added").unwrap();
    text[..end].to_owned()
}

/// A `response.failed` event with this error.
fn failed(code: &str, message: &str, extra: &Value) -> String {
    let mut error = json!({"code": code, "message": message});
    error
        .as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    let event = json!({"type": "response.failed", "sequence_number": 2, "response": {
        "id": "resp_failed", "object": "response", "status": "failed", "error": error,
        "output": [], "usage": null}});
    format!("event: response.failed\ndata: {event}\n\n")
}

/// A 200 stream that fails right after its lifecycle events, as the backend does.
#[allow(clippy::needless_pass_by_value, reason = "called with json! literals")]
fn fails_before_output(code: &str, message: &str, extra: Value) -> Reply {
    Reply::Sse(lifecycle() + &failed(code, message, &extra))
}

/// A 200 stream that fails after some output reached the client.
fn fails_after_output(code: &str, message: &str) -> Reply {
    let text = fixture("text");
    let end = text.find("event: response.output_text.done").unwrap();
    Reply::Sse(text[..end].to_owned() + &failed(code, message, &json!({})))
}

const OVERLOADED: &str = "Our servers are currently overloaded. Please try again later.";

/// A recording as a client asking for `gpt-5` gets it: byte for byte, but for the dated model
/// name of its lifecycle events, which answers report as the client asked.
fn answered_as_asked(name: &str) -> String {
    fixture(name).replace(r#""model":"gpt-5-2025-08-07""#, r#""model":"gpt-5""#)
}

fn responses_body(stream: bool) -> Value {
    json!({"model": "gpt-5", "stream": stream, "input": "Hello"})
}

#[tokio::test]
async fn an_overload_before_output_is_tried_again_and_the_client_sees_one_answer() {
    let (upstream, executor, _work) = signed_in_executor(vec![
        fails_before_output("server_is_overloaded", OVERLOADED, json!({})),
        Reply::Replay("text"),
        fails_before_output("server_is_overloaded", OVERLOADED, json!({})),
        Reply::Replay("text"),
    ])
    .await;

    let sse = stream_text(
        executor
            .responses(&RequestContext::local(), responses_body(true))
            .await
            .unwrap(),
    )
    .await;

    // The failed try's lifecycle events never reached the client: its stream is the retry's.
    assert_eq!(sse, answered_as_asked("text"));
    assert_eq!(sse.matches("event: response.created").count(), 1);
    assert!(!sse.contains("resp_failed"));

    // A Chat client alike.
    let sse = stream_text(
        executor
            .chat(&RequestContext::local(), hello(true))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(chat_content(&chat_chunks(&sse)), fixture_text("text"));
    assert!(sse.ends_with("data: [DONE]\n\n"));
    assert_eq!(upstream.received().len(), 4);
}

/// Still overloaded after the tries: the upstream's failure, 502 `upstream_error` (issue #15's
/// rule for every upstream 5xx), its code and words kept and its 503 in `upstream_status`.
#[tokio::test]
async fn an_overload_that_persists_is_a_502_naming_it() {
    let overload = || fails_before_output("server_is_overloaded", OVERLOADED, json!({}));
    let (upstream, executor, _work) =
        signed_in_executor(vec![overload(), overload(), overload()]).await;

    let err = executor
        .chat(&RequestContext::local(), hello(false))
        .await
        .unwrap_err();

    assert_eq!(err.status(), 502, "{err:?}");
    let json = err.to_openai_json();
    assert_eq!(json["error"]["type"], "upstream_error");
    assert_eq!(json["error"]["upstream_status"], 503);
    assert_eq!(json["error"]["code"], "server_is_overloaded");
    assert_eq!(json["error"]["message"], OVERLOADED);
    assert_eq!(
        upstream.received().len(),
        3,
        "the retry policy's three tries"
    );
}

#[tokio::test]
async fn a_usage_limit_inside_a_200_stream_rests_the_account_and_the_next_one_serves() {
    let issuer = Issuer::start().await;
    let accounts = signed_in(&["alice", "bob"], &issuer).await;
    let limit = fails_before_output(
        "usage_limit_reached",
        "The usage limit has been reached",
        json!({"plan_type": "plus", "resets_in_seconds": 3600}),
    );
    let upstream = stand_in(vec![limit]).await;
    let executor = oauth_executor(&upstream, &accounts.auth, &Arc::default());

    for stream in [true, false] {
        let answer = executor
            .chat(&RequestContext::local(), hello(stream))
            .await
            .unwrap();
        let text = if stream {
            let sse = stream_text(answer).await;
            assert!(sse.ends_with("data: [DONE]\n\n"));
            chat_content(&chat_chunks(&sse))
        } else {
            complete(answer)["choices"][0]["message"]["content"]
                .as_str()
                .unwrap()
                .to_owned()
        };
        assert_eq!(text, fixture_text("text"));
    }

    let accounts_asked: Vec<_> = upstream
        .received()
        .iter()
        .map(|r| r.header("chatgpt-account-id").unwrap().to_owned())
        .collect();
    // alice failed inside the stream and rests; bob served, and serves the next request too.
    assert_eq!(accounts_asked, ["acc-alice", "acc-bob", "acc-bob"]);
}

#[tokio::test]
async fn a_usage_limit_on_the_only_account_is_a_429_with_the_reset() {
    let limit = fails_before_output(
        "usage_limit_reached",
        "The usage limit has been reached",
        json!({"plan_type": "plus", "resets_in_seconds": 600}),
    );
    let (upstream, executor, _work) = signed_in_executor(vec![limit]).await;

    let err = executor
        .chat(&RequestContext::local(), hello(true))
        .await
        .unwrap_err();

    assert!(matches!(err, ByokError::UsageLimit { .. }), "{err:?}");
    let wait = err.retry_after_secs().unwrap();
    assert!((590..=600).contains(&wait), "{wait}");
    assert_eq!(
        upstream.received().len(),
        1,
        "never retried on the same account"
    );
}

#[tokio::test]
async fn a_rate_limit_inside_a_200_stream_is_a_429_with_retry_after() {
    let message = "Rate limit reached for gpt-5 on tokens per min. Please try again in 2.5s.";
    let (upstream, executor, _work) = signed_in_executor(vec![
        fails_before_output("rate_limit_exceeded", message, json!({})),
        fails_before_output("rate_limit_exceeded", message, json!({})),
    ])
    .await;

    // Non-streaming clients got a 502 "broken answer" for this once.
    for err in [
        executor
            .chat(&RequestContext::local(), hello(false))
            .await
            .unwrap_err(),
        executor
            .responses(&RequestContext::local(), responses_body(true))
            .await
            .unwrap_err(),
    ] {
        assert_eq!(err.status(), 429, "{err:?}");
        assert_eq!(err.retry_after_secs(), Some(3));
        let json = err.to_openai_json();
        assert_eq!(json["error"]["code"], "rate_limit_exceeded");
        assert_eq!(json["error"]["message"], message);
    }
    assert_eq!(upstream.received().len(), 2, "a rate limit is not retried");
}

#[tokio::test]
async fn a_failure_after_output_ends_the_stream_with_an_error_naming_the_cause() {
    let (upstream, executor, _work) = signed_in_executor(vec![
        fails_after_output("server_is_overloaded", OVERLOADED),
        fails_after_output("usage_limit_reached", "The usage limit has been reached"),
    ])
    .await;

    let sse = stream_text(
        executor
            .chat(&RequestContext::local(), hello(true))
            .await
            .unwrap(),
    )
    .await;
    let chunks = chat_chunks(&sse);
    assert!(
        !chat_content(&chunks).is_empty(),
        "output reached the client"
    );
    let last = chunks.last().unwrap();
    assert_eq!(last["error"]["code"], "server_is_overloaded", "{sse}");
    assert_eq!(last["error"]["message"], OVERLOADED);
    assert!(!sse.contains("[DONE]"));

    let sse = stream_text(
        executor
            .responses(&RequestContext::local(), responses_body(true))
            .await
            .unwrap(),
    )
    .await;
    assert!(sse.contains("event: response.output_text.delta"));
    let last: Value = serde_json::from_str(data_lines(&sse).last().unwrap()).unwrap();
    assert_eq!(last["type"], "response.failed");
    assert_eq!(last["response"]["error"]["code"], "usage_limit_reached");
    assert_eq!(upstream.received().len(), 2, "nothing retried after output");
}

#[tokio::test]
async fn in_stream_rate_limit_figures_are_recorded() {
    let issuer = Issuer::start().await;
    let accounts = signed_in(&["work"], &issuer).await;
    let text = fixture("text");
    let at = text.find("event: response.output_item.added").unwrap();
    let event = json!({"type": "codex.rate_limits", "rate_limits": {
        "primary": {"used_percent": 42.0, "window_minutes": 300, "reset_at": 1_900_000_000}}});
    let with_event = format!(
        "{}event: codex.rate_limits\ndata: {event}\n\n{}",
        &text[..at],
        &text[at..]
    );
    let upstream = stand_in(vec![Reply::Sse(with_event)]).await;
    let limits = Arc::new(RateLimitStore::default());
    let executor = oauth_executor(&upstream, &accounts.auth, &limits);

    let sse = stream_text(
        executor
            .responses(&RequestContext::local(), responses_body(true))
            .await
            .unwrap(),
    )
    .await;

    // Passed on to a Responses client as it came, and recorded for `byok status`.
    assert!(sse.contains("event: codex.rate_limits"));
    let snapshot = limits
        .get(byok_types::ProviderId::Codex, "work")
        .expect("figures recorded");
    let primary = snapshot.families()[0].primary.clone().unwrap();
    assert!((primary.used_percent - 42.0).abs() < f64::EPSILON);
}

/// An executor that would wait an hour for a silent upstream.
fn patient(upstream: &StandIn, accounts: &SignedIn) -> CodexExecutor {
    CodexExecutor::builder()
        .http(ProviderHttp::new().unwrap())
        .auth(accounts.auth.clone())
        .base_url(upstream.url.clone())
        .retry(fast_retries())
        .idle_timeout(Duration::from_secs(3600))
        .build()
}

/// Fails the test instead of hanging it (this measures nothing: a correct byok answers at once).
async fn or_hang<T>(future: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(60), future)
        .await
        .expect("byok waited for the upstream to close after the terminal event")
}

#[tokio::test]
async fn the_answer_ends_at_the_terminal_event_though_the_upstream_lingers() {
    let issuer = Issuer::start().await;
    let accounts = signed_in(&["work"], &issuer).await;
    let upstream = stand_in(vec![
        Reply::Part("text", Until::Whole, Then::Hang),
        Reply::Part("text", Until::Whole, Then::Hang),
        Reply::Part("text", Until::Whole, Then::Hang),
        Reply::Part("text", Until::Whole, Then::Hang),
    ])
    .await;
    let executor = patient(&upstream, &accounts);
    let ctx = RequestContext::local();

    // Not streamed: today's 504 after the idle timeout.
    let chat = complete(or_hang(executor.chat(&ctx, hello(false))).await.unwrap());
    assert_eq!(
        chat["choices"][0]["message"]["content"],
        fixture_text("text")
    );
    let response = complete(
        or_hang(executor.responses(&ctx, responses_body(false)))
            .await
            .unwrap(),
    );
    assert_eq!(response["status"], "completed");

    // Streamed: the client's stream ends with the terminal event.
    let sse =
        or_hang(async { stream_text(executor.chat(&ctx, hello(true)).await.unwrap()).await }).await;
    assert!(sse.ends_with("data: [DONE]\n\n"));
    let sse = or_hang(async {
        stream_text(
            executor
                .responses(&ctx, responses_body(true))
                .await
                .unwrap(),
        )
        .await
    })
    .await;
    assert_eq!(sse, answered_as_asked("text"));

    // And the lingering connections were let go.
    or_hang(upstream.bodies_ended().wait_for(|ended| *ended >= 4))
        .await
        .unwrap();
}

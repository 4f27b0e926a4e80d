//! Several signed-in accounts: taking turns, resting at their usage limit.

mod common;

use std::sync::Arc;
use std::time::Duration;

use byok_types::{ByokError, ChatRequest, ProviderId, RateLimitStore};
use common::*;
use serde_json::json;

fn chat() -> ChatRequest {
    conversation(&["Hello"])
}

/// A Chat request whose user messages are `turns` (assistant answers between them).
fn conversation(turns: &[&str]) -> ChatRequest {
    let mut messages = Vec::new();
    for (n, text) in turns.iter().enumerate() {
        if n > 0 {
            messages.push(json!({"role": "assistant", "content": "ok"}));
        }
        messages.push(json!({"role": "user", "content": text}));
    }
    ChatRequest::from_value(json!({"model": "gpt-5", "stream": true, "messages": messages}))
        .unwrap()
}

fn usage_limit(resets_in_seconds: u64) -> Reply {
    let body = json!({"error": {
        "type": "usage_limit_reached",
        "message": "The usage limit has been reached",
        "plan_type": "plus",
        "resets_at": unix_now() + i64::try_from(resets_in_seconds).unwrap(),
        "resets_in_seconds": resets_in_seconds
    }});
    Reply::Status(429, body.to_string())
}

fn account_ids(upstream: &StandIn) -> Vec<String> {
    upstream
        .received()
        .iter()
        .map(|r| r.header("chatgpt-account-id").unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn accounts_take_turns() {
    let issuer = Issuer::start().await;
    let accounts = signed_in(&["alice", "bob"], &issuer).await;
    let upstream = stand_in(Vec::new()).await;
    let limits = Arc::new(RateLimitStore::default());
    let executor = oauth_executor(&upstream, &accounts.auth, &limits);

    // Four conversations.
    let ctx = byok_types::RequestContext::local();
    for n in 0..4 {
        let request = conversation(&[&format!("Hello {n}")]);
        stream_text(executor.chat(&ctx, request).await.unwrap()).await;
    }

    assert_eq!(
        account_ids(&upstream),
        ["acc-alice", "acc-bob", "acc-alice", "acc-bob"]
    );
    for (received, id) in upstream.received().iter().zip(account_ids(&upstream)) {
        assert_codex_request(received, &id);
    }
    for name in ["alice", "bob"] {
        assert!(
            limits.get(ProviderId::Codex, name).is_some(),
            "{name}'s limits recorded"
        );
    }
}

#[tokio::test]
async fn a_conversation_stays_with_the_account_that_served_it_and_keeps_its_session() {
    let issuer = Issuer::start().await;
    let accounts = signed_in(&["alice", "bob"], &issuer).await;
    let upstream = stand_in(Vec::new()).await;
    let executor = oauth_executor(&upstream, &accounts.auth, &Arc::default());
    let ctx = byok_types::RequestContext::local();

    // Turn 1 of A (alice's turn), turn 1 of B (bob's), turns 2 and 3 of A: alice again.
    for turns in [
        &["A"][..],
        &["B"],
        &["A", "more"],
        &["A", "more", "and more"],
    ] {
        stream_text(executor.chat(&ctx, conversation(turns)).await.unwrap()).await;
    }

    assert_eq!(
        account_ids(&upstream),
        ["acc-alice", "acc-bob", "acc-alice", "acc-alice"]
    );
    let received = upstream.received();
    let sessions: Vec<&str> = received
        .iter()
        .map(|r| r.header("session-id").unwrap())
        .collect();
    assert_eq!(sessions[0], sessions[2]);
    assert_eq!(sessions[0], sessions[3]);
    assert_ne!(sessions[0], sessions[1]);
    for (received, session) in received.iter().zip(&sessions) {
        assert_eq!(received.body["prompt_cache_key"], *session);
    }
}

#[tokio::test]
async fn a_usage_limit_is_not_retried_and_carries_the_reset() {
    let issuer = Issuer::start().await;
    let accounts = signed_in(&["alice"], &issuer).await;
    let upstream = stand_in(vec![usage_limit(321)]).await;
    let executor = oauth_executor(&upstream, &accounts.auth, &Arc::default());

    let err = executor
        .chat(&byok_types::RequestContext::local(), chat())
        .await
        .unwrap_err();

    let ByokError::UsageLimit {
        retry_after,
        plan_type,
        ..
    } = &err
    else {
        panic!("expected a usage limit, got {err:?}");
    };
    assert_eq!(*retry_after, Some(Duration::from_secs(321)));
    assert_eq!(plan_type.as_deref(), Some("plus"));
    assert_eq!(err.status(), 429);
    assert_eq!(
        upstream.received().len(),
        1,
        "never retried on the same account"
    );

    // The account rests: the next request does not even reach the backend.
    let err = executor
        .chat(&byok_types::RequestContext::local(), chat())
        .await
        .unwrap_err();
    let wait = err.retry_after().unwrap().as_secs();
    assert!((300..=321).contains(&wait), "{wait}");
    assert_eq!(upstream.received().len(), 1);
}

#[tokio::test]
async fn the_next_account_serves_while_one_rests() {
    let issuer = Issuer::start().await;
    let accounts = signed_in(&["alice", "bob"], &issuer).await;
    let upstream = stand_in(vec![usage_limit(600)]).await;
    let executor = oauth_executor(&upstream, &accounts.auth, &Arc::default());

    // Alice's turn: she is at her limit, so the same request goes to Bob.
    let sse = stream_text(
        executor
            .chat(&byok_types::RequestContext::local(), chat())
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(chat_content(&chat_chunks(&sse)), fixture_text("text"));
    // Bob serves the next ones while Alice rests.
    for _ in 0..2 {
        stream_text(
            executor
                .chat(&byok_types::RequestContext::local(), chat())
                .await
                .unwrap(),
        )
        .await;
    }

    assert_eq!(
        account_ids(&upstream),
        ["acc-alice", "acc-bob", "acc-bob", "acc-bob"]
    );
}

#[tokio::test]
async fn when_every_account_rests_the_earliest_reset_is_reported() {
    let issuer = Issuer::start().await;
    let accounts = signed_in(&["alice", "bob"], &issuer).await;
    let upstream = stand_in(vec![usage_limit(900), usage_limit(120)]).await;
    let executor = oauth_executor(&upstream, &accounts.auth, &Arc::default());

    let err = executor
        .chat(&byok_types::RequestContext::local(), chat())
        .await
        .unwrap_err();

    assert_eq!(err.status(), 429);
    let wait = err.retry_after().unwrap().as_secs();
    assert!((100..=120).contains(&wait), "the earliest reset: {wait}");
    assert_eq!(err.to_openai_json()["error"]["type"], "usage_limit_reached");
    assert_eq!(account_ids(&upstream), ["acc-alice", "acc-bob"]);
}

#[tokio::test]
async fn an_account_whose_token_is_refused_even_refreshed_hands_over_to_the_next() {
    let issuer = Issuer::start().await;
    let accounts = signed_in(&["alice", "bob"], &issuer).await;
    let refused = r#"{"detail":"Unauthorized"}"#;
    let upstream = stand_in(vec![
        Reply::Status(401, refused.into()),
        Reply::Status(401, refused.into()),
    ])
    .await;
    let executor = oauth_executor(&upstream, &accounts.auth, &Arc::default());

    let sse = stream_text(
        executor
            .chat(&byok_types::RequestContext::local(), chat())
            .await
            .unwrap(),
    )
    .await;

    assert_eq!(chat_content(&chat_chunks(&sse)), fixture_text("text"));
    assert_eq!(
        account_ids(&upstream),
        ["acc-alice", "acc-alice", "acc-bob"]
    );
    assert_eq!(issuer.refreshes(), 1, "alice's token was refreshed once");
}

#[tokio::test]
async fn concurrent_requests_share_the_accounts_evenly() {
    let issuer = Issuer::start().await;
    let accounts = signed_in(&["alice", "bob"], &issuer).await;
    let upstream = stand_in(Vec::new()).await;
    let executor = Arc::new(oauth_executor(&upstream, &accounts.auth, &Arc::default()));

    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let executor = executor.clone();
            tokio::spawn(async move {
                stream_text(
                    executor
                        .chat(&byok_types::RequestContext::local(), chat())
                        .await
                        .unwrap(),
                )
                .await
            })
        })
        .collect();
    for task in tasks {
        let sse = task.await.unwrap();
        assert_eq!(chat_content(&chat_chunks(&sse)), fixture_text("text"));
    }

    let ids = account_ids(&upstream);
    assert_eq!(ids.iter().filter(|id| *id == "acc-alice").count(), 10);
    assert_eq!(ids.iter().filter(|id| *id == "acc-bob").count(), 10);
    assert_eq!(issuer.refreshes(), 0);
}

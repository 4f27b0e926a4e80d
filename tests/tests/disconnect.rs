//! A client that hangs up mid-stream: byok drops the upstream request at once.
//!
//! Alone in its test binary, so that no other test competes for the CPU while it measures the
//! spec's bound (the stand-in sees its connection closed within 1 s).

use std::time::Duration;

use byok_e2e::{Byok, Reply, StandIn};
use futures::StreamExt;
use serde_json::json;

#[tokio::test]
async fn a_client_hanging_up_closes_the_upstream_connection_within_a_second() {
    let standin = StandIn::start(Reply::HangAfter("text", 8)).await;
    let byok = Byok::signed_in(&standin).await;
    let mut ended = standin.bodies_ended();
    let response = byok
        .post(
            "/v1/chat/completions",
            &json!({"model": "gpt-5", "stream": true,
            "messages": [{"role": "user", "content": "hi"}]}),
        )
        .await;
    assert_eq!(response.status(), 200);
    let mut body = response.bytes_stream();
    let first = body.next().await.expect("a first chunk").unwrap();
    assert!(first.starts_with(b"data: "), "{first:?}");
    assert_eq!(*ended.borrow(), 0, "the upstream stream is still open");

    drop(body);
    // The spec's bound: the stand-in sees its connection closed within 1 s of the hang-up.
    tokio::time::timeout(Duration::from_secs(1), ended.wait_for(|n| *n == 1))
        .await
        .expect("the upstream connection closed within 1 s")
        .unwrap();
    byok.stop().await.unwrap();
}

#[tokio::test]
async fn a_responses_client_hanging_up_closes_the_upstream_connection_within_a_second() {
    let standin = StandIn::start(Reply::HangAfter("tools", 5)).await;
    let byok = Byok::signed_in(&standin).await;
    let mut ended = standin.bodies_ended();
    let response = byok
        .post(
            "/v1/responses",
            &json!({"model": "gpt-5", "stream": true, "input": "hi"}),
        )
        .await;
    assert_eq!(response.status(), 200);
    let mut body = response.bytes_stream();
    body.next().await.expect("a first chunk").unwrap();
    assert_eq!(*ended.borrow(), 0, "the upstream stream is still open");

    drop(body);
    tokio::time::timeout(Duration::from_secs(1), ended.wait_for(|n| *n == 1))
        .await
        .expect("the upstream connection closed within 1 s")
        .unwrap();
    byok.stop().await.unwrap();
}

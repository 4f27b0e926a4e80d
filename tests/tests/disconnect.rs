//! A client that hangs up mid-stream: byok drops the upstream request at once.
//!
//! Alone in its test binary, so that no other test competes for the CPU while it measures the
//! spec's bound (the stand-in sees its connection closed within 1 s).

use std::time::Duration;

use byok_e2e::{Byok, Reply, StandIn, Then, Until};
use futures::StreamExt;
use serde_json::{Value, json};

/// Streams `body` to `path` from a stand-in that replays `reply` and then keeps the connection
/// open; hangs up after the first chunk and checks that the stand-in's connection closes within
/// the spec's 1 s. The first chunk, for the caller to look at.
async fn hang_up_after_the_first_chunk(reply: Reply, path: &str, body: &Value) -> Vec<u8> {
    let standin = StandIn::start(reply).await;
    let byok = Byok::signed_in(&standin).await;
    let mut ended = standin.bodies_ended();
    let response = byok.post(path, body).await;
    assert_eq!(response.status(), 200);
    let mut body = response.bytes_stream();
    let first = body.next().await.expect("a first chunk").unwrap();
    assert_eq!(*ended.borrow(), 0, "the upstream stream is still open");

    drop(body);
    tokio::time::timeout(Duration::from_secs(1), ended.wait_for(|n| *n == 1))
        .await
        .expect("the upstream connection closed within 1 s")
        .unwrap();
    byok.stop().await.unwrap();
    first.to_vec()
}

#[tokio::test]
async fn a_client_hanging_up_closes_the_upstream_connection_within_a_second() {
    let first = hang_up_after_the_first_chunk(
        Reply::Part("text", Until::Events(8), Then::Hang),
        "/v1/chat/completions",
        &json!({"model": "gpt-5", "stream": true,
            "messages": [{"role": "user", "content": "hi"}]}),
    )
    .await;
    assert!(first.starts_with(b"data: "), "{first:?}");
}

#[tokio::test]
async fn a_responses_client_hanging_up_closes_the_upstream_connection_within_a_second() {
    let first = hang_up_after_the_first_chunk(
        Reply::Part("tools", Until::Events(5), Then::Hang),
        "/v1/responses",
        &json!({"model": "gpt-5", "stream": true, "input": "hi"}),
    )
    .await;
    assert!(first.starts_with(b"event: "), "{first:?}");
}

//! The access log: one line per request, never a body or a key.
//!
//! Alone in its test binary: it installs the global log subscriber.

mod common;

use byok_server::ServerConfig;
use byok_test_support::logs::Captured;
use byok_types::{ByteStream, Secret, StreamEnd, StreamProtocol, TokenUsage};
use bytes::Bytes;
use common::{Server, chat_body, stream_of};
use serde_json::json;

#[tokio::test]
async fn logs_one_line_per_request_without_bodies_or_keys() {
    let captured = Captured::install("info");

    let server = Server::start(
        ServerConfig::builder()
            .client_key(Secret::new("sk-CLIENT-KEY-SECRET"))
            .build(),
    )
    .await;
    // A Chat stream whose client did not ask for usage: no usage in its bytes, but the
    // executor's report has it, and the log line shows it.
    let stream: ByteStream = Box::pin(futures::stream::iter([Ok(Bytes::from_static(
        b"data: {\"choices\":[]}\n\ndata: [DONE]\n\n",
    ))]));
    let (answer, report) = stream_of(StreamProtocol::Chat, stream);
    report.set_usage(TokenUsage {
        input: 3,
        output: 5,
        cached: 2,
        reasoning: 1,
    });
    report.set_end(StreamEnd::Completed);
    server.executor.answer(Ok(answer));
    let mut body = chat_body(true);
    body["messages"][0]["content"] = json!("BODY-TEXT-SECRET");
    let text = reqwest::Client::new()
        .post(server.url("/v1/chat/completions"))
        .bearer_auth("sk-CLIENT-KEY-SECRET")
        .json(&body)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(text.ends_with("data: [DONE]\n\n"));
    let missing = reqwest::Client::new()
        .get(server.url("/nowhere"))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
    // A model name that would start a forged line (and clear the terminal) if written raw.
    server
        .executor
        .answer(Ok(byok_types::ProviderResponse::Complete(
            json!({"id": "x"}),
        )));
    let mut forging = chat_body(false);
    forging["model"] = json!("gpt-5\n2026-12-02T00:00:00Z  INFO byok::access: forged\u{1b}[2J");
    let forged = reqwest::Client::new()
        .post(server.url("/v1/chat/completions"))
        .bearer_auth("sk-CLIENT-KEY-SECRET")
        .json(&forging)
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 200);
    server.stop().await.unwrap();

    let logs = captured.since(0);
    let lines: Vec<&str> = logs
        .lines()
        .filter(|l| l.contains("byok::access"))
        .collect();
    assert_eq!(lines.len(), 3, "{logs}");
    assert!(
        !logs.lines().any(|l| l.starts_with("2026-12-02T00:00:00Z")) && !logs.contains('\u{1b}'),
        "{logs}"
    );
    assert!(
        lines[2].contains(r"model=gpt-5\n2026-12-02T00:00:00Z  INFO byok::access: forged\u{1b}[2J"),
        "{}",
        lines[2]
    );
    for field in [
        "method=POST",
        "path=/v1/chat/completions",
        "model=gpt-5",
        "status=200",
        "prompt_tokens=3",
        "completion_tokens=5",
        "cached_tokens=2",
        "reasoning_tokens=1",
        "duration_ms=",
        "stream completed",
    ] {
        assert!(lines[0].contains(field), "{field} not in {}", lines[0]);
    }
    assert!(lines[1].contains("status=404") && lines[1].contains("path=/nowhere"));
    // An error answer says why, in its line.
    assert!(lines[1].contains("error="), "{}", lines[1]);
    assert!(!lines[0].contains("error="), "{}", lines[0]);
    assert!(!logs.contains("SECRET"), "{logs}");
}

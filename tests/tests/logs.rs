//! What `byok serve` logs at its default level (info) for requests refused before anything went
//! upstream: the access-log line, which says why, and nothing else.
//!
//! Alone in its test binary: it installs the global log subscriber.

use std::time::Duration;

use byok_e2e::{Byok, Reply, StandIn};
use byok_test_support::logs::Captured;
use serde_json::{Value, json};

/// The lines written from `offset` up to the access-log line of a request to `path`, which is
/// written last (when the answer has left). Fails the test instead of hanging it.
async fn lines_until(captured: &Captured, offset: usize, path: &str) -> Vec<String> {
    let access = format!("path={path} ");
    for _ in 0..500 {
        let text = captured.since(offset);
        if text
            .lines()
            .any(|l| l.contains("byok::access") && l.contains(&access))
        {
            return text.lines().map(str::to_owned).collect();
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("no access-log line; logged: {}", captured.since(offset));
}

/// Waits until what byok logged so far is written: its start, earlier requests (a request's
/// line is written when its answer has left, maybe after the client read it).
async fn quiet(byok: &Byok, captured: &Captured) {
    let offset = captured.len();
    assert_eq!(byok.get("/healthz").await.status(), 200);
    lines_until(captured, offset, "/healthz").await;
}

/// A catalog the stand-in serves, so that a model outside it is refused by byok itself.
fn catalog() -> Value {
    json!({"models": [{"slug": "gpt-5.5", "priority": 1, "visibility": "list",
        "supported_reasoning_levels": [{"effort": "medium"}]}]})
}

/// Before: each of these requests wrote a second line, "upstream request failed", at info,
/// although nothing had gone upstream. Now one line per request, the access log's, carrying the
/// error byok answered with.
#[tokio::test]
async fn a_request_refused_before_going_upstream_writes_one_line_saying_why() {
    let captured = Captured::install("info");

    // Signed in, with the live catalog known: an unknown model, bad input.
    let standin = StandIn::start(Reply::Replay("text")).await;
    standin.set_catalog(catalog(), "\"standin-1\"");
    let byok = Byok::signed_in(&standin).await;
    for _ in 0..200 {
        let list: Value = byok.get("/v1/models").await.json().await.unwrap();
        if list["data"].as_array().is_some_and(|m| m.len() == 1) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    quiet(&byok, &captured).await;
    let chat =
        |model: &str| json!({"model": model, "messages": [{"role": "user", "content": "hi"}]});
    let cases = [
        (
            "/v1/chat/completions",
            chat("gpt-4-retired"),
            404,
            "`gpt-4-retired`",
        ),
        ("/v1/responses", json!({"model": "gpt-5.5"}), 400, "input"),
    ];
    for (path, body, status, reason) in cases {
        let offset = captured.len();
        assert_eq!(byok.post(path, &body).await.status(), status, "{path}");
        let lines = lines_until(&captured, offset, path).await;
        assert_eq!(lines.len(), 1, "{lines:#?}");
        assert!(lines[0].contains(&format!("status={status}")), "{lines:#?}");
        assert!(
            lines[0].contains("error=") && lines[0].contains(reason),
            "{lines:#?}"
        );
    }
    assert!(standin.received().is_empty(), "nothing went upstream");
    byok.stop().await.unwrap();

    // No account at all.
    let home = tempfile::tempdir().unwrap();
    let settings = Byok::settings(&home, &standin);
    let byok = Byok::start(home, settings).await;
    quiet(&byok, &captured).await;
    let offset = captured.len();
    let answer = byok.post("/v1/chat/completions", &chat("gpt-5.5")).await;
    assert_eq!(answer.status(), 401);
    let lines = lines_until(&captured, offset, "/v1/chat/completions").await;
    assert_eq!(lines.len(), 1, "{lines:#?}");
    assert!(
        lines[0].contains("status=401") && lines[0].contains("error=no credentials"),
        "{lines:#?}"
    );
    byok.stop().await.unwrap();

    let logs = captured.since(0);
    assert!(!logs.contains("upstream request failed"), "{logs}");
}

//! Streams under stress: a client that hangs up, many clients at once; and the simple GETs.

use std::time::Duration;

use byok_e2e::{Byok, Reply, StandIn, Then, Until, fixtures, sse};
use futures::StreamExt;
use serde_json::{Value, json};

fn chat() -> Value {
    json!({"model": "gpt-5", "stream": true, "messages": [{"role": "user", "content": "hi"}]})
}

#[tokio::test]
async fn two_hundred_concurrent_streams_all_succeed() {
    let standin = StandIn::start(Reply::Replay("text")).await;
    let byok = Byok::signed_in(&standin).await;
    let client = reqwest::Client::new();
    let expected = fixtures::recorded_text("text");
    let streams = (0..200).map(|_| {
        let request = client.post(byok.at("/v1/chat/completions")).json(&chat());
        async move {
            let response = request.send().await.map_err(|e| e.to_string())?;
            if response.status() != 200 {
                return Err(format!("status {}", response.status()));
            }
            let body = response.text().await.map_err(|e| e.to_string())?;
            let text: String = sse::json_events(&body)
                .iter()
                .filter_map(|c| {
                    c["choices"][0]["delta"]["content"]
                        .as_str()
                        .map(str::to_owned)
                })
                .collect();
            let done = sse::events(&body)
                .last()
                .is_some_and(|e| e.data == "[DONE]");
            Ok::<_, String>((text, done))
        }
    });
    let results = futures::future::join_all(streams).await;
    let failures: Vec<&String> = results.iter().filter_map(|r| r.as_ref().err()).collect();
    assert!(
        failures.is_empty(),
        "{} failed: {:?}",
        failures.len(),
        &failures[..failures.len().min(3)]
    );
    for (text, done) in results.into_iter().map(Result::unwrap) {
        assert_eq!(text, expected);
        assert!(done);
    }
    assert_eq!(standin.received().len(), 200);
    byok.stop().await.unwrap();
}

#[tokio::test]
async fn lists_models_and_reports_health() {
    let standin = StandIn::start(Reply::Replay("text")).await;
    let byok = Byok::signed_in(&standin).await;
    let list: Value = byok.get("/v1/models").await.json().await.unwrap();
    assert_eq!(list["object"], "list");
    let ids: Vec<&str> = list["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    assert!(
        ids.contains(&"o4-mini") && ids.contains(&"gpt-5.6-sol"),
        "{ids:?}"
    );
    let one = byok.get("/v1/models/o4-mini").await;
    assert_eq!(one.status(), 200);
    let none = byok.get("/v1/models/no-such-model").await;
    assert_eq!(none.status(), 404);

    let health: Value = byok.get("/healthz").await.json().await.unwrap();
    assert_eq!(health["status"], "ok");
    assert!(
        standin.received().is_empty(),
        "no upstream call for models or health"
    );
    byok.stop().await.unwrap();
}

#[tokio::test]
async fn serve_keeps_the_rate_limit_figures_for_status() {
    let standin = StandIn::start(Reply::Replay("text")).await;
    let byok = Byok::signed_in(&standin).await;
    let home = byok.home.clone();
    let body = byok
        .post("/v1/chat/completions", &chat())
        .await
        .text()
        .await
        .unwrap();
    assert!(body.contains("[DONE]"));
    byok.stop().await.unwrap();
    let saved = byok::ratelimits::RateLimitFile::load(home.path()).unwrap();
    let entry = saved
        .accounts
        .first()
        .expect("a snapshot saved at shutdown");
    let recorded: Vec<(String, String)> = fixtures::recorded_headers("text");
    let (name, value) = recorded
        .iter()
        .find(|(k, _)| k == "x-codex-primary-used-percent")
        .expect("recorded header");
    assert_eq!(entry.snapshot.headers.get(name), Some(value));
}

#[tokio::test]
async fn a_silent_upstream_gets_keep_alive_comments() {
    let standin = StandIn::start(Reply::Part("text", Until::Events(3), Then::Hang)).await;
    let home = Byok::home_signed_in(3600).await;
    let mut settings = Byok::settings(&home, &standin);
    settings.keep_alive = Duration::from_millis(50);
    let byok = Byok::start(home, settings).await;
    let response = byok.post("/v1/chat/completions", &chat()).await;
    let mut body = response.bytes_stream();
    let mut seen = String::new();
    while let Some(chunk) = body.next().await {
        seen += &String::from_utf8_lossy(&chunk.unwrap());
        if seen.contains(": keep-alive\n\n") {
            break;
        }
    }
    assert!(seen.contains(": keep-alive\n\n"), "{seen}");
    // The events before the silence came through first, as events.
    let first = sse::json_events(&seen);
    assert_eq!(
        first[0]["choices"][0]["delta"]["role"], "assistant",
        "{seen}"
    );
    drop(body);
    byok.stop().await.unwrap();
}

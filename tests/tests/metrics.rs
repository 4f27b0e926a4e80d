//! `GET /metrics`: what a Prometheus scrape of byok shows after real requests.

use byok_e2e::{Byok, Reply, StandIn};
use serde_json::json;

/// The value of the sample whose line starts with `series` (name and labels), if any.
fn sample(text: &str, series: &str) -> Option<u64> {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.trim().parse().ok())
}

#[tokio::test]
async fn metrics_count_requests_timings_and_tokens_after_chat_requests() {
    let standin = StandIn::start(Reply::Replay("text")).await;
    let byok = Byok::signed_in(&standin).await;
    let chat = |stream: bool| {
        json!({"model": "gpt-5", "stream": stream,
               "messages": [{"role": "user", "content": "Say hi"}]})
    };
    // Two streamed (one without include_usage: its tokens count all the same), one plain.
    for body in [chat(true), chat(true), chat(false)] {
        let response = byok.post("/v1/chat/completions", &body).await;
        assert_eq!(response.status(), 200);
        response.text().await.unwrap();
    }
    assert_eq!(
        byok.post("/v1/chat/completions", &json!({"model": "gpt-5"}))
            .await
            .status(),
        400
    );

    let response = byok.get("/metrics").await;
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/openmetrics-text"),
    );
    let text = response.text().await.unwrap();
    let ok =
        "byok_requests_total{endpoint=\"/v1/chat/completions\",model=\"gpt-5\",status=\"200\",";
    let ok_count: u64 = text
        .lines()
        .filter(|l| l.starts_with(ok))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
        .sum();
    assert_eq!(ok_count, 3, "{text}");
    // Named by the account that served them.
    assert_eq!(
        sample(
            &text,
            "byok_requests_total{endpoint=\"/v1/chat/completions\",model=\"gpt-5\",status=\"200\",account=\"me@example.com\"}"
        ),
        Some(3),
        "{text}"
    );
    assert_eq!(
        sample(
            &text,
            "byok_requests_total{endpoint=\"/v1/chat/completions\",model=\"-\",status=\"400\",account=\"-\"}"
        ),
        Some(1),
        "{text}"
    );
    assert_eq!(
        sample(
            &text,
            "byok_time_to_first_byte_seconds_count{endpoint=\"/v1/chat/completions\"}"
        ),
        Some(4),
        "{text}"
    );
    assert_eq!(
        sample(
            &text,
            "byok_request_duration_seconds_count{endpoint=\"/v1/chat/completions\"}"
        ),
        Some(4),
        "{text}"
    );
    // The recorded answer's usage, three times.
    let recorded = byok_e2e::fixtures::recorded_usage("text");
    let input = recorded["input_tokens"].as_u64().unwrap();
    let output = recorded["output_tokens"].as_u64().unwrap();
    assert!(input > 0 && output > 0);
    assert_eq!(
        sample(&text, "byok_tokens_total{kind=\"input\",model=\"gpt-5\"}"),
        Some(3 * input),
        "{text}"
    );
    assert_eq!(
        sample(&text, "byok_tokens_total{kind=\"output\",model=\"gpt-5\"}"),
        Some(3 * output),
        "{text}"
    );
    assert!(text.trim_end().ends_with("# EOF"));
    byok.stop().await.unwrap();
}

#[tokio::test]
async fn metrics_sit_behind_the_client_key() {
    let standin = StandIn::start(Reply::Replay("text")).await;
    let home = Byok::home_signed_in(3600).await;
    let mut settings = Byok::settings(&home, &standin);
    settings.client_key = Some(byok_types::Secret::new("k-metrics"));
    let byok = Byok::start(home, settings).await;
    assert_eq!(byok.get("/metrics").await.status(), 401);
    let with_key = reqwest::Client::new()
        .get(byok.at("/metrics"))
        .bearer_auth("k-metrics")
        .send()
        .await
        .unwrap();
    assert_eq!(with_key.status(), 200);
    byok.stop().await.unwrap();
}

#[tokio::test]
async fn metrics_count_upstream_errors_retries_and_refreshes() {
    let standin = StandIn::start(Reply::failure(503)).await;
    // An expired token: the first request refreshes it at the issuer.
    let home = Byok::home_signed_in(-10).await;
    let settings = Byok::settings(&home, &standin);
    let byok = Byok::start(home, settings).await;
    let body = json!({"model": "gpt-5", "messages": [{"role": "user", "content": "Say hi"}]});
    let failed = byok.post("/v1/chat/completions", &body).await;
    assert!(failed.status().is_server_error(), "{}", failed.status());

    let text = byok.get("/metrics").await.text().await.unwrap();
    // Three tries in all: three 503s, two of them retries.
    assert_eq!(
        sample(
            &text,
            "byok_upstream_errors_total{provider=\"codex\",status=\"503\"}"
        ),
        Some(3),
        "{text}"
    );
    assert_eq!(
        sample(&text, "byok_upstream_retries_total{provider=\"codex\"}"),
        Some(2),
        "{text}"
    );
    assert_eq!(standin.refreshes(), 1);
    assert_eq!(
        sample(&text, "byok_token_refreshes_total{outcome=\"ok\"}"),
        Some(1),
        "{text}"
    );
    byok.stop().await.unwrap();
}

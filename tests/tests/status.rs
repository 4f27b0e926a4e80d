//! What a person running byok sees of it: `GET /v1/status`, `byok status` while it runs, the
//! status page `GET /`, `/readyz`, and the rate-limit gauges of `/metrics`, right after one
//! request.

use byok_e2e::{Byok, Reply, StandIn};
use byok_types::unix_now;
use serde_json::{Value, json};

async fn one_chat_request(byok: &Byok) {
    let body = json!({"model": "gpt-5", "messages": [{"role": "user", "content": "Say hi"}]});
    let response = byok.post("/v1/chat/completions", &body).await;
    assert_eq!(response.status(), 200);
    response.text().await.unwrap();
}

/// The recorded stream's header for the five-hour window, as the stand-in sends it.
fn recorded_primary_percent() -> f64 {
    byok_e2e::fixtures::recorded_headers("text")
        .into_iter()
        .find(|(name, _)| name == "x-codex-primary-used-percent")
        .and_then(|(_, value)| value.parse().ok())
        .expect("the recording has the header")
}

#[tokio::test]
async fn status_shows_the_rate_limit_windows_right_after_one_request() {
    let standin = StandIn::start(Reply::Replay("text")).await;
    let home = Byok::home_signed_in(3600).await;
    let mut settings = Byok::settings(&home, &standin);
    let byok = Byok::start(home, settings.clone()).await;
    one_chat_request(&byok).await;

    let status: Value = byok.get("/v1/status").await.json().await.unwrap();
    assert_eq!(status["object"], "byok.status");
    assert_eq!(status["ready"], true);
    assert_eq!(status["provider"], "codex");
    let account = &status["accounts"][0];
    assert_eq!(account["name"], "me@example.com");
    assert_eq!(account["plan"], "plus");
    assert!(account["token_expires_at"].as_i64().unwrap() > unix_now());
    assert_eq!(account["rate_limits"][0]["id"], "codex");
    let primary = &account["rate_limits"][0]["primary"];
    assert_eq!(
        primary["used_percent"].as_f64(),
        Some(recorded_primary_percent())
    );
    assert_eq!(primary["window_minutes"], 299);
    assert!(primary["resets_at"].as_i64().unwrap() > unix_now());

    // `byok status` in another terminal asks the running server: no 30 s wait for a file.
    settings.port = byok.url.rsplit(':').next().unwrap().parse().unwrap();
    let report = byok::status::report(&settings, unix_now()).await.unwrap();
    assert!(report.contains("byok serve is running (ready"), "{report}");
    let percent = recorded_primary_percent();
    assert!(report.contains("  me@example.com, plan plus"), "{report}");
    assert!(
        report.contains(&format!("5 h window: {percent}% used, resets in")),
        "{report}"
    );
    assert!(report.contains("7 d window: "), "{report}");
    // The state directory outlives the server, as it would on disk.
    let _home = std::sync::Arc::clone(&byok.home);
    byok.stop().await.unwrap();

    // With the server gone, the figures it saved on the way out.
    let report = byok::status::report(&settings, unix_now()).await.unwrap();
    assert!(!report.contains("byok serve is running"), "{report}");
    assert!(report.contains("Last rate-limit figures"), "{report}");
    assert!(
        report.contains(&format!("5 h window: {percent}% used")),
        "{report}"
    );
}

#[tokio::test]
async fn readyz_answers_503_until_an_account_is_signed_in() {
    let standin = StandIn::start(Reply::Replay("text")).await;
    let home = tempfile::tempdir().unwrap();
    let settings = Byok::settings(&home, &standin);
    let byok = Byok::start(home, settings).await;
    let response = byok.get("/readyz").await;
    assert_eq!(response.status(), 503);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["status"], "not_ready");
    assert!(
        body["detail"].as_str().unwrap().contains("byok login"),
        "{body}"
    );
    // The process serves all the same.
    assert_eq!(byok.get("/healthz").await.status(), 200);

    Byok::sign_in(byok.home.path(), 3600).await;
    let response = byok.get("/readyz").await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["status"], "ready");
    byok.stop().await.unwrap();
}

#[tokio::test]
async fn the_status_page_shows_each_window_as_a_bar_with_its_reset() {
    let standin = StandIn::start(Reply::Replay("text")).await;
    let byok = Byok::signed_in(&standin).await;
    let before = byok.get("/").await;
    assert_eq!(before.status(), 200);
    let before = before.text().await.unwrap();
    assert!(before.contains("No rate-limit figures yet"), "{before}");
    one_chat_request(&byok).await;

    let response = byok.get("/").await;
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let page = response.text().await.unwrap();
    assert!(page.contains("<meta http-equiv=\"refresh\""), "{page}");
    assert!(page.contains("me@example.com"), "{page}");
    let percent = recorded_primary_percent();
    assert!(
        page.contains(&format!("style=\"width: {percent}%\"")),
        "{page}"
    );
    assert!(page.contains("5 h window"), "{page}");
    assert!(page.contains("resets in"), "{page}");
    // The last hour: the page's own first fetch and the chat request.
    assert!(page.contains("<dt>Requests</dt><dd>2</dd>"), "{page}");
    // Clients that check the server is up with HEAD / (Claude Code does).
    let head = reqwest::Client::new()
        .head(byok.at("/"))
        .send()
        .await
        .unwrap();
    assert_eq!(head.status(), 200);
    byok.stop().await.unwrap();
}

#[tokio::test]
async fn metrics_show_each_window_of_each_account() {
    let standin = StandIn::start(Reply::Replay("text")).await;
    let byok = Byok::signed_in(&standin).await;
    one_chat_request(&byok).await;
    let text = byok.get("/metrics").await.text().await.unwrap();
    let series =
        "byok_ratelimit_used_percent{account=\"me@example.com\",window=\"codex:primary\"} ";
    let value: f64 = text
        .lines()
        .find_map(|l| l.strip_prefix(series))
        .unwrap_or_else(|| panic!("{series} in {text}"))
        .parse()
        .unwrap();
    assert!((value - recorded_primary_percent()).abs() < 1e-9, "{text}");
    assert!(
        text.contains(
            "byok_ratelimit_reset_seconds{account=\"me@example.com\",window=\"codex:secondary\"}"
        ),
        "{text}"
    );
    assert!(text.contains("byok_accounts_resting 0"), "{text}");
    byok.stop().await.unwrap();
}

//! The Codex backend as it is in 2026, end to end: rate-limit figures that `byok status`
//! shows right after a request.

use std::time::Duration;

use byok_e2e::{Byok, Reply, StandIn};
use serde_json::json;

/// `byok status`'s report once byok has saved figures, polled for a few seconds: the saver
/// writes soon after a change, never on a 30 s timer.
async fn status_with_figures(byok: &Byok, standin: &StandIn) -> String {
    let settings = Byok::settings(&byok.home, standin);
    for _ in 0..100 {
        let report = byok::status::report(&settings, byok_types::unix_now())
            .await
            .expect("status report");
        if !report.contains("No rate-limit figures yet") {
            return report;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("byok saved no rate-limit figures within 5 s of an answer");
}

#[tokio::test]
async fn status_shows_each_window_right_after_a_request() {
    // The recorded answer's headers: 9% of a 299-minute window resetting in 1637 s, 31% of the
    // weekly one; the older `-reset-after-seconds` form.
    let standin = StandIn::start(Reply::Replay("text")).await;
    let byok = Byok::signed_in(&standin).await;
    let answer = byok
        .post(
            "/v1/chat/completions",
            &json!({"model": "gpt-5", "messages": [{"role": "user", "content": "hi"}]}),
        )
        .await;
    assert_eq!(answer.status(), 200);
    let report = status_with_figures(&byok, &standin).await;
    let mut lines = report
        .lines()
        .skip_while(|l| !l.starts_with("  codex me@example.com, "));
    assert!(lines.next().is_some(), "{report}");
    let primary = lines.next().unwrap_or_default();
    assert!(
        primary.starts_with("    5 h window: 9% used, resets in 27 min ("),
        "{report}"
    );
    assert!(primary.ends_with(" UTC)"), "{report}");
    let secondary = lines.next().unwrap_or_default();
    assert!(
        secondary.starts_with("    7 d window: 31% used, resets in 1 d 22 h ("),
        "{report}"
    );
    byok.stop().await.unwrap();
}

/// A catalog as the backend serves it to a Pro account in 2026-12 (shape of
/// `GET /backend-api/codex/models?client_version=0.169.0`).
fn standin_catalog() -> serde_json::Value {
    let levels = |efforts: &[&str]| -> Vec<serde_json::Value> {
        efforts.iter().map(|e| json!({"effort": e})).collect()
    };
    let model = |slug: &str, name: &str, priority: i64, efforts: &[&str]| {
        json!({"slug": slug, "display_name": name, "priority": priority, "visibility": "list",
            "default_reasoning_level": "medium", "supported_reasoning_levels": levels(efforts),
            "base_instructions": "You are Codex, based on GPT-5."})
    };
    json!({"models": [
        model("gpt-5.6-sol", "GPT-5.6 Sol", 1, &["low", "medium", "high", "xhigh"]),
        model("gpt-5.6-terra", "GPT-5.6 Terra", 2, &["low", "medium", "high", "xhigh"]),
        model("gpt-5.5", "GPT-5.5", 3, &["none", "low", "medium", "high", "xhigh"]),
        model("gpt-5.3-codex-spark", "GPT-5.3-Codex-Spark", 4, &["low", "medium", "high"]),
        {"slug": "codex-auto-review", "priority": 10, "visibility": "hide",
            "supported_reasoning_levels": levels(&["medium"])},
    ]})
}

#[tokio::test]
async fn the_live_catalog_decides_what_is_listed_and_a_retired_model_is_a_404() {
    let standin = StandIn::start(Reply::Replay("text")).await;
    standin.set_catalog(standin_catalog(), "\"standin-1\"");
    let byok = Byok::signed_in(&standin).await;

    // `byok serve` asks for the catalog at start, in the background.
    let mut ids = Vec::new();
    for _ in 0..100 {
        let list: serde_json::Value = byok.get("/v1/models").await.json().await.unwrap();
        ids = list["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["id"].as_str().unwrap().to_owned())
            .collect();
        if !ids.iter().any(|id| id == "o4-mini") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for id in [
        "gpt-5.6-sol",
        "gpt-5.6-sol-xhigh",
        "gpt-5.5-none",
        "gpt-5.3-codex-spark",
    ] {
        assert!(ids.iter().any(|m| m == id), "{id} missing: {ids:?}");
    }
    for id in [
        "o4-mini",
        "codex-auto-review",
        "gpt-5.2",
        "gpt-5.3-codex-spark-xhigh",
    ] {
        assert!(!ids.iter().any(|m| m == id), "{id} listed: {ids:?}");
    }
    let kept = byok.home.path().join("models_cache.json");
    assert!(kept.exists(), "the catalog is kept in BYOK_HOME");

    let answer = byok
        .post(
            "/v1/chat/completions",
            &json!({"model": "gpt-5.2-high", "messages": [{"role": "user", "content": "hi"}]}),
        )
        .await;
    assert_eq!(answer.status(), 404);
    let error: serde_json::Value = answer.json().await.unwrap();
    let message = error["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("`gpt-5.2-high`")
            && message.contains("gpt-5.6-sol, gpt-5.6-terra, gpt-5.5, gpt-5.3-codex-spark"),
        "{message}"
    );
    assert!(
        standin.received().is_empty(),
        "a retired model never reaches the backend"
    );

    // What `byok models` and `byok status` print against this stand-in.
    let answer = byok
        .post(
            "/v1/chat/completions",
            &json!({"model": "gpt-5.6-sol-high", "messages": [{"role": "user", "content": "hi"}]}),
        )
        .await;
    assert_eq!(answer.status(), 200);
    let settings = Byok::settings(&byok.home, &standin);
    let credentials = byok::Credentials::find(&settings).await.unwrap();
    let executor = credentials
        .executor(
            &settings,
            std::sync::Arc::default(),
            &byok_types::Metrics::default(),
            None,
        )
        .unwrap();
    let report = byok::models::catalog_report(&executor, byok_types::unix_now()).await;
    assert!(
        report.contains("Catalog of me@example.com: 5 models, tag \"standin-1\""),
        "{report}"
    );
    assert!(
        report.contains("codex-auto-review") && report.contains("hidden: served, not listed"),
        "{report}"
    );
    eprintln!(
        "byok models (stderr):\n{report}byok models (stdout):\n{}",
        executor.supported_models().join("\n")
    );
    let status = status_with_figures(&byok, &standin).await;
    eprintln!("byok status:\n{status}");
    byok.stop().await.unwrap();
}

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

//! `byok serve` takes credentials in order: `OPENAI_API_KEY`, byok's own sign-ins, the Codex
//! CLI's `auth.json` used in place.

use byok_e2e::upstream::OPENAI_ANSWER;
use byok_e2e::{Byok, Reply, StandIn, fixtures, harness};
use byok_types::Secret;
use serde_json::{Value, json};

async fn ask(byok: &Byok) -> Value {
    let response = byok
        .post(
            "/v1/chat/completions",
            &json!({"model": "gpt-5", "messages": [{"role": "user", "content": "hi"}]}),
        )
        .await;
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

#[tokio::test]
async fn an_api_key_comes_first_and_goes_to_the_openai_api() {
    let standin = StandIn::start(Reply::Replay("text")).await;
    let home = Byok::home_signed_in(3600).await;
    let mut settings = Byok::settings(&home, &standin);
    settings.openai_api_key = Some(Secret::new("sk-e2e-key"));
    let byok = Byok::start(home, settings).await;
    let answer = ask(&byok).await;
    assert_eq!(answer["choices"][0]["message"]["content"], OPENAI_ANSWER);
    let received = standin.received();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].path, "/v1/chat/completions");
    assert_eq!(received[0].headers["authorization"], "Bearer sk-e2e-key");
    byok.stop().await.unwrap();
}

#[tokio::test]
async fn the_codex_cli_sign_in_is_used_in_place_when_byok_has_none() {
    let standin = StandIn::start(Reply::Replay("text-empty-output")).await;
    let home = tempfile::tempdir().unwrap();
    let codex_home = tempfile::tempdir().unwrap();
    let jwt = harness::fake_jwt("cli@example.com", "acc-codex-cli", 3600);
    let auth = json!({
        "OPENAI_API_KEY": null,
        "tokens": {"id_token": jwt, "access_token": jwt, "refresh_token": "rt-cli",
                   "account_id": "acc-codex-cli"},
        "last_refresh": "2026-01-01T00:00:00Z",
    });
    std::fs::write(codex_home.path().join("auth.json"), auth.to_string()).unwrap();
    let mut settings = Byok::settings(&home, &standin);
    settings.codex_home = codex_home.path().to_owned();
    let byok = Byok::start(home, settings).await;
    let answer = ask(&byok).await;
    assert_eq!(
        answer["choices"][0]["message"]["content"],
        fixtures::recorded_text("text")
    );
    let received = standin.received();
    assert_eq!(received[0].headers["chatgpt-account-id"], "acc-codex-cli");
    byok.stop().await.unwrap();
}

#[tokio::test]
async fn a_sign_in_after_start_up_is_used_without_a_restart() {
    let standin = StandIn::start(Reply::Replay("text-empty-output")).await;
    let home = tempfile::tempdir().unwrap();
    let settings = Byok::settings(&home, &standin);
    let byok = Byok::start(home, settings).await;
    let request = json!({"model": "gpt-5", "messages": [{"role": "user", "content": "hi"}]});
    let client = reqwest::Client::new();
    let before = client
        .post(byok.at("/v1/chat/completions"))
        .json(&request)
        .send()
        .await
        .unwrap();
    assert_eq!(before.status(), 401);

    // What `byok login` does in another terminal.
    Byok::sign_in(byok.home.path(), 3600).await;
    let answer = ask(&byok).await;
    assert_eq!(
        answer["choices"][0]["message"]["content"],
        fixtures::recorded_text("text")
    );
    byok.stop().await.unwrap();
}

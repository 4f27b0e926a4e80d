//! Workspace routing through `byok serve`: an account whose `wham/accounts/check` answer names
//! another origin (a data-residency workspace) has its catalog asked and its requests sent
//! there, with its routing override, from the start.

use std::time::Duration;

use byok_e2e::upstream::CODEX_PATH;
use byok_e2e::{Byok, Reply, StandIn};
use serde_json::{Value, json};

#[tokio::test]
async fn a_workspace_elsewhere_serves_the_catalog_and_the_requests() {
    let configured = StandIn::start(Reply::Replay("text")).await;
    let workspace = StandIn::start(Reply::Replay("text")).await;
    let model = json!({"slug": "gpt-5.6-luna", "display_name": "GPT-5.6 Luna", "priority": 1,
        "visibility": "list", "supported_reasoning_levels": [{"effort": "medium"}]});
    workspace.set_catalog(json!({"models": [model]}), "\"eu-1\"");
    configured.route_accounts_to(&workspace.url, "us_cr");
    let byok = Byok::signed_in(&configured).await;

    // `byok serve` asks for the catalog at start: the workspace's is the one listed.
    let mut ids = Vec::new();
    for _ in 0..100 {
        let list: Value = byok.get("/v1/models").await.json().await.unwrap();
        ids = list["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["id"].clone())
            .collect();
        if ids.len() <= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(ids, [json!("gpt-5.6-luna"), json!("gpt-5.6-luna-medium")]);

    let answer = byok
        .post(
            "/v1/chat/completions",
            &json!({"model": "gpt-5.6-luna", "messages": [{"role": "user", "content": "hi"}]}),
        )
        .await;
    assert_eq!(answer.status(), 200);

    let sent = workspace.received();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].path, format!("{CODEX_PATH}/responses"));
    assert_eq!(
        sent[0].header("x-openai-account-routing-override"),
        Some("us_cr")
    );
    let asked = workspace.models_asked();
    assert_eq!(asked.len(), 1);
    assert_eq!(
        asked[0].header("x-openai-account-routing-override"),
        Some("us_cr")
    );
    // The configured origin was only asked where the account is served, once.
    assert!(configured.received().is_empty());
    assert!(configured.models_asked().is_empty());
    assert_eq!(configured.accounts_checked().len(), 1);
    // `GET /v1/status` (and so `byok status`) says where the account is served.
    let status: Value = byok.get("/v1/status").await.json().await.unwrap();
    assert_eq!(
        status["accounts"][0]["routed_to"],
        workspace.codex_base_url(),
        "{status}"
    );
    byok.stop().await.unwrap();
}

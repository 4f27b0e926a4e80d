//! Workspace routing: each account's requests go to the origin its
//! `GET {chatgpt_base}/wham/accounts/check` answer names, as the official client sends them
//! (`tests/data/official-http-02-GET-check.json`), with the configured base URL as the fallback
//! when the check fails.

mod common;

use std::time::Duration;

use byok_executor::{CodexExecutor, ProviderHttp};
use byok_test_support::upstream::{CODEX_PATH, Reply, StandIn};
use byok_types::{ProviderResponse, RequestContext};
use common::{Issuer, SignedIn, fast_retries, hello, signed_in};
use serde_json::{Value, json};

/// A stand-in serving the Codex backend where chatgpt.com does (`/backend-api/codex`, with
/// `/backend-api/wham` beside it), answering with `script` first.
async fn backend(script: Vec<Reply>) -> StandIn {
    let catalog = json!({"models": [{"slug": "gpt-5", "priority": 1, "visibility": "list",
        "supported_reasoning_levels": [{"effort": "medium", "description": "medium"}]}]});
    let standin = StandIn::builder()
        .recordings(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data"))
        .script(script)
        .start()
        .await;
    standin.set_catalog(catalog, "\"v1\"");
    standin
}

fn executor(configured: &StandIn, accounts: &SignedIn) -> CodexExecutor {
    CodexExecutor::builder()
        .http(ProviderHttp::new().unwrap())
        .auth(accounts.auth.clone())
        .base_url(configured.codex_base_url())
        .retry(fast_retries())
        .idle_timeout(Duration::from_secs(20))
        .build()
}

/// Sends one Chat request and reads its whole answer.
async fn ask(executor: &CodexExecutor) -> Value {
    match executor.chat(&RequestContext::local(), hello(false)).await {
        Ok(ProviderResponse::Complete(answer)) => answer,
        other => panic!("no whole answer: {other:?}"),
    }
}

fn paths(standin: &StandIn) -> Vec<String> {
    standin.received().into_iter().map(|r| r.path).collect()
}

fn official_check() -> Value {
    let file = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/official-http-02-GET-check.json");
    serde_json::from_str(&std::fs::read_to_string(file).unwrap()).unwrap()
}

#[tokio::test]
async fn the_accounts_requests_go_to_the_origin_its_check_names() {
    let issuer = Issuer::start().await;
    let accounts = signed_in(&["work"], &issuer).await;
    let configured = backend(Vec::new()).await;
    let workspace = backend(Vec::new()).await;
    configured.route_accounts_to(&workspace.url, "us");
    let executor = executor(&configured, &accounts);

    executor.refresh_models(false).await.unwrap();
    let answer = ask(&executor).await;
    assert_eq!(answer["object"], "chat.completion");
    ask(&executor).await;

    // The workspace's origin got the catalog request and both model requests, the API path
    // kept, each with the routing override; the configured one got none of them.
    let asked = workspace.models_asked();
    assert_eq!(asked.len(), 1);
    assert_eq!(
        asked[0].header("x-openai-account-routing-override"),
        Some("us")
    );
    let responses = workspace.received();
    assert_eq!(
        paths(&workspace),
        [
            format!("{CODEX_PATH}/responses"),
            format!("{CODEX_PATH}/responses")
        ]
    );
    for sent in &responses {
        assert_eq!(sent.header("x-openai-account-routing-override"), Some("us"));
        assert_eq!(sent.header("chatgpt-account-id"), Some("acc-work"));
    }
    assert!(configured.received().is_empty());
    assert!(configured.models_asked().is_empty());
    // The status says where the account is served.
    let status = executor.status().await;
    assert_eq!(
        status.accounts[0].routed_to,
        Some(workspace.codex_base_url())
    );

    // One check for the account (kept for the next requests), as the official client sends it:
    // its headers, no originator, no version.
    let checks = configured.accounts_checked();
    assert_eq!(checks.len(), 1, "asked once, then kept");
    let check = &checks[0];
    assert_eq!(check.path, "/backend-api/wham/accounts/check");
    let official = official_check();
    let mut official_names: Vec<String> = official["headers"]
        .as_object()
        .unwrap()
        .keys()
        .map(|k| k.to_ascii_lowercase())
        .collect();
    official_names.sort();
    let mut names: Vec<String> = check
        .headers
        .keys()
        .map(|k| k.as_str().to_owned())
        .collect();
    names.sort();
    assert_eq!(names, official_names);
    assert_eq!(
        check.header("accept"),
        official["headers"]["accept"].as_str()
    );
    assert_eq!(check.header("chatgpt-account-id"), Some("acc-work"));
    assert!(
        check
            .header("authorization")
            .unwrap()
            .starts_with("Bearer ")
    );
    assert!(
        check
            .header("user-agent")
            .unwrap()
            .starts_with("codex_exec/0.169.0 (")
    );
}

#[tokio::test]
async fn no_constraint_keeps_the_configured_base_url_without_an_override() {
    let issuer = Issuer::start().await;
    let accounts = signed_in(&["work"], &issuer).await;
    let configured = backend(Vec::new()).await;
    configured.route_accounts_to("NO_CONSTRAINT", "NO_CONSTRAINT");
    let executor = executor(&configured, &accounts);

    ask(&executor).await;

    assert_eq!(paths(&configured), [format!("{CODEX_PATH}/responses")]);
    let sent = &configured.received()[0];
    assert_eq!(sent.header("x-openai-account-routing-override"), None);
    assert_eq!(configured.accounts_checked().len(), 1);
}

#[tokio::test]
async fn a_failing_check_falls_back_to_the_configured_base_url() {
    let issuer = Issuer::start().await;
    let accounts = signed_in(&["work"], &issuer).await;
    let configured = backend(Vec::new()).await;
    configured.fail_accounts_check(500);
    let executor = executor(&configured, &accounts);

    ask(&executor).await;
    ask(&executor).await;

    assert_eq!(
        paths(&configured),
        [
            format!("{CODEX_PATH}/responses"),
            format!("{CODEX_PATH}/responses")
        ]
    );
    // Tried once, not retried, and not asked again by the next request (for five minutes).
    assert_eq!(configured.accounts_checked().len(), 1);
    let sent = &configured.received()[0];
    assert_eq!(sent.header("x-openai-account-routing-override"), None);
    assert_eq!(executor.status().await.accounts[0].routed_to, None);
}

#[tokio::test]
async fn an_answer_without_a_safe_origin_falls_back_too() {
    let issuer = Issuer::start().await;
    let accounts = signed_in(&["work"], &issuer).await;
    let configured = backend(Vec::new()).await;
    // Plain http to another host would carry the token in clear: refused, as the official
    // client refuses it.
    configured.route_accounts_to("http://eu.chatgpt.example", "us");
    let executor = executor(&configured, &accounts);

    ask(&executor).await;

    assert_eq!(configured.accounts_checked().len(), 1);
    assert_eq!(paths(&configured), [format!("{CODEX_PATH}/responses")]);
    assert_eq!(
        configured.received()[0].header("x-openai-account-routing-override"),
        None
    );
}

#[tokio::test]
async fn a_new_token_is_checked_again() {
    let issuer = Issuer::start().await;
    let accounts = signed_in(&["work"], &issuer).await;
    let configured = backend(Vec::new()).await;
    // The workspace refuses the first token: byok refreshes it and sends again.
    let refused = json!({"detail": "token_invalidated"}).to_string();
    let workspace = backend(vec![Reply::Status(401, refused)]).await;
    configured.route_accounts_to(&workspace.url, "NO_CONSTRAINT");
    let executor = executor(&configured, &accounts);

    ask(&executor).await;

    assert_eq!(issuer.refreshes(), 1);
    let checks = configured.accounts_checked();
    assert_eq!(checks.len(), 2, "the refreshed token is checked again");
    assert_ne!(
        checks[0].header("authorization"),
        checks[1].header("authorization")
    );
    let sent = workspace.received();
    assert_eq!(sent.len(), 2);
    assert_eq!(
        sent[1].header("authorization"),
        checks[1].header("authorization")
    );
}

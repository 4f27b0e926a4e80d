//! The live model catalog: asked as the official client asks it, refused models answered 404
//! with the current ones named, refreshed when the backend's catalog tag changes or it refuses
//! a model, kept on disk for the next start.

mod common;

use std::path::Path;
use std::time::Duration;

use byok_executor::{CodexExecutor, ProviderHttp};
use byok_types::{ByokError, ChatRequest, RequestContext};
use common::*;
use serde_json::{Value, json};

/// A catalog in the backend's shape (`{"models": [...]}`, as the Codex CLI 0.169 reads it).
fn catalog(extra: &[&str]) -> Value {
    let levels = |efforts: &[&str]| -> Vec<Value> {
        efforts
            .iter()
            .map(|e| json!({"effort": e, "description": e}))
            .collect()
    };
    let mut models = vec![
        json!({"slug": "gpt-5.6-sol", "display_name": "GPT-5.6 Sol", "priority": 1,
            "visibility": "list", "default_reasoning_level": "medium",
            "supported_reasoning_levels": levels(&["low", "medium", "high", "xhigh"]),
            "base_instructions": "You are Codex.", "minimal_client_version": "0.160.0"}),
        json!({"slug": "gpt-5.5", "display_name": "GPT-5.5", "priority": 2,
            "visibility": "list", "default_reasoning_level": "medium",
            "supported_reasoning_levels": levels(&["none", "low", "medium", "high"])}),
        json!({"slug": "codex-auto-review", "priority": 9, "visibility": "hide",
            "supported_reasoning_levels": levels(&["medium"])}),
    ];
    models.extend(extra.iter().map(|slug| {
        json!({"slug": slug, "priority": 3, "visibility": "list",
            "supported_reasoning_levels": levels(&["medium"])})
    }));
    json!({ "models": models })
}

fn executor(upstream: &StandIn, accounts: &SignedIn, cache: &Path) -> CodexExecutor {
    CodexExecutor::builder()
        .http(ProviderHttp::new().unwrap())
        .auth(accounts.auth.clone())
        .base_url(upstream.url.clone())
        .retry(fast_retries())
        .idle_timeout(Duration::from_secs(20))
        .models_cache(cache.join("models_cache.json"))
        .build()
}

/// A stand-in serving `catalog(&[])` tagged `"v1"`, and an executor that has asked for it.
#[allow(clippy::type_complexity, reason = "what the test keeps alive, once")]
async fn with_live_catalog() -> (
    StandIn,
    CodexExecutor,
    (Issuer, SignedIn, tempfile::TempDir),
) {
    let issuer = Issuer::start().await;
    let accounts = signed_in(&["work"], &issuer).await;
    let upstream = stand_in(Vec::new()).await;
    upstream.set_catalog(catalog(&[]), "\"v1\"");
    let dir = tempfile::tempdir().unwrap();
    let executor = executor(&upstream, &accounts, dir.path());
    executor.refresh_models(false).await.unwrap();
    (upstream, executor, (issuer, accounts, dir))
}

fn chat(model: &str) -> ChatRequest {
    ChatRequest::from_value(json!({"model": model, "stream": false,
        "messages": [{"role": "user", "content": "Hello"}]}))
    .unwrap()
}

/// Fails the test instead of hanging it; measures nothing.
async fn eventually(what: &str, mut done: impl FnMut() -> bool) {
    let waited = tokio::time::timeout(Duration::from_secs(30), async {
        while !done() {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
    assert!(waited.is_ok(), "{what} never happened");
}

#[tokio::test]
async fn the_catalog_is_asked_as_the_official_client_asks_it_and_decides_what_is_listed() {
    let issuer = Issuer::start().await;
    let accounts = signed_in(&["work"], &issuer).await;
    let upstream = stand_in(Vec::new()).await;
    upstream.set_catalog(catalog(&[]), "\"v1\"");
    let dir = tempfile::tempdir().unwrap();
    let executor = executor(&upstream, &accounts, dir.path());

    let answers = executor.refresh_models(false).await.unwrap();

    assert_eq!(answers.len(), 1);
    let models = answers[0].answer.as_ref().unwrap();
    assert_eq!(models.etag.as_deref(), Some("\"v1\""));
    let asked = upstream.models_asked();
    assert_eq!(asked.len(), 1);
    assert_eq!(asked[0].path, "/models?client_version=0.169.0");
    let names: Vec<&str> = asked[0]
        .headers
        .keys()
        .map(axum::http::HeaderName::as_str)
        .collect();
    for name in [
        "version",
        "authorization",
        "chatgpt-account-id",
        "originator",
        "user-agent",
        "accept",
    ] {
        assert!(names.contains(&name), "{name} missing: {names:?}");
    }
    assert_eq!(asked[0].header("version"), Some("0.169.0"));
    assert_eq!(asked[0].header("accept"), Some("*/*"));
    assert_eq!(asked[0].header("chatgpt-account-id"), Some("acc-work"));

    // Listed: the catalog minus hidden models, with the efforts each offers as aliases.
    let ids = executor.supported_models();
    for id in [
        "gpt-5.6-sol",
        "gpt-5.6-sol-xhigh",
        "gpt-5.5",
        "gpt-5.5-none",
    ] {
        assert!(ids.iter().any(|m| m == id), "{id} missing: {ids:?}");
    }
    for id in ["codex-auto-review", "gpt-5.5-xhigh", "o4-mini"] {
        assert!(!ids.iter().any(|m| m == id), "{id} listed: {ids:?}");
    }
    // A hidden model is still served, `-none` reaches the backend as the effort.
    let ctx = RequestContext::local();
    complete(
        executor
            .chat(&ctx, chat("codex-auto-review"))
            .await
            .unwrap(),
    );
    complete(executor.chat(&ctx, chat("gpt-5.5-none")).await.unwrap());
    let sent = upstream.received();
    assert_eq!(sent[1].body["model"], "gpt-5.5");
    assert_eq!(sent[1].body["reasoning"]["effort"], "none");
}

#[tokio::test]
async fn a_retired_model_is_a_404_naming_the_current_ones_without_asking_the_backend() {
    let (upstream, executor, _keep) = with_live_catalog().await;
    let ctx = RequestContext::local();

    for model in ["gpt-5.2", "gpt-5.2-high", "gpt-5.3-codex"] {
        let err = executor.chat(&ctx, chat(model)).await.unwrap_err();
        assert!(matches!(err, ByokError::NotFound(_)), "{err:?}");
        let message = err.to_string();
        assert!(message.contains(&format!("`{model}`")), "{message}");
        assert!(message.contains("gpt-5.6-sol, gpt-5.5"), "{message}");
        assert!(!message.contains("codex-auto-review"), "{message}");
        let body = json!({"model": model, "input": "Hello"});
        let err = executor.responses(&ctx, body).await.unwrap_err();
        assert_eq!(err.status(), 404);
    }
    assert!(
        upstream.received().is_empty(),
        "nothing reached the backend"
    );
}

#[tokio::test]
async fn a_changed_catalog_tag_is_followed_and_the_same_tag_asks_nothing() {
    let (upstream, executor, _keep) = with_live_catalog().await;
    let ctx = RequestContext::local();

    // Answers tagged with the catalog byok holds: nothing asked.
    for _ in 0..3 {
        complete(executor.chat(&ctx, chat("gpt-5.5")).await.unwrap());
    }
    assert_eq!(upstream.models_asked().len(), 1);

    // The backend's catalog changes: the next answer's tag says so, and byok asks again.
    upstream.set_catalog(catalog(&["gpt-5.7"]), "\"v2\"");
    complete(executor.chat(&ctx, chat("gpt-5.5")).await.unwrap());
    eventually("the new model listed", || {
        executor.supported_models().iter().any(|m| m == "gpt-5.7")
    })
    .await;
    assert_eq!(upstream.models_asked().len(), 2);
    complete(executor.chat(&ctx, chat("gpt-5.7")).await.unwrap());
}

#[tokio::test]
async fn a_model_the_backend_refuses_refreshes_the_catalog_and_names_the_current_ones() {
    let issuer = Issuer::start().await;
    let accounts = signed_in(&["work"], &issuer).await;
    let upstream = stand_in(Vec::new()).await;
    upstream.set_catalog(catalog(&[]), "\"v1\"");
    let dir = tempfile::tempdir().unwrap();
    // No catalog asked yet: the bundled list does not know gpt-5.4 is retired.
    let executor = executor(&upstream, &accounts, dir.path());
    let ctx = RequestContext::local();

    let err = executor.chat(&ctx, chat("gpt-5.4")).await.unwrap_err();

    assert_eq!(err.status(), 404, "{err:?}");
    let message = err.to_string();
    assert!(message.contains("`gpt-5.4`"), "{message}");
    assert!(message.contains("gpt-5.6-sol, gpt-5.5"), "{message}");
    assert_eq!(upstream.received().len(), 1, "the backend was asked once");
    assert_eq!(upstream.models_asked().len(), 1, "then the catalog, once");
    // Now known: refused before the backend is asked.
    executor.chat(&ctx, chat("gpt-5.4")).await.unwrap_err();
    assert_eq!(upstream.received().len(), 1);
}

#[tokio::test]
async fn the_kept_catalog_serves_the_next_start_when_the_backend_cannot_be_asked() {
    let issuer = Issuer::start().await;
    let accounts = signed_in(&["work"], &issuer).await;
    let dir = tempfile::tempdir().unwrap();
    {
        let upstream = stand_in(Vec::new()).await;
        upstream.set_catalog(catalog(&["gpt-5.7"]), "\"v1\"");
        executor(&upstream, &accounts, dir.path())
            .refresh_models(false)
            .await
            .unwrap();
    }
    let kept: Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("models_cache.json")).unwrap())
            .unwrap();
    let cached = &kept["accounts"]["work"];
    assert_eq!(cached["etag"], "\"v1\"");
    assert_eq!(cached["client_version"], "0.169.0");
    assert!(
        !kept.to_string().contains("You are Codex."),
        "instructions are not kept"
    );

    // A stand-in whose /models answers 404: the kept catalog is the one in use.
    let upstream = stand_in(Vec::new()).await;
    let executor = executor(&upstream, &accounts, dir.path());
    assert!(executor.supported_models().iter().any(|m| m == "gpt-5.7"));
    assert!(!executor.supported_models().iter().any(|m| m == "o4-mini"));
    // Fresh, so the start asks nothing; a forced ask fails and keeps it.
    assert!(executor.refresh_models(true).await.unwrap().is_empty());
    let answers = executor.refresh_models(false).await.unwrap();
    assert_eq!(answers[0].answer.as_ref().unwrap_err().status(), 404);
    assert!(executor.supported_models().iter().any(|m| m == "gpt-5.7"));
    let err = executor
        .chat(&RequestContext::local(), chat("gpt-5.2"))
        .await
        .unwrap_err();
    assert_eq!(err.status(), 404);
}

#[tokio::test]
async fn without_a_catalog_the_bundled_list_is_listed_and_the_backend_decides() {
    let issuer = Issuer::start().await;
    let accounts = signed_in(&["work"], &issuer).await;
    // /models answers 404.
    let upstream = stand_in(Vec::new()).await;
    let dir = tempfile::tempdir().unwrap();
    let executor = executor(&upstream, &accounts, dir.path());

    let answer = complete(
        executor
            .chat(&RequestContext::local(), chat("gpt-5"))
            .await
            .unwrap(),
    );

    assert_eq!(answer["object"], "chat.completion");
    assert!(executor.supported_models().iter().any(|m| m == "o4-mini"));
    eventually("the catalog asked at the first request", || {
        !upstream.models_asked().is_empty()
    })
    .await;
}

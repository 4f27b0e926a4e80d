//! Every error the server answers, in OpenAI's shape, over real HTTP on 127.0.0.1.

mod common;

use std::sync::Arc;
use std::time::Duration;

use byok_server::{ServeError, ServerConfig, serve};
use byok_types::{ByokError, ProviderResponse, Secret};
use common::{Scripted, Server, chat_body, error_of};
use serde_json::{Value, json};

#[tokio::test]
async fn bad_requests_get_400_naming_the_field() {
    let server = Server::start(ServerConfig::default()).await;
    let client = reqwest::Client::new();
    let cases = [
        ("/v1/chat/completions", "{not json".to_owned(), Value::Null),
        (
            "/v1/chat/completions",
            json!({"messages": []}).to_string(),
            json!("model"),
        ),
        (
            "/v1/chat/completions",
            json!({"model": "gpt-5"}).to_string(),
            json!("messages"),
        ),
        (
            "/v1/responses",
            json!({"input": "hi"}).to_string(),
            json!("model"),
        ),
        (
            "/v1/responses",
            json!({"model": 5, "input": "hi"}).to_string(),
            json!("model"),
        ),
        ("/v1/responses", "[]".to_owned(), Value::Null),
        // Strict input: what would otherwise be dropped or replaced on the way upstream.
        (
            "/v1/responses",
            json!({"model": "gpt-5"}).to_string(),
            json!("input"),
        ),
        (
            "/v1/responses",
            json!({"model": "gpt-5", "input": null}).to_string(),
            json!("input"),
        ),
        (
            "/v1/responses",
            json!({"model": "gpt-5", "messages": [{"role": "user", "content": "hi"}]}).to_string(),
            json!("messages"),
        ),
        (
            "/v1/responses",
            json!({"model": "gpt-5", "input": "hi", "stream": "true"}).to_string(),
            json!("stream"),
        ),
        (
            "/v1/responses",
            json!({"model": "gpt-5", "input": "hi", "include": "reasoning.encrypted_content"})
                .to_string(),
            json!("include"),
        ),
        (
            "/v1/responses",
            json!({"model": "gpt-5", "input": "hi", "tools": {}}).to_string(),
            json!("tools"),
        ),
        (
            "/v1/chat/completions",
            json!({"model": "gpt-5", "messages": [{"role": "user", "content": "hi"}],
                   "stream": "true"})
            .to_string(),
            json!("stream"),
        ),
        (
            "/v1/chat/completions",
            json!({"model": "gpt-5", "messages": [{"role": "user", "content": "hi"}],
                   "stream_options": "include_usage"})
            .to_string(),
            json!("stream_options"),
        ),
        (
            "/v1/chat/completions",
            json!({"model": "gpt-5", "messages": [{"role": "user", "content": "hi"}],
                   "tools": "none"})
            .to_string(),
            json!("tools"),
        ),
        (
            "/v1/chat/completions",
            json!({"model": "gpt-5", "messages": [{"role": "user", "content": "hi"}],
                   "reasoning_effort": 3})
            .to_string(),
            json!("reasoning_effort"),
        ),
    ];
    for (path, body, param) in cases {
        let response = client
            .post(server.url(path))
            .header("content-type", "application/json")
            .body(body.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 400, "{path} {body}");
        let error = error_of(response).await;
        assert_eq!(error["error"]["param"], param, "{path} {body}");
        assert_eq!(error["error"]["type"], "invalid_request_error");
    }
    assert!(server.executor.asked.lock().unwrap().is_empty());
    server.stop().await.unwrap();
}

#[tokio::test]
async fn unknown_routes_wrong_methods_and_big_bodies_get_openai_errors() {
    let server = Server::start(ServerConfig::builder().body_limit(1024).build()).await;
    let client = reqwest::Client::new();

    let response = client.get(server.url("/v1/nothing")).send().await.unwrap();
    assert_eq!(response.status(), 404);
    assert!(response.headers().contains_key("x-request-id"));
    assert_eq!(error_of(response).await["error"]["code"], "not_found");

    let response = client
        .get(server.url("/v1/chat/completions"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 405);
    assert_eq!(response.headers()["allow"], "POST");
    assert_eq!(
        error_of(response).await["error"]["code"],
        "method_not_allowed"
    );

    let mut big = chat_body(false);
    big["messages"][0]["content"] = json!("x".repeat(2048));
    let response = client
        .post(server.url("/v1/chat/completions"))
        .json(&big)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 413);
    let error = error_of(response).await;
    assert_eq!(error["error"]["code"], "payload_too_large");
    let message = error["error"]["message"].as_str().unwrap();
    assert!(message.contains("1024 bytes"), "{message}");
    server.stop().await.unwrap();
}

#[tokio::test]
async fn executor_errors_keep_their_status_and_say_when_to_retry() {
    let server = Server::start(ServerConfig::default()).await;
    server.executor.answer(Err(ByokError::UsageLimit {
        message: "The usage limit has been reached".into(),
        plan_type: Some("plus".into()),
        resets_at: None,
        retry_after: Some(Duration::from_secs(90)),
    }));
    server
        .executor
        .answer(Err(ByokError::Unreachable("connection refused".into())));
    server
        .executor
        .answer(Err(ByokError::Timeout("no answer in 300 s".into())));
    let client = reqwest::Client::new();
    let send = || {
        client
            .post(server.url("/v1/chat/completions"))
            .json(&chat_body(true))
            .send()
    };

    let response = send().await.unwrap();
    assert_eq!(response.status(), 429);
    assert_eq!(response.headers()["retry-after"], "90");
    let error = error_of(response).await;
    assert_eq!(error["error"]["type"], "usage_limit_reached");
    assert_eq!(error["error"]["resets_in_seconds"], 90);

    let response = send().await.unwrap();
    assert_eq!(response.status(), 502);
    assert!(!response.headers().contains_key("retry-after"));
    assert_eq!(
        error_of(response).await["error"]["code"],
        "upstream_unreachable"
    );

    let response = send().await.unwrap();
    assert_eq!(response.status(), 504);
    assert_eq!(error_of(response).await["error"]["type"], "timeout_error");
    server.stop().await.unwrap();
}

#[tokio::test]
async fn a_client_key_guards_the_api_but_not_healthz() {
    let server = Server::start(
        ServerConfig::builder()
            .client_key(Secret::new("local-key"))
            .build(),
    )
    .await;
    let client = reqwest::Client::new();
    for _ in 0..2 {
        server
            .executor
            .answer(Ok(ProviderResponse::Complete(json!({"ok": true}))));
    }

    // A chat request carrying one header.
    let chat_with = |name: &'static str, value: &'static str| {
        client
            .post(server.url("/v1/chat/completions"))
            .header(name, value)
            .json(&chat_body(false))
            .send()
    };

    for (name, value) in [("authorization", "Bearer wrong-key"), ("x-other", "x")] {
        let response = chat_with(name, value).await.unwrap();
        assert_eq!(response.status(), 401);
        let error = error_of(response).await;
        assert!(
            error["error"]["message"]
                .as_str()
                .unwrap()
                .contains("--client-key")
        );
    }
    assert!(server.executor.asked.lock().unwrap().is_empty());

    for (name, value) in [
        ("authorization", "Bearer local-key"),
        ("x-api-key", "local-key"),
    ] {
        let response = chat_with(name, value).await.unwrap();
        assert_eq!(response.status(), 200);
    }
    let health = client.get(server.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);
    assert_eq!(health.json::<Value>().await.unwrap()["status"], "ok");
    server.stop().await.unwrap();
}

#[tokio::test]
async fn refuses_to_listen_beyond_loopback_without_a_client_key() {
    let listener = tokio::net::TcpListener::bind("0.0.0.0:0").await.unwrap();
    let err = serve(
        listener,
        ServerConfig::default(),
        Arc::new(Scripted::default()),
        std::future::pending(),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, ServeError::ClientKeyRequired { .. }));
    assert!(err.to_string().contains("--client-key"), "{err}");
}

//! The server over real HTTP on 127.0.0.1, with a scripted executor behind it.

mod common;

use std::sync::Arc;
use std::time::Duration;

use byok_server::{ServeError, ServerConfig, serve};
use byok_types::{ByokError, ByteStream, ProviderResponse, Secret};
use bytes::Bytes;
use common::{Scripted, Server, chat_body};
use futures::StreamExt;
use serde_json::{Value, json};
use tokio::sync::{mpsc, oneshot};

/// A stream fed by the test, and a signal that fires when the server drops it.
fn channel_stream() -> (
    mpsc::UnboundedSender<byok_types::Result<Bytes>>,
    oneshot::Receiver<()>,
    ByteStream,
) {
    let (tx, rx) = mpsc::unbounded_channel();
    let (dropped_tx, dropped_rx) = oneshot::channel::<()>();
    let stream = futures::stream::unfold((rx, dropped_tx), |(mut rx, guard)| async move {
        rx.recv().await.map(|item| (item, (rx, guard)))
    });
    (tx, dropped_rx, Box::pin(stream))
}

async fn error_of(response: reqwest::Response) -> Value {
    let body: Value = response.json().await.unwrap();
    let error = body["error"].as_object().expect("an OpenAI error object");
    for key in ["message", "type", "param", "code"] {
        assert!(error.contains_key(key), "{key} missing in {body}");
    }
    body
}

#[tokio::test]
async fn answers_a_plain_chat_request_with_the_executors_json() {
    let server = Server::start(ServerConfig::default()).await;
    let answer = json!({"id": "chatcmpl-1", "object": "chat.completion", "choices": [],
        "usage": {"prompt_tokens": 1, "completion_tokens": 2}});
    server
        .executor
        .answer(Ok(ProviderResponse::Complete(answer.clone())));
    let response = reqwest::Client::new()
        .post(server.url("/v1/chat/completions"))
        .header("x-request-id", "req-from-client")
        .json(&chat_body(false))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["x-request-id"], "req-from-client");
    assert_eq!(response.json::<Value>().await.unwrap(), answer);
    assert_eq!(server.executor.asked.lock().unwrap()[0]["model"], "gpt-5");
    server.stop().await.unwrap();
}

#[tokio::test]
async fn streams_bytes_as_they_come_with_keep_alives_while_silent() {
    let server = Server::start(ServerConfig {
        keep_alive: Duration::from_millis(20),
        ..ServerConfig::default()
    })
    .await;
    let (tx, _dropped, stream) = channel_stream();
    server.executor.answer(Ok(ProviderResponse::Stream(stream)));
    let response = reqwest::Client::new()
        .post(server.url("/v1/chat/completions"))
        .json(&chat_body(true))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    assert_eq!(response.headers()["cache-control"], "no-cache");
    assert!(response.headers().contains_key("x-request-id"));
    let mut body = response.bytes_stream();

    // The first event reaches the client while the upstream has not finished.
    tx.send(Ok(Bytes::from_static(b"data: {\"n\":1}\n\n")))
        .unwrap();
    assert_eq!(
        &body.next().await.unwrap().unwrap()[..],
        b"data: {\"n\":1}\n\n"
    );
    // Silence upstream: keep-alive comments flow until the next event.
    assert_eq!(
        &body.next().await.unwrap().unwrap()[..],
        b": keep-alive\n\n"
    );
    tx.send(Ok(Bytes::from_static(b"data: [DONE]\n\n")))
        .unwrap();
    drop(tx);
    let mut rest = Vec::new();
    while let Some(chunk) = body.next().await {
        rest.extend_from_slice(&chunk.unwrap());
    }
    let rest = String::from_utf8(rest).unwrap();
    assert!(rest.ends_with("data: [DONE]\n\n"), "{rest}");
    server.stop().await.unwrap();
}

#[tokio::test]
async fn an_upstream_failure_mid_stream_ends_it_with_an_error_event() {
    let server = Server::start(ServerConfig::default()).await;
    let stream: ByteStream = Box::pin(futures::stream::iter([
        Ok(Bytes::from_static(b"data: {\"n\":1}\n\n")),
        Err(ByokError::BadGateway("the stream was cut".into())),
        Ok(Bytes::from_static(b"data: never sent\n\n")),
    ]));
    server.executor.answer(Ok(ProviderResponse::Stream(stream)));
    let text = reqwest::Client::new()
        .post(server.url("/v1/chat/completions"))
        .json(&chat_body(true))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let last = text.lines().rfind(|l| l.starts_with("data: ")).unwrap();
    let event: Value = serde_json::from_str(&last["data: ".len()..]).unwrap();
    assert_eq!(event["error"]["code"], "bad_gateway");
    assert!(!text.contains("never sent"));
    server.stop().await.unwrap();
}

#[tokio::test]
async fn a_client_that_hangs_up_drops_the_upstream_stream() {
    let server = Server::start(ServerConfig::default()).await;
    let (tx, dropped, stream) = channel_stream();
    server.executor.answer(Ok(ProviderResponse::Stream(stream)));
    let response = reqwest::Client::new()
        .post(server.url("/v1/chat/completions"))
        .json(&chat_body(true))
        .send()
        .await
        .unwrap();
    tx.send(Ok(Bytes::from_static(b"data: {\"n\":1}\n\n")))
        .unwrap();
    let mut body = response.bytes_stream();
    body.next().await.unwrap().unwrap();
    drop(body);
    // The upstream stays silent: only the hang-up itself can end the stream.
    tokio::time::timeout(Duration::from_secs(10), dropped)
        .await
        .expect("the server dropped the upstream stream")
        .ok();
    assert!(tx.is_closed());
    server.stop().await.unwrap();
}

#[tokio::test]
async fn a_client_that_hangs_up_before_the_answer_drops_the_executor_call() {
    let server = Server::start(ServerConfig::default()).await;
    let (started, dropped) = server.executor.hang_next();
    let request = reqwest::Client::new()
        .post(server.url("/v1/chat/completions"))
        .json(&chat_body(false))
        .send();
    let client = tokio::spawn(request);
    started.await.unwrap();
    // The client gives up (the answer never comes) and closes its connection.
    client.abort();
    tokio::time::timeout(Duration::from_secs(10), dropped)
        .await
        .expect("the server dropped the executor's future")
        .ok();
    server.stop().await.unwrap();
}

#[tokio::test]
async fn responses_bodies_reach_the_executor_unchanged() {
    let server = Server::start(ServerConfig::default()).await;
    let body = json!({"model": "gpt-5", "input": "hi", "stream": false,
        "include": ["reasoning.encrypted_content"], "client_metadata": {"x": 1}});
    server.executor.answer(Ok(ProviderResponse::Complete(
        json!({"id": "resp_1", "object": "response", "output": []}),
    )));
    let answer: Value = reqwest::Client::new()
        .post(server.url("/v1/responses"))
        .json(&body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(answer["id"], "resp_1");
    assert_eq!(server.executor.asked.lock().unwrap()[0], body);
    server.stop().await.unwrap();
}

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
    let server = Server::start(ServerConfig {
        body_limit: 1024,
        ..ServerConfig::default()
    })
    .await;
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
    assert_eq!(
        error_of(response).await["error"]["code"],
        "payload_too_large"
    );
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
    let server = Server::start(ServerConfig {
        client_key: Some(Secret::new("local-key")),
        ..ServerConfig::default()
    })
    .await;
    let client = reqwest::Client::new();
    for _ in 0..2 {
        server
            .executor
            .answer(Ok(ProviderResponse::Complete(json!({"ok": true}))));
    }

    for (name, value) in [("authorization", "Bearer wrong-key"), ("x-other", "x")] {
        let response = client
            .post(server.url("/v1/chat/completions"))
            .header(name, value)
            .json(&chat_body(false))
            .send()
            .await
            .unwrap();
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
        let response = client
            .post(server.url("/v1/chat/completions"))
            .header(name, value)
            .json(&chat_body(false))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
    }
    let health = client.get(server.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);
    assert_eq!(health.json::<Value>().await.unwrap()["status"], "ok");
    server.stop().await.unwrap();
}

#[tokio::test]
async fn lists_models_and_finds_one_by_id() {
    let server = Server::start(ServerConfig::default()).await;
    let client = reqwest::Client::new();
    for path in ["/v1/models", "/models"] {
        let list: Value = client
            .get(server.url(path))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(list["object"], "list");
        let ids: Vec<&str> = list["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| {
                assert_eq!(m["object"], "model");
                assert!(m["created"].is_i64() && m["owned_by"].is_string());
                m["id"].as_str().unwrap()
            })
            .collect();
        assert_eq!(ids, ["gpt-5", "o4-mini"]);
    }
    let model: Value = client
        .get(server.url("/v1/models/o4-mini"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(model["id"], "o4-mini");
    let missing = client
        .get(server.url("/v1/models/gpt-2"))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
    assert!(
        error_of(missing).await["error"]["message"]
            .as_str()
            .unwrap()
            .contains("gpt-2")
    );
    server.stop().await.unwrap();
}

#[tokio::test]
async fn shutdown_lets_a_running_stream_finish() {
    let server = Server::start(ServerConfig::default()).await;
    let (tx, _dropped, stream) = channel_stream();
    server.executor.answer(Ok(ProviderResponse::Stream(stream)));
    let response = reqwest::Client::new()
        .post(server.url("/v1/chat/completions"))
        .json(&chat_body(true))
        .send()
        .await
        .unwrap();
    tx.send(Ok(Bytes::from_static(b"data: 1\n\n"))).unwrap();
    let mut body = response.bytes_stream();
    body.next().await.unwrap().unwrap();

    let Server { stop, task, .. } = server;
    stop.unwrap().send(()).unwrap();
    // The stream still flows after the signal, and ends normally.
    tx.send(Ok(Bytes::from_static(b"data: [DONE]\n\n")))
        .unwrap();
    assert_eq!(
        &body.next().await.unwrap().unwrap()[..],
        b"data: [DONE]\n\n"
    );
    drop(tx);
    assert!(body.next().await.is_none());
    task.await.unwrap().unwrap();
}

#[tokio::test]
async fn shutdown_cuts_streams_still_running_after_the_grace_period() {
    let server = Server::start(ServerConfig {
        shutdown_grace: Duration::from_millis(50),
        keep_alive: Duration::from_millis(10),
        ..ServerConfig::default()
    })
    .await;
    let (_tx, dropped, stream) = channel_stream();
    server.executor.answer(Ok(ProviderResponse::Stream(stream)));
    let response = reqwest::Client::new()
        .post(server.url("/v1/chat/completions"))
        .json(&chat_body(true))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    server.stop().await.unwrap();
    dropped.await.ok();
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

//! The server over real HTTP on 127.0.0.1, with a scripted executor behind it.

mod common;

use std::time::Duration;

use byok_server::ServerConfig;
use byok_types::{ByokError, ByteStream, ProviderResponse, StreamEnd, StreamProtocol, TokenUsage};
use bytes::Bytes;
use common::{Server, chat_body, chat_stream, error_of, stream_of};
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

/// A server with this configuration whose executor answers with a stream the test feeds;
/// a streaming chat request sent to it, the signal that the server dropped the stream, and
/// the answer.
async fn streaming(
    config: ServerConfig,
) -> (
    Server,
    mpsc::UnboundedSender<byok_types::Result<Bytes>>,
    oneshot::Receiver<()>,
    reqwest::Response,
) {
    let server = Server::start(config).await;
    let (tx, dropped, stream) = channel_stream();
    server.executor.answer(Ok(chat_stream(stream)));
    let response = reqwest::Client::new()
        .post(server.url("/v1/chat/completions"))
        .json(&chat_body(true))
        .send()
        .await
        .unwrap();
    (server, tx, dropped, response)
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
async fn answers_an_encoded_answer_with_its_bytes_as_json_and_counts_its_tokens() {
    let server = Server::start(ServerConfig::default()).await;
    let json = r#"{"id":"resp_1","object":"response","output":[],"usage":{"input_tokens":7,"output_tokens":11}}"#;
    server.executor.answer(Ok(ProviderResponse::Encoded {
        json: Bytes::from_static(json.as_bytes()),
        usage: Some(TokenUsage {
            input: 7,
            output: 11,
            ..TokenUsage::default()
        }),
    }));
    let response = reqwest::Client::new()
        .post(server.url("/v1/responses"))
        .json(&json!({"model": "gpt-5", "input": "Hi"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/json");
    assert_eq!(response.text().await.unwrap(), json);
    let metrics = reqwest::get(server.url("/metrics")).await.unwrap();
    let metrics = metrics.text().await.unwrap();
    for (kind, count) in [("input", 7), ("output", 11)] {
        let series = format!("byok_tokens_total{{kind=\"{kind}\",model=\"gpt-5\"}} {count}");
        assert!(metrics.contains(&series), "{series} not in {metrics}");
    }
    server.stop().await.unwrap();
}

#[tokio::test]
async fn streams_bytes_as_they_come_with_keep_alives_while_silent() {
    let (server, tx, _dropped, response) = streaming(
        ServerConfig::builder()
            .keep_alive(Duration::from_millis(20))
            .build(),
    )
    .await;
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
async fn no_keep_alive_breaks_an_event_the_upstream_paused_in() {
    let (server, tx, _dropped, response) = streaming(
        ServerConfig::builder()
            .keep_alive(Duration::from_millis(10))
            .build(),
    )
    .await;
    let mut body = response.bytes_stream();

    tx.send(Ok(Bytes::from_static(b"data: {\"n\":"))).unwrap();
    assert_eq!(&body.next().await.unwrap().unwrap()[..], b"data: {\"n\":");
    // Ten keep-alive periods of silence inside the event.
    tokio::time::sleep(Duration::from_millis(100)).await;
    tx.send(Ok(Bytes::from_static(b"1}\n\n"))).unwrap();
    assert_eq!(&body.next().await.unwrap().unwrap()[..], b"1}\n\n");
    // Between events, keep-alives flow again.
    assert_eq!(
        &body.next().await.unwrap().unwrap()[..],
        b": keep-alive\n\n"
    );
    drop(tx);
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
    server.executor.answer(Ok(chat_stream(stream)));
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
    let (server, tx, dropped, response) = streaming(ServerConfig::default()).await;
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
    let (server, tx, _dropped, response) = streaming(ServerConfig::default()).await;
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
    let (server, _tx, dropped, response) = streaming(
        ServerConfig::builder()
            .shutdown_grace(Duration::from_millis(50))
            .keep_alive(Duration::from_millis(10))
            .build(),
    )
    .await;
    assert_eq!(response.status(), 200);
    server.stop().await.unwrap();
    dropped.await.ok();
    let text = response.text().await.unwrap();
    let last = text.lines().rfind(|l| l.starts_with("data: ")).unwrap();
    let event: Value = serde_json::from_str(&last["data: ".len()..]).unwrap();
    assert!(
        event["error"]["message"]
            .as_str()
            .unwrap()
            .contains("shutting down"),
        "{text}"
    );
}

/// A stream of each protocol cut at shutdown ends with the error event of its own protocol.
#[tokio::test]
async fn a_cut_stream_gets_the_error_event_of_its_own_protocol() {
    for (protocol, path, body) in [
        (
            StreamProtocol::Responses,
            "/v1/responses",
            json!({"model": "gpt-5", "stream": true, "input": "hi"}),
        ),
        (
            StreamProtocol::Chat,
            "/v1/chat/completions",
            chat_body(true),
        ),
    ] {
        let server = Server::start(
            ServerConfig::builder()
                .shutdown_grace(Duration::from_millis(50))
                .build(),
        )
        .await;
        let (tx, _dropped, stream) = channel_stream();
        let (answer, report) = stream_of(protocol, stream);
        server.executor.answer(Ok(answer));
        let response = reqwest::Client::new()
            .post(server.url(path))
            .json(&body)
            .send()
            .await
            .unwrap();
        tx.send(Ok(Bytes::from_static(
            b"event: a\ndata: {\"type\":\"a\"}\n\n",
        )))
        .unwrap();
        server.stop().await.unwrap();
        let text = response.text().await.unwrap();
        let events: Vec<&str> = text.split("\n\n").filter(|e| !e.is_empty()).collect();
        let last = *events.last().unwrap();
        let data: Value =
            serde_json::from_str(last.lines().find_map(|l| l.strip_prefix("data: ")).unwrap())
                .unwrap();
        if protocol == StreamProtocol::Responses {
            assert!(last.starts_with("event: error\n"), "{text}");
            assert_eq!(data["type"], "error");
            assert!(data["message"].as_str().unwrap().contains("shutting down"));
        } else {
            assert!(!last.contains("event:"), "{text}");
            assert!(
                data["error"]["message"]
                    .as_str()
                    .unwrap()
                    .contains("shutting down")
            );
        }
        assert!(
            matches!(report.end(), Some(StreamEnd::Cut { .. })),
            "{:?}",
            report.end()
        );
        drop(tx);
    }
}

/// The executor learns who asks (a hash of the client key, never the key) and the request's
/// headers, without those that carry credentials.
#[tokio::test]
async fn the_executor_gets_the_client_identity_and_headers_without_credentials() {
    let server = Server::start(
        ServerConfig::builder()
            .client_key(byok_types::Secret::new("k-SECRET"))
            .build(),
    )
    .await;
    server
        .executor
        .answer(Ok(byok_types::ProviderResponse::Complete(json!({}))));
    let response = reqwest::Client::new()
        .post(server.url("/v1/responses"))
        .bearer_auth("k-SECRET")
        .header("x-api-key", "k-SECRET")
        .header("cookie", "session=k-SECRET")
        .header("session-id", "0199a4f2-7c1e-7000-8000-000000000001")
        .json(&json!({"model": "gpt-5", "input": "hi"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let clients = server.executor.clients.lock().unwrap().clone();
    assert_eq!(
        clients,
        [byok_types::ClientId::from_key(&byok_types::Secret::new(
            "k-SECRET"
        ))]
    );
    assert!(!clients[0].as_str().contains("SECRET"));
    let headers = server.executor.headers.lock().unwrap().clone();
    assert_eq!(
        headers[0]["session-id"],
        "0199a4f2-7c1e-7000-8000-000000000001"
    );
    for name in ["authorization", "x-api-key", "cookie"] {
        assert!(
            !headers[0].contains_key(name),
            "{name} reached the executor"
        );
    }
    server.stop().await.unwrap();

    // Without a client key, every client is `local`.
    let server = Server::start(ServerConfig::default()).await;
    server
        .executor
        .answer(Ok(byok_types::ProviderResponse::Complete(json!({}))));
    reqwest::Client::new()
        .post(server.url("/v1/chat/completions"))
        .json(&chat_body(false))
        .send()
        .await
        .unwrap();
    assert_eq!(
        server.executor.clients.lock().unwrap().clone(),
        [byok_types::ClientId::local()]
    );
    server.stop().await.unwrap();
}

#[tokio::test]
async fn an_executor_that_keeps_no_responses_answers_the_stored_response_endpoints_with_404() {
    let server = Server::start(ServerConfig::default()).await;
    let client = reqwest::Client::new();
    for request in [
        client.get(server.url("/v1/responses/resp_1")),
        client.get(server.url("/v1/responses/resp_1/input_items?limit=5")),
        client.delete(server.url("/v1/responses/resp_1")),
        client.get(server.url("/responses/resp_1")),
    ] {
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 404);
        let error = &error_of(response).await["error"];
        assert_eq!(error["type"], "invalid_request_error");
        assert_eq!(
            error["message"],
            "Response with id 'resp_1' not found: this server keeps no responses"
        );
    }
    // Another method on the path is a 405, not a 404.
    let response = client
        .post(server.url("/v1/responses/resp_1"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 405);
    server.stop().await.unwrap();
}

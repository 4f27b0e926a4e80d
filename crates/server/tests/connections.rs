//! Slow and idle connections, over raw TCP on 127.0.0.1: a client that never sends a request,
//! sends its headers a byte at a time or sits idle after its answer is closed; a slow answer
//! is not.

mod common;

use std::time::Duration;

use byok_server::ServerConfig;
use byok_types::ByteStream;
use bytes::Bytes;
use common::{Server, chat_body};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const IDLE: Duration = Duration::from_millis(300);

async fn server() -> Server {
    Server::start(ServerConfig::builder().client_idle_timeout(IDLE).build()).await
}

async fn connect(server: &Server) -> TcpStream {
    TcpStream::connect(server.base.trim_start_matches("http://"))
        .await
        .unwrap()
}

/// Reads until the server closes the connection (or resets it); what it sent. Fails the test
/// when the server keeps the connection open far beyond the idle timeout.
async fn until_closed(tcp: &mut TcpStream) -> String {
    let mut got = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(20), async {
        let mut buf = [0; 4096];
        loop {
            match tcp.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    assert!(
        read.is_ok(),
        "the server kept a silent connection open: {}",
        String::from_utf8_lossy(&got)
    );
    String::from_utf8_lossy(&got).into_owned()
}

#[tokio::test]
async fn a_connection_that_never_sends_a_request_is_closed() {
    let server = server().await;
    let mut silent = connect(&server).await;
    assert_eq!(until_closed(&mut silent).await, "");
    // One byte: not yet enough for the server to tell HTTP/1 from HTTP/2.
    let mut one_byte = connect(&server).await;
    one_byte.write_all(b"P").await.unwrap();
    until_closed(&mut one_byte).await;
    // The server still serves others.
    let health = reqwest::get(server.url("/healthz")).await.unwrap();
    assert_eq!(health.status(), 200);
}

#[tokio::test]
async fn headers_sent_too_slowly_are_cut_off() {
    let server = server().await;
    let mut slow = connect(&server).await;
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        .await
        .unwrap();
    let said = until_closed(&mut slow).await;
    assert!(!said.contains("200 OK"), "{said}");
}

#[tokio::test]
async fn a_kept_alive_connection_left_idle_is_closed_after_its_answer() {
    let server = server().await;
    let mut tcp = connect(&server).await;
    tcp.write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        .await
        .unwrap();
    let said = until_closed(&mut tcp).await;
    assert!(
        said.starts_with("HTTP/1.1 200 OK") && said.contains("\"status\":\"ok\""),
        "{said}"
    );
}

#[tokio::test]
async fn an_answer_slower_than_the_idle_timeout_still_arrives_whole() {
    let server = server().await;
    let events: ByteStream = Box::pin(futures::stream::unfold(0, |n| async move {
        if n == 3 {
            return None;
        }
        tokio::time::sleep(IDLE * 2).await;
        Some((Ok(Bytes::from(format!("data: {{\"n\":{n}}}\n\n"))), n + 1))
    }));
    server.executor.answer(Ok(common::chat_stream(events)));
    let text = reqwest::Client::new()
        .post(server.url("/v1/chat/completions"))
        .json(&chat_body(true))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for n in 0..3 {
        assert!(text.contains(&format!("{{\"n\":{n}}}")), "{text}");
    }
}

//! A web page in the user's browser attacking byok: the requests a browser sends (its `Host`,
//! `Origin`, `Sec-Fetch-*` headers, `text/plain` simple requests, preflights), over real HTTP.

mod common;

use byok_server::ServerConfig;
use byok_types::{ProviderResponse, Secret};
use common::{Server, chat_body, error_of};
use reqwest::header::HeaderMap;
use serde_json::json;

fn client() -> reqwest::Client {
    reqwest::Client::new()
}

/// A chat POST as a page's `fetch(url, {method: "POST", body})` sends it: `text/plain`, no
/// preflight needed.
fn simple_post(server: &Server, origin: &str) -> reqwest::RequestBuilder {
    client()
        .post(server.url("/v1/chat/completions"))
        .header("content-type", "text/plain;charset=UTF-8")
        .header("origin", origin)
        .header("sec-fetch-site", "cross-site")
        .header("sec-fetch-mode", "no-cors")
        .body(chat_body(false).to_string())
}

fn answer_ok(server: &Server) {
    server.executor.answer(Ok(ProviderResponse::Complete(json!({
        "id": "chatcmpl-1", "object": "chat.completion", "choices": [],
    }))));
}

#[tokio::test]
async fn a_simple_post_from_another_site_is_refused_before_the_upstream() {
    let server = Server::start(ServerConfig::default()).await;
    answer_ok(&server);
    let response = simple_post(&server, "http://evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
    assert!(
        !response
            .headers()
            .contains_key("access-control-allow-origin")
    );
    let body = error_of(response).await;
    assert_eq!(body["error"]["code"], "origin_not_allowed");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("http://evil.example") && message.contains("allowed_origins"),
        "{message}"
    );
    // `Origin: null`: a sandboxed frame or a file opened in the browser.
    let null = simple_post(&server, "null").send().await.unwrap();
    assert_eq!(null.status(), 403);
    assert!(server.executor.asked.lock().unwrap().is_empty());
}

#[tokio::test]
async fn dns_rebinding_hosts_are_refused_and_loopback_names_served() {
    let server = Server::start(
        ServerConfig::builder()
            .allowed_hosts(vec!["byok.home.arpa".into()])
            .build(),
    )
    .await;
    // The page of evil.example, now resolving to 127.0.0.1, reads from "its own" origin.
    let rebound = client()
        .get(server.url("/v1/models"))
        .header("host", "evil.example:8018")
        .header("sec-fetch-site", "same-origin")
        .send()
        .await
        .unwrap();
    assert_eq!(rebound.status(), 403);
    let body = error_of(rebound).await;
    assert_eq!(body["error"]["code"], "host_not_allowed");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("evil.example:8018")
    );
    let posted = client()
        .post(server.url("/v1/chat/completions"))
        .header("host", "evil.example:8018")
        .header("origin", "http://evil.example:8018")
        .json(&chat_body(false))
        .send()
        .await
        .unwrap();
    assert_eq!(posted.status(), 403);
    assert!(server.executor.asked.lock().unwrap().is_empty());

    for host in [
        "localhost:8018",
        "app.localhost",
        "127.0.0.1:8018",
        "[::1]:8018",
        "byok.home.arpa:8018",
    ] {
        let response = client()
            .get(server.url("/v1/models"))
            .header("host", host)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{host}");
    }
}

#[tokio::test]
async fn a_cross_site_load_without_origin_is_refused_but_not_a_link_followed() {
    let server = Server::start(ServerConfig::default()).await;
    let get = |site: &'static str, mode: &'static str| {
        client()
            .get(server.url("/v1/models"))
            .header("sec-fetch-site", site)
            .header("sec-fetch-mode", mode)
            .header("sec-fetch-dest", "script")
            .send()
    };
    assert_eq!(get("cross-site", "no-cors").await.unwrap().status(), 403);
    assert_eq!(get("same-site", "no-cors").await.unwrap().status(), 403);
    assert_eq!(get("cross-site", "navigate").await.unwrap().status(), 200);
    assert_eq!(get("none", "navigate").await.unwrap().status(), 200);
    assert_eq!(get("same-origin", "cors").await.unwrap().status(), 200);
}

fn preflight(server: &Server, origin: &str) -> reqwest::RequestBuilder {
    client()
        .request(reqwest::Method::OPTIONS, server.url("/v1/chat/completions"))
        .header("origin", origin)
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "authorization,content-type",
        )
        .header("sec-fetch-mode", "cors")
        .header("sec-fetch-site", "cross-site")
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> &'a str {
    headers
        .get(name)
        .map_or("", |v| v.to_str().unwrap_or_default())
}

#[tokio::test]
async fn a_browser_app_on_localhost_gets_cors_answers() {
    let server = Server::start(ServerConfig::builder().client_key(Secret::new("k")).build()).await;
    let response = preflight(&server, "http://localhost:5173")
        .send()
        .await
        .unwrap();
    // A preflight carries no credentials: it must not need the client key.
    assert_eq!(response.status(), 204);
    let headers = response.headers();
    assert_eq!(
        header(headers, "access-control-allow-origin"),
        "http://localhost:5173"
    );
    assert!(header(headers, "access-control-allow-methods").contains("POST"));
    assert_eq!(
        header(headers, "access-control-allow-headers"),
        "authorization,content-type"
    );
    assert!(header(headers, "vary").contains("origin"));

    answer_ok(&server);
    let answer = client()
        .post(server.url("/v1/chat/completions"))
        .header("origin", "http://localhost:5173")
        .header("sec-fetch-site", "cross-site")
        .header("sec-fetch-mode", "cors")
        .bearer_auth("k")
        .json(&chat_body(false))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    assert_eq!(
        header(answer.headers(), "access-control-allow-origin"),
        "http://localhost:5173"
    );
    assert!(!header(answer.headers(), "access-control-expose-headers").is_empty());
}

#[tokio::test]
async fn a_preflight_from_an_unlisted_origin_gets_no_cors_headers() {
    let server = Server::start(
        ServerConfig::builder()
            .allowed_origins(vec!["https://app.example.com".into()])
            .build(),
    )
    .await;
    let refused = preflight(&server, "http://evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 403);
    for name in [
        "access-control-allow-origin",
        "access-control-allow-methods",
        "access-control-allow-headers",
    ] {
        assert!(!refused.headers().contains_key(name), "{name}");
    }
    error_of(refused).await;

    let listed = preflight(&server, "https://app.example.com")
        .header("access-control-request-private-network", "true")
        .send()
        .await
        .unwrap();
    assert_eq!(listed.status(), 204);
    assert_eq!(
        header(listed.headers(), "access-control-allow-origin"),
        "https://app.example.com"
    );
    assert_eq!(
        header(listed.headers(), "access-control-allow-private-network"),
        "true"
    );
}

#[tokio::test]
async fn beyond_loopback_the_client_key_guards_and_any_host_is_served() {
    let listener = tokio::net::TcpListener::bind("0.0.0.0:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let config = ServerConfig::builder()
        .client_key(Secret::new("team-key"))
        .build();
    let executor = std::sync::Arc::new(common::Scripted::default());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(byok_server::serve(
        listener,
        config,
        executor as std::sync::Arc<dyn byok_types::ProviderExecutor>,
        async {
            stopped.await.ok();
        },
    ));
    let response = client()
        .get(format!("http://127.0.0.1:{port}/v1/models"))
        .header("host", "byok.team.example:8018")
        .bearer_auth("team-key")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    // Browsers are still held to the origin rules.
    let from_page = client()
        .get(format!("http://127.0.0.1:{port}/v1/models"))
        .header("origin", "http://evil.example")
        .bearer_auth("team-key")
        .send()
        .await
        .unwrap();
    assert_eq!(from_page.status(), 403);
    stop.send(()).ok();
    task.await.unwrap().unwrap();
}

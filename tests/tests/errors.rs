//! Every error status a client can get from byok, each in OpenAI's shape.

use std::time::Duration;

use byok_e2e::{Byok, Reply, StandIn, Then, Until, harness};
use byok_types::Secret;
use serde_json::{Value, json};

fn chat(stream: bool) -> Value {
    json!({"model": "gpt-5", "stream": stream, "messages": [{"role": "user", "content": "hi"}]})
}

/// The error object of a response, after checking OpenAI's four fields are there.
async fn error_of(response: reqwest::Response) -> Value {
    let body: Value = response.json().await.expect("a JSON error");
    let error = body["error"].as_object().expect("an OpenAI error object");
    for key in ["message", "type", "param", "code"] {
        assert!(error.contains_key(key), "{key} missing in {body}");
    }
    body["error"].clone()
}

#[tokio::test]
async fn bad_requests_unknown_routes_and_wrong_methods() {
    let standin = StandIn::start(Reply::Replay("text")).await;
    let byok = Byok::signed_in(&standin).await;
    let client = reqwest::Client::new();

    let response = client
        .post(byok.at("/v1/chat/completions"))
        .header("content-type", "application/json")
        .body(r#"{"model":"gpt-5","messages":"hi"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    assert_eq!(error_of(response).await["param"], "messages");

    let response = client
        .post(byok.at("/v1/chat/completions"))
        .body("{oops")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);

    let response = byok.get("/v1/embeddings").await;
    assert_eq!(response.status(), 404);
    assert!(response.headers().contains_key("x-request-id"));
    error_of(response).await;

    let response = client.delete(byok.at("/v1/models")).send().await.unwrap();
    assert_eq!(response.status(), 405);
    error_of(response).await;

    assert!(standin.received().is_empty(), "nothing reached the backend");
    byok.stop().await.unwrap();
}

/// Strict input in ChatGPT mode: what the OpenAI API refuses gets its 400, naming the field,
/// and nothing reaches the backend (before, each of these went out changed: the prompt dropped
/// as `input: []`, a tool call's object arguments sent as `{}`, a `tools` string or a
/// `tool_calls` object left out, a system-only chat sent as an empty conversation).
#[tokio::test]
async fn requests_the_api_refuses_get_400_naming_the_field_and_never_reach_the_backend() {
    let standin = StandIn::start(Reply::Replay("text")).await;
    let byok = Byok::signed_in(&standin).await;
    let user = json!({"role": "user", "content": "What is the weather in Paris?"});
    let call = |arguments: Value| {
        json!({"role": "assistant", "tool_calls": [{"id": "call_1", "type": "function",
            "function": {"name": "weather", "arguments": arguments}}]})
    };
    let chat = |messages: Value| json!({"model": "gpt-5", "messages": messages});
    let cases = [
        ("/v1/responses", json!({"model": "gpt-5"}), "input"),
        (
            "/v1/responses",
            json!({"model": "gpt-5", "input": null}),
            "input",
        ),
        ("/v1/responses", chat(json!([user])), "messages"),
        (
            "/v1/responses",
            json!({"model": "gpt-5", "input": "hi", "stream": "yes"}),
            "stream",
        ),
        (
            "/v1/responses",
            json!({"model": "gpt-5", "input": "hi", "stream_options": true}),
            "stream_options",
        ),
        (
            "/v1/responses",
            json!({"model": "gpt-5", "input": "hi", "include": "reasoning.encrypted_content"}),
            "include",
        ),
        (
            "/v1/chat/completions",
            json!({"model": "gpt-5", "messages": [user], "tools": "weather"}),
            "tools",
        ),
        (
            "/v1/chat/completions",
            chat(
                json!([user, {"role": "assistant", "content": "Let me look.",
                "tool_calls": {"id": "call_1"}}]),
            ),
            "messages[1].tool_calls",
        ),
        (
            "/v1/chat/completions",
            chat(json!([user, call(json!({"city": "Paris"}))])),
            "messages[1].tool_calls[0].function.arguments",
        ),
        (
            "/v1/chat/completions",
            json!({"model": "gpt-5", "messages": [user], "stream": 1}),
            "stream",
        ),
        (
            "/v1/chat/completions",
            json!({"model": "gpt-5", "messages": [user], "stream_options": "usage"}),
            "stream_options",
        ),
        (
            "/v1/chat/completions",
            json!({"model": "gpt-5", "messages": [user], "reasoning_effort": {"effort": "high"}}),
            "reasoning_effort",
        ),
        (
            "/v1/chat/completions",
            chat(json!([{"role": "system", "content": "You are a weather bot."}])),
            "messages",
        ),
        (
            "/v1/chat/completions",
            chat(json!([user, {"role": "assistant", "content": null}])),
            "messages[1].content",
        ),
    ];
    for (path, body, param) in cases {
        let response = byok.post(path, &body).await;
        assert_eq!(response.status(), 400, "{path} {body}");
        let error = error_of(response).await;
        assert_eq!(error["param"], param, "{path} {body}: {error}");
        assert_eq!(error["type"], "invalid_request_error");
        assert!(error["code"].is_string(), "{error}");
    }
    assert!(standin.received().is_empty(), "nothing reached the backend");
    // The well-formed versions are served.
    let response = byok
        .post(
            "/v1/chat/completions",
            &chat(json!([user, call(json!("{\"city\":\"Paris\"}")),
                {"role": "tool", "tool_call_id": "call_1", "content": "sunny"}])),
        )
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        standin.received()[0].body["input"][1]["arguments"],
        "{\"city\":\"Paris\"}"
    );
    byok.stop().await.unwrap();
}

#[tokio::test]
async fn a_body_over_the_limit_gets_413() {
    let standin = StandIn::start(Reply::Replay("text")).await;
    let home = Byok::home_signed_in(3600).await;
    let mut settings = Byok::settings(&home, &standin);
    settings.body_limit = 64 * 1024;
    let byok = Byok::start(home, settings).await;
    let mut body = chat(false);
    body["messages"][0]["content"] = json!("x".repeat(100 * 1024));
    let response = byok.post("/v1/chat/completions", &body).await;
    assert_eq!(response.status(), 413);
    assert_eq!(error_of(response).await["code"], "payload_too_large");
    byok.stop().await.unwrap();
}

#[tokio::test]
async fn a_wrong_client_key_gets_401() {
    let standin = StandIn::start(Reply::Replay("text")).await;
    let home = Byok::home_signed_in(3600).await;
    let mut settings = Byok::settings(&home, &standin);
    settings.client_key = Some(Secret::new("local-secret"));
    let byok = Byok::start(home, settings).await;
    let client = reqwest::Client::new();
    let response = client
        .post(byok.at("/v1/chat/completions"))
        .bearer_auth("not-the-key")
        .json(&chat(false))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    assert_eq!(error_of(response).await["type"], "authentication_error");
    let response = client
        .post(byok.at("/v1/chat/completions"))
        .bearer_auth("local-secret")
        .json(&chat(false))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    byok.stop().await.unwrap();
}

#[tokio::test]
async fn no_credentials_gets_401_telling_how_to_sign_in() {
    let standin = StandIn::start(Reply::Replay("text")).await;
    let home = tempfile::tempdir().unwrap();
    let settings = Byok::settings(&home, &standin);
    let byok = Byok::start(home, settings).await;
    let client = reqwest::Client::new();
    let health = byok.get("/healthz").await;
    assert_eq!(health.status(), 200, "byok starts without credentials");
    for stream in [false, true] {
        let response = client
            .post(byok.at("/v1/chat/completions"))
            .json(&chat(stream))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 401);
        let message = error_of(response).await["message"]
            .as_str()
            .unwrap()
            .to_owned();
        assert!(message.contains("byok login"), "{message}");
        assert!(message.contains("byok import-codex-cli"), "{message}");
        assert!(message.contains("OPENAI_API_KEY"), "{message}");
    }
    assert!(standin.received().is_empty());
    byok.stop().await.unwrap();
}

#[tokio::test]
async fn a_usage_limit_gets_429_with_retry_after() {
    let standin = StandIn::start(Reply::UsageLimit {
        resets_in_seconds: 1234,
    })
    .await;
    let byok = Byok::signed_in(&standin).await;
    let response = byok.post("/v1/chat/completions", &chat(true)).await;
    assert_eq!(response.status(), 429);
    assert_eq!(response.headers()["retry-after"], "1234");
    let error = error_of(response).await;
    assert_eq!(error["type"], "usage_limit_reached");
    assert_eq!(standin.received().len(), 1, "a usage limit is not retried");
    byok.stop().await.unwrap();
}

#[tokio::test]
async fn an_unreachable_upstream_gets_502() {
    // A port that was free a moment ago: nothing listens there.
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let dead_url = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let standin = StandIn::start(Reply::Replay("text")).await;
    let home = Byok::home_signed_in(3600).await;
    let mut settings = Byok::settings(&home, &standin);
    settings.codex_base_url = Some(format!("{dead_url}/backend-api/codex"));
    let byok = Byok::start(home, settings).await;
    let response = byok.post("/v1/chat/completions", &chat(false)).await;
    assert_eq!(response.status(), 502);
    assert_eq!(error_of(response).await["type"], "upstream_error");
    byok.stop().await.unwrap();
}

#[tokio::test]
async fn a_stream_cut_short_gets_502_or_an_error_event() {
    let standin = StandIn::start(Reply::Part("text", Until::Events(6), Then::End)).await;
    let byok = Byok::signed_in(&standin).await;
    let client = reqwest::Client::new();

    let response = client
        .post(byok.at("/v1/chat/completions"))
        .json(&chat(false))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 502);
    error_of(response).await;

    // Streaming: the head went out already, so the stream ends with an error event, not [DONE].
    let body = client
        .post(byok.at("/v1/chat/completions"))
        .json(&chat(true))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let events = byok_e2e::sse::events(&body);
    let last = events.last().expect("events");
    assert_ne!(last.data, "[DONE]");
    assert!(
        last.json().expect("JSON")["error"]["message"].is_string(),
        "{body}"
    );
    byok.stop().await.unwrap();
}

#[tokio::test]
async fn a_silent_upstream_gets_504() {
    let standin = StandIn::start(Reply::Part("text", Until::Events(0), Then::Hang)).await;
    let home = Byok::home_signed_in(3600).await;
    let mut settings = Byok::settings(&home, &standin);
    settings.upstream_idle_timeout = Some(Duration::from_millis(300));
    let byok = Byok::start(home, settings).await;
    let response = byok.post("/v1/chat/completions", &chat(false)).await;
    assert_eq!(response.status(), 504);
    assert_eq!(error_of(response).await["type"], "timeout_error");
    byok.stop().await.unwrap();
}

#[tokio::test]
async fn listening_beyond_loopback_without_a_client_key_is_refused() {
    let standin = StandIn::start(Reply::Replay("text")).await;
    let home = tempfile::tempdir().unwrap();
    let mut settings = Byok::settings(&home, &standin);
    settings.host = "0.0.0.0".into();
    let err = byok::serve::bind(&settings).await.unwrap_err();
    let message = err.to_string();
    assert!(message.contains("--client-key"), "{message}");
    assert!(message.contains("0.0.0.0"), "{message}");

    settings.client_key = Some(Secret::new("k"));
    assert!(byok::serve::bind(&settings).await.is_ok());
}

/// An upstream 5xx still failing after the retries is the upstream's failure, not byok's: 502
/// `upstream_error` with the upstream's words (before: the 500 or 503 itself, which looked
/// like byok had failed).
#[tokio::test]
async fn an_upstream_server_error_is_retried_then_a_502_with_its_message() {
    for status in [500, 503] {
        let standin = StandIn::start(Reply::failure(status)).await;
        let byok = Byok::signed_in(&standin).await;
        for path in ["/v1/chat/completions", "/v1/responses"] {
            let body = if path == "/v1/responses" {
                json!({"model": "gpt-5", "input": "hi"})
            } else {
                chat(false)
            };
            let before = standin.received().len();
            let response = byok.post(path, &body).await;
            assert_eq!(response.status(), 502, "{status} {path}");
            let error = error_of(response).await;
            assert_eq!(error["type"], "upstream_error", "{error}");
            assert_eq!(error["message"], "the stand-in fails on purpose");
            assert_eq!(error["upstream_status"], status);
            assert!(
                standin.received().len() - before > 1,
                "a {status} before any byte is retried"
            );
        }
        byok.stop().await.unwrap();
    }
}

/// The message of a 401 a request got.
async fn unauthorized(byok: &Byok) -> String {
    let response = byok.post("/v1/chat/completions", &chat(false)).await;
    assert_eq!(response.status(), 401);
    let error = error_of(response).await;
    assert_eq!(error["type"], "authentication_error");
    error["message"].as_str().unwrap().to_owned()
}

/// A token the backend refuses although it was just refreshed: the sign-in is gone, and the
/// 401 says how to sign in again, naming the account as `byok serve` announced it (before: the
/// backend's bare 401).
#[tokio::test]
async fn a_401_after_a_successful_refresh_says_to_sign_in_again() {
    // byok's own sign-in.
    let standin = StandIn::start(Reply::failure(401)).await;
    let byok = Byok::signed_in(&standin).await;
    let message = unauthorized(&byok).await;
    assert_eq!(standin.refreshes(), 1, "the token was refreshed");
    assert_eq!(standin.received().len(), 2, "and tried once more");
    assert!(message.contains("`me@example.com`"), "{message}");
    assert!(
        message.contains("sign in again with `byok login`"),
        "{message}"
    );
    byok.stop().await.unwrap();

    // The Codex CLI's sign-in, used in place: its account is known by its email, and it is
    // the Codex CLI that signs it in again.
    let standin = StandIn::start(Reply::failure(401)).await;
    let home = tempfile::tempdir().unwrap();
    let codex_home = tempfile::tempdir().unwrap();
    // The issuer knows this sign-in's refresh token; its tokens name acc-e2e@example.com.
    let jwt = harness::fake_jwt("acc-e2e@example.com", harness::ACCOUNT_ID, 3600);
    let auth = json!({
        "tokens": {"id_token": jwt, "access_token": jwt,
                   "refresh_token": harness::REFRESH_TOKEN, "account_id": harness::ACCOUNT_ID},
        "last_refresh": "2026-01-01T00:00:00Z",
    });
    std::fs::write(codex_home.path().join("auth.json"), auth.to_string()).unwrap();
    let mut settings = Byok::settings(&home, &standin);
    settings.codex_home = codex_home.path().to_owned();
    let byok = Byok::start(home, settings).await;
    let message = unauthorized(&byok).await;
    assert_eq!(standin.refreshes(), 1);
    assert!(message.contains("`acc-e2e@example.com`"), "{message}");
    assert!(
        message.contains("sign in again with `codex login`"),
        "{message}"
    );
    byok.stop().await.unwrap();

    // A refresh the issuer refuses names the Codex CLI's sign-in by its email too (before:
    // "the ChatGPT sign-in of `codex-cli` has ended"), and the command that signs it in again.
    let standin = StandIn::start(Reply::Replay("text")).await;
    let home = tempfile::tempdir().unwrap();
    let expired = harness::fake_jwt("acc-e2e@example.com", harness::ACCOUNT_ID, -60);
    let auth = json!({
        "tokens": {"id_token": expired, "access_token": expired,
                   "refresh_token": "rt-used-elsewhere", "account_id": harness::ACCOUNT_ID},
        "last_refresh": "2026-01-01T00:00:00Z",
    });
    std::fs::write(codex_home.path().join("auth.json"), auth.to_string()).unwrap();
    let mut settings = Byok::settings(&home, &standin);
    settings.codex_home = codex_home.path().to_owned();
    let byok = Byok::start(home, settings).await;
    let message = unauthorized(&byok).await;
    assert!(message.contains("`acc-e2e@example.com`"), "{message}");
    assert!(!message.contains("codex-cli"), "{message}");
    // And says that the Codex CLI signs it in again (before: `byok login`).
    assert!(
        message.contains("sign in again with `codex login`"),
        "{message}"
    );
    assert!(!message.contains("byok login"), "{message}");
    byok.stop().await.unwrap();
}

/// A `codex_client_version` older than a model's `minimal_client_version`: the backend refuses
/// the model (400 "requires a newer version of Codex", as the stand-in answers it), and the
/// client is told which setting to change, in OpenAI's shape, from both fronts (before: the
/// backend's bare `{"detail": ...}`, which tells a user of byok to upgrade a Codex they do not
/// run). The same request with the default version is served.
#[tokio::test]
async fn a_client_version_too_old_for_the_model_says_which_setting_to_change() {
    let standin = StandIn::start(Reply::Replay("text")).await;
    let home = Byok::home_signed_in(3600).await;
    let mut settings = Byok::settings(&home, &standin);
    settings.codex_client_version = "0.130.0".into();
    let byok = Byok::start(home, settings).await;
    let chat = json!({"model": "gpt-5.6-sol", "messages": [{"role": "user", "content": "hi"}]});
    let responses = json!({"model": "gpt-5.6-sol", "input": "hi"});
    for (path, body) in [("/v1/chat/completions", chat), ("/v1/responses", responses)] {
        let response = byok.post(path, &body).await;
        assert_eq!(response.status(), 400, "{path}");
        let error = error_of(response).await;
        let message = error["message"].as_str().unwrap();
        for named in [
            "`gpt-5.6-sol`",
            "Codex CLI 0.130.0",
            "`codex_client_version`",
            "BYOK_CODEX_CLIENT_VERSION",
        ] {
            assert!(message.contains(named), "{named} not in {message}");
        }
        assert_eq!(error["param"], "model");
        assert_eq!(error["code"], "client_version_too_old");
        assert_eq!(error["type"], "invalid_request_error");
    }
    let sent = standin.received();
    assert_eq!(sent.len(), 2, "one try each: another try cannot help");
    assert_eq!(sent[0].header("version"), Some("0.130.0"));
    byok.stop().await.unwrap();

    let byok = Byok::signed_in(&standin).await;
    let body = json!({"model": "gpt-5.6-sol", "messages": [{"role": "user", "content": "hi"}]});
    assert_eq!(byok.post("/v1/chat/completions", &body).await.status(), 200);
    byok.stop().await.unwrap();
}

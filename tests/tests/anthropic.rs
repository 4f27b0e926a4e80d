//! Anthropic-API clients through byok: the official `anthropic` Python SDK and plain HTTP, in
//! front of a stand-in Codex backend that plays an agent (`byok_e2e::scripted`).
//!
//! The SDK comes from `BYOK_TEST_PYTHON` (`.ci/run` prepares it), else the tests install it
//! into `target/test-clients`; they never skip. Claude Code's test is `claude_code.rs`.

use std::path::Path;
use std::process::Output;

use byok_e2e::{Byok, Reply, StandIn, Then, Until, clients, fixtures, scripted};
use serde_json::{Value, json};
use tokio::process::Command;

fn describe(output: &Output) -> String {
    format!(
        "exit {:?}\n--- stdout\n{}\n--- stderr\n{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// What the Codex backend refuses (DESIGN.md): none of it may reach it.
const REFUSED_FIELDS: [&str; 6] = [
    "max_tokens",
    "max_output_tokens",
    "temperature",
    "top_p",
    "metadata",
    "stop",
];

fn assert_codex_would_accept(body: &Value) {
    for field in REFUSED_FIELDS {
        assert!(
            body.get(field).is_none(),
            "`{field}` reached the backend: {body}"
        );
    }
    assert_eq!(body["store"], false, "{body}");
    assert_eq!(body["stream"], true, "{body}");
    assert!(body["instructions"].is_string(), "{body}");
    assert!(
        body["input"]
            .as_array()
            .unwrap()
            .iter()
            .all(|item| item["role"] != "system"),
        "no system items: {body}"
    );
}

#[tokio::test]
async fn the_official_anthropic_sdk_streams_calls_tools_thinks_and_counts() {
    let python = tokio::task::spawn_blocking(|| clients::python_with(&["anthropic"]))
        .await
        .unwrap_or_else(|panic| std::panic::resume_unwind(panic.into_panic()));
    let standin = StandIn::start(Reply::Scripted(scripted::agent)).await;
    let byok = Byok::signed_in(&standin).await;
    let expect = json!({
        "text": fixtures::recorded_text("reasoning"),
        "thinking": fixtures::recorded_reasoning("reasoning"),
        "tool_thinking": scripted::TOOL_TURN_THINKING,
        "final": scripted::FINAL_TEXT,
        "call_id": scripted::TOOL_CALL_ID,
    });
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("python/anthropic_sdk.py");
    let output = Command::new(&python)
        .arg(&script)
        .env("ANTHROPIC_BASE_URL", &byok.url)
        .env("BYOK_EXPECT", expect.to_string())
        .env("NO_PROXY", "127.0.0.1")
        .env_remove("ANTHROPIC_API_KEY")
        .output()
        .await
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", python.display()));
    assert!(output.status.success(), "{}", describe(&output));
    let stdout = String::from_utf8_lossy(&output.stdout);
    for step in [
        "streaming text arrives as recorded",
        "the final text after the tool result",
        "an image request is answered",
        "count_tokens grows with the request",
        "404 not_found_error for a model",
    ] {
        assert!(
            stdout.contains(step),
            "{step} not checked:\n{}",
            describe(&output)
        );
    }

    // What the backend got: requests it accepts, and on the tool turn's follow-up the
    // reasoning item it sent, whole, with the tool's result.
    let received = standin.received();
    for request in &received {
        assert_codex_would_accept(&request.body);
    }
    let follow_up = received
        .iter()
        .map(|r| &r.body)
        .find(|body| {
            body["input"]
                .as_array()
                .unwrap()
                .iter()
                .any(|i| i["type"] == "function_call_output")
        })
        .expect("the tool result reached the backend");
    let input = follow_up["input"].as_array().unwrap();
    let reasoning: Vec<&Value> = input.iter().filter(|i| i["type"] == "reasoning").collect();
    assert_eq!(reasoning.len(), 1, "{follow_up}");
    assert_eq!(
        reasoning[0]["encrypted_content"],
        scripted::TOOL_TURN_REASONING
    );
    assert_eq!(reasoning[0]["id"], scripted::TOOL_TURN_REASONING_ID);
    let call = input.iter().find(|i| i["type"] == "function_call").unwrap();
    assert_eq!(call["call_id"], scripted::TOOL_CALL_ID);
    assert_eq!(call["name"], "get_weather");
    let output = input
        .iter()
        .find(|i| i["type"] == "function_call_output")
        .unwrap();
    assert_eq!(
        output,
        &json!({"type": "function_call_output", "call_id": scripted::TOOL_CALL_ID, "output": "Sunny, 21 C"})
    );
    // Claude names mapped by family (defaults: gpt-5.5 at three efforts); thinking budgets
    // became efforts.
    assert_eq!(follow_up["model"], "gpt-5.5");
    assert_eq!(follow_up["reasoning"]["effort"], "low", "budget 2048");
    let image = received
        .iter()
        .map(|r| &r.body)
        .find(|b| b.to_string().contains("input_image"))
        .expect("the image reached the backend");
    let part = &image["input"][0]["content"][0];
    assert_eq!(part["type"], "input_image");
    assert!(
        part["image_url"]
            .as_str()
            .unwrap()
            .starts_with("data:image/png;base64,iVBOR"),
        "{part}"
    );
    assert_eq!(image["reasoning"]["effort"], "low", "haiku is gpt-5.5-low");
    byok.stop().await.unwrap();
}

#[tokio::test]
async fn anthropic_errors_come_in_anthropics_shape() {
    let standin = StandIn::start(Reply::Scripted(scripted::agent)).await;
    let home = Byok::home_signed_in(3600).await;
    let mut settings = Byok::settings(&home, &standin);
    settings.client_key = Some("k-anthropic".into());
    let byok = Byok::start(home, settings).await;
    let client = reqwest::Client::new();
    let hello = json!({"model": "claude-sonnet-4-5", "max_tokens": 10,
        "messages": [{"role": "user", "content": "hi"}]});
    let error_of = |response: reqwest::Response| async move {
        let status = response.status().as_u16();
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["type"], "error", "{body}");
        assert!(
            body["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty())
        );
        (status, body["error"]["type"].as_str().unwrap().to_owned())
    };
    // No key, then the key as Claude Code's ANTHROPIC_AUTH_TOKEN and the SDK's x-api-key send it.
    let no_key = client
        .post(byok.at("/v1/messages"))
        .json(&hello)
        .send()
        .await
        .unwrap();
    assert_eq!(error_of(no_key).await, (401, "authentication_error".into()));
    for (name, value) in [
        ("authorization", "Bearer k-anthropic"),
        ("x-api-key", "k-anthropic"),
    ] {
        let ok = client
            .post(byok.at("/v1/messages?beta=true"))
            .header(name, value)
            .header("anthropic-version", "2023-06-01")
            .header("anthropic-beta", "interleaved-thinking-2025-05-14")
            .json(&hello)
            .send()
            .await
            .unwrap();
        assert_eq!(ok.status(), 200, "{name}");
        let message: Value = ok.json().await.unwrap();
        assert_eq!(message["type"], "message");
        assert_eq!(message["model"], "claude-sonnet-4-5");
    }
    let send = |path: &'static str, body: String| {
        client
            .post(byok.at(path))
            .header("x-api-key", "k-anthropic")
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    let bad_json = send("/v1/messages", "{not json".into()).await.unwrap();
    assert_eq!(
        error_of(bad_json).await,
        (400, "invalid_request_error".into())
    );
    let no_model = send("/v1/messages/count_tokens", r#"{"messages":[]}"#.into())
        .await
        .unwrap();
    assert_eq!(
        error_of(no_model).await,
        (400, "invalid_request_error".into())
    );
    let unknown = send(
        "/v1/messages",
        hello.to_string().replace("claude-sonnet-4-5", "claude-2.1"),
    );
    assert_eq!(
        error_of(unknown.await.unwrap()).await,
        (404, "not_found_error".into())
    );
    let no_such_path = send("/v1/messages/batches", "{}".into()).await.unwrap();
    assert_eq!(
        error_of(no_such_path).await,
        (404, "not_found_error".into())
    );

    // `HEAD /` answers (a client checking the server is up), with the key like the API.
    let head = client
        .head(byok.at("/"))
        .header("x-api-key", "k-anthropic")
        .send()
        .await
        .unwrap();
    assert_eq!(head.status(), 200);
    byok.stop().await.unwrap();
}

#[tokio::test]
async fn upstream_failures_reach_anthropic_clients_in_their_shape() {
    let standin = StandIn::start(Reply::Scripted(scripted::agent)).await;
    let byok = Byok::signed_in(&standin).await;
    // The backend failing inside a 200 stream: an `error` event in Anthropic's shape.
    standin.set_reply(Reply::Part("text", Until::Events(6), Then::End));
    let mut streaming = json!({"model": "claude-sonnet-4-5", "max_tokens": 10,
        "messages": [{"role": "user", "content": "hi"}]});
    streaming["stream"] = true.into();
    let cut = byok.post("/v1/messages", &streaming).await;
    assert_eq!(cut.status(), 200);
    let text = cut.text().await.unwrap();
    let events = byok_e2e::sse::events(&text);
    assert_eq!(
        events.first().unwrap().name.as_deref(),
        Some("message_start")
    );
    let last = events.last().unwrap();
    assert_eq!(last.name.as_deref(), Some("error"), "{text}");
    assert_eq!(last.json().unwrap()["type"], "error");
    assert_eq!(last.json().unwrap()["error"]["type"], "api_error");
    // A refusal before the stream (429 usage limit): the status, Retry-After, Anthropic's shape.
    standin.set_reply(Reply::UsageLimit {
        resets_in_seconds: 90,
    });
    let limited = byok.post("/v1/messages", &streaming).await;
    assert!(limited.headers().contains_key("retry-after"));
    let body: Value = limited.json().await.unwrap();
    assert_eq!(body["type"], "error");
    assert_eq!(body["error"]["type"], "rate_limit_error", "{body}");

    byok.stop().await.unwrap();
}

#[tokio::test]
async fn in_api_key_mode_messages_go_to_the_openai_apis_responses() {
    let standin = StandIn::start(Reply::Scripted(scripted::agent)).await;
    let home = tempfile::tempdir().unwrap();
    let mut settings = Byok::settings(&home, &standin);
    settings.openai_api_key = Some(byok_types::Secret::new("sk-e2e-key"));
    settings
        .aliases
        .insert("claude-team".into(), "gpt-5.1-codex".into());
    let byok = Byok::start(home, settings).await;
    let mut request = json!({"model": "claude-opus-4-1", "max_tokens": 300, "temperature": 0.2,
        "metadata": {"user_id": "user-7"},
        "messages": [{"role": "user", "content": "hi"}]});

    let message: Value = byok
        .post("/v1/messages", &request)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(message["type"], "message", "{message}");
    assert_eq!(message["model"], "claude-opus-4-1");
    assert_eq!(
        message["content"][0]["text"],
        byok_e2e::upstream::OPENAI_ANSWER
    );
    assert_eq!(message["stop_reason"], "end_turn");
    assert_eq!(message["usage"]["input_tokens"], 5);

    request["stream"] = true.into();
    let streamed = byok.post("/v1/messages", &request).await;
    assert_eq!(streamed.status(), 200);
    let text = streamed.text().await.unwrap();
    let events = byok_e2e::sse::events(&text);
    let names: Vec<_> = events.iter().filter_map(|e| e.name.as_deref()).collect();
    assert_eq!(names.first(), Some(&"message_start"), "{text}");
    assert_eq!(names.last(), Some(&"message_stop"), "{text}");
    assert!(text.contains(byok_e2e::upstream::OPENAI_ANSWER), "{text}");

    // An `[aliases]` entry comes before the Claude families.
    request["stream"] = false.into();
    request["model"] = "claude-team".into();
    let aliased: Value = byok
        .post("/v1/messages", &request)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(aliased["model"], "claude-team", "{aliased}");
    let received = standin.received();
    assert_eq!(received.last().unwrap().body["model"], "gpt-5.1-codex");

    // What the OpenAI API got: its own parameters carried over, the key, opus's model.
    let received = &received[..2];
    for (got, stream) in received.iter().zip([false, true]) {
        assert_eq!(got.path, "/v1/responses");
        assert_eq!(got.headers["authorization"], "Bearer sk-e2e-key");
        assert_eq!(got.body["model"], "gpt-5.5", "{}", got.body);
        assert_eq!(
            got.body["reasoning"]["effort"], "high",
            "opus is gpt-5.5-high"
        );
        assert_eq!(got.body["max_output_tokens"], 300);
        assert_eq!(got.body["temperature"], 0.2);
        assert_eq!(got.body["safety_identifier"], "user-7");
        assert_eq!(got.body["store"], false);
        assert_eq!(got.body["stream"], stream);
    }
    byok.stop().await.unwrap();
}

//! Real clients through byok: the official OpenAI Python SDK and curl, streaming tool calls
//! and reasoning from a stand-in Codex backend.
//!
//! The SDK comes from `BYOK_TEST_PYTHON` (`.ci/run` points it at a venv with `openai`), else the
//! test installs it into `target/test-clients` (see `byok_e2e::clients`); it never skips.

use std::path::Path;
use std::process::Output;

use byok_e2e::{Byok, Reply, StandIn, clients, fixtures, sse};
use serde_json::{Value, json};
use tokio::process::Command;

/// The stand-in answers requests with tools from `tools.sse`, the others from `reasoning.sse`.
async fn byok_in_front_of_recordings() -> (StandIn, Byok) {
    let standin = StandIn::start(Reply::ByTools {
        with_tools: "tools",
        without: "reasoning",
    })
    .await;
    let byok = Byok::signed_in(&standin).await;
    (standin, byok)
}

fn describe(output: &Output) -> String {
    format!(
        "exit {:?}\n--- stdout\n{}\n--- stderr\n{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

#[tokio::test]
async fn the_official_python_sdk_streams_tool_calls_and_reasoning() {
    let python = tokio::task::spawn_blocking(|| clients::python_with(&["openai"]))
        .await
        .unwrap_or_else(|panic| std::panic::resume_unwind(panic.into_panic()));
    let (_standin, byok) = byok_in_front_of_recordings().await;
    let expect = json!({
        "calls": fixtures::recorded_calls("tools")
            .into_iter()
            .map(|(id, name, args)| json!([id, name, args]))
            .collect::<Vec<_>>(),
        "text": fixtures::recorded_text("reasoning"),
        "reasoning": fixtures::recorded_reasoning("reasoning"),
    });
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("python/openai_sdk.py");
    let output = Command::new(&python)
        .arg(&script)
        .env("OPENAI_BASE_URL", byok.at("/v1"))
        .env("BYOK_EXPECT", expect.to_string())
        .env("NO_PROXY", "127.0.0.1")
        .env_remove("OPENAI_API_KEY")
        .output()
        .await
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", python.display()));
    assert!(output.status.success(), "{}", describe(&output));
    let stdout = String::from_utf8_lossy(&output.stdout);
    for step in [
        "tool calls",
        "reasoning",
        "responses.create",
        "responses.stream",
    ] {
        assert!(
            stdout.contains(step),
            "{step} not checked:\n{}",
            describe(&output)
        );
    }
    byok.stop().await.unwrap();
}

/// `curl -sN` a chat request through byok.
async fn curl_chat(byok: &Byok, body: &Value) -> String {
    let output = Command::new("curl")
        .args(["-sS", "-N", "--fail-with-body", "--noproxy", "*"])
        .args(["-H", "content-type: application/json", "-d"])
        .arg(body.to_string())
        .arg(byok.at("/v1/chat/completions"))
        .output()
        .await;
    match output {
        Ok(output) => {
            assert!(output.status.success(), "{}", describe(&output));
            String::from_utf8(output.stdout).expect("UTF-8")
        }
        Err(e) => panic!("cannot run curl ({e}): install it, e.g. `apt-get install curl`"),
    }
}

#[tokio::test]
async fn curl_streams_tool_calls_and_reasoning() {
    let (_standin, byok) = byok_in_front_of_recordings().await;
    let with_tools = json!({
        "model": "gpt-5", "stream": true,
        "messages": [{"role": "user", "content": "Weather in New York?"}],
        "tools": [{"type": "function", "function": {"name": "get_weather", "parameters": {}}}],
    });
    let body = curl_chat(&byok, &with_tools).await;
    let mut calls: Vec<(String, String, String)> = Vec::new();
    for chunk in sse::json_events(&body) {
        for call in chunk["choices"][0]["delta"]["tool_calls"]
            .as_array()
            .into_iter()
            .flatten()
        {
            let index = usize::try_from(call["index"].as_u64().unwrap()).unwrap();
            if index == calls.len() {
                calls.push(Default::default());
            }
            let s = |v: &Value| v.as_str().unwrap_or_default().to_owned();
            if call["id"].is_string() {
                calls[index].0 = s(&call["id"]);
                calls[index].1 = s(&call["function"]["name"]);
            }
            calls[index].2 += &s(&call["function"]["arguments"]);
        }
    }
    assert_eq!(calls, fixtures::recorded_calls("tools"));
    assert!(body.trim_end().ends_with("data: [DONE]"));

    let plain = json!({
        "model": "gpt-5", "stream": true,
        "messages": [{"role": "user", "content": "Factorial of 5?"}],
    });
    let body = curl_chat(&byok, &plain).await;
    let chunks = sse::json_events(&body);
    let field = |name: &str| -> String {
        chunks
            .iter()
            .filter_map(|c| c["choices"][0]["delta"][name].as_str())
            .collect()
    };
    assert_eq!(field("content"), fixtures::recorded_text("reasoning"));
    assert_eq!(
        field("reasoning_content")
            .split_whitespace()
            .collect::<Vec<_>>(),
        fixtures::recorded_reasoning("reasoning")
            .split_whitespace()
            .collect::<Vec<_>>()
    );
    byok.stop().await.unwrap();
}

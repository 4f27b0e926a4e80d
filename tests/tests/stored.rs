//! The response store end to end: Responses clients that refer to earlier items
//! (`item_reference`, `previous_response_id`) through byok, in front of a stand-in Codex backend
//! that, like the real one, keeps nothing and refuses such references.
//!
//! Real clients: the Vercel AI SDK (`tests/js`, installed with `npm ci`; see
//! `byok_e2e::clients::node_project`) and the official Python SDK.

use std::path::Path;
use std::process::Output;

use byok_e2e::upstream::{OPENAI_NOT_FOUND, standin_encrypted};
use byok_e2e::{Byok, Reply, StandIn, clients, fixtures};
use byok_types::Secret;
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

/// byok signed in to ChatGPT in front of a stand-in answering with `reply`, each answer with a
/// response id of its own and encrypted reasoning.
async fn byok_afresh(reply: Reply) -> (StandIn, Byok) {
    let standin = StandIn::start(reply).await;
    standin.answer_afresh();
    let byok = Byok::signed_in(&standin).await;
    (standin, byok)
}

/// The input items of the `n`th request the stand-in received.
fn upstream_input(standin: &StandIn, n: usize) -> Vec<Value> {
    let received = standin.received();
    let request = received
        .get(n)
        .unwrap_or_else(|| panic!("the stand-in got {} requests", received.len()));
    assert_eq!(request.body["store"], false);
    request.body["input"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// The text of an input item: its string content or its first part's text.
fn text_of(item: &Value) -> String {
    match &item["content"] {
        Value::String(text) => text.clone(),
        Value::Array(parts) => parts[0]["text"].as_str().unwrap_or_default().to_owned(),
        _ => String::new(),
    }
}

#[tokio::test]
async fn the_ai_sdk_tool_loop_reaches_the_backend_with_step_one_expanded() {
    let project = tokio::task::spawn_blocking(clients::node_project)
        .await
        .unwrap_or_else(|panic| std::panic::resume_unwind(panic.into_panic()));
    let (standin, byok) = byok_afresh(Reply::ToolLoop {
        call: "tools",
        answer: "reasoning",
    })
    .await;
    let output = Command::new(&project.node)
        .arg(project.dir.join("ai_sdk.mjs"))
        .current_dir(&project.dir)
        .env("OPENAI_BASE_URL", byok.at("/v1"))
        .env("NO_PROXY", "127.0.0.1")
        .env_remove("OPENAI_API_KEY")
        .output()
        .await
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", project.node.display()));
    assert!(output.status.success(), "{}", describe(&output));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let result: Value = serde_json::from_str(stdout.lines().last().unwrap_or_default())
        .unwrap_or_else(|e| panic!("{e}: {}", describe(&output)));
    assert_eq!(result["steps"], 2, "{result}");
    assert_eq!(result["text"], fixtures::recorded_text("reasoning"));
    assert_eq!(
        result["toolCalls"],
        json!(["get_weather", "calculate_distance"])
    );

    // Step 2, as the SDK sent it, refers to step 1's reasoning by id ...
    let sent = result["sent"].as_array().unwrap();
    assert_eq!(sent.len(), 2);
    let reasoning_id = fixtures::recorded_events("tools")
        .iter()
        .find_map(|e| (e["item"]["type"] == "reasoning").then(|| e["item"]["id"].clone()))
        .unwrap();
    let references: Vec<&Value> = sent[1]["input"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|item| item["type"] == "item_reference")
        .collect();
    assert!(
        references.iter().any(|r| r["id"] == reasoning_id),
        "the SDK sent no reference to {reasoning_id}: {}",
        sent[1]["input"]
    );

    // ... and reached the backend with that item whole, encrypted reasoning intact.
    let input = upstream_input(&standin, 1);
    assert!(input.iter().all(|item| item["type"] != "item_reference"));
    let reasoning = input
        .iter()
        .find(|item| item["id"] == reasoning_id)
        .expect("the referenced reasoning item");
    assert_eq!(reasoning["type"], "reasoning");
    assert_eq!(
        reasoning["encrypted_content"],
        standin_encrypted(reasoning_id.as_str().unwrap())
    );
    let kinds: Vec<&str> = input.iter().filter_map(|i| i["type"].as_str()).collect();
    assert_eq!(
        kinds
            .iter()
            .filter(|k| **k == "function_call_output")
            .count(),
        2,
        "{kinds:?}"
    );
    // The function calls, sent by the SDK whole or by reference, are there once each.
    let calls: Vec<&Value> = input
        .iter()
        .filter(|i| i["type"] == "function_call")
        .collect();
    let call_ids: Vec<&str> = calls.iter().filter_map(|c| c["call_id"].as_str()).collect();
    let expected: Vec<String> = fixtures::recorded_calls("tools")
        .into_iter()
        .map(|(id, _, _)| id)
        .collect();
    assert_eq!(call_ids, expected);

    // Both steps are stored, and say so.
    for id in result["responseIds"].as_array().unwrap() {
        let stored: Value = byok
            .get(&format!("/v1/responses/{}", id.as_str().unwrap()))
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(stored["id"], *id);
        assert_eq!(stored["store"], true);
    }
    byok.stop().await.unwrap();
}

#[tokio::test]
async fn a_three_turn_previous_response_id_chain_sends_the_whole_history_upstream() {
    let (standin, byok) = byok_afresh(Reply::Replay("text")).await;
    let answer = fixtures::recorded_text("text");
    let mut previous = Value::Null;
    let mut ids = Vec::new();
    for turn in 1..=3 {
        let body = json!({
            "model": "gpt-5",
            "input": format!("question {turn}"),
            "previous_response_id": previous,
            // Streamed and not: both are kept.
            "stream": turn == 2,
        });
        let response = byok.post("/v1/responses", &body).await;
        assert_eq!(response.status(), 200, "turn {turn}");
        let id = if turn == 2 {
            let text = response.text().await.unwrap();
            let completed = byok_e2e::sse::json_events(&text)
                .into_iter()
                .find(|e| e["type"] == "response.completed")
                .expect("response.completed");
            assert_eq!(completed["response"]["store"], true);
            assert_eq!(completed["response"]["previous_response_id"], previous);
            completed["response"]["id"].clone()
        } else {
            let response: Value = response.json().await.unwrap();
            assert_eq!(response["store"], true);
            assert_eq!(response["previous_response_id"], previous);
            response["id"].clone()
        };
        assert!(!ids.contains(&id), "a fresh id each turn");
        ids.push(id.clone());
        previous = id;
    }
    let input = upstream_input(&standin, 2);
    // Each answer's reasoning goes back with it, encrypted content intact.
    let reasoning: Vec<&Value> = input.iter().filter(|i| i["type"] == "reasoning").collect();
    assert_eq!(reasoning.len(), 2);
    for item in reasoning {
        assert_eq!(
            item["encrypted_content"],
            standin_encrypted(item["id"].as_str().unwrap())
        );
    }
    let texts: Vec<String> = input
        .iter()
        .filter(|i| i["type"] != "reasoning")
        .map(text_of)
        .collect();
    assert_eq!(
        texts,
        ["question 1", &answer, "question 2", &answer, "question 3"]
    );

    // The third response's own input items, paged like the API.
    let page: Value = byok
        .get(&format!(
            "/v1/responses/{}/input_items?order=asc&limit=1",
            ids[2].as_str().unwrap()
        ))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(page["object"], "list");
    assert_eq!(page["data"].as_array().unwrap().len(), 1);
    assert_eq!(text_of(&page["data"][0]), "question 3");
    assert_eq!(page["has_more"], false);
    assert_eq!(page["first_id"], page["data"][0]["id"]);
    byok.stop().await.unwrap();
}

#[tokio::test]
async fn a_response_not_kept_is_a_clear_404_and_a_reference_to_it_a_clear_400() {
    let (standin, byok) = byok_afresh(Reply::Replay("text")).await;
    let body = json!({"model": "gpt-5", "input": "hi", "store": false});
    let response: Value = byok
        .post("/v1/responses", &body)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(response["store"], false, "not kept, and it says so");
    let id = response["id"].as_str().unwrap().to_owned();

    let got = byok.get(&format!("/v1/responses/{id}")).await;
    assert_eq!(got.status(), 404);
    let error: Value = got.json().await.unwrap();
    assert!(
        error["error"]["message"]
            .as_str()
            .unwrap()
            .contains("store: false"),
        "{error}"
    );

    let sent = standin.received().len();
    for body in [
        json!({"model": "gpt-5", "input": "more", "previous_response_id": id}),
        json!({"model": "gpt-5", "input": [{"type": "item_reference", "id": "rs_gone"}]}),
    ] {
        let refused = byok.post("/v1/responses", &body).await;
        assert_eq!(refused.status(), 400, "{body}");
        let error: Value = refused.json().await.unwrap();
        let message = error["error"]["message"].as_str().unwrap();
        assert!(
            message.contains("evicted") && message.contains("served by another byok"),
            "{message}"
        );
        assert_eq!(error["error"]["type"], "invalid_request_error");
    }
    assert_eq!(standin.received().len(), sent, "nothing went upstream");

    let deleted = reqwest::Client::new()
        .delete(byok.at(&format!("/v1/responses/{id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), 404);
    byok.stop().await.unwrap();
}

#[tokio::test]
async fn in_api_key_mode_stored_responses_are_the_openai_apis() {
    let standin = StandIn::start(Reply::Replay("text")).await;
    let home = tempfile::tempdir().unwrap();
    let mut settings = Byok::settings(&home, &standin);
    settings.openai_api_key = Some(Secret::new("sk-e2e-key"));
    let byok = Byok::start(home, settings).await;
    let client = reqwest::Client::new();
    for (method, path) in [
        ("GET", "/v1/responses/resp_standin?include%5B%5D=x"),
        (
            "GET",
            "/v1/responses/resp_standin/input_items?limit=2&order=asc",
        ),
        ("DELETE", "/v1/responses/resp_standin"),
    ] {
        let request = match method {
            "GET" => client.get(byok.at(path)),
            _ => client.delete(byok.at(path)),
        };
        let answer = request.send().await.unwrap();
        assert_eq!(answer.status(), 404, "{method} {path}");
        let error: Value = answer.json().await.unwrap();
        assert_eq!(error["error"]["message"], OPENAI_NOT_FOUND);
        let received = standin.received();
        let last = received.last().unwrap();
        assert_eq!(
            last.path,
            format!("{method} {path}"),
            "passed on as it came"
        );
        assert_eq!(last.headers["authorization"], "Bearer sk-e2e-key");
    }
    byok.stop().await.unwrap();
}

#[tokio::test]
async fn the_official_python_sdk_chains_retrieves_lists_and_deletes() {
    let python = tokio::task::spawn_blocking(|| clients::python_with(&["openai"]))
        .await
        .unwrap_or_else(|panic| std::panic::resume_unwind(panic.into_panic()));
    let (standin, byok) = byok_afresh(Reply::Replay("reasoning")).await;
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("python/responses_store.py");
    let output = Command::new(&python)
        .arg(&script)
        .env("OPENAI_BASE_URL", byok.at("/v1"))
        .env(
            "BYOK_EXPECT",
            json!({"text": fixtures::recorded_text("reasoning")}).to_string(),
        )
        .env("NO_PROXY", "127.0.0.1")
        .env_remove("OPENAI_API_KEY")
        .output()
        .await
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", python.display()));
    assert!(output.status.success(), "{}", describe(&output));
    let stdout = String::from_utf8_lossy(&output.stdout);
    for step in [
        "responses.create kept",
        "previous_response_id",
        "responses.retrieve",
        "input_items.list",
        "responses.delete",
    ] {
        assert!(
            stdout.contains(step),
            "{step} not checked:\n{}",
            describe(&output)
        );
    }
    // The second turn went upstream with the first's question, reasoning and answer.
    let input = upstream_input(&standin, 1);
    let kinds: Vec<&str> = input.iter().filter_map(|i| i["type"].as_str()).collect();
    assert_eq!(
        kinds,
        ["message", "reasoning", "message", "message"],
        "{input:?}"
    );
    assert!(
        input[1]["encrypted_content"]
            .as_str()
            .is_some_and(|c| c.starts_with("gAAAAB-standin")),
        "{}",
        input[1]
    );
    byok.stop().await.unwrap();
}

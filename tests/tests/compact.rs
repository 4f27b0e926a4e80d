//! `POST /v1/responses/compact` through byok: in ChatGPT mode as the backend compacts now (an
//! ordinary streamed `/responses` request whose input ends with `compaction_trigger`, as the
//! official client sends it: `data/codex-cli/chatgpt-mode/official-compact-08.json`),
//! answered in the Responses API's shape; in API-key mode passed to the OpenAI API.

use byok_e2e::upstream::{CODEX_PATH, OPENAI_COMPACTION};
use byok_e2e::{Byok, Reply, StandIn, clients, fixtures, scripted};
use serde_json::{Value, json};

fn official(name: &str) -> Value {
    let file = fixtures::path(&format!("codex-cli/chatgpt-mode/{name}.json"));
    serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap()
}

fn conversation() -> Value {
    json!([
        {"role": "user", "content": "Create a landing page for a dog cafe."},
        {"type": "message", "role": "assistant",
            "content": [{"type": "output_text", "text": "Here is the page: ..."}]},
        {"role": "user", "content": [{"type": "input_text", "text": "Add a footer."}]},
    ])
}

#[tokio::test]
async fn compacts_in_band_as_the_official_client_does() {
    let standin = StandIn::start(Reply::Replay("reasoning")).await;
    let byok = Byok::signed_in(&standin).await;
    let answer = byok
        .post(
            "/v1/responses/compact",
            &json!({"model": "gpt-5.5", "input": conversation()}),
        )
        .await;
    assert_eq!(answer.status(), 200);
    let answer: Value = answer.json().await.unwrap();

    // The API's shape: the user messages, then the backend's compaction item.
    assert_eq!(answer["object"], "response.compaction");
    assert_eq!(answer["id"], "resp_standin");
    assert!(answer["created_at"].as_i64().is_some_and(|t| t > 0));
    assert_eq!(
        answer["output"],
        json!([
            {"type": "message", "status": "completed", "role": "user",
                "content": [{"type": "input_text", "text": "Create a landing page for a dog cafe."}]},
            {"type": "message", "status": "completed", "role": "user",
                "content": [{"type": "input_text", "text": "Add a footer."}]},
            {"type": "compaction", "id": "cmp_1", "encrypted_content": scripted::COMPACTION},
        ])
    );
    assert_eq!(answer["usage"]["total_tokens"], 60);

    // Upstream: one streamed /responses request, never the old /responses/compact, whose
    // input is the conversation followed by the trigger as the official client sends it.
    let received = standin.received();
    let paths: Vec<&str> = received.iter().map(|r| r.path.as_str()).collect();
    assert_eq!(paths, [format!("{CODEX_PATH}/responses")]);
    let sent = &received[0];
    let official_compaction = official("official-compact-08");
    let official_input = official_compaction["body"]["input"].as_array().unwrap();
    let input = sent.body["input"].as_array().unwrap();
    assert_eq!(input.last(), official_input.last());
    assert_eq!(
        input.len(),
        4,
        "the conversation and the trigger: {input:?}"
    );
    assert_eq!(input[1]["role"], "assistant");
    assert_eq!(sent.body["stream"], true);
    assert_eq!(sent.body["store"], false);
    // With the beta feature the official client announces on every request.
    let official_http = official("official-http-05");
    assert_eq!(
        sent.header("x-codex-beta-features"),
        official_http["headers"]["x-codex-beta-features"].as_str()
    );
    byok.stop().await.unwrap();
}

#[tokio::test]
async fn compaction_errors_come_in_the_apis_shape() {
    let standin = StandIn::start(Reply::Replay("reasoning")).await;
    let byok = Byok::signed_in(&standin).await;
    let refused = async |body: Value, param: &str| {
        let answer = byok.post("/v1/responses/compact", &body).await;
        assert_eq!(answer.status(), 400);
        let body: Value = answer.json().await.unwrap();
        assert!(
            body["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty())
        );
        assert_eq!(body["error"]["type"], "invalid_request_error", "{body}");
        assert_eq!(body["error"]["param"], param, "{body}");
    };
    refused(json!({"input": conversation()}), "model").await;
    refused(json!({"model": "gpt-5.5"}), "input").await;
    refused(json!({"model": "gpt-5.5", "input": 7}), "input").await;
    let unknown =
        json!({"model": "gpt-5.5", "input": "hi", "previous_response_id": "resp_unknown"});
    refused(unknown, "previous_response_id").await;
    assert!(standin.received().is_empty(), "nothing bad went upstream");

    // A backend that answers the conversation instead of compacting it: no compaction item
    // to give, so a 502 that says so, not an answer without one.
    standin.set_reply(Reply::Sse(fixtures::recorded("text")));
    let uncompacted = byok
        .post(
            "/v1/responses/compact",
            &json!({"model": "gpt-5.5", "input": conversation()}),
        )
        .await;
    assert_eq!(uncompacted.status(), 502);
    let body: Value = uncompacted.json().await.unwrap();
    let message = body["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("without a compaction item"), "{body}");

    // An account at its usage limit: the 429 with its wait, as for any request.
    standin.set_reply(Reply::UsageLimit {
        resets_in_seconds: 120,
    });
    let limited = byok
        .post(
            "/v1/responses/compact",
            &json!({"model": "gpt-5.5", "input": conversation()}),
        )
        .await;
    assert_eq!(limited.status(), 429);
    assert!(limited.headers().contains_key("retry-after"));
    let body: Value = limited.json().await.unwrap();
    assert!(body["error"]["message"].is_string(), "{body}");

    // The endpoint takes no other method.
    let get = byok.get("/v1/responses/compact").await;
    assert_eq!(get.status(), 405);
    byok.stop().await.unwrap();
}

#[tokio::test]
async fn in_api_key_mode_compaction_is_the_openai_apis() {
    let standin = StandIn::start(Reply::Replay("reasoning")).await;
    let home = tempfile::tempdir().unwrap();
    let mut settings = Byok::settings(&home, &standin);
    settings.openai_api_key = Some(byok_types::Secret::new("sk-e2e-key"));
    let byok = Byok::start(home, settings).await;
    let request = json!({"model": "gpt-5.5", "input": conversation(), "instructions": "Be brief"});
    let answer = byok.post("/responses/compact", &request).await;
    assert_eq!(answer.status(), 200);
    let answer: Value = answer.json().await.unwrap();
    assert_eq!(answer["object"], "response.compaction");
    assert_eq!(answer["output"][2]["encrypted_content"], OPENAI_COMPACTION);

    let received = standin.received();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].path, "/v1/responses/compact");
    assert_eq!(
        received[0].header("authorization"),
        Some("Bearer sk-e2e-key")
    );
    // Passed through: the client's fields as they came, no trigger added.
    assert_eq!(received[0].body["input"], request["input"]);
    assert_eq!(received[0].body["instructions"], "Be brief");
    byok.stop().await.unwrap();
}

#[tokio::test]
async fn the_official_python_sdk_compacts_and_goes_on_from_the_compacted_window() {
    let standin = StandIn::start(Reply::Replay("reasoning")).await;
    standin.answer_afresh();
    let byok = Byok::signed_in(&standin).await;
    let expect = json!({
        "encrypted": scripted::COMPACTION,
        "text": fixtures::recorded_text("reasoning"),
    });
    let (url, expect) = (byok.at("/v1"), expect.to_string());
    let env = [
        ("OPENAI_BASE_URL", url.as_str()),
        ("BYOK_EXPECT", expect.as_str()),
    ];
    let stdout = clients::run_python(&["openai"], "openai_compact.py", &env).await;
    for step in [
        "responses.compact",
        "compacted window",
        "previous_response_id",
    ] {
        assert!(stdout.contains(step), "{step} not checked:\n{stdout}");
    }
    // The request after the compaction carried the compaction item back to the backend, its
    // encrypted content intact, in place of the conversation.
    let received = standin.received();
    let next = &received[1].body["input"];
    let kinds: Vec<&str> = next
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["type"].as_str().or(i["role"].as_str()).unwrap_or(""))
        .collect();
    assert_eq!(
        kinds,
        ["message", "message", "compaction", "message"],
        "{next}"
    );
    assert_eq!(next[2]["encrypted_content"], scripted::COMPACTION);
    // The chained compaction sent the kept first turn, then the new input and the trigger.
    let chained = received[3].body["input"].as_array().unwrap();
    assert_eq!(
        chained.first().unwrap()["content"][0]["text"],
        "Plan a trip to Lyon."
    );
    assert_eq!(chained.last().unwrap()["type"], "compaction_trigger");
    byok.stop().await.unwrap();
}

//! `POST /v1/responses` through byok: the Codex CLI's own request, and plain SDK-style calls.

use byok_e2e::{Byok, Reply, StandIn, fixtures, sse};
use serde_json::{Value, json};

async fn post(byok: &Byok, body: &Value) -> reqwest::Response {
    reqwest::Client::new()
        .post(byok.at("/v1/responses"))
        // Clients send this even when they stream: the body's `stream` decides.
        .header("accept", "application/json")
        .json(body)
        .send()
        .await
        .expect("byok answers")
}

#[tokio::test]
async fn serves_the_codex_cli_request_unchanged() {
    let standin = StandIn::start(Reply::Replay("tools-empty-output")).await;
    let byok = Byok::signed_in(&standin).await;
    let request = fixtures::codex_cli_request();
    let response = post(&byok, &request).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    let events = sse::json_events(&response.text().await.unwrap());

    // The client gets an `output_item.done` for every item the backend streamed ...
    let recorded_done = fixtures::recorded_events("tools")
        .into_iter()
        .filter(|e| e["type"] == "response.output_item.done")
        .map(|e| e["item"]["id"].clone())
        .collect::<Vec<_>>();
    let done: Vec<Value> = events
        .iter()
        .filter(|e| e["type"] == "response.output_item.done")
        .map(|e| e["item"]["id"].clone())
        .collect();
    assert_eq!(done, recorded_done);
    // ... and `response.completed` with its id and the items, although the backend's was empty.
    let completed = events
        .iter()
        .find(|e| e["type"] == "response.completed")
        .expect("response.completed");
    let created = events
        .iter()
        .find(|e| e["type"] == "response.created")
        .expect("response.created");
    assert!(
        completed["response"]["id"]
            .as_str()
            .is_some_and(|id| !id.is_empty())
    );
    assert_eq!(completed["response"]["id"], created["response"]["id"]);
    assert_eq!(
        completed["response"]["output"].as_array().map(Vec::len),
        Some(recorded_done.len())
    );

    // The backend got a string `instructions` and the history intact.
    let received = standin.received();
    let sent = &received[0].body;
    assert!(sent["instructions"].is_string());
    assert_eq!(sent["store"], false);
    assert_eq!(sent["stream"], true);
    let encrypted = |body: &Value| -> Vec<Value> {
        body["input"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|i| i["type"] == "reasoning")
            .map(|i| i["encrypted_content"].clone())
            .collect()
    };
    assert!(!encrypted(&request).is_empty());
    assert_eq!(encrypted(sent), encrypted(&request));
    let call_ids = |body: &Value| -> Vec<Value> {
        body["input"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|i| i.get("call_id").cloned())
            .collect()
    };
    assert_eq!(call_ids(sent), call_ids(&request));
    byok.stop().await.unwrap();
}

#[tokio::test]
async fn a_plain_responses_request_gets_one_response_object() {
    let standin = StandIn::start(Reply::Replay("text-empty-output")).await;
    let byok = Byok::signed_in(&standin).await;
    // The Python SDK's `responses.create(input="hi")`: a string input, no `stream`.
    let response = post(&byok, &json!({"model": "gpt-5", "input": "hi"})).await;
    assert_eq!(response.status(), 200);
    let answer: Value = response.json().await.unwrap();
    assert_eq!(answer["object"], "response");
    assert_eq!(answer["status"], "completed");
    let text: String = answer["output"]
        .as_array()
        .expect("output")
        .iter()
        .filter(|item| item["type"] == "message")
        .flat_map(|item| item["content"].as_array().cloned().unwrap_or_default())
        .filter_map(|part| part["text"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(text, fixtures::recorded_text("text"));
    // The backend wants a list of items and a stream, whatever the client sent.
    let sent = &standin.received()[0].body;
    assert!(sent["input"].is_array());
    assert_eq!(sent["stream"], true);
    byok.stop().await.unwrap();
}

#[tokio::test]
async fn a_streamed_responses_request_keeps_one_id_and_closes_every_item() {
    let standin = StandIn::start(Reply::Replay("tools")).await;
    let byok = Byok::signed_in(&standin).await;
    let body = json!({"model": "gpt-5", "input": "weather?", "stream": true});
    let events = sse::json_events(&post(&byok, &body).await.text().await.unwrap());
    let ids: Vec<&Value> = events
        .iter()
        .filter_map(|e| e.get("response").map(|r| &r["id"]))
        .collect();
    assert!(ids.len() >= 2, "created and completed at least");
    assert!(ids.windows(2).all(|w| w[0] == w[1]), "{ids:?}");
    let count = |kind: &str| events.iter().filter(|e| e["type"] == kind).count();
    assert_eq!(
        count("response.output_item.added"),
        count("response.output_item.done")
    );
    assert_eq!(count("response.completed"), 1);
    byok.stop().await.unwrap();
}

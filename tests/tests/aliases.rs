//! Model names as the client gave them: `[aliases]` map a name to the model that serves it,
//! effort aliases pick an effort, and every answer (whole or streamed, Chat or Responses)
//! reports the name the client asked for, as the OpenAI API does. And a request's
//! `x-byok-reasoning` header chooses where its reasoning goes.

use byok_e2e::{Byok, Reply, StandIn, fixtures};
use serde_json::{Value, json};

/// The `data:` payloads of an SSE body, `[DONE]` left out.
fn events(body: &str) -> Vec<Value> {
    body.lines()
        .filter_map(|line| line.strip_prefix("data: "))
        .filter(|data| *data != "[DONE]")
        .map(|data| serde_json::from_str(data).expect("JSON event"))
        .collect()
}

async fn byok_with_alias(standin: &StandIn) -> Byok {
    let home = Byok::home_signed_in(3600).await;
    let mut settings = Byok::settings(&home, standin);
    settings.aliases.insert("gpt-4o".into(), "gpt-5".into());
    Byok::start(home, settings).await
}

#[tokio::test]
async fn an_aliased_model_is_served_by_its_target_and_answers_under_the_asked_name() {
    let standin = StandIn::start(Reply::Replay("text")).await;
    let byok = byok_with_alias(&standin).await;
    let chat = |stream: bool| {
        json!({"model": "gpt-4o", "stream": stream,
               "messages": [{"role": "user", "content": "Say hi"}]})
    };

    let whole: Value = byok
        .post("/v1/chat/completions", &chat(false))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(whole["model"], "gpt-4o", "{whole}");
    assert_eq!(
        whole["choices"][0]["message"]["content"],
        fixtures::recorded_text("text")
    );
    assert_eq!(standin.received()[0].body["model"], "gpt-5");

    let streamed = byok
        .post("/v1/chat/completions", &chat(true))
        .await
        .text()
        .await
        .unwrap();
    let chunks = events(&streamed);
    assert!(!chunks.is_empty());
    assert!(chunks.iter().all(|c| c["model"] == "gpt-4o"), "{streamed}");

    let responses = json!({"model": "gpt-4o", "stream": true, "input": "Say hi"});
    let streamed = byok
        .post("/v1/responses", &responses)
        .await
        .text()
        .await
        .unwrap();
    let lifecycle: Vec<Value> = events(&streamed)
        .into_iter()
        .filter(|e| e.get("response").is_some())
        .collect();
    assert!(lifecycle.len() >= 2, "{streamed}");
    assert!(
        lifecycle.iter().all(|e| e["response"]["model"] == "gpt-4o"),
        "{streamed}"
    );
    assert_eq!(standin.received()[2].body["model"], "gpt-5");

    let whole: Value = byok
        .post(
            "/v1/responses",
            &json!({"model": "gpt-4o", "input": "Say hi"}),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(whole["model"], "gpt-4o", "{whole}");
    byok.stop().await.unwrap();
}

#[tokio::test]
async fn an_effort_alias_answers_under_its_own_name() {
    let standin = StandIn::start(Reply::Replay("text")).await;
    let byok = Byok::signed_in(&standin).await;
    let body = json!({"model": "gpt-5.5-high", "stream": true,
                      "messages": [{"role": "user", "content": "Say hi"}]});
    let streamed = byok
        .post("/v1/chat/completions", &body)
        .await
        .text()
        .await
        .unwrap();
    assert!(
        events(&streamed)
            .iter()
            .all(|c| c["model"] == "gpt-5.5-high"),
        "{streamed}"
    );
    let sent = &standin.received()[0].body;
    assert_eq!(sent["model"], "gpt-5.5");
    assert_eq!(sent["reasoning"]["effort"], "high");
    byok.stop().await.unwrap();
}

#[tokio::test]
async fn the_x_byok_reasoning_header_chooses_for_its_request() {
    let standin = StandIn::start(Reply::Replay("reasoning")).await;
    let byok = Byok::signed_in(&standin).await;
    let body = json!({"model": "gpt-5",
                      "messages": [{"role": "user", "content": "Think, then answer"}]});
    let ask = |header: &'static str| {
        reqwest::Client::new()
            .post(byok.at("/v1/chat/completions"))
            .header("x-byok-reasoning", header)
            .json(&body)
            .send()
    };
    let tagged: Value = ask("think-tags").await.unwrap().json().await.unwrap();
    let message = &tagged["choices"][0]["message"];
    let content = message["content"].as_str().unwrap();
    assert!(content.starts_with("<think>"), "{tagged}");
    assert!(
        content.ends_with(&fixtures::recorded_text("reasoning")),
        "{tagged}"
    );
    assert!(message.get("reasoning_content").is_none(), "{tagged}");

    let hidden: Value = ask("hidden").await.unwrap().json().await.unwrap();
    assert_eq!(
        hidden["choices"][0]["message"]["content"],
        fixtures::recorded_text("reasoning")
    );

    let refused = ask("sideways").await.unwrap();
    assert_eq!(refused.status(), 400);
    let error: Value = refused.json().await.unwrap();
    assert!(
        error["error"]["message"]
            .as_str()
            .unwrap()
            .contains("x-byok-reasoning"),
        "{error}"
    );
    byok.stop().await.unwrap();
}

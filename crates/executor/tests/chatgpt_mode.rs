//! OAuth mode against a stand-in Codex backend: what it receives, what the caller gets.

mod common;

use std::sync::Arc;

use byok_types::{ByokError, ChatRequest, ProviderId, RateLimitStore};
use common::*;
use serde_json::{Value, json};

fn chat(body: Value) -> ChatRequest {
    ChatRequest::from_value(body).unwrap()
}

/// A Chat request with everything the Codex backend refuses in it.
fn awkward_chat(stream: bool) -> ChatRequest {
    chat(json!({
        "model": "gpt-5",
        "stream": stream,
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Hello"}
        ],
        "temperature": 0.2,
        "top_p": 0.9,
        "max_tokens": 100,
        "max_completion_tokens": 100,
        "presence_penalty": 0.1,
        "frequency_penalty": 0.1,
        "seed": 7,
        "metadata": {"a": "b"},
        "stream_options": {"include_usage": true}
    }))
}

#[tokio::test]
async fn streaming_chat_is_translated_as_it_arrives() {
    let issuer = Issuer::start().await;
    let accounts = signed_in(&["work"], &issuer).await;
    let upstream = stand_in(vec![Reply::Replay("text")]).await;
    let limits = Arc::new(RateLimitStore::default());
    let executor = oauth_executor(&upstream, &accounts.auth, &limits);

    let sse = stream_text(
        executor
            .chat(&byok_types::RequestContext::local(), awkward_chat(true))
            .await
            .unwrap(),
    )
    .await;

    let received = upstream.received();
    assert_eq!(received.len(), 1);
    assert_codex_request(&received[0], "acc-work");
    assert_eq!(received[0].body["instructions"], "Be brief.");
    let chunks = chat_chunks(&sse);
    assert_eq!(chunks[0]["choices"][0]["delta"]["role"], "assistant");
    assert_eq!(chat_content(&chunks), fixture_text("text"));
    let finishes: Vec<&Value> = chunks
        .iter()
        .map(|c| &c["choices"][0]["finish_reason"])
        .filter(|f| !f.is_null())
        .collect();
    assert_eq!(finishes, [&json!("stop")]);
    let usage = chunks.last().unwrap();
    assert_eq!(usage["choices"], json!([]));
    assert_eq!(usage["usage"]["prompt_tokens"], 2239);
    assert!(sse.trim_end().ends_with("data: [DONE]"));
    // The recorded rate-limit headers are kept for the account that was used.
    let snapshot = limits.get(ProviderId::Codex, "work").unwrap();
    assert_eq!(snapshot.number("x-codex-primary-used-percent"), Some(9.0));
    assert_eq!(issuer.refreshes(), 0);
}

#[tokio::test]
async fn non_streaming_chat_collects_the_items_not_the_empty_completed_output() {
    let (upstream, executor, _work) =
        signed_in_executor(vec![Reply::Replay("text-empty-output")]).await;

    let completion = complete(
        executor
            .chat(&byok_types::RequestContext::local(), awkward_chat(false))
            .await
            .unwrap(),
    );

    let received = upstream.received();
    assert_codex_request(&received[0], "acc-work");
    assert_eq!(completion["object"], "chat.completion");
    assert_eq!(
        completion["id"],
        "chatcmpl-resp_0b51be2101d9d6220168d469589190819b945ffe7a83ece6cf"
    );
    assert_eq!(
        completion["choices"][0]["message"]["content"],
        fixture_text("text")
    );
    assert_eq!(completion["choices"][0]["finish_reason"], "stop");
    assert_eq!(completion["usage"]["completion_tokens"], 15);
}

#[tokio::test]
async fn tool_calls_stream_with_indexes_from_zero() {
    let (upstream, executor, _work) = signed_in_executor(vec![Reply::Replay("tools")]).await;
    let request = chat(json!({
        "model": "gpt-5.6-sol-high",
        "stream": true,
        "messages": [{"role": "user", "content": "Weather in New York?"}],
        "tools": [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}]
    }));

    let sse = stream_text(
        executor
            .chat(&byok_types::RequestContext::local(), request)
            .await
            .unwrap(),
    )
    .await;

    let received = upstream.received();
    assert_codex_request(&received[0], "acc-work");
    assert_eq!(received[0].body["model"], "gpt-5.6-sol");
    assert_eq!(received[0].body["reasoning"]["effort"], "high");
    let indexes: Vec<u64> = chat_chunks(&sse)
        .iter()
        .filter_map(|c| c["choices"][0]["delta"]["tool_calls"][0]["index"].as_u64())
        .collect();
    assert!(indexes.contains(&0) && indexes.contains(&1), "{indexes:?}");
    assert_eq!(sse.matches("\"finish_reason\":\"tool_calls\"").count(), 1);
}

#[tokio::test]
async fn responses_clients_get_the_events_with_the_completed_output_filled() {
    let (upstream, executor, _work) =
        signed_in_executor(vec![Reply::Replay("text-empty-output")]).await;
    let body = json!({
        "model": "gpt-5",
        "stream": true,
        "input": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": [{"type": "input_text", "text": "Hello"}]}
        ],
        "temperature": 0.5,
        "max_output_tokens": 50,
        "store": true
    });

    let sse = stream_text(
        executor
            .responses(&byok_types::RequestContext::local(), body)
            .await
            .unwrap(),
    )
    .await;

    let received = upstream.received();
    assert_codex_request(&received[0], "acc-work");
    let completed: Value = data_lines(&sse)
        .iter()
        .map(|d| serde_json::from_str::<Value>(d).unwrap())
        .find(|e| e["type"] == "response.completed")
        .expect("response.completed passed on");
    let text = completed["response"]["output"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["type"] == "message")
        .flat_map(|i| i["content"].as_array().unwrap().clone())
        .filter_map(|c| c["text"].as_str().map(str::to_owned))
        .collect::<String>();
    assert_eq!(text, fixture_text("text"));
}

#[tokio::test]
async fn non_streaming_responses_get_one_response_object() {
    let (upstream, executor, _work) =
        signed_in_executor(vec![Reply::Replay("text-empty-output")]).await;

    // LangChain's `invoke`: `stream: false` and a plain string input.
    let body = json!({"model": "gpt-5", "stream": false, "input": "Hello"});
    let response = complete(
        executor
            .responses(&byok_types::RequestContext::local(), body)
            .await
            .unwrap(),
    );

    let received = upstream.received();
    assert_codex_request(&received[0], "acc-work");
    assert_eq!(received[0].body["input"][0]["role"], "user");
    assert_eq!(response["object"], "response");
    assert_eq!(
        response["id"],
        "resp_0b51be2101d9d6220168d469589190819b945ffe7a83ece6cf"
    );
    let output = response["output"].as_array().unwrap();
    assert!(
        output.iter().any(|i| i["type"] == "message"),
        "output built from the items: {output:?}"
    );
}

#[tokio::test]
async fn no_credentials_tells_how_to_sign_in() {
    let issuer = Issuer::start().await;
    let nobody = signed_in(&[], &issuer).await;
    let upstream = stand_in(Vec::new()).await;
    let executor = oauth_executor(&upstream, &nobody.auth, &Arc::default());

    let err = executor
        .chat(&byok_types::RequestContext::local(), awkward_chat(true))
        .await
        .unwrap_err();

    assert!(matches!(err, ByokError::Unauthorized(_)), "{err:?}");
    let message = err.to_string();
    for hint in ["byok login", "byok import-codex-cli", "OPENAI_API_KEY"] {
        assert!(message.contains(hint), "{message}");
    }
    assert!(upstream.received().is_empty());
}

#[tokio::test]
async fn a_model_the_backend_refuses_is_a_clear_404() {
    let issuer = Issuer::start().await;
    let accounts = signed_in(&["work"], &issuer).await;
    let refusal = r#"{"detail":"The 'gpt-4o' model is not supported when using Codex with a ChatGPT account."}"#;
    let upstream = stand_in(vec![Reply::Status(400, refusal.into())]).await;
    let executor = oauth_executor(&upstream, &accounts.auth, &Arc::default());
    let request = chat(json!({"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}));

    let err = executor
        .chat(&byok_types::RequestContext::local(), request)
        .await
        .unwrap_err();

    assert_eq!(err.status(), 404, "{err:?}");
    assert!(err.to_string().contains("gpt-4o"));
    // The unknown model was sent anyway, once.
    assert_eq!(upstream.received().len(), 1);
    assert_eq!(upstream.received()[0].body["model"], "gpt-4o");
}

#[tokio::test]
async fn other_backend_errors_reach_the_caller_as_they_are() {
    let issuer = Issuer::start().await;
    let accounts = signed_in(&["work"], &issuer).await;
    let body = r#"{"error":{"message":"Invalid tool schema","type":"invalid_request_error","param":"tools","code":null}}"#;
    let upstream = stand_in(vec![Reply::Status(400, body.into())]).await;
    let executor = oauth_executor(&upstream, &accounts.auth, &Arc::default());

    let err = executor
        .chat(&byok_types::RequestContext::local(), awkward_chat(true))
        .await
        .unwrap_err();

    assert_eq!(err.status(), 400);
    assert_eq!(
        err.to_openai_json()["error"]["message"],
        "Invalid tool schema"
    );
    assert_eq!(upstream.received().len(), 1, "a 400 is not retried");
}

#[test]
fn supported_models_are_listed_in_both_modes() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let upstream = stand_in(Vec::new()).await;
        let (api, _keep) = api_key_executor(&upstream, "sk-test").await;
        let issuer = Issuer::start().await;
        let accounts = signed_in(&["work"], &issuer).await;
        let oauth = oauth_executor(&upstream, &accounts.auth, &Arc::default());
        for executor in [&api, &oauth] {
            let models = executor.supported_models();
            assert!(models.iter().any(|m| m == "o4-mini"));
            assert!(models.iter().any(|m| m == "gpt-5.6-sol-high"));
        }
        assert_eq!(api.mode(), byok_executor::Mode::ApiKey);
        assert_eq!(oauth.mode(), byok_executor::Mode::OAuth);
    });
}

#[tokio::test]
async fn a_failed_response_reaches_the_caller_with_the_backend_words() {
    let failed = concat!(
        "event: response.created\n",
        "data: {\"type\":\"response.created\",\"sequence_number\":0,\"response\":{\"id\":\"resp_f\",\"object\":\"response\",\"created_at\":1,\"status\":\"in_progress\",\"model\":\"gpt-5\",\"output\":[]}}\n\n",
        "event: response.failed\n",
        "data: {\"type\":\"response.failed\",\"sequence_number\":1,\"response\":{\"id\":\"resp_f\",\"object\":\"response\",\"created_at\":1,\"status\":\"failed\",\"model\":\"gpt-5\",\"output\":[],\"error\":{\"code\":\"server_error\",\"message\":\"The model had a hiccup\"}}}\n\n",
    );
    let (_upstream, executor, _work) =
        signed_in_executor(vec![Reply::Sse(failed.into()), Reply::Sse(failed.into())]).await;

    let err = executor
        .chat(&byok_types::RequestContext::local(), awkward_chat(false))
        .await
        .unwrap_err();
    assert_eq!(err.status(), 502);
    assert!(err.to_string().contains("The model had a hiccup"), "{err}");

    let sse = stream_text(
        executor
            .chat(&byok_types::RequestContext::local(), awkward_chat(true))
            .await
            .unwrap(),
    )
    .await;
    assert!(!sse.contains("[DONE]"));
    let last: Value = serde_json::from_str(data_lines(&sse).last().unwrap()).unwrap();
    assert!(
        last["error"]["message"]
            .as_str()
            .unwrap()
            .contains("hiccup"),
        "{last}"
    );
}

/// A stream names its protocol and reports its usage and end, also for a Chat client that
/// did not ask for usage (whose bytes carry none): the server logs tokens from the report.
#[tokio::test]
async fn streams_report_their_protocol_usage_and_end() {
    let issuer = Issuer::start().await;
    let accounts = signed_in(&["work"], &issuer).await;
    let upstream = stand_in(vec![Reply::Replay("text"), Reply::Replay("text")]).await;
    let limits = Arc::new(RateLimitStore::default());
    let executor = oauth_executor(&upstream, &accounts.auth, &limits);
    let ctx = byok_types::RequestContext::local();

    let mut request = awkward_chat(true).to_value();
    request.as_object_mut().unwrap().remove("stream_options");
    let answer = executor.chat(&ctx, chat(request)).await.unwrap();
    let byok_types::ProviderResponse::Stream(stream) = answer else {
        panic!("a stream");
    };
    assert_eq!(stream.protocol, byok_types::StreamProtocol::Chat);
    let report = stream.report.clone();
    assert_eq!(report.end(), None, "not ended before it is read");
    let sse = read_stream(stream.body).await;
    assert!(!sse.contains("\"usage\""), "no usage chunk unasked: {sse}");
    assert_eq!(report.end(), Some(byok_types::StreamEnd::Completed));
    let usage = report.usage().expect("the usage of response.completed");
    assert_eq!(usage.input, 2239);
    assert!(usage.output > 0);

    let body = json!({"model": "gpt-5", "stream": true, "input": "Hello"});
    let answer = executor.responses(&ctx, body).await.unwrap();
    let byok_types::ProviderResponse::Stream(stream) = answer else {
        panic!("a stream");
    };
    assert_eq!(stream.protocol, byok_types::StreamProtocol::Responses);
    let report = stream.report.clone();
    read_stream(stream.body).await;
    assert_eq!(report.end(), Some(byok_types::StreamEnd::Completed));
    assert_eq!(report.usage().map(|u| u.input), Some(2239));
}

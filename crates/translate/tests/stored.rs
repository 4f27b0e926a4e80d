//! Stored responses: records built from real streams, and the references of later requests
//! (`item_reference`, `previous_response_id`) expanded from them.

mod common;

use std::collections::HashMap;

use byok_translate::{
    ItemsQuery, Order, References, ResponsesPassthrough, SseTranslator, StoredResponse,
    ToolNameMap, TranslateError, expand_references, give_input_ids, input_items_page,
    responses_for_codex,
};
use serde_json::{Value, json};

/// The encrypted reasoning the Codex backend sends with `include: ["reasoning.encrypted_content"]`.
const ENCRYPTED: &str = "gAAAAABo1Gl1-standin-encrypted-reasoning==";

/// The recorded tool-call stream whose `response.completed.output` is `[]` (as the Codex backend
/// sends it), with `encrypted_content` on its reasoning item (the recording was made without
/// asking for it).
fn tools_stream() -> Vec<u8> {
    let stream = String::from_utf8(common::fixture("tools-empty-output")).unwrap();
    let reasoning = r#""type":"reasoning","summary":[]"#;
    assert!(stream.contains(reasoning));
    stream
        .replace(
            reasoning,
            &format!(r#""type":"reasoning","summary":[],"encrypted_content":"{ENCRYPTED}""#),
        )
        .into_bytes()
}

/// What byok keeps of a streamed response: the passthrough's finished response, and the
/// client's events as they went out.
fn served(stream: &[u8], previous: Option<&str>) -> (Value, Vec<Value>) {
    let mut passthrough =
        ResponsesPassthrough::new(ToolNameMap::default()).stored(previous.map(str::to_owned));
    let mut out = Vec::new();
    // Split anywhere: the kept response must not depend on the chunking.
    for chunk in stream.chunks(97) {
        passthrough.feed(chunk, &mut out);
    }
    passthrough.finish(&mut out);
    let response = passthrough
        .take_response()
        .expect("a completed stream keeps its response");
    assert!(
        passthrough.take_response().is_none(),
        "the response is taken once"
    );
    (response, common::events(&out))
}

fn ai_sdk_step_one() -> Vec<Value> {
    vec![
        json!({"role": "developer", "content": "You are a weather bot."}),
        json!({"role": "user", "content": [{"type": "input_text", "text": "Weather in New York?"}]}),
    ]
}

#[test]
fn a_streamed_response_is_kept_whole_though_completed_carried_no_output() {
    let (response, events) = served(&tools_stream(), None);
    let output = response["output"].as_array().unwrap();
    assert_eq!(
        output
            .iter()
            .map(|item| item["type"].as_str().unwrap())
            .collect::<Vec<_>>(),
        ["reasoning", "function_call", "function_call"]
    );
    assert_eq!(output[0]["encrypted_content"], ENCRYPTED);
    assert_eq!(response["store"], true, "byok keeps it, so it says so");
    assert_eq!(response["previous_response_id"], Value::Null);
    // Every lifecycle event the client saw tells the same truth.
    let lifecycle: Vec<&Value> = events
        .iter()
        .filter(|event| event.get("response").is_some())
        .collect();
    assert!(lifecycle.len() >= 2, "created and completed at least");
    for event in lifecycle {
        assert_eq!(event["response"]["store"], true, "{}", event["type"]);
    }
    let completed = events.last().unwrap();
    assert_eq!(completed["type"], "response.completed");
    assert_eq!(completed["response"]["output"], response["output"]);
}

#[test]
fn a_stream_byok_does_not_keep_is_passed_as_before() {
    let stream = tools_stream();
    let mut passthrough = ResponsesPassthrough::new(ToolNameMap::default());
    let mut out = Vec::new();
    passthrough.feed(&stream, &mut out);
    passthrough.finish(&mut out);
    assert!(passthrough.take_response().is_none());
    let events = common::events(&out);
    assert_eq!(
        events[0]["response"]["store"],
        common::events(&stream)[0]["response"]["store"]
    );
}

#[test]
fn the_ai_sdk_step_two_gets_the_referenced_reasoning_with_its_encrypted_content() {
    let (response, _) = served(&tools_stream(), None);
    let mut input = ai_sdk_step_one();
    give_input_ids(&mut input, || "step1".to_owned());
    let step_one = StoredResponse::new(input, response).unwrap();
    let reasoning_id = step_one.output()[0]["id"].as_str().unwrap().to_owned();
    let call = step_one.output()[1].clone();

    // What `@ai-sdk/openai` sends for step 2 of a tool loop with `store` left at true.
    let body = json!({
        "model": "gpt-5",
        "input": [
            {"role": "developer", "content": "You are a weather bot."},
            {"role": "user", "content": [{"type": "input_text", "text": "Weather in New York?"}]},
            {"type": "item_reference", "id": reasoning_id},
            {"type": "function_call", "call_id": call["call_id"], "name": call["name"], "arguments": call["arguments"]},
            {"type": "function_call_output", "call_id": call["call_id"], "output": "{\"temperature\":72}"},
        ],
    });
    let refs = References::of(&body).unwrap();
    assert_eq!(refs.previous_response_id, None);
    assert_eq!(refs.item_ids, std::slice::from_ref(&reasoning_id));
    // The caller fetched the item from its store by id.
    let items = HashMap::from([(
        reasoning_id.clone(),
        step_one.item(&reasoning_id).unwrap().clone(),
    )]);
    let expanded = expand_references(body, &[], &items).unwrap();
    let upstream = responses_for_codex(expanded.body.clone()).unwrap().body;
    let input = upstream["input"].as_array().unwrap();
    assert_eq!(input.len(), 5);
    assert_eq!(input[2]["type"], "reasoning");
    assert_eq!(input[2]["id"], reasoning_id.as_str());
    assert_eq!(input[2]["encrypted_content"], ENCRYPTED);
    assert!(
        input.iter().all(|item| item["type"] != "item_reference"),
        "the backend refuses references"
    );
    assert_eq!(
        expanded.own_input().len(),
        5,
        "no chain: all five are its own"
    );
}

#[test]
fn a_three_turn_previous_response_id_chain_sends_the_whole_history() {
    let turn = |n: u32, previous: Option<&str>| {
        json!({
            "id": format!("resp_{n}"),
            "previous_response_id": previous,
            "output": [{"type": "message", "id": format!("msg_a{n}"), "role": "assistant",
                        "content": [{"type": "output_text", "text": format!("answer {n}")}]}],
        })
    };
    let question = |n: u32| {
        vec![
            json!({"type": "message", "id": format!("msg_q{n}"), "role": "user", "content": format!("question {n}")}),
        ]
    };
    let first = StoredResponse::new(question(1), turn(1, None)).unwrap();
    let second = StoredResponse::new(question(2), turn(2, Some("resp_1"))).unwrap();
    assert_eq!(second.previous_response_id(), Some("resp_1"));

    let body = json!({"model": "gpt-5", "previous_response_id": "resp_2", "instructions": "Be brief.", "input": "question 3"});
    let refs = References::of(&body).unwrap();
    assert_eq!(refs.previous_response_id.as_deref(), Some("resp_2"));
    // The caller walked the chain from resp_2 back, and hands it over oldest first.
    let expanded = expand_references(body, &[first, second], &HashMap::new()).unwrap();
    let texts: Vec<String> = expanded.body["input"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| match &item["content"] {
            Value::String(text) => text.clone(),
            parts => parts[0]["text"].as_str().unwrap().to_owned(),
        })
        .collect();
    assert_eq!(
        texts,
        [
            "question 1",
            "answer 1",
            "question 2",
            "answer 2",
            "question 3"
        ]
    );
    assert_eq!(expanded.body["instructions"], "Be brief.");
    assert!(expanded.body.get("previous_response_id").is_none());
    assert_eq!(expanded.own_input().len(), 1);
    // And the backend takes it.
    responses_for_codex(expanded.body).unwrap();
}

#[test]
fn a_reference_to_nothing_stored_is_a_400_that_says_so() {
    let body =
        json!({"model": "gpt-5", "input": [{"role": "user", "content": "hi"}, {"id": "rs_gone"}]});
    assert_eq!(References::of(&body).unwrap().item_ids, ["rs_gone"]);
    let err = expand_references(body, &[], &HashMap::new()).unwrap_err();
    assert_eq!(err.param(), Some("input[1]"));
    assert!(matches!(
        err,
        TranslateError::NotStored { what: "item", .. }
    ));
    let message = err.to_string();
    assert!(message.contains("`rs_gone`"), "{message}");
    assert!(
        message.contains("evicted") && message.contains("another byok"),
        "{message}"
    );

    for bad in [
        json!({"previous_response_id": 7}),
        json!({"input": [{"type": "item_reference"}]}),
    ] {
        assert!(References::of(&bad).is_err(), "{bad}");
    }
}

#[test]
fn input_items_are_listed_in_pages_like_the_api() {
    let mut input: Vec<Value> = (1..=5)
        .map(|n| json!({"role": "user", "content": format!("q{n}")}))
        .collect();
    let mut n = 0;
    give_input_ids(&mut input, || {
        n += 1;
        n.to_string()
    });
    let record = StoredResponse::new(input, json!({"id": "resp_1", "output": []})).unwrap();
    let ids = |page: &Value| -> Vec<String> {
        page["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|item| item["id"].as_str().unwrap().to_owned())
            .collect()
    };

    // The API's defaults: newest first, 20 at most.
    let page = input_items_page(&record, &ItemsQuery::default()).unwrap();
    assert_eq!(ids(&page), ["msg_5", "msg_4", "msg_3", "msg_2", "msg_1"]);
    assert_eq!(page["object"], "list");
    assert_eq!(page["has_more"], false);
    assert_eq!(page["data"][0]["type"], "message");
    assert_eq!(
        page["data"][0]["content"],
        json!([{"type": "input_text", "text": "q5"}])
    );

    let asc = |limit, after: Option<&str>, before: Option<&str>| ItemsQuery {
        limit: Some(limit),
        order: Some(Order::Asc),
        after: after.map(str::to_owned),
        before: before.map(str::to_owned),
    };
    let page = input_items_page(&record, &asc(2, None, None)).unwrap();
    assert_eq!(ids(&page), ["msg_1", "msg_2"]);
    assert_eq!(
        (&page["first_id"], &page["last_id"], &page["has_more"]),
        (&json!("msg_1"), &json!("msg_2"), &json!(true))
    );
    let next = input_items_page(&record, &asc(2, Some("msg_2"), None)).unwrap();
    assert_eq!(ids(&next), ["msg_3", "msg_4"]);
    let last = input_items_page(&record, &asc(2, Some("msg_4"), None)).unwrap();
    assert_eq!(ids(&last), ["msg_5"]);
    assert_eq!(last["has_more"], false);
    let before = input_items_page(&record, &asc(10, None, Some("msg_3"))).unwrap();
    assert_eq!(ids(&before), ["msg_1", "msg_2"]);
    let empty = input_items_page(&record, &asc(10, Some("msg_5"), None)).unwrap();
    assert_eq!(empty["data"], json!([]));
    assert_eq!(empty["first_id"], Value::Null);

    for bad in [
        asc(0, None, None),
        asc(101, None, None),
        asc(5, Some("msg_9"), None),
    ] {
        let err = input_items_page(&record, &bad).unwrap_err();
        assert!(matches!(err, TranslateError::Invalid { .. }), "{err}");
    }
}

#[test]
fn a_record_keeps_its_form_through_serialization() {
    let (response, _) = served(&tools_stream(), Some("resp_0"));
    let mut input = ai_sdk_step_one();
    give_input_ids(&mut input, || "x".to_owned());
    let record = StoredResponse::new(input, response).unwrap();
    assert_eq!(record.previous_response_id(), Some("resp_0"));
    let text = serde_json::to_string(&record).unwrap();
    let back: StoredResponse = serde_json::from_str(&text).unwrap();
    assert_eq!(back, record);
    assert_eq!(
        back.item_ids().count(),
        5,
        "two input items, three output items"
    );
    assert!(
        serde_json::from_str::<StoredResponse>(r#"{"input":[],"response":{"output":[]}}"#).is_err()
    );
}

//! The in-memory store: budget and LRU eviction, time to live, per-client isolation.

use std::time::{Duration, Instant};

use byok_store::{MemoryStore, ResponseStore, StoreError};
use byok_translate::StoredResponse;
use byok_types::{ClientId, Secret};
use serde_json::{Value, json};

/// A response of the size an AI SDK tool step has: a developer and a user message in, a
/// reasoning item with ~1.5 KB of encrypted content and a function call out.
fn record(n: usize) -> StoredResponse {
    let input = vec![
        json!({"type": "message", "id": format!("msg_in{n}"), "role": "developer",
               "content": [{"type": "input_text", "text": "You are a weather bot. Use the tool."}]}),
        json!({"type": "message", "id": format!("msg_q{n}"), "role": "user",
               "content": [{"type": "input_text", "text": format!("What is the weather in city {n}?")}]}),
    ];
    let response = json!({
        "id": format!("resp_{n:06}"),
        "object": "response",
        "created_at": 1_764_600_000 + n,
        "status": "completed",
        "model": "gpt-5",
        "store": true,
        "output": [
            {"type": "reasoning", "id": format!("rs_{n}"), "summary": [],
             "encrypted_content": "gAAAAABo".repeat(200)},
            {"type": "function_call", "id": format!("fc_{n}"), "status": "completed",
             "call_id": format!("call_{n}"), "name": "weather", "arguments": "{\"city\":\"Paris\"}"},
        ],
        "usage": {"input_tokens": 120, "output_tokens": 40, "total_tokens": 160},
    });
    StoredResponse::new(input, response).unwrap()
}

fn client(key: &str) -> ClientId {
    ClientId::from_key(&Secret::new(key))
}

/// What one record of [`record`] costs the store (those from 100 to 999 all cost the same).
fn cost_of_one() -> usize {
    let store = MemoryStore::builder().build();
    store
        .put_at(&client("alice"), &record(999), Instant::now())
        .unwrap();
    store.usage().bytes
}

#[test]
fn the_least_recently_used_response_goes_first_when_the_budget_is_full() {
    let cost = cost_of_one();
    let store = MemoryStore::builder()
        .budget_bytes(cost * 2 + cost / 2)
        .build();
    let alice = client("alice");
    let now = Instant::now();
    store.put_at(&alice, &record(101), now).unwrap();
    store.put_at(&alice, &record(102), now).unwrap();
    // Response 101 is used again, so 102 is now the least recently used.
    assert!(store.get_at(&alice, "resp_000101", now).unwrap().is_some());
    store.put_at(&alice, &record(103), now).unwrap();
    assert!(store.get_at(&alice, "resp_000102", now).unwrap().is_none());
    assert!(
        store.item_at(&alice, "rs_102", now).unwrap().is_none(),
        "its items went with it"
    );
    assert!(store.get_at(&alice, "resp_000101", now).unwrap().is_some());
    assert!(store.get_at(&alice, "resp_000103", now).unwrap().is_some());
    assert_eq!(store.usage().responses, 2);
    assert!(store.usage().bytes <= store.budget_bytes());
}

#[test]
fn a_response_is_not_served_past_its_time_to_live() {
    let store = MemoryStore::builder()
        .ttl(Duration::from_secs(3600))
        .build();
    let alice = client("alice");
    let start = Instant::now();
    store.put_at(&alice, &record(1), start).unwrap();
    let almost = start + Duration::from_secs(3599);
    assert!(
        store
            .get_at(&alice, "resp_000001", almost)
            .unwrap()
            .is_some()
    );
    // Using it does not extend its life: the OpenAI API counts from creation too.
    let expired = start + Duration::from_secs(3600);
    assert!(store.item_at(&alice, "rs_1", expired).unwrap().is_none());
    assert!(
        store
            .get_at(&alice, "resp_000001", expired)
            .unwrap()
            .is_none()
    );
    assert_eq!(
        store.usage(),
        byok_store::Usage::default(),
        "and its memory is given back"
    );
}

#[tokio::test]
async fn one_client_key_cannot_read_or_delete_another_clients_response() {
    let store = MemoryStore::builder().build();
    let (alice, mallory) = (client("alice"), client("mallory"));
    store.put(&alice, &record(1)).await.unwrap();
    assert!(store.get(&mallory, "resp_000001").await.unwrap().is_none());
    assert!(store.item(&mallory, "rs_1").await.unwrap().is_none());
    assert!(
        store
            .get(&ClientId::local(), "resp_000001")
            .await
            .unwrap()
            .is_none()
    );
    assert!(!store.delete(&mallory, "resp_000001").await.unwrap());
    // Alice still has it, whole.
    let kept = store.get(&alice, "resp_000001").await.unwrap().unwrap();
    assert_eq!(kept, record(1));
    let reasoning = store.item(&alice, "rs_1").await.unwrap().unwrap();
    assert_eq!(
        reasoning["encrypted_content"],
        record(1).output()[0]["encrypted_content"]
    );
    assert_eq!(
        store.item(&alice, "msg_q1").await.unwrap().unwrap()["role"],
        "user"
    );
    // The same ids stored by another client are another record.
    store.put(&mallory, &record(1)).await.unwrap();
    assert!(store.delete(&mallory, "resp_000001").await.unwrap());
    assert!(store.get(&alice, "resp_000001").await.unwrap().is_some());
    assert!(store.delete(&alice, "resp_000001").await.unwrap());
    assert!(store.item(&alice, "rs_1").await.unwrap().is_none());
    assert_eq!(store.usage().bytes, 0);
}

#[test]
fn a_thousand_stored_responses_stay_within_the_budget() {
    let cost = cost_of_one();
    // Room for about 300 of them.
    let budget = 300 * cost + cost / 3;
    let store = MemoryStore::builder().budget_bytes(budget).build();
    let alice = client("alice");
    let now = Instant::now();
    for n in 0..1000 {
        store.put_at(&alice, &record(n), now).unwrap();
        assert!(
            store.usage().bytes <= budget,
            "after {n}: {:?}",
            store.usage()
        );
    }
    let usage = store.usage();
    assert_eq!(usage.responses, 300);
    // The newest 300 are those kept.
    assert!(store.get_at(&alice, "resp_000699", now).unwrap().is_none());
    for n in 700..1000 {
        let id = format!("resp_{n:06}");
        assert!(store.get_at(&alice, &id, now).unwrap().is_some(), "{id}");
    }

    // With the default budget all 1,000 are kept; what each costs by the store's count.
    let roomy = MemoryStore::builder().build();
    for n in 0..1000 {
        roomy.put_at(&alice, &record(n), now).unwrap();
    }
    let usage = roomy.usage();
    assert_eq!(usage.responses, 1000);
    let json = serde_json::to_string(&record(0)).unwrap().len();
    let per_response = usage.bytes / 1000;
    assert!(
        per_response > json && per_response < json + 2048,
        "{per_response} bytes counted per response of {json} bytes of JSON"
    );
}

#[test]
fn a_response_larger_than_the_whole_budget_is_refused_and_nothing_is_evicted() {
    let cost = cost_of_one();
    let store = MemoryStore::builder().budget_bytes(cost * 3 / 2).build();
    let alice = client("alice");
    let now = Instant::now();
    store.put_at(&alice, &record(1), now).unwrap();
    let mut big = record(2).into_response();
    big["output"][0]["encrypted_content"] = Value::String("x".repeat(cost * 2));
    let big = StoredResponse::new(vec![], big).unwrap();
    let err = store.put_at(&alice, &big, now).unwrap_err();
    assert!(matches!(err, StoreError::TooLarge { .. }));
    assert!(err.to_string().contains("response_store_mib"), "{err}");
    assert!(store.get_at(&alice, "resp_000001", now).unwrap().is_some());
}

#[test]
fn storing_a_response_again_replaces_it_and_its_items() {
    let store = MemoryStore::builder().build();
    let alice = client("alice");
    let now = Instant::now();
    store.put_at(&alice, &record(1), now).unwrap();
    let bytes = store.usage().bytes;
    store.put_at(&alice, &record(1), now).unwrap();
    assert_eq!(
        store.usage(),
        byok_store::Usage {
            responses: 1,
            bytes
        }
    );
    // An item sent back in a later response (as the AI SDK does) is found in either.
    let mut later = record(2).into_response();
    later["output"][1]["id"] = "fc_1".into();
    store
        .put_at(&alice, &StoredResponse::new(vec![], later).unwrap(), now)
        .unwrap();
    assert_eq!(
        store.item_at(&alice, "fc_1", now).unwrap().unwrap()["call_id"],
        "call_2"
    );
    // Once the later one is gone, the earlier one still answers for it.
    assert!(store.delete_now(&alice, "resp_000002"));
    assert_eq!(
        store.item_at(&alice, "fc_1", now).unwrap().unwrap()["call_id"],
        "call_1"
    );
    assert!(store.delete_now(&alice, "resp_000001"));
    assert!(store.item_at(&alice, "fc_1", now).unwrap().is_none());
}

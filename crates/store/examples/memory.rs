//! Measures what a stored response really costs: resident memory before and after storing
//! 10,000 responses of an AI SDK tool step's size, against the store's own count.
//!
//! `cargo run --release -p byok-store --example memory` (Linux: reads `/proc/self/statm`).

use std::time::Instant;

use byok_store::MemoryStore;
use byok_translate::StoredResponse;
use byok_types::ClientId;
use serde_json::json;

const RESPONSES: usize = 10_000;

fn main() {
    // Built before the first measure, so only the stored copies count.
    let records: Vec<StoredResponse> = (0..RESPONSES).map(record).collect();
    let json: usize = records
        .iter()
        .map(|r| serde_json::to_string(r).unwrap().len())
        .sum();
    let store = MemoryStore::builder().build();
    let client = ClientId::local();
    let now = Instant::now();
    let before = resident_bytes();
    for record in records {
        store.put_at(&client, &record, now).unwrap();
        // The records built above are dropped one by one here; their memory is reused.
    }
    let after = resident_bytes();
    let usage = store.usage();
    println!(
        "{RESPONSES} responses of {} bytes of JSON each: counted {} bytes each, resident +{} bytes each",
        json / RESPONSES,
        usage.bytes / RESPONSES,
        after.saturating_sub(before) / RESPONSES,
    );
}

/// A tool step of the Vercel AI SDK: two messages in; reasoning (1.6 KB encrypted) and a
/// function call out.
fn record(n: usize) -> StoredResponse {
    let input = vec![
        json!({"type": "message", "id": format!("msg_in{n}"), "role": "developer",
               "content": [{"type": "input_text", "text": "You are a weather bot. Use the tool."}]}),
        json!({"type": "message", "id": format!("msg_q{n}"), "role": "user",
               "content": [{"type": "input_text", "text": format!("What is the weather in city {n}?")}]}),
    ];
    let response = json!({
        "id": format!("resp_{n:06}"), "object": "response", "created_at": 1_764_600_000 + n,
        "status": "completed", "model": "gpt-5", "store": true,
        "output": [
            {"type": "reasoning", "id": format!("rs_{n}"), "summary": [], "encrypted_content": "gAAAAABo".repeat(200)},
            {"type": "function_call", "id": format!("fc_{n}"), "status": "completed", "call_id": format!("call_{n}"),
             "name": "weather", "arguments": "{\"city\":\"Paris\"}"},
        ],
        "usage": {"input_tokens": 120, "output_tokens": 40, "total_tokens": 160},
    });
    StoredResponse::new(input, response).unwrap()
}

/// The process's resident memory (the second field of `/proc/self/statm`, in pages of 4 KiB).
fn resident_bytes() -> usize {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: usize = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    pages * 4096
}

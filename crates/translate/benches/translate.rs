//! Throughput of byok-translate on the recorded Codex streams, next to the floor that is a
//! bare `serde_json` pass (`IgnoredAny`) over the same `data:` payloads; and the cost of
//! translating one request.
//!
//! `cargo bench -p byok-translate`
#![allow(
    missing_docs,
    reason = "criterion's macros generate undocumented items"
)]

use std::hint::black_box;
use std::time::Duration;

use byok_translate::{
    ChatOptions, ChatStreamTranslator, Preset, SseTranslator, chat_to_responses,
    responses_for_codex,
};
use criterion::{
    BatchSize, BenchmarkGroup, Criterion, Throughput, criterion_group, criterion_main,
    measurement::WallTime,
};
use serde::de::IgnoredAny;

const FIXTURES: [(&str, &str); 6] = [
    ("text", include_str!("../tests/data/text.sse")),
    ("tools", include_str!("../tests/data/tools.sse")),
    ("reasoning", include_str!("../tests/data/reasoning.sse")),
    ("structured", include_str!("../tests/data/structured.sse")),
    (
        "text-empty-output",
        include_str!("../tests/data/text-empty-output.sse"),
    ),
    (
        "tools-empty-output",
        include_str!("../tests/data/tools-empty-output.sse"),
    ),
];

fn payloads(stream: &str) -> Vec<&str> {
    stream
        .lines()
        .filter_map(|line| line.strip_prefix("data: "))
        .collect()
}

/// The floor: parse every payload once, keeping nothing.
fn floor(payloads: &[&str]) {
    for payload in payloads {
        black_box(serde_json::from_str::<IgnoredAny>(payload).expect("fixtures are JSON"));
    }
}

/// The full job: split into events, parse, write Chat chunk bytes.
fn translate(stream: &[u8], out: &mut Vec<u8>) {
    out.clear();
    let mut translator = ChatStreamTranslator::new(ChatOptions {
        include_usage: true,
        ..ChatOptions::default()
    });
    translator.feed(stream, out);
    translator.finish(out);
    black_box(out.len());
}

fn configure(group: &mut BenchmarkGroup<'_, WallTime>) {
    group
        .sample_size(20)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
}

fn streams(c: &mut Criterion) {
    let mut out = Vec::with_capacity(1 << 20);
    let mut bytes = c.benchmark_group("stream-bytes");
    configure(&mut bytes);
    for (name, stream) in FIXTURES {
        let data = payloads(stream);
        bytes.throughput(Throughput::Bytes(stream.len() as u64));
        bytes.bench_function(format!("{name}/floor"), |b| b.iter(|| floor(&data)));
        bytes.bench_function(format!("{name}/translate"), |b| {
            b.iter(|| translate(stream.as_bytes(), &mut out));
        });
    }
    bytes.finish();
    let mut events = c.benchmark_group("stream-events");
    configure(&mut events);
    for (name, stream) in FIXTURES {
        let data = payloads(stream);
        events.throughput(Throughput::Elements(data.len() as u64));
        events.bench_function(format!("{name}/floor"), |b| b.iter(|| floor(&data)));
        events.bench_function(format!("{name}/translate"), |b| {
            b.iter(|| translate(stream.as_bytes(), &mut out));
        });
    }
    events.finish();
}

fn requests(c: &mut Criterion) {
    let chat = serde_json::json!({
        "model": "gpt-5.6-sol-high",
        "messages": [
            {"role": "system", "content": "You are a helpful assistant. ".repeat(200)},
            {"role": "user", "content": "What's the weather like in New York?"},
            {"role": "assistant", "content": null, "tool_calls": [{"id": "call_1", "type": "function",
                "function": {"name": "get_weather", "arguments": "{\"location\":\"New York, NY\"}"}}]},
            {"role": "tool", "tool_call_id": "call_1", "content": "{\"temperature\":72}"},
        ],
        "tools": [{"type": "function", "function": {"name": "get_weather", "description": "Current weather",
            "parameters": {"type": "object", "properties": {"location": {"type": "string"}}, "required": ["location"]}}}],
        "stream": true,
    });
    let mut group = c.benchmark_group("request");
    configure(&mut group);
    group.throughput(Throughput::Elements(1));
    for preset in [Preset::OpenAi, Preset::Codex] {
        group.bench_function(format!("chat_to_responses/{preset:?}"), |b| {
            b.iter(|| black_box(chat_to_responses(black_box(&chat), preset)));
        });
    }
    // A real Codex CLI request (45 KB, ten tools, encrypted reasoning) made fit for the backend.
    let codex_cli: serde_json::Value =
        serde_json::from_str(include_str!("../tests/data/codex-cli-request-turn2.json"))
            .expect("JSON");
    let body = codex_cli["body"].clone();
    group.bench_function("responses_for_codex/codex-cli", |b| {
        b.iter_batched(
            || body.clone(),
            |body| black_box(responses_for_codex(body)),
            BatchSize::SmallInput,
        );
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default();
    targets = streams, requests
}
criterion_main!(benches);

//! The OAuth streaming path end to end: a Chat request through `CodexExecutor` to a stand-in
//! Codex backend on 127.0.0.1 replaying a recorded stream, the answer translated to Chat chunks
//! and read to the end. The same stream fetched straight from the stand-in with reqwest is the
//! floor; the difference is what the executor adds per request and per event.
//!
//! `cargo bench -p byok-executor` (about a minute).

// `criterion_group!` defines an undocumented public function.
#![allow(missing_docs)]

#[path = "../tests/common/mod.rs"]
mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use byok_executor::CodexExecutor;
use byok_types::ChatRequest;
use common::{Issuer, StandIn, fixture, oauth_executor, read_stream, signed_in, stand_in};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use futures::StreamExt;
use serde_json::json;

const FIXTURE: &str = "text";

struct Setup {
    runtime: tokio::runtime::Runtime,
    upstream_url: String,
    // Keeps the stand-in serving (dropping it stops it).
    _upstream: StandIn,
    executor: CodexExecutor,
    direct: reqwest::Client,
    events: u64,
    // Keeps the signed-in accounts' temp dir alive.
    _accounts: common::SignedIn,
}

fn setup() -> Setup {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let (upstream, executor, accounts) = runtime.block_on(async {
        let issuer = Issuer::start().await;
        let accounts = signed_in(&["bench"], &issuer).await;
        // An empty script: every request gets the recorded `text` stream.
        let upstream = stand_in(Vec::new()).await;
        let executor = oauth_executor(&upstream, &accounts.auth, &Arc::default());
        (upstream, executor, accounts)
    });
    let events = fixture(FIXTURE).matches("\ndata: ").count() as u64 + 1;
    Setup {
        runtime,
        upstream_url: format!("{}/responses", upstream.url),
        _upstream: upstream,
        executor,
        direct: reqwest::Client::new(),
        events,
        _accounts: accounts,
    }
}

fn request() -> ChatRequest {
    ChatRequest::from_value(json!({
        "model": "gpt-5",
        "stream": true,
        "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hello"}]
    }))
    .unwrap()
}

async fn through_executor(executor: &CodexExecutor) -> usize {
    match executor
        .chat(&byok_types::RequestContext::local(), request())
        .await
        .unwrap()
    {
        byok_types::ProviderResponse::Stream(s) => read_stream(s.body).await.len(),
        other => unreachable!("a streaming request, answered {other:?}"),
    }
}

async fn straight(client: &reqwest::Client, url: &str) -> usize {
    let body =
        json!({"model": "gpt-5", "stream": true, "store": false, "instructions": "", "input": []});
    let mut stream = client
        .post(url)
        .json(&body)
        .send()
        .await
        .unwrap()
        .bytes_stream();
    let mut n = 0;
    while let Some(chunk) = stream.next().await {
        n += chunk.unwrap().len();
    }
    n
}

fn bench(c: &mut Criterion) {
    let s = setup();
    for (name, throughput) in [
        ("per_request", Throughput::Elements(1)),
        ("per_event", Throughput::Elements(s.events)),
    ] {
        let mut group = c.benchmark_group(format!("oauth_stream_{name}"));
        group
            .throughput(throughput)
            .sample_size(30)
            .measurement_time(Duration::from_secs(8))
            .warm_up_time(Duration::from_secs(2));
        group.bench_function("straight_from_stand_in", |b| {
            b.iter(|| s.runtime.block_on(straight(&s.direct, &s.upstream_url)));
        });
        group.bench_function("through_executor", |b| {
            b.iter(|| s.runtime.block_on(through_executor(&s.executor)));
        });
        group.finish();
    }
    summary(&s);
}

/// One line a human can read: the executor's own cost, floor subtracted. The two paths run
/// interleaved and the medians are compared, so a busy machine skews both alike.
fn summary(s: &Setup) {
    const ROUNDS: usize = 301;
    let mut floor = Vec::with_capacity(ROUNDS);
    let mut full = Vec::with_capacity(ROUNDS);
    for _ in 0..ROUNDS {
        let start = Instant::now();
        s.runtime.block_on(straight(&s.direct, &s.upstream_url));
        floor.push(start.elapsed());
        let start = Instant::now();
        s.runtime.block_on(through_executor(&s.executor));
        full.push(start.elapsed());
    }
    let median = |v: &mut Vec<Duration>| {
        v.sort();
        v[v.len() / 2]
    };
    let (floor, full) = (median(&mut floor), median(&mut full));
    let added = full.saturating_sub(floor);
    println!(
        "executor summary ({FIXTURE}.sse, {} events, medians): straight {floor:?}, through executor {full:?}; the executor adds {added:?} per request, {:?} per event",
        s.events,
        added / u32::try_from(s.events).unwrap_or(1),
    );
}

criterion_group!(benches, bench);
criterion_main!(benches);

//! The load generator: N concurrent clients over kept-alive HTTP/1.1 connections.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde::Serialize;

use crate::stats::Percentiles;
use crate::{flag, parsed};

type HttpClient = Client<HttpConnector, Full<Bytes>>;

/// What one run measured; printed as JSON.
#[derive(Debug, Serialize)]
struct Report {
    requests: usize,
    errors: usize,
    first_error: Option<String>,
    seconds: f64,
    requests_per_second: f64,
    ttfb_ms: Percentiles,
    /// Time to the first content token: the first chunk holding `--token`'s text.
    ttft_ms: Percentiles,
    ttlb_ms: Percentiles,
}

/// One request's timings.
struct Sample {
    ttfb: Duration,
    ttft: Duration,
    ttlb: Duration,
}

/// `load --url URL --body FILE --concurrency N --requests M --expect TEXT [--token TEXT]
/// [--spread-ms S]`.
///
/// An answer is good when its status is a success and its body holds `--expect`'s text. The
/// time to first token is the time to the first body chunk that holds `--token`'s text (the
/// first output delta in the answer's protocol); without `--token`, the first byte's.
///
/// With `--spread-ms`, client `i` of `N` starts its measured requests `i * S / N` ms after the
/// others are released, so that clients whose streams all last as long do not stay in step.
pub async fn run(args: &[String]) -> Result<(), String> {
    let url: hyper::Uri = flag(args, "--url")
        .ok_or("--url is required")?
        .parse()
        .map_err(|e| format!("--url: {e}"))?;
    let body_path = flag(args, "--body").ok_or("--body FILE is required")?;
    let body = Bytes::from(std::fs::read(body_path).map_err(|e| format!("{body_path}: {e}"))?);
    let concurrency: usize = parsed(args, "--concurrency", 1)?;
    let requests: usize = parsed(args, "--requests", 100)?;
    let expect = flag(args, "--expect").unwrap_or("").as_bytes().to_vec();
    let token = flag(args, "--token").unwrap_or("").as_bytes().to_vec();
    let spread = Duration::from_millis(parsed(args, "--spread-ms", 0)?);

    let mut connector = HttpConnector::new();
    connector.set_nodelay(true);
    let client: HttpClient = Client::builder(TokioExecutor::new())
        .pool_max_idle_per_host(usize::MAX)
        .build(connector);
    let next = Arc::new(AtomicUsize::new(0));
    let target = Arc::new(Target {
        url,
        body,
        expect,
        token,
    });
    // Every client first makes one unmeasured request, so that connection set-up and lazy
    // initialisation stay out of the figures; then all start together.
    let barrier = Arc::new(tokio::sync::Barrier::new(concurrency + 1));
    let workers: Vec<_> = (0..concurrency)
        .map(|i| {
            let share = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
            let offset = spread * share(i) / share(concurrency);
            let (client, next, target) = (client.clone(), next.clone(), target.clone());
            let barrier = barrier.clone();
            tokio::spawn(async move {
                let mut samples = Vec::new();
                let mut errors = Vec::new();
                if let Err(e) = target.once(&client).await {
                    errors.push(format!("warm-up: {e}"));
                }
                barrier.wait().await;
                tokio::time::sleep(offset).await;
                while next.fetch_add(1, Ordering::Relaxed) < requests {
                    match target.once(&client).await {
                        Ok(sample) => samples.push(sample),
                        Err(e) => errors.push(e),
                    }
                }
                (samples, errors)
            })
        })
        .collect();
    barrier.wait().await;
    let started = Instant::now();
    let mut samples = Vec::with_capacity(requests);
    let mut errors = Vec::new();
    for worker in workers {
        let (s, e) = worker
            .await
            .map_err(|e| format!("a client task panicked: {e}"))?;
        samples.extend(s);
        errors.extend(e);
    }
    let seconds = started.elapsed().as_secs_f64();
    let mut first_bytes: Vec<Duration> = samples.iter().map(|s| s.ttfb).collect();
    let mut first_tokens: Vec<Duration> = samples.iter().map(|s| s.ttft).collect();
    let mut last_bytes: Vec<Duration> = samples.iter().map(|s| s.ttlb).collect();
    #[allow(clippy::cast_precision_loss)]
    let report = Report {
        requests: samples.len() + errors.len(),
        errors: errors.len(),
        first_error: errors.into_iter().next(),
        seconds,
        requests_per_second: samples.len() as f64 / seconds,
        ttfb_ms: Percentiles::of(&mut first_bytes),
        ttft_ms: Percentiles::of(&mut first_tokens),
        ttlb_ms: Percentiles::of(&mut last_bytes),
    };
    println!(
        "{}",
        serde_json::to_string(&report).map_err(|e| e.to_string())?
    );
    Ok(())
}

/// Where the load goes and what a good answer holds.
struct Target {
    url: hyper::Uri,
    body: Bytes,
    expect: Vec<u8>,
    token: Vec<u8>,
}

impl Target {
    /// Sends one request and reads the whole answer, timing its first body byte, its first
    /// token and its last byte.
    async fn once(&self, client: &HttpClient) -> Result<Sample, String> {
        let request = hyper::Request::post(self.url.clone())
            .header("content-type", "application/json")
            .header("authorization", "Bearer bench")
            .body(Full::new(self.body.clone()))
            .map_err(|e| e.to_string())?;
        let t0 = Instant::now();
        let response = client.request(request).await.map_err(|e| e.to_string())?;
        let status = response.status();
        let mut body = response.into_body();
        let mut first_byte = None;
        let mut first_token = None;
        let mut expect = Finder::new(&self.expect);
        let mut token = Finder::new(&self.token);
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|e| format!("body cut: {e}"))?;
            if let Some(data) = frame.data_ref() {
                first_byte.get_or_insert_with(|| t0.elapsed());
                if first_token.is_none() && token.feed(data) {
                    first_token = Some(t0.elapsed());
                }
                expect.feed(data);
            }
        }
        let last_byte = t0.elapsed();
        if !status.is_success() {
            return Err(format!("HTTP {status}"));
        }
        if !expect.found {
            return Err(format!(
                "answer lacks `{}`",
                String::from_utf8_lossy(&self.expect)
            ));
        }
        if first_token.is_none() && !self.token.is_empty() {
            return Err(format!(
                "answer lacks `{}`",
                String::from_utf8_lossy(&self.token)
            ));
        }
        let ttfb = first_byte.unwrap_or(last_byte);
        Ok(Sample {
            ttfb,
            ttft: first_token.unwrap_or(ttfb),
            ttlb: last_byte,
        })
    }
}

/// Looks for one text in a body read chunk by chunk, across chunk boundaries.
struct Finder<'a> {
    text: &'a [u8],
    /// The end of what was read so far, enough to match across a boundary.
    seen: Vec<u8>,
    found: bool,
}

impl<'a> Finder<'a> {
    fn new(text: &'a [u8]) -> Self {
        Self {
            text,
            seen: Vec::new(),
            found: text.is_empty(),
        }
    }

    /// Reads the next chunk; whether the text has been found.
    fn feed(&mut self, chunk: &[u8]) -> bool {
        if !self.found {
            let keep = self.seen.len().min(self.text.len());
            self.seen.drain(..self.seen.len() - keep);
            self.seen.extend_from_slice(chunk);
            self.found = memchr::memmem::find(&self.seen, self.text).is_some();
        }
        self.found
    }
}

//! `cargo xtask bench`: the proxy load benchmark.
//!
//! Starts stand-in Codex upstreams (`byok-bench standin`, replaying a recorded stream) and a
//! release `byok serve` in front of them, drives the same load through byok and straight at the
//! stand-in, and prints one table (also written to `target/bench/proxy.json`).

use std::fmt::Write as _;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::procstat::ProcStat;
use crate::shell::{self, cargo, workspace_root};

/// The recorded stream every request replays.
const FIXTURE: &str = "crates/translate/tests/data/text.sse";
/// Pacing of the streaming scenarios: one upstream event per 5 ms, like a model typing.
const PACE_MS: &str = "5";
/// (concurrent streams, requests) of the streaming scenarios.
const STREAMING: [(usize, usize); 4] = [(1, 50), (50, 1000), (200, 2000), (1000, 5000)];
/// (concurrent clients, requests) of the non-streaming scenario.
const NON_STREAMING: (usize, usize) = (50, 20_000);

/// Runs the benchmark and prints the table.
pub fn run() -> Result<(), String> {
    let root = workspace_root();
    shell::run(&mut cargo(&[
        "build",
        "--release",
        "--quiet",
        "-p",
        "byok",
        "-p",
        "byok-bench",
    ]))?;
    let release = root.join("target").join("release");
    let bench_bin = release.join("byok-bench");
    let byok_bin = release.join("byok");
    let fixture = root.join(FIXTURE);
    let work = root.join("target").join("bench");
    std::fs::create_dir_all(&work).map_err(|e| format!("cannot create {}: {e}", work.display()))?;
    let bodies = Bodies::write(&work)?;
    let codex_home = crate::bench_auth::write_codex_home(&work)?;

    let mut rows = Vec::new();
    {
        let paced = Spawned::standin(&bench_bin, &fixture, PACE_MS)?;
        let byok = Spawned::byok(&byok_bin, &paced.url, &codex_home, &work)?;
        for (concurrency, requests) in STREAMING {
            let direct = load(
                &bench_bin,
                &format!("{}/responses", paced.url),
                &bodies.responses,
                concurrency,
                requests,
                "response.completed",
            )?;
            let before = ProcStat::read(byok.pid())?;
            let proxied = load(
                &bench_bin,
                &format!("{}/v1/chat/completions", byok.url),
                &bodies.chat_stream,
                concurrency,
                requests,
                "[DONE]",
            )?;
            let after = ProcStat::read(byok.pid())?;
            rows.push(Row::new(
                "stream, paced",
                concurrency,
                &direct,
                &proxied,
                &before,
                &after,
            ));
        }
    }
    {
        let fast = Spawned::standin(&bench_bin, &fixture, "0")?;
        let byok = Spawned::byok(&byok_bin, &fast.url, &codex_home, &work)?;
        let (concurrency, requests) = NON_STREAMING;
        let direct = load(
            &bench_bin,
            &format!("{}/responses", fast.url),
            &bodies.responses,
            concurrency,
            requests,
            "response.completed",
        )?;
        let before = ProcStat::read(byok.pid())?;
        let proxied = load(
            &bench_bin,
            &format!("{}/v1/chat/completions", byok.url),
            &bodies.chat_whole,
            concurrency,
            requests,
            "chat.completion",
        )?;
        let after = ProcStat::read(byok.pid())?;
        rows.push(Row::new(
            "non-stream",
            concurrency,
            &direct,
            &proxied,
            &before,
            &after,
        ));
    }
    print!("{}", table(&rows));
    let report = json!({ "fixture": FIXTURE, "pace_ms": PACE_MS, "rows": rows.iter().map(Row::to_json).collect::<Vec<_>>() });
    let path = work.join("proxy.json");
    std::fs::write(
        &path,
        serde_json::to_string_pretty(&report).unwrap_or_default(),
    )
    .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    eprintln!("written to {}", path.display());
    let errors: u64 = rows.iter().map(|r| r.errors).sum();
    if errors > 0 {
        return Err(format!("{errors} requests failed; see the table"));
    }
    Ok(())
}

/// The request bodies of each scenario.
struct Bodies {
    responses: PathBuf,
    chat_stream: PathBuf,
    chat_whole: PathBuf,
}

impl Bodies {
    fn write(dir: &Path) -> Result<Self, String> {
        let messages = json!([{"role": "user", "content": "Hello"}]);
        let write = |name: &str, body: Value| {
            let path = dir.join(name);
            std::fs::write(&path, body.to_string())
                .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
            Ok::<_, String>(path)
        };
        Ok(Self {
            responses: write(
                "responses.json",
                json!({"model": "gpt-5", "input": "Hello", "stream": true}),
            )?,
            chat_stream: write(
                "chat-stream.json",
                json!({"model": "gpt-5", "messages": messages, "stream": true}),
            )?,
            chat_whole: write("chat.json", json!({"model": "gpt-5", "messages": messages}))?,
        })
    }
}

/// A child process that is killed when dropped.
struct Spawned {
    child: Child,
    url: String,
}

impl Spawned {
    fn standin(bin: &Path, fixture: &Path, pace_ms: &str) -> Result<Self, String> {
        let mut child = Command::new(bin)
            .args(["standin", "--fixture"])
            .arg(fixture)
            .args(["--pace-ms", pace_ms])
            .stdout(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot start the stand-in: {e}"))?;
        let mut line = String::new();
        let stdout = child.stdout.take().ok_or("stand-in has no stdout")?;
        BufReader::new(stdout)
            .read_line(&mut line)
            .map_err(|e| format!("stand-in said nothing: {e}"))?;
        Ok(Self {
            child,
            url: line.trim().to_owned(),
        })
    }

    fn byok(bin: &Path, upstream: &str, codex_home: &Path, work: &Path) -> Result<Self, String> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| format!("no free port: {e}"))?
            .port();
        let byok_home = work.join("byok-home");
        std::fs::create_dir_all(&byok_home).map_err(|e| e.to_string())?;
        let child = Command::new(bin)
            .args(["serve", "--port", &port.to_string()])
            .env("BYOK_HOME", &byok_home)
            .env("CODEX_HOME", codex_home)
            .env("BYOK_CODEX_BASE_URL", upstream)
            .env("RUST_LOG", "warn")
            .env_remove("OPENAI_API_KEY")
            .stdout(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot start byok serve: {e}"))?;
        let spawned = Self {
            child,
            url: format!("http://127.0.0.1:{port}"),
        };
        wait_healthy(port)?;
        Ok(spawned)
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Spawned {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Waits until `GET /healthz` answers, for at most 20 s.
fn wait_healthy(port: u16) -> Result<(), String> {
    use std::io::{Read, Write};
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", port)) {
            let _ = stream.write_all(
                b"GET /healthz HTTP/1.1\r\nhost: 127.0.0.1\r\nconnection: close\r\n\r\n",
            );
            let mut answer = String::new();
            let _ = stream.read_to_string(&mut answer);
            if answer.starts_with("HTTP/1.1 200") {
                return Ok(());
            }
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Err(format!(
        "byok serve did not answer /healthz on port {port} within 20 s"
    ))
}

/// One run of the load generator; its JSON report.
fn load(
    bin: &Path,
    url: &str,
    body: &Path,
    concurrency: usize,
    requests: usize,
    expect: &str,
) -> Result<Value, String> {
    let out = shell::output(
        Command::new(bin)
            .args(["load", "--url", url, "--body"])
            .arg(body)
            .args([
                "--concurrency",
                &concurrency.to_string(),
                "--requests",
                &requests.to_string(),
                "--expect",
                expect,
            ]),
    )?;
    serde_json::from_str(out.trim()).map_err(|e| format!("load generator printed no report: {e}"))
}

/// One line of the table: a scenario measured with and without byok.
struct Row {
    scenario: &'static str,
    concurrency: usize,
    direct: Value,
    proxied: Value,
    cpu_seconds_per_1000: f64,
    peak_rss_mib: f64,
    errors: u64,
}

impl Row {
    fn new(
        scenario: &'static str,
        concurrency: usize,
        direct: &Value,
        proxied: &Value,
        before: &ProcStat,
        after: &ProcStat,
    ) -> Self {
        let requests = proxied["requests"].as_f64().unwrap_or(0.0).max(1.0);
        Self {
            scenario,
            concurrency,
            direct: direct.clone(),
            proxied: proxied.clone(),
            cpu_seconds_per_1000: (after.cpu_seconds - before.cpu_seconds) / requests * 1000.0,
            peak_rss_mib: after.peak_rss_mib,
            errors: direct["errors"].as_u64().unwrap_or(0)
                + proxied["errors"].as_u64().unwrap_or(0),
        }
    }

    fn to_json(&self) -> Value {
        json!({
            "scenario": self.scenario,
            "concurrency": self.concurrency,
            "direct": self.direct,
            "byok": self.proxied,
            "added_ttfb_ms": { "p50": self.added("ttfb_ms", "p50"), "p99": self.added("ttfb_ms", "p99") },
            "added_ttlb_ms": { "p50": self.added("ttlb_ms", "p50"), "p99": self.added("ttlb_ms", "p99") },
            "byok_cpu_seconds_per_1000_requests": self.cpu_seconds_per_1000,
            "byok_peak_rss_mib": self.peak_rss_mib,
        })
    }

    fn added(&self, metric: &str, p: &str) -> f64 {
        self.proxied[metric][p].as_f64().unwrap_or(0.0)
            - self.direct[metric][p].as_f64().unwrap_or(0.0)
    }
}

fn table(rows: &[Row]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<14} {:>5} {:>6} {:>9} {:>9} | {:>17} {:>17} {:>15} | {:>19} {:>19} | {:>8} {:>8}",
        "scenario",
        "conc",
        "errors",
        "rps byok",
        "rps dir",
        "ttfb byok p50/p99",
        "ttfb dir p50/p99",
        "added p50/p99",
        "ttlb byok p50/p99",
        "ttlb dir p50/p99",
        "cpu s/1k",
        "rss MiB"
    );
    for r in rows {
        let pair = |v: &Value, m: &str| {
            format!(
                "{:.2}/{:.2}",
                v[m]["p50"].as_f64().unwrap_or(0.0),
                v[m]["p99"].as_f64().unwrap_or(0.0)
            )
        };
        let _ = writeln!(
            out,
            "{:<14} {:>5} {:>6} {:>9.0} {:>9.0} | {:>17} {:>17} {:>15} | {:>19} {:>19} | {:>8.3} {:>8.1}",
            r.scenario,
            r.concurrency,
            r.errors,
            r.proxied["requests_per_second"].as_f64().unwrap_or(0.0),
            r.direct["requests_per_second"].as_f64().unwrap_or(0.0),
            pair(&r.proxied, "ttfb_ms"),
            pair(&r.direct, "ttfb_ms"),
            format!(
                "{:.2}/{:.2}",
                r.added("ttfb_ms", "p50"),
                r.added("ttfb_ms", "p99")
            ),
            pair(&r.proxied, "ttlb_ms"),
            pair(&r.direct, "ttlb_ms"),
            r.cpu_seconds_per_1000,
            r.peak_rss_mib
        );
    }
    out.push_str(
        "times in ms; added = byok minus direct; cpu s/1k = byok CPU seconds per 1,000 requests\n",
    );
    out
}

//! `cargo xtask bench`: the proxy load benchmark.
//!
//! Starts stand-in Codex upstreams (`byok-bench standin`, replaying a recorded stream) and a
//! release `byok serve` in front of them, drives the same load through byok and straight at the
//! stand-in, and prints one table (also written to `target/bench/proxy.json`).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::bench_report::{Row, table};
use crate::procstat::ProcStat;
use crate::shell::{self, cargo, workspace_root};

/// The recorded stream every request replays.
const FIXTURE: &str = "crates/translate/tests/data/text.sse";
/// Pacing of the streaming scenarios: one upstream event per 5 ms, like a model typing.
const PACE_MS: &str = "5";
/// (concurrent streams, requests) of the streaming scenarios.
const STREAMING: [(usize, usize); 4] = [(1, 50), (50, 1000), (200, 2000), (1000, 5000)];
/// (concurrent streams, requests) of the burst scenario.
const BURST: (usize, usize) = (200, 2000);
/// (concurrent clients, requests) of the non-streaming scenario.
const NON_STREAMING: (usize, usize) = (50, 20_000);
/// Over how long the clients of the paced scenarios start (about one replayed stream's
/// length): the requests then arrive spread out, as independent clients' do.
const SPREAD_MS: u64 = 100;

/// Runs the benchmark and prints the table.
///
/// `args` may hold `--only NAMES`: a comma-separated list of the scenarios to run, named
/// `stream-1`, `stream-50`, `stream-200`, `stream-1000`, `burst-200` and `non-stream` (default:
/// all); and `--spread-ms S`: the paced scenarios' clients start over S ms (default
/// [`SPREAD_MS`]). In `burst-200` they all start at once, and since every replayed stream
/// lasts as long, they stay in step: each round of 200 requests reaches byok in the same
/// millisecond.
pub fn run(args: &[String]) -> Result<(), String> {
    let options = Options::parse(args)?;
    let bench = Bench::prepare()?;
    let mut rows = Vec::new();
    let mut streaming: Vec<(&'static str, usize, usize, u64)> = STREAMING
        .into_iter()
        .filter(|(concurrency, _)| options.wants(&format!("stream-{concurrency}")))
        .map(|(concurrency, requests)| ("stream, paced", concurrency, requests, options.spread_ms))
        .collect();
    if options.wants("burst-200") {
        streaming.push(("stream, burst", BURST.0, BURST.1, 0));
    }
    if !streaming.is_empty() {
        let (paced, byok) = bench.start(PACE_MS)?;
        for (scenario, concurrency, requests, spread_ms) in streaming {
            let load = Load {
                concurrency,
                requests,
                spread_ms,
                chat_body: &bench.bodies.chat_stream,
                expect: "[DONE]",
            };
            rows.push(bench.measure(scenario, &paced, &byok, &load)?);
        }
    }
    if options.wants("non-stream") {
        let (fast, byok) = bench.start("0")?;
        let (concurrency, requests) = NON_STREAMING;
        let load = Load {
            concurrency,
            requests,
            spread_ms: 0,
            chat_body: &bench.bodies.chat_whole,
            expect: "chat.completion",
        };
        rows.push(bench.measure("non-stream", &fast, &byok, &load)?);
    }
    print!("{}", table(&rows));
    let report = json!({ "fixture": FIXTURE, "pace_ms": PACE_MS, "paced_spread_ms": options.spread_ms, "burst_spread_ms": 0, "rows": rows.iter().map(Row::to_json).collect::<Vec<_>>() });
    let path = bench.work.join("proxy.json");
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

/// The built binaries and the files every scenario uses.
struct Bench {
    tools_bin: PathBuf,
    byok_bin: PathBuf,
    fixture: PathBuf,
    work: PathBuf,
    bodies: Bodies,
    codex_home: PathBuf,
}

/// One load: how many clients, how many requests, what byok is sent and must answer.
struct Load<'a> {
    concurrency: usize,
    requests: usize,
    /// Over how many ms the clients start.
    spread_ms: u64,
    chat_body: &'a Path,
    expect: &'static str,
}

impl Bench {
    /// Builds the release binaries and writes the request bodies and the sign-in.
    fn prepare() -> Result<Self, String> {
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
        let work = root.join("target").join("bench");
        std::fs::create_dir_all(&work)
            .map_err(|e| format!("cannot create {}: {e}", work.display()))?;
        Ok(Self {
            tools_bin: release.join("byok-bench"),
            byok_bin: release.join("byok"),
            fixture: root.join(FIXTURE),
            bodies: Bodies::write(&work)?,
            codex_home: crate::bench_auth::write_codex_home(&work)?,
            work,
        })
    }

    /// A stand-in sending one event per `pace_ms`, and a `byok serve` in front of it.
    fn start(&self, pace_ms: &str) -> Result<(Spawned, Spawned), String> {
        let upstream = Spawned::standin(&self.tools_bin, &self.fixture, pace_ms)?;
        let byok = Spawned::byok(&self.byok_bin, &upstream.url, &self.codex_home, &self.work)?;
        Ok((upstream, byok))
    }

    /// Drives `load` straight at `upstream`, then through `byok`.
    fn measure(
        &self,
        scenario: &'static str,
        upstream: &Spawned,
        byok: &Spawned,
        load: &Load,
    ) -> Result<Row, String> {
        let direct = self.drive(
            &format!("{}/responses", upstream.url),
            &self.bodies.responses,
            load,
            "response.completed",
        )?;
        let before = ProcStat::read(byok.pid())?;
        let proxied = self.drive(
            &format!("{}/v1/chat/completions", byok.url),
            load.chat_body,
            load,
            load.expect,
        )?;
        let after = ProcStat::read(byok.pid())?;
        Ok(Row::new(
            scenario,
            load.concurrency,
            &direct,
            &proxied,
            &before,
            &after,
        ))
    }

    /// One run of the load generator; its JSON report.
    fn drive(&self, url: &str, body: &Path, load: &Load, expect: &str) -> Result<Value, String> {
        let out = shell::output(
            Command::new(&self.tools_bin)
                .args(["load", "--url", url, "--body"])
                .arg(body)
                .args([
                    "--concurrency",
                    &load.concurrency.to_string(),
                    "--requests",
                    &load.requests.to_string(),
                    "--expect",
                    expect,
                    "--spread-ms",
                    &load.spread_ms.to_string(),
                ]),
        )?;
        serde_json::from_str(out.trim())
            .map_err(|e| format!("load generator printed no report: {e}"))
    }
}

/// The command line: which scenarios to run (`--only`; all when empty), and `--spread-ms`.
struct Options {
    only: Vec<String>,
    spread_ms: u64,
}

impl Options {
    const NAMES: [&str; 6] = [
        "stream-1",
        "stream-50",
        "stream-200",
        "stream-1000",
        "burst-200",
        "non-stream",
    ];

    fn parse(args: &[String]) -> Result<Self, String> {
        let mut names = Vec::new();
        let mut spread_ms = SPREAD_MS;
        let mut args = args.iter();
        while let Some(arg) = args.next() {
            match arg.as_str() {
                "--only" => {
                    let list = args.next().ok_or("--only needs a list of scenarios")?;
                    names.extend(list.split(',').map(str::to_owned));
                }
                "--spread-ms" => {
                    let ms = args.next().ok_or("--spread-ms needs a number of ms")?;
                    spread_ms = ms
                        .parse()
                        .map_err(|_| format!("--spread-ms: `{ms}` is no number of ms"))?;
                }
                other => return Err(format!("bench: unknown argument `{other}`")),
            }
        }
        if let Some(bad) = names.iter().find(|n| !Self::NAMES.contains(&n.as_str())) {
            return Err(format!(
                "bench: no scenario `{bad}`; the scenarios are {}",
                Self::NAMES.join(", ")
            ));
        }
        Ok(Self {
            only: names,
            spread_ms,
        })
    }

    fn wants(&self, name: &str) -> bool {
        self.only.is_empty() || self.only.iter().any(|n| n == name)
    }
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

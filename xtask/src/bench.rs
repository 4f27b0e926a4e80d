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

use crate::bench_check;
use crate::bench_report::{Row, table};
use crate::procstat::ProcStat;
use crate::shell::{self, cargo, workspace_root};

/// The recorded stream every request replays.
const FIXTURE: &str = "crates/translate/tests/data/text.sse";
/// A real Codex CLI request of a task's second turn (45 KB: instructions, tools, history).
const HISTORY: &str = "crates/translate/tests/data/codex-cli-request-turn2.json";
/// Pacing of the streaming scenarios: one upstream event per 5 ms, like a model typing.
const PACE_MS: &str = "5";
/// Over how long the clients of the paced scenarios start (about one replayed stream's
/// length): the requests then arrive spread out, as independent clients' do.
const SPREAD_MS: u64 = 100;
/// Open files byok needs besides two sockets per stream (client and upstream): listener,
/// log, state files, with room to spare.
const SPARE_FILES: u64 = 64;

/// How the stand-in sends the recorded stream.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Upstream {
    /// One event per [`PACE_MS`].
    Paced,
    /// `response.created` and `in_progress` in one write with the first output event, as the
    /// real backend often sends them; the rest paced.
    Together,
    /// The whole stream at once.
    Unpaced,
}

impl Upstream {
    fn args(self) -> [&'static str; 4] {
        match self {
            Self::Paced => ["--pace-ms", PACE_MS, "--lifecycle", "paced"],
            Self::Together => ["--pace-ms", PACE_MS, "--lifecycle", "together"],
            Self::Unpaced => ["--pace-ms", "0", "--lifecycle", "paced"],
        }
    }
}

/// The API a client of byok speaks.
#[derive(Clone, Copy)]
pub enum Api {
    /// `POST /v1/chat/completions`.
    Chat,
    /// `POST /v1/responses`.
    Responses,
    /// `POST /v1/messages` (Anthropic).
    Messages,
}

impl Api {
    pub fn name(self) -> &'static str {
        match self {
            Self::Chat => "chat",
            Self::Responses => "responses",
            Self::Messages => "messages",
        }
    }

    fn path(self) -> &'static str {
        match self {
            Self::Chat => "/v1/chat/completions",
            Self::Responses => "/v1/responses",
            Self::Messages => "/v1/messages",
        }
    }

    /// What a good answer holds: the stream's end, or the object's type.
    fn expect(self, stream: bool) -> &'static str {
        match (self, stream) {
            (Self::Chat, true) => "[DONE]",
            (Self::Chat, false) => "\"object\":\"chat.completion\"",
            (Self::Responses, true) => "response.completed",
            (Self::Responses, false) => "\"object\":\"response\"",
            (Self::Messages, true) => "message_stop",
            (Self::Messages, false) => "\"type\":\"message\"",
        }
    }

    /// What the first chunk that carries answer text holds (the first output delta); the role
    /// chunk of Chat (`"delta":{"role":...`) does not.
    fn token(self) -> &'static str {
        match self {
            Self::Chat => "\"delta\":{\"content\":",
            Self::Responses => "response.output_text.delta",
            Self::Messages => "\"text_delta\"",
        }
    }
}

/// When the clients of a scenario start.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Start {
    /// Spread over `--spread-ms`.
    Spread,
    /// All at once, and then in step.
    Burst,
}

/// The request a scenario sends.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Ask {
    /// "Hello", streamed.
    Stream,
    /// "Hello", answered as one object.
    Whole,
    /// The Codex CLI's 45 KB second turn, streamed.
    History,
}

/// One scenario: a load, driven straight at the stand-in and through byok on each API.
struct Scenario {
    /// The name `--only` takes.
    name: &'static str,
    /// How the table names it.
    label: &'static str,
    upstream: Upstream,
    start: Start,
    ask: Ask,
    concurrency: usize,
    requests: usize,
    apis: &'static [Api],
}

const ALL_APIS: &[Api] = &[Api::Chat, Api::Responses, Api::Messages];

/// Every scenario, in the order they run.
const SCENARIOS: &[Scenario] = &[
    Scenario {
        name: "stream-1",
        label: "stream, paced",
        upstream: Upstream::Paced,
        start: Start::Spread,
        ask: Ask::Stream,
        concurrency: 1,
        requests: 50,
        apis: &[Api::Chat],
    },
    Scenario {
        name: "together-1",
        label: "stream, together",
        upstream: Upstream::Together,
        start: Start::Spread,
        ask: Ask::Stream,
        concurrency: 1,
        requests: 30,
        apis: ALL_APIS,
    },
    Scenario {
        name: "stream-50",
        label: "stream, paced",
        upstream: Upstream::Paced,
        start: Start::Spread,
        ask: Ask::Stream,
        concurrency: 50,
        requests: 1000,
        apis: &[Api::Chat],
    },
    Scenario {
        name: "stream-200",
        label: "stream, paced",
        upstream: Upstream::Paced,
        start: Start::Spread,
        ask: Ask::Stream,
        concurrency: 200,
        requests: 2000,
        apis: ALL_APIS,
    },
    Scenario {
        name: "together-200",
        label: "stream, together",
        upstream: Upstream::Together,
        start: Start::Spread,
        ask: Ask::Stream,
        concurrency: 200,
        requests: 2000,
        apis: &[Api::Chat],
    },
    Scenario {
        name: "stream-1000",
        label: "stream, paced",
        upstream: Upstream::Paced,
        start: Start::Spread,
        ask: Ask::Stream,
        concurrency: 1000,
        requests: 5000,
        apis: &[Api::Chat],
    },
    Scenario {
        name: "stream-10000",
        label: "stream, paced",
        upstream: Upstream::Paced,
        start: Start::Spread,
        ask: Ask::Stream,
        concurrency: 10_000,
        requests: 20_000,
        apis: &[Api::Chat],
    },
    Scenario {
        name: "burst-200",
        label: "stream, burst",
        upstream: Upstream::Paced,
        start: Start::Burst,
        ask: Ask::Stream,
        concurrency: 200,
        requests: 2000,
        apis: ALL_APIS,
    },
    Scenario {
        name: "non-stream",
        label: "non-stream",
        upstream: Upstream::Unpaced,
        start: Start::Burst,
        ask: Ask::Whole,
        concurrency: 50,
        requests: 20_000,
        apis: ALL_APIS,
    },
    Scenario {
        name: "history-45k",
        label: "history 45 KB",
        upstream: Upstream::Unpaced,
        start: Start::Burst,
        ask: Ask::History,
        concurrency: 50,
        requests: 5000,
        apis: &[Api::Responses],
    },
];

/// Runs the benchmark and prints the table.
///
/// `args` may hold `--only NAMES`: a comma-separated list of the scenarios to run (default:
/// all; the names are those of [`SCENARIOS`]); and `--spread-ms S`: the paced scenarios'
/// clients start over S ms (default [`SPREAD_MS`]). In `burst-200` they all start at once,
/// and since every replayed stream lasts as long, they stay in step: each round of 200
/// requests reaches byok in the same millisecond.
pub fn run(args: &[String]) -> Result<(), String> {
    let options = Options::parse(args)?;
    let mut bench = Bench::prepare()?;
    if let Some(byok) = &options.byok {
        eprintln!("measuring {}", byok.display());
        bench.byok_bin.clone_from(byok);
    }
    let mut rows = Vec::new();
    for scenario in SCENARIOS.iter().filter(|s| options.wants(s.name)) {
        rows.extend(bench.scenario(scenario, &options)?);
    }
    print!("{}", table(&rows));
    let report = json!({
        "fixture": FIXTURE,
        "pace_ms": PACE_MS,
        "paced_spread_ms": options.spread_ms,
        "rows": rows.iter().map(Row::to_json).collect::<Vec<_>>(),
    });
    let path = bench.work.join("proxy.json");
    std::fs::write(
        &path,
        serde_json::to_string_pretty(&report).unwrap_or_default(),
    )
    .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    eprintln!("written to {}", path.display());
    if options.check {
        let limits = bench_check::Limits::read(&workspace_root().join(bench_check::LIMITS))?;
        if let Some(bad) = limits
            .scenarios()
            .find(|name| !SCENARIOS.iter().any(|s| s.name == *name))
        {
            return Err(format!(
                "{}: no scenario `{bad}`; the scenarios are {}",
                bench_check::LIMITS,
                scenario_names()
            ));
        }
        eprintln!("{}", bench_check::verdict(&limits, &rows)?);
        return Ok(());
    }
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
    codex_home: PathBuf,
    /// The hard limit of open files, to which every process started raises its own.
    max_files: u64,
}

/// One load: how many clients, how many requests, what is sent and what a good answer holds.
struct Load<'a> {
    concurrency: usize,
    requests: usize,
    /// Over how many ms the clients start.
    spread_ms: u64,
    body: &'a Path,
    expect: &'a str,
    token: &'a str,
}

impl Bench {
    /// Builds the release binaries and writes the sign-in.
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
            codex_home: crate::bench_auth::write_codex_home(&work)?,
            max_files: hard_file_limit()?,
            work,
        })
    }

    /// Runs one scenario: straight at a fresh stand-in, then through a fresh `byok serve` for
    /// each API (so each row's peak memory is its own).
    fn scenario(&self, scenario: &Scenario, options: &Options) -> Result<Vec<Row>, String> {
        let mut concurrency = scenario.concurrency;
        // Each stream holds two of byok's sockets: the client's and the upstream's.
        let fits = self.max_files.saturating_sub(SPARE_FILES) / 2;
        let mut note = None;
        if u64::try_from(concurrency).unwrap_or(u64::MAX) > fits {
            concurrency = usize::try_from(fits).unwrap_or(usize::MAX);
            let message = format!(
                "{}: {} streams need {} open files in byok; the hard limit here is {} \
                 (`ulimit -Hn`), so it ran {concurrency}",
                scenario.name,
                scenario.concurrency,
                2 * u64::try_from(scenario.concurrency).unwrap_or(u64::MAX) + SPARE_FILES,
                self.max_files
            );
            eprintln!("bench: {message}");
            note = Some(message);
        }
        let spread_ms = match scenario.start {
            Start::Spread => options.spread_ms,
            Start::Burst => 0,
        };
        let bodies = Bodies::write(&self.work, scenario.ask)?;
        let upstream = Spawned::standin(self, scenario.upstream)?;
        let direct = self.drive(
            &format!("{}/responses", upstream.url),
            &Load {
                concurrency,
                requests: scenario.requests,
                spread_ms,
                body: &bodies.direct,
                expect: Api::Responses.expect(true),
                token: Api::Responses.token(),
            },
        )?;
        let mut rows = Vec::new();
        for &api in scenario.apis {
            let byok = Spawned::byok(self, &upstream.url)?;
            let load = Load {
                concurrency,
                requests: scenario.requests,
                spread_ms,
                body: bodies.for_api(api)?,
                expect: api.expect(scenario.ask != Ask::Whole),
                token: if scenario.ask == Ask::Whole {
                    ""
                } else {
                    api.token()
                },
            };
            let before = ProcStat::read(byok.pid())?;
            let proxied = self.drive(&format!("{}{}", byok.url, api.path()), &load)?;
            let after = ProcStat::read(byok.pid())?;
            let mut row = Row::new(
                scenario.name,
                scenario.label,
                api.name(),
                concurrency,
                &direct,
                &proxied,
                &before,
                &after,
            );
            row.note.clone_from(&note);
            rows.push(row);
        }
        Ok(rows)
    }

    /// One run of the load generator; its JSON report.
    fn drive(&self, url: &str, load: &Load) -> Result<Value, String> {
        let mut command = self.command(&self.tools_bin);
        command
            .args(["load", "--url", url, "--body"])
            .arg(load.body)
            .args([
                "--concurrency",
                &load.concurrency.to_string(),
                "--requests",
                &load.requests.to_string(),
                "--expect",
                load.expect,
                "--token",
                load.token,
                "--spread-ms",
                &load.spread_ms.to_string(),
            ]);
        let out = shell::output(&mut command)?;
        serde_json::from_str(out.trim())
            .map_err(|e| format!("load generator printed no report: {e}"))
    }

    /// A command that runs `bin` with its limit of open files raised to the hard limit
    /// (thousands of streams need more sockets than the usual soft limit of 1024 allows).
    fn command(&self, bin: &Path) -> Command {
        let mut command = Command::new("sh");
        command
            .arg("-c")
            .arg(format!(
                "ulimit -n {} && exec \"$0\" \"$@\"",
                self.max_files
            ))
            .arg(bin);
        command
    }
}

/// The hard limit of open files of this process (`ulimit -Hn`), which its children may raise
/// their soft limit to.
fn hard_file_limit() -> Result<u64, String> {
    let out = shell::output(Command::new("sh").args(["-c", "ulimit -Hn"]))?;
    match out.trim() {
        "unlimited" => Ok(1 << 20),
        n => n
            .parse()
            .map_err(|_| format!("`ulimit -Hn` said `{n}`, not a number of files")),
    }
}

/// The command line: which scenarios to run (`--only`; all when empty), `--spread-ms`,
/// `--check` (hold the figures to `bench/limits.toml`), and `--byok PATH` (measure another
/// build of byok, e.g. one from before a change, with this same harness and stand-in).
struct Options {
    only: Vec<String>,
    spread_ms: u64,
    check: bool,
    byok: Option<PathBuf>,
}

impl Options {
    fn parse(args: &[String]) -> Result<Self, String> {
        let mut names = Vec::new();
        let mut spread_ms = SPREAD_MS;
        let mut check = false;
        let mut byok = None;
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
                "--check" => check = true,
                "--byok" => {
                    let path = args
                        .next()
                        .ok_or("--byok needs the path of a byok binary")?;
                    let path = PathBuf::from(path);
                    if !path.is_file() {
                        return Err(format!("--byok: no file {}", path.display()));
                    }
                    byok = Some(path);
                }
                other => return Err(format!("bench: unknown argument `{other}`")),
            }
        }
        if let Some(bad) = names
            .iter()
            .find(|n| !SCENARIOS.iter().any(|s| s.name == n.as_str()))
        {
            return Err(format!(
                "bench: no scenario `{bad}`; the scenarios are {}",
                scenario_names()
            ));
        }
        Ok(Self {
            only: names,
            spread_ms,
            check,
            byok,
        })
    }

    fn wants(&self, name: &str) -> bool {
        self.only.is_empty() || self.only.iter().any(|n| n == name)
    }
}

/// The scenarios' names, for `--help` and errors.
pub fn scenario_names() -> String {
    SCENARIOS
        .iter()
        .map(|s| s.name)
        .collect::<Vec<_>>()
        .join(", ")
}

/// The request bodies of one scenario: the one sent straight at the stand-in, and those sent
/// to byok on each API.
struct Bodies {
    direct: PathBuf,
    chat: Option<PathBuf>,
    responses: PathBuf,
    messages: Option<PathBuf>,
}

impl Bodies {
    fn write(dir: &Path, ask: Ask) -> Result<Self, String> {
        let write = |name: &str, body: &Value| {
            let path = dir.join(name);
            std::fs::write(&path, body.to_string())
                .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
            Ok::<_, String>(path)
        };
        if ask == Ask::History {
            let path = workspace_root().join(HISTORY);
            let recorded: Value = std::fs::read_to_string(&path)
                .ok()
                .and_then(|text| serde_json::from_str(&text).ok())
                .ok_or_else(|| format!("{} holds no recorded request", path.display()))?;
            let body = write("history.json", &recorded["body"])?;
            return Ok(Self {
                direct: body.clone(),
                chat: None,
                responses: body,
                messages: None,
            });
        }
        let stream = ask == Ask::Stream;
        let messages = json!([{"role": "user", "content": "Hello"}]);
        Ok(Self {
            direct: write(
                "direct.json",
                &json!({"model": "gpt-5", "input": "Hello", "stream": true}),
            )?,
            chat: Some(write(
                "chat.json",
                &json!({"model": "gpt-5", "messages": messages, "stream": stream}),
            )?),
            responses: write(
                "responses.json",
                &json!({"model": "gpt-5", "input": "Hello", "stream": stream}),
            )?,
            messages: Some(write(
                "messages.json",
                &json!({"model": "gpt-5", "max_tokens": 1000, "messages": messages, "stream": stream}),
            )?),
        })
    }

    fn for_api(&self, api: Api) -> Result<&Path, String> {
        let body = match api {
            Api::Chat => self.chat.as_deref(),
            Api::Responses => Some(self.responses.as_path()),
            Api::Messages => self.messages.as_deref(),
        };
        body.ok_or_else(|| format!("this scenario has no {} request", api.name()))
    }
}

/// A child process that is killed when dropped.
struct Spawned {
    child: Child,
    url: String,
}

impl Spawned {
    fn standin(bench: &Bench, upstream: Upstream) -> Result<Self, String> {
        let mut child = bench
            .command(&bench.tools_bin)
            .args(["standin", "--fixture"])
            .arg(&bench.fixture)
            .args(upstream.args())
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

    fn byok(bench: &Bench, upstream: &str) -> Result<Self, String> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| format!("no free port: {e}"))?
            .port();
        let byok_home = bench.work.join("byok-home");
        std::fs::create_dir_all(&byok_home).map_err(|e| e.to_string())?;
        let child = bench
            .command(&bench.byok_bin)
            .args(["serve", "--port", &port.to_string()])
            .env("BYOK_HOME", &byok_home)
            .env("CODEX_HOME", &bench.codex_home)
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

    /// The process id of the program itself: `sh` execs it, so it is the shell's.
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

//! The `byok` binary as the tests run it: its state in temporary directories, every upstream
//! address pointed at 127.0.0.1, nothing inherited that could change its mode.
#![allow(dead_code)] // each test file uses its own part

use std::process::Stdio;
use std::sync::{Arc, Mutex};

use tempfile::TempDir;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// What would route byok's upstream requests through a proxy.
pub const PROXY_VARIABLES: [&str; 8] = [
    "HTTPS_PROXY",
    "https_proxy",
    "HTTP_PROXY",
    "http_proxy",
    "ALL_PROXY",
    "all_proxy",
    "NO_PROXY",
    "no_proxy",
];

/// A `byok` command with its homes in `dirs` and nothing inherited that could change its mode.
pub fn byok(dirs: &TempDir) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_byok"));
    test_env(&mut command, dirs);
    command
}

/// [`byok`], run by `sh` with its limits of open files, soft and hard, lowered to `nofile`
/// (`ulimit -n`): byok cannot raise them.
pub fn byok_with_fd_limit(dirs: &TempDir, nofile: u32) -> Command {
    byok_with_ulimit(dirs, &format!("-n {nofile}"))
}

/// [`byok`] whose soft limit of open files is `nofile` (`ulimit -Sn`), the hard one left as
/// it is, as a login shell's default of 1,024 leaves it.
pub fn byok_with_soft_fd_limit(dirs: &TempDir, nofile: u32) -> Command {
    byok_with_ulimit(dirs, &format!("-Sn {nofile}"))
}

fn byok_with_ulimit(dirs: &TempDir, limit: &str) -> Command {
    let mut command = Command::new("sh");
    command
        .arg("-c")
        .arg(format!("ulimit {limit} && exec \"$0\" \"$@\""))
        .arg(env!("CARGO_BIN_EXE_byok"));
    test_env(&mut command, dirs);
    command
}

fn test_env(command: &mut Command, dirs: &TempDir) {
    command
        .env("BYOK_HOME", dirs.path().join("byok"))
        .env("CODEX_HOME", dirs.path().join("codex"))
        // Nothing listens there: no test traffic can leave this machine.
        .env(
            "BYOK_CODEX_BASE_URL",
            "http://127.0.0.1:9/backend-api/codex",
        )
        .env("BYOK_OPENAI_BASE_URL", "http://127.0.0.1:9")
        .env("BYOK_AUTH_ISSUER", "http://127.0.0.1:9")
        .env("RUST_LOG", "info")
        .env_remove("OPENAI_API_KEY")
        .env_remove("BYOK_CLIENT_KEY")
        .env_remove("BYOK_HOST")
        .env_remove("BYOK_PORT")
        .kill_on_drop(true);
    for proxy in PROXY_VARIABLES {
        command.env_remove(proxy);
    }
}

/// Runs `command` to its end: (succeeded, stdout, stderr).
pub async fn run(command: &mut Command) -> (bool, String, String) {
    let output = command.output().await.expect("byok runs");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// Starts `byok serve --port 0` from `command`; returns the process, its base URL
/// (`http://127.0.0.1:PORT/v1`) and what it said on stderr until then.
pub async fn serve(command: &mut Command) -> (Child, String, String) {
    serve_with(command.args(["serve", "--port", "0"])).await
}

/// Starts `command`, a `byok serve` with its arguments given; returns what [`serve`] does.
pub async fn serve_with(command: &mut Command) -> (Child, String, String) {
    let (child, base, said, _) = serve_logged(command).await;
    (child, base, said)
}

/// Like [`serve_with`], and what byok says on stderr after its start-up lines.
pub async fn serve_logged(command: &mut Command) -> (Child, String, String, Arc<Mutex<String>>) {
    let mut child = command.stderr(Stdio::piped()).spawn().unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let mut said = String::new();
    let base = loop {
        let line = lines
            .next_line()
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("byok exited early:\n{said}"));
        said += &line;
        said.push('\n');
        if let Some(at) = line
            .find("serving the OpenAI API at ")
            .map(|at| at + "serving the OpenAI API at ".len())
        {
            break line[at..].split_whitespace().next().unwrap().to_owned();
        }
    };
    // Keep draining stderr so that byok never blocks on a full pipe.
    let later = Arc::new(Mutex::new(String::new()));
    let log = Arc::clone(&later);
    tokio::spawn(async move {
        while let Ok(Some(line)) = lines.next_line().await {
            let mut log = log.lock().unwrap();
            log.push_str(&line);
            log.push('\n');
        }
    });
    (child, base, said, later)
}

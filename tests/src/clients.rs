//! The real client programs the end-to-end tests drive (the official Python SDKs), found or
//! installed by the tests themselves, so that `cargo test --workspace` needs no hidden set-up.
//!
//! A test never skips for want of a client: it gets one, or it fails saying why and what to run.
//!
//! - `BYOK_TEST_PYTHON` names a Python to use as it is (`.ci/run` points it at a prepared venv).
//!   It must import every package the test asks for.
//! - The JavaScript clients (the Vercel AI SDK, Claude Code) are the npm project in `tests/js`
//!   (`package.json` and its lockfile): [`node_project`] runs `npm ci` there when its
//!   `node_modules` is missing (`.ci/run` does it first), and gives the Node 22 of the npm
//!   package `node`, which the AI SDK needs where the system's Node is older.
//! - Otherwise the tests keep their own venv in `target/test-clients/python` and `pip install`
//!   into it what is missing (from PyPI, once; later runs reuse it). A file lock keeps the test
//!   binaries, which cargo may run side by side, from installing at the same time.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

/// Serialises installs within one test binary (the file lock covers other processes).
static INSTALLING: Mutex<()> = Mutex::new(());

/// A Python interpreter that imports each of `packages` (PyPI names that are also their import
/// names, such as `openai` and `anthropic`).
///
/// # Panics
///
/// When no such Python can be had: the message says what failed and how to fix it.
pub fn python_with(packages: &[&str]) -> PathBuf {
    if let Some(python) = std::env::var_os("BYOK_TEST_PYTHON").filter(|p| !p.is_empty()) {
        let python = PathBuf::from(python);
        let missing = missing_imports(&python, packages);
        assert!(
            missing.is_empty(),
            "BYOK_TEST_PYTHON={} cannot import {missing:?}: run `{} -m pip install {}` or unset \
             BYOK_TEST_PYTHON to let the tests install them into target/test-clients",
            python.display(),
            python.display(),
            missing.join(" ")
        );
        return python;
    }
    let _in_process = INSTALLING
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let dir = clients_dir();
    std::fs::create_dir_all(&dir)
        .unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
    let lock = File::create(dir.join("python.lock"))
        .unwrap_or_else(|e| panic!("cannot create the lock in {}: {e}", dir.display()));
    lock.lock()
        .unwrap_or_else(|e| panic!("cannot lock {}: {e}", dir.display()));
    let venv = dir.join("python");
    let python = venv.join("bin").join("python");
    if !python.exists() {
        run(
            Command::new("python3").arg("-m").arg("venv").arg(&venv),
            "create a venv for the client tests (is python3 with its venv module installed?)",
        );
    }
    let missing = missing_imports(&python, packages);
    if !missing.is_empty() {
        run(
            Command::new(&python)
                .args([
                    "-m",
                    "pip",
                    "install",
                    "--quiet",
                    "--disable-pip-version-check",
                ])
                .args(&missing),
            &format!("pip install {} from PyPI", missing.join(" ")),
        );
        let still = missing_imports(&python, packages);
        assert!(still.is_empty(), "installed, yet cannot import {still:?}");
    }
    python
}

/// Runs the script `tests/python/{script}` with a Python that imports `packages`
/// ([`python_with`]), with `env` added to its environment (no proxy for 127.0.0.1, no
/// `OPENAI_API_KEY`), and returns what it printed.
///
/// # Panics
///
/// When it cannot be run or fails: the message holds its exit status and output.
pub async fn run_python(
    packages: &'static [&'static str],
    script: &str,
    env: &[(&str, &str)],
) -> String {
    let python = tokio::task::spawn_blocking(|| python_with(packages))
        .await
        .unwrap_or_else(|panic| std::panic::resume_unwind(panic.into_panic()));
    let script = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("python")
        .join(script);
    let output = tokio::process::Command::new(&python)
        .arg(&script)
        .envs(env.iter().copied())
        .env("NO_PROXY", "127.0.0.1")
        .env_remove("OPENAI_API_KEY")
        .output()
        .await
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", python.display()));
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{} failed: exit {:?}\n--- stdout\n{stdout}\n--- stderr\n{}",
        script.display(),
        output.status.code(),
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

/// The npm project of the JavaScript clients, installed.
#[derive(Clone, Debug)]
pub struct NodeProject {
    /// `tests/js`: scripts run from here find its `node_modules`.
    pub dir: PathBuf,
    /// Node 22 or later, from the project's `node` package.
    pub node: PathBuf,
}

/// The npm project in `tests/js`, its packages installed from its lockfile (`npm ci`, once).
///
/// # Panics
///
/// When npm is missing or the install fails: the message says what failed and how to fix it.
pub fn node_project() -> NodeProject {
    let _in_process = INSTALLING
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("js");
    let node = dir.join("node_modules/.bin/node");
    let installed = || {
        node.exists()
            && dir.join("node_modules/@ai-sdk/openai").exists()
            && dir.join("node_modules/.bin/claude").exists()
    };
    if !installed() {
        let clients = clients_dir();
        std::fs::create_dir_all(&clients)
            .unwrap_or_else(|e| panic!("cannot create {}: {e}", clients.display()));
        let lock = File::create(clients.join("npm.lock"))
            .unwrap_or_else(|e| panic!("cannot create the lock in {}: {e}", clients.display()));
        lock.lock()
            .unwrap_or_else(|e| panic!("cannot lock {}: {e}", clients.display()));
        if !installed() {
            run(
                Command::new("npm")
                    .args(["ci", "--no-audit", "--no-fund"])
                    .current_dir(&dir),
                &format!(
                    "install the npm packages of {} with `npm ci` (is npm installed? \
                     `apt-get install npm`)",
                    dir.display()
                ),
            );
        }
    }
    let version = Command::new(&node)
        .arg("--version")
        .output()
        .ok()
        .filter(|out| out.status.success())
        .map_or_else(
            || {
                panic!(
                    "cannot run {}: run `npm ci` in {}",
                    node.display(),
                    dir.display()
                )
            },
            |out| String::from_utf8_lossy(&out.stdout).trim().to_owned(),
        );
    let major: u32 = version
        .trim_start_matches('v')
        .split('.')
        .next()
        .and_then(|major| major.parse().ok())
        .unwrap_or(0);
    assert!(
        major >= 22,
        "{} is Node {version}; the AI SDK needs 22 or later (the `node` package in {})",
        node.display(),
        dir.join("package.json").display()
    );
    NodeProject { dir, node }
}

impl NodeProject {
    /// Claude Code's `claude` (the version `tests/js/package.json` pins).
    ///
    /// # Panics
    ///
    /// When it does not run: the message says how to reinstall it.
    pub fn claude_code(&self) -> PathBuf {
        let claude = self.dir.join("node_modules/.bin/claude");
        let runs = Command::new(&claude)
            .arg("--version")
            .output()
            .is_ok_and(|out| out.status.success());
        assert!(
            runs,
            "{} does not run `--version`: run `npm ci` in {}",
            claude.display(),
            self.dir.display()
        );
        claude
    }
}

/// Where the tests keep the clients they install: `target/test-clients`.
fn clients_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .filter(|d| !d.is_empty())
        .map_or_else(
            || Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"),
            PathBuf::from,
        );
    target.join("test-clients")
}

/// The packages among `packages` that `python` cannot import (all of them if it cannot run).
fn missing_imports<'a>(python: &Path, packages: &[&'a str]) -> Vec<&'a str> {
    packages
        .iter()
        .copied()
        .filter(|package| {
            !Command::new(python)
                .args(["-c", &format!("import {package}")])
                .output()
                .is_ok_and(|out| out.status.success())
        })
        .collect()
}

/// Runs `command` to success, or panics naming `what` with the command's output.
fn run(command: &mut Command, what: &str) {
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("cannot {what}: {e}"));
    assert!(
        output.status.success(),
        "cannot {what}: exit {:?}\n{}{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

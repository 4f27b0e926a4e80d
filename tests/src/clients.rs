//! The real client programs the end-to-end tests drive (the official Python SDKs), found or
//! installed by the tests themselves, so that `cargo test --workspace` needs no hidden set-up.
//!
//! A test never skips for want of a client: it gets one, or it fails saying why and what to run.
//!
//! - `BYOK_TEST_PYTHON` names a Python to use as it is (`.ci/run` points it at a prepared venv).
//!   It must import every package the test asks for.
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

//! `cargo xtask ci`: every check a commit must pass.

use crate::shell::{self, cargo};

/// Runs the checks, cheapest first, stopping at the first that fails.
pub fn run() -> Result<(), String> {
    shell::run(&mut cargo(&["fmt", "--all", "--", "--check"]))?;
    crate::layers::run()?;
    crate::map::run()?;
    shell::run(&mut cargo(&[
        "clippy",
        "--workspace",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ]))?;
    // The token stores and refresh build without the browser sign-in (and its axum).
    shell::run(&mut cargo(&[
        "clippy",
        "-p",
        "byok-auth",
        "--no-default-features",
        "--",
        "-D",
        "warnings",
    ]))?;
    // The README's test command.
    shell::run(&mut cargo(&["test", "--workspace"]))?;
    shell::run(cargo(&["doc", "--workspace", "--no-deps"]).env("RUSTDOCFLAGS", "-D warnings"))?;
    // Every publishable crate, verified against the others.
    crate::package::run()?;
    crate::downstream::run()
}

//! `cargo xtask package`: `cargo package` of every publishable crate, verified against each
//! other as they are now.
//!
//! `cargo package --workspace` verifies each crate against its siblings through a temporary
//! local registry, whose crates Cargo unpacks under `$CARGO_HOME/registry/src/-<hash>/` and
//! never unpacks again while that directory exists. A second run from the same checkout path
//! would then build against the siblings as they were at the first run; so those stale copies
//! of byok's own crates are removed first.

use std::path::PathBuf;

use crate::shell::{self, cargo};

/// The crates that are not published.
const UNPUBLISHED: [&str; 4] = ["byok-e2e", "xtask", "byok-bench", "byok-test-support"];

/// Removes stale unpacked copies of byok's crates, then packages and verifies the crates.
pub fn run() -> Result<(), String> {
    remove_stale_copies()?;
    let mut args = vec!["package", "--workspace"];
    for name in UNPUBLISHED {
        args.extend(["--exclude", name]);
    }
    shell::run(&mut cargo(&args))
}

fn remove_stale_copies() -> Result<(), String> {
    let sources = cargo_home().join("registry").join("src");
    let Ok(registries) = std::fs::read_dir(&sources) else {
        return Ok(());
    };
    for registry in registries.flatten() {
        // Local registries have no name, only `-<hash>`; crates.io's is `index.crates.io-…`.
        if !registry.file_name().to_string_lossy().starts_with('-') {
            continue;
        }
        let Ok(crates) = std::fs::read_dir(registry.path()) else {
            continue;
        };
        for unpacked in crates.flatten() {
            if unpacked.file_name().to_string_lossy().starts_with("byok") {
                std::fs::remove_dir_all(unpacked.path())
                    .map_err(|e| format!("cannot remove {}: {e}", unpacked.path().display()))?;
            }
        }
    }
    Ok(())
}

fn cargo_home() -> PathBuf {
    std::env::var_os("CARGO_HOME").map_or_else(
        || std::env::home_dir().unwrap_or_default().join(".cargo"),
        PathBuf::from,
    )
}

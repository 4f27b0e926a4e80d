//! `cargo xtask downstream`: `byok-translate` works alone, for a project outside this workspace.
//!
//! Builds a tiny crate in `target/downstream/` that depends on `byok-translate` by path, runs it,
//! and checks that its dependency tree holds no async runtime or HTTP stack.

use std::fs;

use crate::shell::{self, cargo, workspace_root};

/// Crates that must never reach a user of `byok-translate`.
const FORBIDDEN: [&str; 4] = ["tokio", "reqwest", "hyper", "axum"];

const MANIFEST: &str = r#"[package]
name = "downstream-check"
version = "0.0.0"
edition = "2024"
publish = false

# Its own workspace: it must not be taken for a member of byok's.
[workspace]

[dependencies]
byok-translate = { path = "TRANSLATE_PATH" }
serde_json = "1"
"#;

const MAIN: &str = r#"//! A downstream user of byok-translate alone.
use byok_translate::{ChatOptions, ChatStreamTranslator, Preset, SseTranslator, chat_to_responses};

fn main() {
    let chat = serde_json::json!({
        "model": "gpt-5-codex-high",
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Hello"}
        ]
    });
    let request = chat_to_responses(&chat, Preset::Codex).expect("translates");
    assert_eq!(request.body["instructions"], "Be brief.");
    assert_eq!(request.body["store"], false);

    let upstream = concat!(
        "event: response.created\n",
        "data: {\"type\":\"response.created\",\"response\":{\"id\":\"resp_1\",\"created_at\":1,\"model\":\"gpt-5\",\"status\":\"in_progress\",\"output\":[]}}\n\n",
        "event: response.output_text.delta\n",
        "data: {\"type\":\"response.output_text.delta\",\"output_index\":0,\"content_index\":0,\"delta\":\"Hi!\"}\n\n",
        "event: response.completed\n",
        "data: {\"type\":\"response.completed\",\"response\":{\"id\":\"resp_1\",\"created_at\":1,\"model\":\"gpt-5\",\"status\":\"completed\",\"output\":[],\"usage\":{\"input_tokens\":3,\"output_tokens\":2,\"total_tokens\":5}}}\n\n",
    );
    let mut translator = ChatStreamTranslator::new(ChatOptions::default());
    let mut out = Vec::new();
    translator.feed(upstream.as_bytes(), &mut out);
    translator.finish(&mut out);
    let text = String::from_utf8(out).expect("utf-8");
    assert!(text.contains("\"content\":\"Hi!\""), "{text}");
    assert!(text.trim_end().ends_with("data: [DONE]"), "{text}");
    println!("downstream-check: ok");
}
"#;

/// Builds and runs the downstream crate, then inspects its dependency tree.
pub fn run() -> Result<(), String> {
    let root = workspace_root();
    let dir = root.join("target").join("downstream");
    let translate = root.join("crates").join("translate");
    fs::create_dir_all(dir.join("src"))
        .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let manifest = MANIFEST.replace("TRANSLATE_PATH", &translate.to_string_lossy());
    write(&dir.join("Cargo.toml"), &manifest)?;
    write(&dir.join("src").join("main.rs"), MAIN)?;
    // The workspace's lock file, so the check builds the very versions byok is tested with.
    fs::copy(root.join("Cargo.lock"), dir.join("Cargo.lock"))
        .map_err(|e| format!("cannot copy Cargo.lock: {e}"))?;

    let manifest_path = dir.join("Cargo.toml");
    let manifest_path = manifest_path.to_string_lossy();
    shell::run(&mut cargo(&[
        "run",
        "--quiet",
        "--manifest-path",
        &manifest_path,
    ]))?;
    let tree = shell::output(&mut cargo(&[
        "tree",
        "--manifest-path",
        &manifest_path,
        "--prefix",
        "none",
        "--edges",
        "normal,build",
        "--format",
        "{p}",
    ]))?;
    let found: Vec<&str> = tree
        .lines()
        .filter_map(|line| line.split_whitespace().next())
        .filter(|name| FORBIDDEN.contains(name))
        .collect();
    if !found.is_empty() {
        return Err(format!(
            "byok-translate pulls in {found:?}; it must stay free of I/O and async runtimes"
        ));
    }
    let count = tree.lines().filter(|l| !l.trim().is_empty()).count();
    eprintln!(
        "downstream: byok-translate alone builds and runs; {count} crates in its tree, none of {FORBIDDEN:?}"
    );
    Ok(())
}

fn write(path: &std::path::Path, text: &str) -> Result<(), String> {
    fs::write(path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

//! Claude Code itself, pointed at byok (`ANTHROPIC_BASE_URL`, `ANTHROPIC_AUTH_TOKEN`), runs a
//! task that needs a tool call against a stand-in Codex backend that plays the model
//! (`byok_e2e::scripted::agent`: it asks for `Bash` with a command, then says it is done).
//!
//! Claude Code must not reach anything but 127.0.0.1: its telemetry, error reports, updater
//! and other non-essential traffic are switched off, and every proxy variable points at a
//! local listener that counts connections: the test fails if any arrives.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use byok_e2e::{Byok, Reply, StandIn, clients, scripted};
use serde_json::Value;
use tokio::process::Command;

/// A listener that counts every connection made to it and closes it at once.
async fn tripwire() -> (String, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let count = Arc::new(AtomicUsize::new(0));
    let seen = Arc::clone(&count);
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            seen.fetch_add(1, Ordering::SeqCst);
            drop(socket);
        }
    });
    (url, count)
}

#[tokio::test]
async fn claude_code_completes_a_task_with_a_tool_call_through_byok() {
    let claude = tokio::task::spawn_blocking(|| clients::node_project().claude_code())
        .await
        .unwrap_or_else(|panic| std::panic::resume_unwind(panic.into_panic()));
    let standin = StandIn::start(Reply::Scripted(scripted::agent)).await;
    let home = Byok::home_signed_in(3600).await;
    let mut settings = Byok::settings(&home, &standin);
    settings.client_key = Some("k-claude-code".into());
    let byok = Byok::start(home, settings).await;
    let (proxy, outside) = tripwire().await;
    let user_home = tempfile::tempdir().unwrap();
    let work = tempfile::tempdir().unwrap();

    let mut command = Command::new(&claude);
    command
        .args([
            "-p",
            "Create byok-ok.txt containing byok-ok, then say All done.",
        ])
        .args(["--output-format", "json", "--model", "claude-sonnet-4-5"])
        .args(["--allowedTools", "Bash"])
        .current_dir(work.path())
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", user_home.path())
        .env("ANTHROPIC_BASE_URL", &byok.url)
        .env("ANTHROPIC_AUTH_TOKEN", "k-claude-code")
        .env("DISABLE_TELEMETRY", "1")
        .env("DISABLE_ERROR_REPORTING", "1")
        .env("DISABLE_AUTOUPDATER", "1")
        .env("DISABLE_BUG_COMMAND", "1")
        .env("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1")
        .env("NO_PROXY", "127.0.0.1,localhost")
        .kill_on_drop(true);
    for name in [
        "HTTPS_PROXY",
        "HTTP_PROXY",
        "https_proxy",
        "http_proxy",
        "ALL_PROXY",
    ] {
        command.env(name, &proxy);
    }
    let output = tokio::time::timeout(Duration::from_mins(3), command.output())
        .await
        .expect("Claude Code finished within 3 minutes")
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", claude.display()));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let describe = format!(
        "exit {:?}\n--- stdout\n{stdout}\n--- stderr\n{}\n--- backend got {} requests",
        output.status.code(),
        String::from_utf8_lossy(&output.stderr),
        standin.received().len()
    );
    assert!(output.status.success(), "{describe}");
    let result: Value = serde_json::from_str(stdout.trim())
        .unwrap_or_else(|e| panic!("--output-format json printed no JSON ({e}):\n{describe}"));
    assert_eq!(result["is_error"], false, "{describe}");
    assert_eq!(result["result"], scripted::FINAL_TEXT, "{describe}");
    // The tool really ran: Claude Code executed the Bash call byok relayed.
    let written = std::fs::read_to_string(work.path().join("byok-ok.txt"))
        .unwrap_or_else(|e| panic!("byok-ok.txt was not written ({e}):\n{describe}"));
    assert_eq!(written, "byok-ok");
    // The tool's result went back upstream with the reasoning of the turn that called it.
    let received = standin.received();
    let follow_up = received
        .iter()
        .map(|r| &r.body)
        .find(|b| b.to_string().contains("function_call_output"))
        .unwrap_or_else(|| panic!("no tool result reached the backend:\n{describe}"));
    let input = follow_up["input"].as_array().unwrap();
    assert!(
        input
            .iter()
            .any(|i| i["type"] == "reasoning"
                && i["encrypted_content"] == scripted::TOOL_TURN_REASONING),
        "the thinking block came back as the same reasoning item: {follow_up}"
    );
    for request in &received {
        assert!(request.body.get("max_output_tokens").is_none());
        assert_eq!(request.body["store"], false);
    }
    assert_eq!(
        outside.load(Ordering::SeqCst),
        0,
        "Claude Code tried to reach something other than byok (through the proxy):\n{describe}"
    );
    byok.stop().await.unwrap();
}

//! The `byok` binary as a user runs it, with its state in temporary directories and every
//! upstream address pointed at 127.0.0.1.

mod common;

use std::path::Path;
use std::sync::atomic::Ordering;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use byok_test_support::issuer::{EMAIL, Issuer};
use byok_test_support::upstream::StandIn;
use serde_json::{Value, json};
use tokio::process::Command;

use common::{
    byok, byok_with_fd_limit, byok_with_soft_fd_limit, run, serve, serve_logged, serve_with,
};

fn fake_jwt(email: &str, expires_in: i64) -> String {
    let payload = json!({
        "exp": byok_types::unix_now() + expires_in,
        "email": email,
        "https://api.openai.com/auth": {"chatgpt_account_id": "acc-1", "chatgpt_plan_type": "plus"},
    });
    format!(
        "e30.{}.sig",
        URL_SAFE_NO_PAD.encode(payload.to_string().as_bytes())
    )
}

fn write_codex_auth(dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    let jwt = fake_jwt("me@example.com", 3600);
    let auth = json!({
        "OPENAI_API_KEY": null,
        "tokens": {"id_token": jwt, "access_token": jwt, "refresh_token": "rt-1", "account_id": "acc-1"},
        "last_refresh": "2026-01-01T00:00:00Z",
    });
    std::fs::write(dir.join("auth.json"), auth.to_string()).unwrap();
}

#[tokio::test]
async fn completions_are_printed_for_each_shell_without_any_settings() {
    let dirs = tempfile::tempdir().unwrap();
    // A broken byok.toml must not stop completions: they are installed before byok is set up.
    std::fs::create_dir_all(dirs.path().join("home")).unwrap();
    std::fs::write(dirs.path().join("home").join("byok.toml"), "not toml [").unwrap();
    for (shell, marker) in [
        ("bash", "complete -F"),
        ("zsh", "#compdef byok"),
        ("fish", "complete -c byok"),
    ] {
        let (ok, script, err) = run(byok(&dirs)
            .env("BYOK_HOME", dirs.path().join("home"))
            .args(["completions", shell]))
        .await;
        assert!(ok, "{shell}: {err}");
        assert!(script.contains(marker), "{shell} script lacks `{marker}`");
        for command in ["serve", "import-codex-cli", "completions"] {
            assert!(script.contains(command), "{shell} script lacks `{command}`");
        }
    }
    let (ok, _, err) = run(byok(&dirs).args(["completions", "tcsh"])).await;
    assert!(!ok);
    assert!(err.contains("bash"), "the error lists the shells: {err}");
}

#[tokio::test]
async fn a_bad_environment_variable_is_named_in_the_error() {
    let dirs = tempfile::tempdir().unwrap();
    let (ok, _, err) = run(byok(&dirs).env("BYOK_PORT", "eighty").arg("serve")).await;
    assert!(!ok);
    assert!(
        err.contains("BYOK_PORT") && err.contains("eighty"),
        "the error names the variable and its value: {err}"
    );
    let (ok, _, err) = run(byok(&dirs).args(["serve", "--port", "eighty"])).await;
    assert!(!ok);
    assert!(
        err.contains("--port") && !err.contains("BYOK_PORT"),
        "{err}"
    );
}

#[tokio::test]
async fn log_format_json_writes_one_object_per_line() {
    use tokio::io::{AsyncBufReadExt, BufReader};
    let dirs = tempfile::tempdir().unwrap();
    let mut child = byok(&dirs)
        .args(["--log-format", "json", "serve", "--port", "0"])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let base = loop {
        let line = lines.next_line().await.unwrap().expect("byok starts");
        if let Some((_, rest)) = line.split_once("serving the OpenAI API at ") {
            break rest.split_whitespace().next().unwrap().to_owned();
        }
    };
    let health = base.trim_end_matches("/v1").to_owned() + "/healthz";
    let status = reqwest::get(&health).await.unwrap().status();
    assert_eq!(status, 200);
    let access = tokio::time::timeout(std::time::Duration::from_secs(10), async {
        loop {
            let line = lines
                .next_line()
                .await
                .unwrap()
                .expect("the access line comes");
            let Ok(event) = serde_json::from_str::<Value>(&line) else {
                panic!("a log line that is not JSON: {line}");
            };
            if event["path"] == "/healthz" {
                break event;
            }
        }
    })
    .await
    .expect("the access line within 10 s");
    assert_eq!(access["status"], 200);
    assert!(access["level"].is_string() && access["timestamp"].is_string());
    child.kill().await.unwrap();
}

#[tokio::test]
async fn help_explains_the_commands_and_where_state_lives() {
    let dirs = tempfile::tempdir().unwrap();
    let (ok, help, _) = run(byok(&dirs).arg("--help")).await;
    assert!(ok);
    for word in [
        "serve",
        "login",
        "logout",
        "status",
        "import-codex-cli",
        "models",
        "OPENAI_API_KEY",
        "BYOK_HOME",
        "CODEX_HOME",
        "~/.byok",
    ] {
        assert!(help.contains(word), "`{word}` missing from --help:\n{help}");
    }
    let (ok, help, _) = run(byok(&dirs).args(["serve", "--help"])).await;
    assert!(ok);
    for word in [
        "--host",
        "--port",
        "--client-key",
        "BYOK_CLIENT_KEY",
        "8018",
    ] {
        assert!(
            help.contains(word),
            "`{word}` missing from serve --help:\n{help}"
        );
    }
}

#[tokio::test]
async fn serve_without_credentials_starts_and_answers_401_with_instructions() {
    let dirs = tempfile::tempdir().unwrap();
    let (mut child, base, said) = serve(&mut byok(&dirs)).await;
    assert!(base.ends_with("/v1"), "{base}");
    assert!(said.contains("no credentials"), "{said}");
    assert!(said.contains("byok login"), "{said}");

    let response = reqwest::Client::new()
        .post(format!("{base}/chat/completions"))
        .json(&json!({"model": "gpt-5", "messages": [{"role": "user", "content": "hi"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    let body: Value = response.json().await.unwrap();
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.contains("byok login"), "{message}");

    // SIGTERM: a graceful stop with exit code 0.
    let pid = child.id().unwrap().to_string();
    let (killed, _, _) = run(Command::new("kill").args(["-TERM", &pid])).await;
    assert!(killed);
    let status = child.wait().await.unwrap();
    assert!(status.success(), "{status:?}");
}

#[tokio::test]
async fn serve_refuses_a_public_address_without_a_client_key() {
    let dirs = tempfile::tempdir().unwrap();
    let (ok, _, stderr) =
        run(byok(&dirs).args(["serve", "--host", "0.0.0.0", "--port", "0"])).await;
    assert!(!ok);
    assert!(stderr.contains("--client-key"), "{stderr}");
    assert!(stderr.contains("refusing"), "{stderr}");
}

#[tokio::test]
async fn import_status_and_logout_manage_the_accounts() {
    let dirs = tempfile::tempdir().unwrap();
    write_codex_auth(&dirs.path().join("codex"));

    let (ok, out, err) = run(byok(&dirs).arg("status")).await;
    assert!(ok, "{err}");
    assert!(
        out.contains("No ChatGPT account signed in to byok"),
        "{out}"
    );
    assert!(out.contains("Codex CLI sign-in"), "{out}");
    assert!(
        out.contains("the Codex CLI's ChatGPT sign-in as me@example.com"),
        "{out}"
    );

    let (ok, out, err) = run(byok(&dirs).arg("import-codex-cli")).await;
    assert!(ok, "{err}");
    assert!(
        out.contains("me@example.com") && out.contains("plan plus"),
        "{out}"
    );
    let credentials = dirs.path().join("byok/credentials.json");
    assert!(credentials.exists());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&credentials)
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    // What `byok serve` saved of the last answer's rate-limit headers.
    let limits = byok_types::RateLimitStore::default();
    limits.record(
        byok_types::ProviderId::Codex,
        "me@example.com",
        [
            ("x-codex-primary-used-percent", "42"),
            ("x-codex-primary-window-minutes", "300"),
        ],
    );
    byok::ratelimits::RateLimitFile::merge_and_save(&dirs.path().join("byok"), &limits).unwrap();

    let (ok, out, _) = run(byok(&dirs).arg("status")).await;
    assert!(ok);
    assert!(
        out.contains("* me@example.com, plan plus, token expires in"),
        "{out}"
    );
    let mut lines = out
        .lines()
        .skip_while(|l| !l.contains("codex me@example.com"));
    assert!(lines.next().is_some(), "no rate-limit figures:\n{out}");
    assert_eq!(lines.next(), Some("    5 h window: 42% used"), "{out}");
    assert!(out.contains("ChatGPT sign-in as me@example.com"), "{out}");

    let (ok, out, err) = run(byok(&dirs).arg("logout")).await;
    assert!(ok, "{err}");
    assert!(out.contains("Signed out me@example.com"), "{out}");
    let (ok, _, err) = run(byok(&dirs).args(["logout", "--account", "nobody"])).await;
    assert!(!ok);
    assert!(err.contains("byok status"), "{err}");
}

#[tokio::test]
async fn import_from_a_missing_file_says_what_to_do() {
    let dirs = tempfile::tempdir().unwrap();
    let (ok, _, err) =
        run(byok(&dirs).args(["import-codex-cli", "--from", "/nonexistent/auth.json"])).await;
    assert!(!ok);
    assert!(err.contains("/nonexistent/auth.json"), "{err}");
    assert!(err.contains("codex login"), "{err}");
}

#[tokio::test]
async fn models_lists_what_serve_accepts() {
    let dirs = tempfile::tempdir().unwrap();
    let (ok, out, err) = run(byok(&dirs).arg("models").env("OPENAI_API_KEY", "sk-test")).await;
    assert!(ok, "{err}");
    assert!(out.lines().any(|l| l == "o4-mini"), "{out}");
    assert!(err.contains("OpenAI API key"), "{err}");
    assert!(!err.contains("sk-test") && !out.contains("sk-test"));
}

/// `byok models` asks each account's catalog where `byok serve` would, and lists the aliases
/// `serve` accepts: `BYOK_CODEX_BASE_URL` and `BYOK_ALIASES` count for it too (before, it read
/// only byok.toml's, so with the variables set it asked chatgpt.com and left the aliases out).
#[tokio::test]
async fn models_asks_the_catalog_where_serve_would() {
    let dirs = tempfile::tempdir().unwrap();
    write_codex_auth(&dirs.path().join("codex"));
    let standin = StandIn::builder().recordings(dirs.path()).start().await;
    let model = json!({"slug": "gpt-5.5", "display_name": "GPT-5.5", "priority": 1,
        "visibility": "list", "supported_reasoning_levels": [{"effort": "low"}]});
    standin.set_catalog(json!({ "models": [model] }), "\"standin-1\"");
    let (ok, out, err) = run(byok(&dirs)
        .arg("models")
        .env("BYOK_CODEX_BASE_URL", standin.codex_base_url())
        .env("BYOK_ALIASES", "team-model=gpt-5.5"))
    .await;
    assert!(ok, "{err}");
    assert_eq!(standin.models_asked().len(), 1, "{err}");
    assert!(err.contains("1 models, tag \"standin-1\""), "{err}");
    let ids: Vec<&str> = out.lines().collect();
    assert_eq!(ids, ["gpt-5.5", "gpt-5.5-low", "team-model"], "{err}");
}

#[tokio::test]
async fn a_typo_in_byok_toml_stops_with_the_file_named() {
    let dirs = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dirs.path().join("byok")).unwrap();
    std::fs::write(dirs.path().join("byok/byok.toml"), "prot = 1\n").unwrap();
    let (ok, _, err) = run(byok(&dirs).arg("status")).await;
    assert!(!ok);
    assert!(err.contains("byok.toml") && err.contains("prot"), "{err}");
}

#[tokio::test]
async fn login_with_a_device_code_saves_the_account() {
    let dirs = tempfile::tempdir().unwrap();
    // byok-test-support's issuer: the code is "entered" on the second poll.
    let issuer = Issuer::start().await;
    issuer.state.pending_polls.store(1, Ordering::SeqCst);
    let (ok, out, err) = run(byok(&dirs)
        .args(["login", "--device"])
        .env("BYOK_AUTH_ISSUER", &issuer.url))
    .await;
    assert!(ok, "{err}");
    assert!(
        err.contains("ABCD-1234"),
        "the code to type is shown: {err}"
    );
    assert!(
        err.contains(&format!("{}/codex/device", issuer.url)),
        "{err}"
    );
    assert!(
        out.contains(&format!("Signed in as {EMAIL} (plan plus)")),
        "{out}"
    );
    assert_eq!(issuer.exchanges(), 1);

    let (ok, out, _) = run(byok(&dirs).arg("status")).await;
    assert!(ok);
    assert!(out.contains(&format!("* {EMAIL}, plan plus")), "{out}");
    assert!(!out.contains("rt-minted"), "no token in the status: {out}");
}

#[tokio::test]
async fn an_empty_environment_variable_counts_as_unset() {
    let dirs = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dirs.path().join("byok")).unwrap();
    std::fs::write(
        dirs.path().join("byok/byok.toml"),
        "port = 0\nclient_key = \"key-from-file\"\n\
         codex_base_url = \"http://127.0.0.1:9/from-file\"\n",
    )
    .unwrap();
    // Blank values as a careless `export BYOK_CLIENT_KEY=` or a template leaves them.
    let (mut child, base, said) = serve_with(
        byok(&dirs)
            .arg("serve")
            .env("BYOK_CLIENT_KEY", "")
            .env("BYOK_CODEX_BASE_URL", "")
            .env("BYOK_PORT", "")
            .env("BYOK_HOST", " ")
            .env("BYOK_ALLOWED_ORIGINS", ""),
    )
    .await;
    assert!(said.contains("http://127.0.0.1:9/from-file"), "{said}");
    assert!(said.contains("client key"), "{said}");
    let response = reqwest::Client::new()
        .get(format!("{base}/models"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    let body: Value = response.json().await.unwrap();
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.contains("client key"), "{message}");
    let with_key = reqwest::Client::new()
        .get(format!("{base}/models"))
        .bearer_auth("key-from-file")
        .send()
        .await
        .unwrap();
    assert_eq!(with_key.status(), 200);
    child.kill().await.unwrap();
}

#[tokio::test]
async fn a_zero_duration_in_byok_toml_stops_serve_naming_it() {
    let dirs = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dirs.path().join("byok")).unwrap();
    std::fs::write(dirs.path().join("byok/byok.toml"), "keep_alive_secs = 0\n").unwrap();
    let (ok, _, err) = run(byok(&dirs).args(["serve", "--port", "0"])).await;
    assert!(!ok);
    assert!(
        err.contains("keep_alive_secs") && err.contains("at least 1"),
        "{err}"
    );
}

/// Starts `command` (a `byok serve`), opens 300 connections that never send a request, asks
/// `/healthz` (waiting at most `wait`) and returns its status and byok's log.
#[cfg(unix)]
async fn health_beside_300_silent_connections(
    command: &mut tokio::process::Command,
    wait: std::time::Duration,
) -> (reqwest::StatusCode, String) {
    let (mut child, base, _, log) = serve_logged(command.args(["serve", "--port", "0"])).await;
    let addr = base
        .trim_start_matches("http://")
        .trim_end_matches("/v1")
        .to_owned();
    let mut silent = Vec::new();
    for _ in 0..300 {
        silent.push(tokio::net::TcpStream::connect(&addr).await.unwrap());
    }
    let health = reqwest::Client::new()
        .get(format!("http://{addr}/healthz"))
        .timeout(wait)
        .send()
        .await
        .expect("byok answers while 300 silent connections wait");
    drop(silent);
    child.kill().await.unwrap();
    let log = log.lock().unwrap().clone();
    (health.status(), log)
}

/// 300 silent connections against a byok started with a soft limit of 128 open files but a
/// higher hard limit: `byok serve` raises its soft limit, so it never runs out of descriptors
/// and answers while the default `client_idle_timeout_secs` (30 s) still holds the silent
/// ones open (without the raise, the answer came after 57 s).
#[cfg(unix)]
#[tokio::test]
async fn byok_serve_raises_its_soft_limit_of_open_files() {
    let (_, hard) = rlimit::getrlimit(rlimit::Resource::NOFILE).unwrap();
    assert!(
        hard >= 512,
        "this test needs a hard limit of at least 512 open files (`ulimit -Hn` says {hard})"
    );
    let dirs = tempfile::tempdir().unwrap();
    // Well below the 30 s after which byok would close the silent connections: an answer
    // within it means no client waited for a descriptor to come free.
    let (status, log) = health_beside_300_silent_connections(
        &mut byok_with_soft_fd_limit(&dirs, 128),
        std::time::Duration::from_secs(20),
    )
    .await;
    assert_eq!(status, 200);
    assert!(!log.contains("cannot accept connections"), "{log}");
}

/// 300 connections that never send a request, against a byok allowed 128 open files, soft and
/// hard: it runs out of descriptors, says so once per episode, closes the silent connections
/// after `client_idle_timeout_secs` and answers the next client.
#[cfg(unix)]
#[tokio::test]
async fn idle_connections_beyond_the_file_limit_do_not_stop_byok() {
    let dirs = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dirs.path().join("byok")).unwrap();
    std::fs::write(
        dirs.path().join("byok/byok.toml"),
        "client_idle_timeout_secs = 1\n",
    )
    .unwrap();
    let (status, log) = health_beside_300_silent_connections(
        &mut byok_with_fd_limit(&dirs, 128),
        std::time::Duration::from_secs(60),
    )
    .await;
    assert_eq!(status, 200);
    let said = log.matches("cannot accept connections").count();
    // Once per episode (a few, as the silent connections are closed batch by batch), not once
    // per try (ten a second).
    assert!((1..=5).contains(&said), "{said} times:\n{log}");
}

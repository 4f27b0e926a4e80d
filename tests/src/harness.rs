//! byok itself, started in-process through the code `byok serve` runs, on 127.0.0.1:0.

use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use byok::{CliError, Settings};
use byok_auth::{Account, FileTokenStore, TokenStore};
use byok_types::{OAuthToken, Secret, unix_now};
use serde_json::json;
use tempfile::TempDir;
use tokio::sync::oneshot;

use crate::StandIn;

/// The ChatGPT account id of the account [`Byok::sign_in`] saves.
pub const ACCOUNT_ID: &str = "acc-e2e";
/// Its refresh token, which the stand-in's issuer accepts (once: it rotates).
pub const REFRESH_TOKEN: &str = "rt-0";

/// An unsigned JWT with the claims byok reads, expiring `expires_in` seconds from now
/// (negative: already expired).
pub fn fake_jwt(email: &str, account_id: &str, expires_in: i64) -> String {
    let payload = json!({
        "exp": unix_now() + expires_in,
        "email": email,
        "https://api.openai.com/auth": {
            "chatgpt_account_id": account_id,
            "chatgpt_plan_type": "plus",
        },
    });
    format!(
        "{}.{}.sig",
        URL_SAFE_NO_PAD.encode(r#"{"alg":"none"}"#),
        URL_SAFE_NO_PAD.encode(payload.to_string())
    )
}

/// A running byok, its state directory and a way to stop it.
pub struct Byok {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    /// `BYOK_HOME` (removed when dropped).
    pub home: Arc<TempDir>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<Result<(), CliError>>>,
}

impl Byok {
    /// Settings for a byok in `home` in front of `standin`: any free port on 127.0.0.1, the
    /// stand-in as Codex backend and issuer, no Codex CLI sign-in.
    pub fn settings(home: &TempDir, standin: &StandIn) -> Settings {
        Self::point_at(Settings::with_home(home.path()), home, standin)
    }

    /// `settings` with what [`Byok::settings`] sets for a test.
    fn point_at(mut settings: Settings, home: &TempDir, standin: &StandIn) -> Settings {
        settings.codex_home = home.path().join("no-codex-cli");
        settings.port = 0;
        settings.codex_base_url = Some(standin.codex_base_url());
        settings.openai_base_url = Some(standin.url.clone());
        settings.auth_issuer = Some(standin.issuer_url());
        settings.upstream_idle_timeout = Some(Duration::from_secs(30));
        settings
    }

    /// [`Byok::settings`], read as `byok serve` reads them: with `home`'s `byok.toml` (write it
    /// first), then pointed at `standin` as [`Byok::settings`] is.
    pub fn settings_from_file(home: &TempDir, standin: &StandIn) -> Result<Settings, CliError> {
        let global = byok::args::GlobalArgs {
            home: Some(home.path().to_owned()),
            ..byok::args::GlobalArgs::default()
        };
        let settings = Settings::resolve(&global, &byok::args::ServeArgs::default())?;
        Ok(Self::point_at(settings, home, standin))
    }

    /// A fresh `BYOK_HOME` with one signed-in ChatGPT account, `me@example.com`, whose access
    /// token expires `expires_in` seconds from now.
    pub async fn home_signed_in(expires_in: i64) -> TempDir {
        let home = tempfile::tempdir().expect("temp dir");
        Self::sign_in(home.path(), expires_in).await;
        home
    }

    /// Saves the account `me@example.com` in the byok home `dir`, as `byok login` does, with
    /// an access token expiring `expires_in` seconds from now.
    pub async fn sign_in(dir: &std::path::Path, expires_in: i64) {
        Self::sign_in_as(dir, "me@example.com", ACCOUNT_ID, expires_in).await;
    }

    /// Saves the account `email` (ChatGPT account `account_id`) in the byok home `dir`, beside
    /// those already there, with the refresh token [`REFRESH_TOKEN`] and an access token
    /// expiring `expires_in` seconds from now.
    pub async fn sign_in_as(dir: &std::path::Path, email: &str, account_id: &str, expires_in: i64) {
        let jwt = fake_jwt(email, account_id, expires_in);
        let account = Account {
            name: email.into(),
            token: OAuthToken {
                access_token: Secret::new(jwt.clone()),
                refresh_token: Secret::new(REFRESH_TOKEN),
                id_token: Secret::new(jwt),
                expires_at: Some(unix_now() + expires_in),
                account_id: Some(account_id.into()),
                last_refresh: Some(unix_now()),
            },
        };
        FileTokenStore::new(dir)
            .save(&account)
            .await
            .expect("save the account");
    }

    /// byok signed in to ChatGPT, in front of `standin`, with default settings.
    pub async fn signed_in(standin: &StandIn) -> Self {
        let home = Self::home_signed_in(3600).await;
        let settings = Self::settings(&home, standin);
        Self::start(home, settings).await
    }

    /// Starts byok with `settings` (whose home is `home`) through `byok::serve`.
    pub async fn start(home: TempDir, settings: Settings) -> Self {
        let listener = byok::serve::bind(&settings).await.expect("bind byok");
        let url = format!("http://{}", listener.local_addr().expect("address"));
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(byok::serve::run(settings, listener, async {
            stopped.await.ok();
        }));
        Self {
            url,
            home: Arc::new(home),
            stop: Some(stop),
            task: Some(task),
        }
    }

    /// `{url}{path}`, e.g. `byok.at("/v1/models")`.
    pub fn at(&self, path: &str) -> String {
        format!("{}{path}", self.url)
    }

    /// GETs `path` with a fresh client.
    pub async fn get(&self, path: &str) -> reqwest::Response {
        reqwest::Client::new()
            .get(self.at(path))
            .send()
            .await
            .expect("byok answers")
    }

    /// GETs `path` with a fresh client that sends the client key `key`
    /// (`Authorization: Bearer KEY`).
    pub async fn get_as(&self, path: &str, key: &str) -> reqwest::Response {
        reqwest::Client::new()
            .get(self.at(path))
            .bearer_auth(key)
            .send()
            .await
            .expect("byok answers")
    }

    /// POSTs `body` as JSON to `path` with a fresh client, as an SDK would.
    pub async fn post(&self, path: &str, body: &serde_json::Value) -> reqwest::Response {
        reqwest::Client::new()
            .post(self.at(path))
            .json(body)
            .send()
            .await
            .expect("byok answers")
    }

    /// Stops byok as Ctrl-C does and waits until it has.
    pub async fn stop(mut self) -> Result<(), CliError> {
        if let Some(stop) = self.stop.take() {
            stop.send(()).ok();
        }
        match self.task.take() {
            Some(task) => task.await.expect("byok's task"),
            None => Ok(()),
        }
    }
}

impl Drop for Byok {
    fn drop(&mut self) {
        if let Some(task) = &self.task {
            task.abort();
        }
    }
}

//! Every setting of byok, resolved: flags, then environment variables, then `byok.toml`, then
//! defaults. (clap reads the flags and the environment; this module adds the file and defaults.)
//!
//! An empty (or blank) value counts as unset wherever it comes from: `BYOK_CLIENT_KEY=` must not
//! switch off the file's `client_key`. [`args::parse`](crate::args::parse)
//! keeps clap from reading blank variables; [`Settings::resolve`] also skips blank values handed
//! in by embedders.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use byok_executor::ClaudeModels;
use byok_server::{ClientKey, ServerConfig};
use byok_types::{Metrics, Secret};
use serde::Deserialize;

use crate::CliError;
use crate::args::{GlobalArgs, ListenArgs, LogFormat, ReasoningDisplay, ServeArgs, UpstreamArgs};

/// The optional settings file inside `BYOK_HOME`.
pub const CONFIG_FILE: &str = "byok.toml";

/// The port `byok serve` listens on unless told otherwise.
pub const DEFAULT_PORT: u16 = 8018;

/// Everything `byok serve` (and the other commands) need to know, resolved.
///
/// Tests and embedders build it directly; the command line builds it with
/// [`Settings::resolve`].
#[derive(Clone, Debug)]
pub struct Settings {
    /// Where byok keeps its state (`BYOK_HOME`).
    pub home: PathBuf,
    /// Where the Codex CLI keeps `auth.json` (`CODEX_HOME`).
    pub codex_home: PathBuf,
    /// The address to listen on.
    pub host: String,
    /// The port to listen on.
    pub port: u16,
    /// The key clients must send, if any.
    pub client_key: Option<Secret>,
    /// Named keys clients may send (`[[client_keys]]` in byok.toml), with their models and
    /// budgets; the single `client_key` keeps working beside them.
    pub client_keys: Vec<ClientKey>,
    /// The key `byok status` sends to the running `byok serve`: `client_key`, else the first
    /// `[[client_keys]]` entry written with its `key` (not only its SHA-256).
    pub status_key: Option<Secret>,
    /// An OpenAI API key: API-key mode.
    pub openai_api_key: Option<Secret>,
    /// The OpenAI API's address (API-key mode); `None` for the executor's default.
    pub openai_base_url: Option<String>,
    /// The Codex backend's address (ChatGPT mode); `None` for the executor's default.
    pub codex_base_url: Option<String>,
    /// The ChatGPT sign-in server; `None` for the default.
    pub auth_issuer: Option<String>,
    /// The Codex CLI version byok presents in ChatGPT mode (`--codex-client-version`,
    /// `BYOK_CODEX_CLIENT_VERSION`, `codex_client_version`; default 0.169.0), checked.
    pub codex_client_version: String,
    /// The largest request body, in bytes.
    pub body_limit: usize,
    /// Silence after which a stream gets a keep-alive comment.
    pub keep_alive: Duration,
    /// How long running requests may finish after Ctrl-C or SIGTERM.
    pub shutdown_grace: Duration,
    /// How long the upstream may stay silent before the request fails; `None` for the default.
    pub upstream_idle_timeout: Option<Duration>,
    /// How log lines are written (`--log-format`, `BYOK_LOG_FORMAT`, `log_format`).
    pub log_format: LogFormat,
    /// Where reasoning summaries go in Chat answers (`--reasoning`, `BYOK_REASONING`,
    /// `reasoning`).
    pub reasoning: ReasoningDisplay,
    /// How long a client connection may stay silent before sending its request's headers.
    pub client_idle_timeout: Duration,
    /// More `Host` names served besides the loopback ones.
    pub allowed_hosts: Vec<String>,
    /// More web origins allowed to call byok besides the loopback ones.
    pub allowed_origins: Vec<String>,
    /// The memory budget of the response store, in bytes (`response_store_mib`, default
    /// 256 MiB); 0 keeps no responses (`previous_response_id` and `item_reference` are then
    /// refused in ChatGPT mode).
    pub response_store_bytes: usize,
    /// How long a stored response is kept (`response_store_ttl_secs`, default 24 h).
    pub response_store_ttl: Duration,
    /// Model names clients may use for others (`[aliases]`, `--alias FROM=TO`,
    /// `BYOK_ALIASES`): client name -> the model that serves it.
    pub aliases: BTreeMap<String, String>,
    /// How long after the rate-limit figures change they are written to `ratelimits.json`
    /// (changes within it are written together).
    pub ratelimit_save_delay: Duration,
    /// The Redis a team of instances shares (`state_url`, `BYOK_STATE_URL`, `--state-url`);
    /// `None`: one instance, state in memory and `home`.
    pub state_url: Option<String>,
    /// The key that seals what byok writes to Redis (`state_key`, `BYOK_STATE_KEY`).
    pub state_key: Option<Secret>,
    /// The GPT models that answer Anthropic clients' Claude model names (`[anthropic]` in
    /// byok.toml: `opus`, `sonnet`, `haiku`).
    pub anthropic: ClaudeModels,
}

impl Settings {
    /// Defaults for a state directory `home`: loopback, port 8018, no client key, no API key,
    /// the real upstreams, and the Codex CLI's home in `~/.codex`.
    pub fn with_home(home: impl Into<PathBuf>) -> Self {
        let server = ServerConfig::default();
        Self {
            home: home.into(),
            codex_home: home_dir().join(".codex"),
            host: "127.0.0.1".into(),
            port: DEFAULT_PORT,
            client_key: None,
            client_keys: Vec::new(),
            status_key: None,
            openai_api_key: None,
            openai_base_url: None,
            codex_base_url: None,
            auth_issuer: None,
            codex_client_version: byok_auth::identity::DEFAULT_CLIENT_VERSION.to_owned(),
            body_limit: server.body_limit,
            keep_alive: server.keep_alive,
            shutdown_grace: server.shutdown_grace,
            upstream_idle_timeout: None,
            log_format: LogFormat::default(),
            reasoning: ReasoningDisplay::default(),
            client_idle_timeout: server.client_idle_timeout,
            allowed_hosts: Vec::new(),
            allowed_origins: Vec::new(),
            response_store_bytes: byok_store::DEFAULT_BUDGET_BYTES,
            response_store_ttl: byok_store::DEFAULT_TTL,
            aliases: BTreeMap::new(),
            ratelimit_save_delay: Duration::from_millis(250),
            anthropic: ClaudeModels::default(),
            state_url: None,
            state_key: None,
        }
    }

    /// Where `byok serve` listens and the key its clients send: the flags' (`serve` and
    /// `status` take the same ones), else the file's, else the defaults.
    fn listen(&mut self, flags: &ListenArgs, file: &FileSettings) {
        self.host = or_file(flags.host.as_ref(), file.host.as_ref()).unwrap_or(self.host.clone());
        self.port = flags.port.or(file.port).unwrap_or(self.port);
        self.client_key =
            or_file(flags.client_key.as_ref(), file.client_key.as_ref()).map(Secret::from);
    }

    /// Where the upstreams are and the model names clients may use for others: the flags'
    /// (`serve` and `models` take the same ones), else the file's; a flag's alias wins.
    fn upstream(&mut self, flags: &UpstreamArgs, file: &FileSettings) {
        self.openai_base_url = or_file(
            flags.openai_base_url.as_ref(),
            file.openai_base_url.as_ref(),
        );
        self.codex_base_url = or_file(flags.codex_base_url.as_ref(), file.codex_base_url.as_ref());
        self.aliases = file.aliases.clone().unwrap_or_default();
        self.aliases.extend(flags.aliases.iter().cloned());
    }

    /// Resolves the settings of a command: flags and environment variables (as clap read them
    /// into `global` and `serve`), then `$BYOK_HOME/byok.toml`, then defaults.
    pub fn resolve(global: &GlobalArgs, serve: &ServeArgs) -> Result<Self, CliError> {
        let home = global
            .home
            .clone()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or_else(|| home_dir().join(".byok"));
        let named = global.config.clone().filter(|p| !p.as_os_str().is_empty());
        let required = named.is_some();
        let path = named.unwrap_or_else(|| home.join(CONFIG_FILE));
        let file = FileSettings::load(&path, required)?;
        file.check(&path)?;
        let mut settings = Self::with_home(home);
        settings.listen(&serve.listen, &file);
        settings.upstream(&serve.upstream, &file);
        settings.codex_home = global
            .codex_home
            .clone()
            .filter(|p| !p.as_os_str().is_empty())
            .or(file.codex_home)
            .unwrap_or(settings.codex_home);
        settings.client_keys(file.client_keys.unwrap_or_default(), &path)?;
        settings.state_url = or_file(serve.state_url.as_ref(), file.state_url.as_ref());
        settings.state_key =
            or_file(serve.state_key.as_ref(), file.state_key.as_ref()).map(Secret::from);
        settings.openai_api_key = given(global.openai_api_key.as_ref()).map(Secret::from);
        settings.auth_issuer = or_file(global.auth_issuer.as_ref(), file.auth_issuer.as_ref());
        if let Some(version) = or_file(
            global.codex_client_version.as_ref(),
            file.codex_client_version.as_ref(),
        ) {
            let identity = byok_auth::CodexIdentity::new(&version).map_err(|e| {
                let from_file = given(global.codex_client_version.as_ref()).is_none();
                CliError::Config {
                    path: if from_file {
                        path.clone()
                    } else {
                        PathBuf::from("--codex-client-version (or BYOK_CODEX_CLIENT_VERSION)")
                    },
                    detail: format!("`codex_client_version`: {e}"),
                }
            })?;
            identity
                .version()
                .clone_into(&mut settings.codex_client_version);
        }
        if let Some(mib) = file.max_body_mib {
            settings.body_limit = usize::try_from(mib)
                .unwrap_or(usize::MAX)
                .saturating_mul(1024 * 1024);
        }
        settings.log_format = global.log_format.or(file.log_format).unwrap_or_default();
        settings.reasoning = serve.reasoning.or(file.reasoning).unwrap_or_default();
        file.anthropic.apply(&mut settings.anthropic);
        let secs = |s: Option<u64>, default: Duration| s.map_or(default, Duration::from_secs);
        settings.keep_alive = secs(file.keep_alive_secs, settings.keep_alive);
        settings.shutdown_grace = secs(file.shutdown_grace_secs, settings.shutdown_grace);
        settings.upstream_idle_timeout = file.upstream_idle_timeout_secs.map(Duration::from_secs);
        settings.client_idle_timeout =
            secs(file.client_idle_timeout_secs, settings.client_idle_timeout);
        settings.allowed_hosts = list_or_file(&serve.allowed_hosts, file.allowed_hosts);
        settings.allowed_origins = list_or_file(&serve.allowed_origins, file.allowed_origins);
        if let Some(mib) = file.response_store_mib {
            settings.response_store_bytes = usize::try_from(mib)
                .unwrap_or(usize::MAX)
                .saturating_mul(1024 * 1024);
        }
        settings.response_store_ttl =
            secs(file.response_store_ttl_secs, settings.response_store_ttl);
        Ok(settings)
    }

    /// Sets `client_keys` from byok.toml's entries (and `status_key`), refusing an entry that
    /// cannot work or that takes the single `client_key`'s name.
    fn client_keys(&mut self, entries: Vec<FileClientKey>, path: &Path) -> Result<(), CliError> {
        let first_key = entries.iter().find_map(|e| given(e.key.as_ref()));
        self.status_key = self
            .client_key
            .clone()
            .or_else(|| first_key.map(Secret::from));
        self.client_keys = FileClientKey::resolve(entries).map_err(|detail| CliError::Config {
            path: path.to_owned(),
            detail,
        })?;
        if self.client_key.is_some()
            && self
                .client_keys
                .iter()
                .any(|k| k.name() == byok_server::DEFAULT_KEY_NAME)
        {
            return Err(CliError::Config {
                path: path.to_owned(),
                detail: format!(
                    "a `[[client_keys]]` entry is named `{}`, the name of the single \
                     `client_key`; rename it",
                    byok_server::DEFAULT_KEY_NAME
                ),
            });
        }
        Ok(())
    }

    /// byok's identity towards OpenAI: the Codex CLI of `codex_client_version`, with the
    /// installation id kept in `installation_dir` (`BYOK_HOME`, or `CODEX_HOME` when the
    /// Codex CLI's sign-in is used in place). A directory byok cannot write to gives an id
    /// for this run only, with a warning.
    pub fn codex_identity(&self, installation_dir: &Path) -> byok_auth::CodexIdentity {
        let identity =
            byok_auth::CodexIdentity::new(&self.codex_client_version).unwrap_or_default();
        match byok_auth::identity::installation_id_in(installation_dir) {
            Ok(id) => identity.with_installation_id(id),
            Err(e) => {
                tracing::warn!(
                    dir = %installation_dir.display(),
                    error = %e,
                    "cannot keep the installation id; using one for this run only"
                );
                identity
            }
        }
    }

    /// The HTTP server's part of the settings, counting into `metrics` (shared with the
    /// executor, so that one `GET /metrics` shows both).
    pub fn server_config(&self, metrics: &Metrics) -> ServerConfig {
        ServerConfig::builder()
            .maybe_client_key(self.client_key.clone())
            .client_keys(self.client_keys.clone())
            .body_limit(self.body_limit)
            .keep_alive(self.keep_alive)
            .shutdown_grace(self.shutdown_grace)
            .client_idle_timeout(self.client_idle_timeout)
            .allowed_hosts(self.allowed_hosts.clone())
            .allowed_origins(self.allowed_origins.clone())
            .metrics(metrics.clone())
            .build()
    }
}

/// A flag's (or environment variable's) value, unless it is blank.
fn given(value: Option<&String>) -> Option<String> {
    value.filter(|v| !v.trim().is_empty()).cloned()
}

/// The flag's value, else the file's; a blank one counts as unset in both.
fn or_file(flag: Option<&String>, file: Option<&String>) -> Option<String> {
    given(flag).or_else(|| given(file))
}

/// The flag's list (a comma-separated variable split by clap), else the file's; blank entries
/// are dropped, and a list of only blank entries counts as unset.
fn list_or_file(flag: &[String], file: Option<Vec<String>>) -> Vec<String> {
    let clean = |list: Vec<String>| -> Vec<String> {
        list.into_iter()
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
            .collect()
    };
    let flag = clean(flag.to_vec());
    if flag.is_empty() {
        clean(file.unwrap_or_default())
    } else {
        flag
    }
}

/// `byok.toml`: the same settings as the flags, all optional. Unknown keys are refused, so a
/// typo does not go unnoticed.
///
/// ```toml
/// host = "127.0.0.1"
/// port = 8018
/// client_key = "a-long-random-string"
/// codex_base_url = "https://chatgpt.com/backend-api/codex"
/// codex_client_version = "0.169.0"
/// max_body_mib = 20
/// keep_alive_secs = 15
/// shutdown_grace_secs = 30
/// upstream_idle_timeout_secs = 300
/// log_format = "text"
/// reasoning = "content"
/// client_idle_timeout_secs = 30
/// allowed_hosts = ["byok.home.arpa"]
/// allowed_origins = ["https://app.example.com"]
/// response_store_mib = 256
/// response_store_ttl_secs = 86400
/// state_url = "redis://10.0.0.5:6379/0"
/// state_key = "the same long random string on every instance"
///
/// [aliases]
/// "gpt-4o" = "gpt-5.5"
///
/// [anthropic]
/// opus = "gpt-5.5-high"
/// sonnet = "gpt-5.5-medium"
/// haiku = "gpt-5.5-low"
///
/// [[client_keys]]
/// name = "alice"
/// key = "a-long-random-string-for-alice"
/// models = ["gpt-5.5*"]
/// daily_tokens = 2000000
///
/// [[client_keys]]
/// name = "ci"
/// key_sha256 = "…64 hex digits: printf %s KEY | sha256sum"
/// ```
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileSettings {
    host: Option<String>,
    port: Option<u16>,
    client_key: Option<String>,
    codex_home: Option<PathBuf>,
    openai_base_url: Option<String>,
    codex_base_url: Option<String>,
    codex_client_version: Option<String>,
    auth_issuer: Option<String>,
    max_body_mib: Option<u64>,
    keep_alive_secs: Option<u64>,
    shutdown_grace_secs: Option<u64>,
    upstream_idle_timeout_secs: Option<u64>,
    log_format: Option<LogFormat>,
    reasoning: Option<ReasoningDisplay>,
    client_idle_timeout_secs: Option<u64>,
    allowed_hosts: Option<Vec<String>>,
    allowed_origins: Option<Vec<String>>,
    response_store_mib: Option<u64>,
    response_store_ttl_secs: Option<u64>,
    aliases: Option<BTreeMap<String, String>>,
    #[serde(default)]
    anthropic: FileAnthropic,
    client_keys: Option<Vec<FileClientKey>>,
    state_url: Option<String>,
    state_key: Option<String>,
}

/// One `[[client_keys]]` entry: a name, the key or its SHA-256, and optional limits.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileClientKey {
    name: String,
    key: Option<String>,
    key_sha256: Option<String>,
    models: Option<Vec<String>>,
    daily_tokens: Option<u64>,
}

impl FileClientKey {
    /// The entries as keys, or what is wrong with the first entry that cannot be one (its
    /// number and name): no name, two of one name or key, both or neither of `key` and
    /// `key_sha256`, an empty model list, a zero budget.
    fn resolve(entries: Vec<Self>) -> Result<Vec<ClientKey>, String> {
        let mut keys: Vec<ClientKey> = Vec::with_capacity(entries.len());
        for (i, entry) in entries.into_iter().enumerate() {
            let name = entry.name.trim().to_owned();
            let at = format!("`[[client_keys]]` entry {} (`{name}`)", i + 1);
            if name.is_empty() {
                return Err(format!(
                    "`[[client_keys]]` entry {} has an empty `name`; give each key a name",
                    i + 1
                ));
            }
            if keys.iter().any(|k| k.name() == name) {
                return Err(format!(
                    "{at}: another entry has that name; names must differ"
                ));
            }
            let key = given(entry.key.as_ref());
            let sha = given(entry.key_sha256.as_ref());
            let mut key = match (key, sha) {
                (Some(key), None) => ClientKey::new(name, &Secret::from(key)),
                (None, Some(sha)) => {
                    ClientKey::from_sha256_hex(name, &sha).map_err(|e| format!("{at}: {e}"))?
                }
                (Some(_), Some(_)) => {
                    return Err(format!("{at} has both `key` and `key_sha256`; keep one"));
                }
                (None, None) => {
                    return Err(format!(
                        "{at} has neither `key` nor `key_sha256`; give it one"
                    ));
                }
            };
            if keys.iter().any(|k| k.same_key(&key)) {
                return Err(format!("{at} has the same key as another entry"));
            }
            if let Some(models) = entry.models {
                let models: Vec<String> = models
                    .iter()
                    .map(|m| m.trim().to_owned())
                    .filter(|m| !m.is_empty())
                    .collect();
                if models.is_empty() {
                    return Err(format!(
                        "{at} has an empty `models` list, which would allow no model; list \
                         models or leave `models` out for all"
                    ));
                }
                key = key.with_models(models);
            }
            match entry.daily_tokens {
                Some(0) => {
                    return Err(format!(
                        "{at} has `daily_tokens = 0`; it must be at least 1 (or left out for \
                         no budget)"
                    ));
                }
                Some(tokens) => key = key.with_daily_tokens(tokens),
                None => {}
            }
            keys.push(key);
        }
        Ok(keys)
    }
}

/// `[anthropic]`: which model (or alias, such as `gpt-5.5-high`) answers each Claude family.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileAnthropic {
    opus: Option<String>,
    sonnet: Option<String>,
    haiku: Option<String>,
}

impl FileAnthropic {
    /// Sets the families the file names (an empty value keeps the default).
    fn apply(self, models: &mut ClaudeModels) {
        for (set, given) in [
            (&mut models.opus, self.opus),
            (&mut models.sonnet, self.sonnet),
            (&mut models.haiku, self.haiku),
        ] {
            if let Some(model) = given.filter(|m| !m.trim().is_empty()) {
                model.trim().clone_into(set);
            }
        }
    }
}

impl FileSettings {
    /// Reads the file at `path`; a missing file is no settings, unless it is `required` (named
    /// with `--config`).
    fn load(path: &Path, required: bool) -> Result<Self, CliError> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !required => {
                return Ok(Self::default());
            }
            Err(e) => {
                return Err(CliError::Config {
                    path: path.to_owned(),
                    detail: e.to_string(),
                });
            }
        };
        toml::from_str(&text).map_err(|e| CliError::Config {
            path: path.to_owned(),
            detail: where_in(&text, &e),
        })
    }
}

/// A TOML error as "line L, column C (`key`): what", so the user finds the spot at once.
fn where_in(text: &str, err: &toml::de::Error) -> String {
    let Some(span) = err.span() else {
        return err.message().to_owned();
    };
    let before = &text[..span.start.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |at| at + 1);
    let column = before[line_start..].chars().count() + 1;
    // The key of the line at fault (`port = "x"` -> `port`), when it has one.
    let line_text = text[line_start..].lines().next().unwrap_or_default();
    let key = line_text
        .split_once('=')
        .map(|(key, _)| key.trim().trim_matches('"'))
        .filter(|key| !key.is_empty() && !key.starts_with('['));
    match key {
        Some(key) => format!("line {line}, column {column} (`{key}`): {}", err.message()),
        None => format!("line {line}, column {column}: {}", err.message()),
    }
}

impl FileSettings {
    /// Refuses values that parse but cannot work: a zero duration busy-loops keep-alive
    /// comments or fails every request at once, a zero body limit refuses every request.
    fn check(&self, path: &Path) -> Result<(), CliError> {
        let positive = [
            ("keep_alive_secs", self.keep_alive_secs),
            ("shutdown_grace_secs", self.shutdown_grace_secs),
            (
                "upstream_idle_timeout_secs",
                self.upstream_idle_timeout_secs,
            ),
            ("client_idle_timeout_secs", self.client_idle_timeout_secs),
            ("max_body_mib", self.max_body_mib),
            // (`response_store_mib = 0` is allowed: it turns the store off.)
            ("response_store_ttl_secs", self.response_store_ttl_secs),
        ];
        if let Some((name, _)) = positive.into_iter().find(|(_, value)| *value == Some(0)) {
            return Err(CliError::Config {
                path: path.to_owned(),
                detail: format!(
                    "`{name}` is 0; it must be at least 1 (or left out for the default)"
                ),
            });
        }
        let aliases = self.aliases.iter().flatten();
        if let Some((from, to)) = aliases
            .into_iter()
            .find(|(from, to)| from.trim().is_empty() || to.trim().is_empty())
        {
            return Err(CliError::Config {
                path: path.to_owned(),
                detail: format!(
                    "`[aliases]` maps \"{from}\" to \"{to}\"; both must be model names"
                ),
            });
        }
        Ok(())
    }
}

/// The user's home directory (`$HOME`), or the current directory when it is not set.
fn home_dir() -> PathBuf {
    std::env::var_os("HOME").map_or_else(|| PathBuf::from("."), PathBuf::from)
}

#[cfg(test)]
mod tests {
    use super::*;
    use byok_server::DEFAULT_BODY_LIMIT;

    fn global(home: &Path) -> GlobalArgs {
        GlobalArgs {
            home: Some(home.to_owned()),
            ..GlobalArgs::default()
        }
    }

    #[test]
    fn flags_beat_the_file_which_beats_defaults() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join(CONFIG_FILE),
            "port = 9000\nhost = \"127.0.0.2\"\nclient_key = \"from-file\"\nkeep_alive_secs = 3\n",
        )
        .unwrap();
        let from_file = Settings::resolve(&global(dir.path()), &ServeArgs::default()).unwrap();
        assert_eq!(from_file.port, 9000);
        assert_eq!(from_file.host, "127.0.0.2");
        assert_eq!(from_file.client_key.unwrap().expose(), "from-file");
        assert_eq!(from_file.keep_alive, Duration::from_secs(3));
        assert_eq!(from_file.shutdown_grace, Duration::from_secs(30));
        assert_eq!(from_file.reasoning, ReasoningDisplay::Content);

        let flags = ServeArgs {
            listen: ListenArgs {
                port: Some(9001),
                client_key: Some("from-flag".into()),
                ..ListenArgs::default()
            },
            ..ServeArgs::default()
        };
        let from_flags = Settings::resolve(&global(dir.path()), &flags).unwrap();
        assert_eq!(from_flags.port, 9001);
        assert_eq!(from_flags.host, "127.0.0.2");
        assert_eq!(from_flags.client_key.unwrap().expose(), "from-flag");
    }

    #[test]
    fn client_keys_that_cannot_work_are_refused_naming_the_entry() {
        let dir = tempfile::tempdir().unwrap();
        let entry = |body: &str| format!("[[client_keys]]\nname = \"a\"\nkey = \"ka\"\n{body}");
        for (config, expected) in [
            (
                entry("\n[[client_keys]]\nname = \"a\"\nkey = \"kb\"\n"),
                "entry 2 (`a`): another entry has that name",
            ),
            (
                entry("\n[[client_keys]]\nname = \"b\"\nkey = \"ka\"\n"),
                "entry 2 (`b`) has the same key as another entry",
            ),
            (
                "[[client_keys]]\nname = \"a\"\nkey_sha256 = \"abc\"\n".to_owned(),
                "entry 1 (`a`): `key_sha256` must be 64 hex digits",
            ),
            (
                "[[client_keys]]\nname = \"a\"\n".to_owned(),
                "has neither `key` nor `key_sha256`",
            ),
            (
                "[[client_keys]]\nname = \" \"\nkey = \"k\"\n".to_owned(),
                "entry 1 has an empty `name`",
            ),
            (entry("daily_tokens = 0\n"), "has `daily_tokens = 0`"),
            (entry("models = []\n"), "has an empty `models` list"),
            (entry("budget = 5\n"), "unknown field `budget`"),
            (
                format!(
                    "client_key = \"k\"\n{}",
                    entry("").replace("\"a\"", "\"default\"")
                ),
                "named `default`, the name of the single `client_key`",
            ),
        ] {
            std::fs::write(dir.path().join(CONFIG_FILE), &config).unwrap();
            let err = Settings::resolve(&global(dir.path()), &ServeArgs::default())
                .expect_err(&config)
                .to_string();
            assert!(err.contains(expected), "{config}\n{err}");
        }

        std::fs::write(
            dir.path().join(CONFIG_FILE),
            entry("models = [\"gpt-5.5\"]\ndaily_tokens = 10\n"),
        )
        .unwrap();
        let settings = Settings::resolve(&global(dir.path()), &ServeArgs::default()).unwrap();
        let key = &settings.client_keys[0];
        assert_eq!(
            (key.name(), key.models(), key.daily_tokens()),
            ("a", Some(&["gpt-5.5".to_owned()][..]), Some(10))
        );
        // `byok status` can ask the running server with this key.
        assert_eq!(settings.status_key.unwrap().expose(), "ka");
    }

    #[test]
    fn the_response_store_is_sized_and_timed_from_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let defaults = Settings::resolve(&global(dir.path()), &ServeArgs::default()).unwrap();
        assert_eq!(defaults.response_store_bytes, 256 * 1024 * 1024);
        assert_eq!(defaults.response_store_ttl, Duration::from_secs(86_400));
        std::fs::write(
            dir.path().join(CONFIG_FILE),
            "response_store_mib = 8\nresponse_store_ttl_secs = 600\n",
        )
        .unwrap();
        let set = Settings::resolve(&global(dir.path()), &ServeArgs::default()).unwrap();
        assert_eq!(set.response_store_bytes, 8 * 1024 * 1024);
        assert_eq!(set.response_store_ttl, Duration::from_secs(600));
    }

    #[test]
    fn the_codex_client_version_comes_from_the_flag_or_the_file_and_is_checked() {
        let dir = tempfile::tempdir().unwrap();
        let defaults = Settings::resolve(&global(dir.path()), &ServeArgs::default()).unwrap();
        assert_eq!(defaults.codex_client_version, "0.169.0");
        std::fs::write(
            dir.path().join(CONFIG_FILE),
            "codex_client_version = \"0.171.2\"\n",
        )
        .unwrap();
        let from_file = Settings::resolve(&global(dir.path()), &ServeArgs::default()).unwrap();
        assert_eq!(from_file.codex_client_version, "0.171.2");
        let flag = GlobalArgs {
            codex_client_version: Some("0.180.0".into()),
            ..global(dir.path())
        };
        let from_flag = Settings::resolve(&flag, &ServeArgs::default()).unwrap();
        assert_eq!(from_flag.codex_client_version, "0.180.0");

        std::fs::write(
            dir.path().join(CONFIG_FILE),
            "codex_client_version = \"latest\"\n",
        )
        .unwrap();
        let err = Settings::resolve(&global(dir.path()), &ServeArgs::default()).unwrap_err();
        let message = err.to_string();
        assert!(message.contains("byok.toml"), "{message}");
        assert!(
            message.contains("`latest` is not a Codex CLI version"),
            "{message}"
        );
    }

    #[test]
    fn the_anthropic_table_maps_claude_families() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join(CONFIG_FILE),
            "[anthropic]\nopus = \"gpt-5.5-xhigh\"\nhaiku = \" \"\n",
        )
        .unwrap();
        let settings = Settings::resolve(&global(dir.path()), &ServeArgs::default()).unwrap();
        let defaults = ClaudeModels::default();
        assert_eq!(settings.anthropic.opus, "gpt-5.5-xhigh");
        assert_eq!(settings.anthropic.sonnet, defaults.sonnet);
        assert_eq!(
            settings.anthropic.haiku, defaults.haiku,
            "empty keeps the default"
        );
        std::fs::write(dir.path().join(CONFIG_FILE), "[anthropic]\nsonet = \"x\"\n").unwrap();
        let typo = Settings::resolve(&global(dir.path()), &ServeArgs::default()).unwrap_err();
        assert!(typo.to_string().contains("sonet"), "{typo}");
    }

    #[test]
    fn without_a_file_the_defaults_apply() {
        let dir = tempfile::tempdir().unwrap();
        let settings = Settings::resolve(&global(dir.path()), &ServeArgs::default()).unwrap();
        assert_eq!((settings.host.as_str(), settings.port), ("127.0.0.1", 8018));
        assert!(settings.client_key.is_none() && settings.openai_api_key.is_none());
        assert_eq!(settings.body_limit, DEFAULT_BODY_LIMIT);
    }

    #[test]
    fn config_names_another_file_which_must_exist() {
        let dir = tempfile::tempdir().unwrap();
        let other = dir.path().join("elsewhere.toml");
        std::fs::write(&other, "port = 9100\nlog_format = \"json\"\n").unwrap();
        std::fs::write(dir.path().join(CONFIG_FILE), "port = 9000\n").unwrap();
        let args = GlobalArgs {
            config: Some(other.clone()),
            ..global(dir.path())
        };
        let settings = Settings::resolve(&args, &ServeArgs::default()).unwrap();
        assert_eq!(settings.port, 9100);
        assert_eq!(settings.log_format, LogFormat::Json);
        let flag = GlobalArgs {
            log_format: Some(LogFormat::Text),
            ..args
        };
        let settings = Settings::resolve(&flag, &ServeArgs::default()).unwrap();
        assert_eq!(settings.log_format, LogFormat::Text);
        let missing = GlobalArgs {
            config: Some(dir.path().join("missing.toml")),
            ..global(dir.path())
        };
        let err = Settings::resolve(&missing, &ServeArgs::default()).unwrap_err();
        assert!(err.to_string().contains("missing.toml"), "{err}");
    }

    #[test]
    fn file_errors_say_line_column_and_key() {
        let dir = tempfile::tempdir().unwrap();
        let cases = [
            (
                "host = \"127.0.0.1\"\nport = \"eighty\"\n",
                "line 2, column 8 (`port`)",
            ),
            ("port = 8018\nhost = [\n", "line 2"),
            ("keep_alive_secs = -1\n", "(`keep_alive_secs`)"),
        ];
        for (text, want) in cases {
            std::fs::write(dir.path().join(CONFIG_FILE), text).unwrap();
            let err = Settings::resolve(&global(dir.path()), &ServeArgs::default()).unwrap_err();
            let message = err.to_string();
            assert!(
                message.contains("byok.toml") && message.contains(want),
                "{text:?}: {message}"
            );
        }
    }

    /// The README's "every key" example, its commented-out keys included, is a valid file.
    #[test]
    fn the_readme_example_byok_toml_is_valid() {
        let readme = include_str!("../../../README.md");
        let start = readme
            .find("Every key of `byok.toml`")
            .expect("the README has the example");
        let block = readme[start..]
            .split("```toml\n")
            .nth(1)
            .and_then(|rest| rest.split("```").next())
            .expect("a toml block follows");
        let uncommented = block
            .lines()
            .map(|line| {
                let line = line.strip_prefix("# ").unwrap_or(line);
                line.split("  #").next().unwrap_or(line)
            })
            .collect::<Vec<_>>()
            .join("\n");
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(CONFIG_FILE), &uncommented).unwrap();
        let settings = Settings::resolve(&global(dir.path()), &ServeArgs::default())
            .unwrap_or_else(|e| panic!("{e}\n{uncommented}"));
        assert_eq!(settings.port, DEFAULT_PORT);
        assert_eq!(settings.aliases["gpt-4o"], "gpt-5.5");
        assert_eq!(settings.anthropic, ClaudeModels::default());
        // Every key of the file is in the example.
        for key in [
            "host",
            "port",
            "client_key",
            "codex_home",
            "openai_base_url",
            "codex_base_url",
            "auth_issuer",
            "max_body_mib",
            "keep_alive_secs",
            "shutdown_grace_secs",
            "upstream_idle_timeout_secs",
            "client_idle_timeout_secs",
            "log_format",
            "reasoning",
            "allowed_hosts",
            "allowed_origins",
            "response_store_mib",
            "response_store_ttl_secs",
            "[aliases]",
            "[anthropic]",
        ] {
            assert!(
                uncommented.contains(key),
                "the README's example lacks {key}"
            );
        }
    }

    #[test]
    fn aliases_come_from_the_file_and_the_flags_and_a_flag_wins() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join(CONFIG_FILE),
            "[aliases]\n\"gpt-4o\" = \"gpt-5.5\"\n\"gpt-4o-mini\" = \"gpt-5.4-mini\"\n",
        )
        .unwrap();
        let flags = ServeArgs {
            upstream: UpstreamArgs {
                aliases: vec![("gpt-4o-mini".into(), "gpt-5.5-mini".into())],
                ..UpstreamArgs::default()
            },
            ..ServeArgs::default()
        };
        let settings = Settings::resolve(&global(dir.path()), &flags).unwrap();
        assert_eq!(settings.aliases["gpt-4o"], "gpt-5.5");
        assert_eq!(settings.aliases["gpt-4o-mini"], "gpt-5.5-mini");

        std::fs::write(
            dir.path().join(CONFIG_FILE),
            "[aliases]\n\"gpt-4o\" = \"\"\n",
        )
        .unwrap();
        let err = Settings::resolve(&global(dir.path()), &ServeArgs::default()).unwrap_err();
        assert!(err.to_string().contains("[aliases]"), "{err}");
    }

    #[test]
    fn a_typo_in_the_file_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(CONFIG_FILE), "prot = 9000\n").unwrap();
        let err = Settings::resolve(&global(dir.path()), &ServeArgs::default()).unwrap_err();
        let message = err.to_string();
        assert!(
            message.contains("byok.toml") && message.contains("prot"),
            "{message}"
        );
    }

    #[test]
    fn a_blank_flag_or_variable_counts_as_unset_and_the_file_applies() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join(CONFIG_FILE),
            "client_key = \"from-file\"\ncodex_base_url = \"http://127.0.0.1:9/file\"\n\
             host = \"127.0.0.2\"\ncodex_home = \"/from/file\"\n\
             allowed_hosts = [\"byok.home.arpa\"]\n",
        )
        .unwrap();
        // What clap hands over for `BYOK_CLIENT_KEY=` and the like when it reads them.
        let global = GlobalArgs {
            codex_home: Some(PathBuf::new()),
            auth_issuer: Some(" ".into()),
            openai_api_key: Some(String::new()),
            ..global(dir.path())
        };
        let serve = ServeArgs {
            listen: ListenArgs {
                host: Some(String::new()),
                client_key: Some(String::new()),
                port: None,
            },
            upstream: UpstreamArgs {
                codex_base_url: Some("  ".into()),
                ..UpstreamArgs::default()
            },
            allowed_hosts: vec![String::new()],
            ..ServeArgs::default()
        };
        let settings = Settings::resolve(&global, &serve).unwrap();
        assert_eq!(settings.client_key.unwrap().expose(), "from-file");
        assert_eq!(
            settings.codex_base_url.as_deref(),
            Some("http://127.0.0.1:9/file")
        );
        assert_eq!(settings.host, "127.0.0.2");
        assert_eq!(settings.codex_home, PathBuf::from("/from/file"));
        assert_eq!(settings.auth_issuer, None);
        assert!(settings.openai_api_key.is_none());
        assert_eq!(settings.allowed_hosts, ["byok.home.arpa"]);

        let blank_home = GlobalArgs {
            home: Some(PathBuf::new()),
            ..GlobalArgs::default()
        };
        let settings = Settings::resolve(&blank_home, &ServeArgs::default()).unwrap();
        assert_eq!(settings.home, home_dir().join(".byok"));
    }

    #[test]
    fn allowed_hosts_and_origins_come_from_the_flags_or_the_file() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join(CONFIG_FILE),
            "allowed_origins = [\"https://app.example.com\"]\n",
        )
        .unwrap();
        let from_file = Settings::resolve(&global(dir.path()), &ServeArgs::default()).unwrap();
        assert_eq!(from_file.allowed_origins, ["https://app.example.com"]);
        let flags = ServeArgs {
            allowed_origins: vec![
                " http://a.test ".into(),
                String::new(),
                "http://b.test".into(),
            ],
            allowed_hosts: vec!["byok.lan".into()],
            ..ServeArgs::default()
        };
        let config = Settings::resolve(&global(dir.path()), &flags)
            .unwrap()
            .server_config(&Metrics::default());
        assert_eq!(config.allowed_origins, ["http://a.test", "http://b.test"]);
        assert_eq!(config.allowed_hosts, ["byok.lan"]);
    }

    #[test]
    fn zero_durations_and_limits_are_refused_naming_the_setting() {
        for name in [
            "keep_alive_secs",
            "shutdown_grace_secs",
            "upstream_idle_timeout_secs",
            "client_idle_timeout_secs",
            "max_body_mib",
        ] {
            let dir = tempfile::tempdir().unwrap();
            std::fs::write(dir.path().join(CONFIG_FILE), format!("{name} = 0\n")).unwrap();
            let err = Settings::resolve(&global(dir.path()), &ServeArgs::default()).unwrap_err();
            let message = err.to_string();
            assert!(
                message.contains(name) && message.contains("byok.toml"),
                "{message}"
            );
        }
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(CONFIG_FILE), "keep_alive_secs = 1\n").unwrap();
        assert!(Settings::resolve(&global(dir.path()), &ServeArgs::default()).is_ok());
    }
}

//! The command line, as clap parses it.
//!
//! The doc comments below are the `--help` text, read in a terminal: markdown would show as is.
#![allow(clippy::doc_markdown, rustdoc::bare_urls)]

use std::path::PathBuf;

use clap::error::{ContextKind, ContextValue, ErrorKind};
use clap::{Args, CommandFactory as _, FromArgMatches as _, Parser, Subcommand};

/// Parses the process's command line, or prints the error and exits (as `Cli::parse` does).
///
/// A bad value that came from an environment variable is reported under the variable's name
/// (`BYOK_PORT`), not the flag's: the user never typed `--port`. An empty (or blank)
/// environment variable counts as unset: `BYOK_CLIENT_KEY=` must not switch off the
/// `client_key` of byok.toml, nor `BYOK_PORT=` stop byok with "invalid value ''".
pub fn parse() -> Cli {
    let parsed = command_ignoring_empty_env(Cli::command())
        .try_get_matches()
        .and_then(|matches| Cli::from_arg_matches(&matches));
    parsed.unwrap_or_else(|err| {
        let args: Vec<String> = std::env::args().collect();
        name_the_env_var(err, &args, |name| std::env::var_os(name).is_some()).exit()
    })
}

/// `err` reworded to name the environment variable its bad value came from, when the flag at
/// fault is not among `args` but its variable is set (`is_set`).
fn name_the_env_var(
    err: clap::Error,
    args: &[String],
    is_set: impl Fn(&str) -> bool,
) -> clap::Error {
    if !matches!(
        err.kind(),
        ErrorKind::ValueValidation | ErrorKind::InvalidValue
    ) {
        return err;
    }
    let Some(ContextValue::String(arg)) = err.get(ContextKind::InvalidArg) else {
        return err;
    };
    let arg = arg.clone();
    let flag = arg.split_whitespace().next().unwrap_or_default().to_owned();
    let typed = args.iter().any(|a| {
        *a == flag
            || a.strip_prefix(&flag)
                .is_some_and(|rest| rest.starts_with('='))
    });
    let env = flag
        .strip_prefix("--")
        .and_then(|long| env_of(&Cli::command(), long));
    match env {
        Some(env) if !typed && is_set(&env) => {
            let text = err.render().to_string();
            let text = text.strip_prefix("error: ").unwrap_or(&text);
            let text = text.replace(
                &format!("for '{arg}'"),
                &format!("in the environment variable {env} (read for {flag})"),
            );
            clap::Error::raw(err.kind(), text)
        }
        _ => err,
    }
}

/// The environment variable behind the long flag `long`, in `command` or its subcommands.
fn env_of(command: &clap::Command, long: &str) -> Option<String> {
    command
        .get_arguments()
        .find(|a| a.get_long() == Some(long))
        .and_then(|a| a.get_env())
        .map(|env| env.to_string_lossy().into_owned())
        .or_else(|| command.get_subcommands().find_map(|sub| env_of(sub, long)))
}

/// The `byok` command line.
#[derive(Debug, Parser)]
#[command(
    name = "byok",
    version,
    about = "Your OpenAI account as a local OpenAI-compatible API.",
    long_about = "byok (bring your own key) serves a standard OpenAI-compatible API on your own \
machine, backed by your OpenAI API key or your ChatGPT subscription (the same sign-in as the \
Codex CLI). Point any OpenAI client at http://127.0.0.1:8018/v1.\n\n\
Quick start:\n  byok login          sign in with ChatGPT (or: byok import-codex-cli, or set OPENAI_API_KEY)\n  \
byok serve          start the API on http://127.0.0.1:8018/v1\n\n\
State lives in BYOK_HOME (default ~/.byok): credentials.json (mode 0600), ratelimits.json and \
an optional byok.toml with the same settings as the flags. Settings apply in this order: \
flags, then environment variables, then byok.toml, then defaults.",
    after_help = "Environment: OPENAI_API_KEY, BYOK_HOME, CODEX_HOME, BYOK_HOST, BYOK_PORT, \
BYOK_CLIENT_KEY, BYOK_OPENAI_BASE_URL, BYOK_CODEX_BASE_URL, BYOK_AUTH_ISSUER, BYOK_CONFIG, \
BYOK_LOG_FORMAT, BYOK_CODEX_CLIENT_VERSION, BYOK_ALLOWED_HOSTS, BYOK_ALLOWED_ORIGINS, RUST_LOG (log level, default info). \
An empty environment variable counts as unset.\nRun `byok <command> --help` for details of \
each command."
)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
    /// Settings every command shares.
    #[command(flatten)]
    pub global: GlobalArgs,
}

/// `command` and its subcommands, with every argument whose environment variable is set but
/// blank no longer reading it (clap would take the empty string as the value).
fn command_ignoring_empty_env(command: clap::Command) -> clap::Command {
    command
        .mut_args(|arg| {
            let blank = arg.get_env().is_some_and(|name| {
                std::env::var_os(name).is_some_and(|v| v.to_string_lossy().trim().is_empty())
            });
            if blank { arg.env(None::<&str>) } else { arg }
        })
        .mut_subcommands(command_ignoring_empty_env)
}

/// Where byok and the Codex CLI keep their state, and where sign-ins go.
#[derive(Clone, Debug, Default, Args)]
pub struct GlobalArgs {
    /// Where byok keeps its state: credentials.json, ratelimits.json, byok.toml.
    /// [default: ~/.byok]
    #[arg(long, global = true, env = "BYOK_HOME", value_name = "DIR")]
    pub home: Option<PathBuf>,
    /// Where the Codex CLI keeps its auth.json. [default: ~/.codex]
    #[arg(long, global = true, env = "CODEX_HOME", value_name = "DIR")]
    pub codex_home: Option<PathBuf>,
    /// The ChatGPT sign-in server. [default: https://auth.openai.com]
    #[arg(long, global = true, env = "BYOK_AUTH_ISSUER", value_name = "URL")]
    pub auth_issuer: Option<String>,
    /// Read the settings file from PATH instead of BYOK_HOME/byok.toml (it must exist).
    #[arg(long, global = true, env = "BYOK_CONFIG", value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// How log lines are written to stderr: `text` (for people) or `json` (one object a line,
    /// for log collectors). [default: text]
    #[arg(
        long,
        global = true,
        env = "BYOK_LOG_FORMAT",
        value_enum,
        value_name = "FORMAT"
    )]
    pub log_format: Option<LogFormat>,
    /// The Codex CLI version byok presents to the ChatGPT backend (its `version` header and
    /// user agent). The backend serves some models only to recent versions: raise this to
    /// follow it without a new byok. [default: 0.169.0]
    #[arg(
        long,
        global = true,
        env = "BYOK_CODEX_CLIENT_VERSION",
        value_name = "VERSION"
    )]
    pub codex_client_version: Option<String>,
    /// Use this OpenAI API key (API-key mode) rather than a ChatGPT sign-in.
    #[arg(
        long,
        global = true,
        env = "OPENAI_API_KEY",
        hide_env_values = true,
        value_name = "KEY"
    )]
    pub openai_api_key: Option<String>,
}

/// How log lines are written.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Plain text lines, coloured at a terminal.
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

/// Where reasoning summaries go in Chat answers (the `reasoning` setting).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ReasoningDisplay {
    /// In `reasoning_content`, next to `content` (what most clients understand).
    #[default]
    Content,
    /// Inside `content`, between `<think>` and `</think>`.
    ThinkTags,
    /// Not sent.
    Hidden,
}

impl From<ReasoningDisplay> for byok_executor::ReasoningMode {
    fn from(display: ReasoningDisplay) -> Self {
        match display {
            ReasoningDisplay::Content => Self::ReasoningContent,
            ReasoningDisplay::ThinkTags => Self::ThinkTags,
            ReasoningDisplay::Hidden => Self::Hidden,
        }
    }
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the OpenAI-compatible API (default http://127.0.0.1:8018/v1).
    ///
    /// Credentials are taken in this order, and the one in use is said at start-up:
    /// OPENAI_API_KEY (the OpenAI API); byok's own ChatGPT sign-ins (`byok login`); the Codex
    /// CLI's auth.json in CODEX_HOME, used in place. With none, the server still starts and
    /// answers requests with 401 and how to sign in.
    Serve(ServeArgs),
    /// Sign in with your ChatGPT account (opens a browser; `--device` for a code instead).
    ///
    /// The tokens are saved in BYOK_HOME/credentials.json (mode 0600), under the account's
    /// email. Sign in several accounts to have `byok serve` use them in turn.
    Login(LoginArgs),
    /// Remove a ChatGPT sign-in from byok (the active one, or `--account NAME`).
    Logout(LogoutArgs),
    /// Show the signed-in accounts, their plan, token expiry and rate-limit figures: live
    /// from the running `byok serve` (asked at --host/--port with the client key) when one
    /// answers, else the figures it saved last.
    Status(StatusArgs),
    /// Take the tokens of an existing Codex CLI sign-in (CODEX_HOME/auth.json) into byok.
    ///
    /// Refresh tokens rotate: after byok's first refresh the Codex CLI's copy stops working.
    /// To share one sign-in with the Codex CLI instead, skip this: `byok serve` uses auth.json
    /// in place when byok has no sign-in of its own.
    ImportCodexCli(ImportArgs),
    /// List the model ids `byok serve` accepts with the current credentials.
    ///
    /// Each signed-in account's catalog is asked where `byok serve` asks it, and the aliases
    /// it accepts are listed: both take the same upstream and alias settings.
    Models(ModelsArgs),
    /// Print a shell completion script for `byok` (bash, zsh, fish, elvish, powershell).
    ///
    /// For example: `byok completions bash > ~/.local/share/bash-completion/completions/byok`,
    /// or `byok completions zsh > "${fpath[1]}/_byok"`, or
    /// `byok completions fish > ~/.config/fish/completions/byok.fish`.
    Completions(CompletionsArgs),
}

/// `byok completions`.
#[derive(Clone, Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to print the completion script for.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// `byok serve`.
#[derive(Clone, Debug, Default, Args)]
pub struct ServeArgs {
    /// Where it listens and the key clients send.
    #[command(flatten)]
    pub listen: ListenArgs,
    /// Where the upstreams are and the model names clients may use.
    #[command(flatten)]
    pub upstream: UpstreamArgs,
    /// Where reasoning summaries go in Chat answers: `content` (a `reasoning_content` field),
    /// `think-tags` (inside the content, between <think> and </think>) or `hidden`.
    /// A request's `x-byok-reasoning` header overrides it. [default: content]
    #[arg(long, env = "BYOK_REASONING", value_enum, value_name = "DISPLAY")]
    pub reasoning: Option<ReasoningDisplay>,
    /// More `Host` names to serve besides localhost, *.localhost, 127.0.0.1, ::1 and the
    /// listening address (comma-separated; a name, or name:port). Requests naming any other
    /// host are refused, so a web page cannot reach byok through DNS rebinding.
    #[arg(
        long,
        env = "BYOK_ALLOWED_HOSTS",
        value_name = "HOSTS",
        value_delimiter = ','
    )]
    pub allowed_hosts: Vec<String>,
    /// Web origins allowed to call byok from a browser besides loopback ones
    /// (comma-separated, e.g. https://app.example.com). Requests from any other page are
    /// refused.
    #[arg(
        long,
        env = "BYOK_ALLOWED_ORIGINS",
        value_name = "ORIGINS",
        value_delimiter = ','
    )]
    pub allowed_origins: Vec<String>,
    /// A Redis that several byok instances share (`redis://HOST:PORT/DB`): the accounts and
    /// their refresh, stored responses, client keys' usage, account rests, which account
    /// serves each conversation, the rate-limit figures and the model catalogs then hold for
    /// the whole team.
    /// Needs `state_key`.
    /// Without it byok keeps its state in memory and $BYOK_HOME, as one instance.
    #[arg(long, env = "BYOK_STATE_URL", value_name = "URL")]
    pub state_url: Option<String>,
    /// The key that seals what byok writes to Redis (at least 16 characters, the same on every
    /// instance, e.g. `openssl rand -hex 32`); byok does not start with `--state-url` without it.
    #[arg(
        long,
        env = "BYOK_STATE_KEY",
        hide_env_values = true,
        value_name = "KEY"
    )]
    pub state_key: Option<String>,
}

/// Where byok's upstreams are and the model names clients may use for others: `serve` is told
/// them, and `models` asks the same catalogs with them and lists the same names.
#[derive(Clone, Debug, Default, Args)]
pub struct UpstreamArgs {
    /// The OpenAI API's address in API-key mode. [default: https://api.openai.com]
    #[arg(long, env = "BYOK_OPENAI_BASE_URL", value_name = "URL")]
    pub openai_base_url: Option<String>,
    /// The Codex backend's address in ChatGPT mode.
    /// [default: https://chatgpt.com/backend-api/codex]
    #[arg(long, env = "BYOK_CODEX_BASE_URL", value_name = "URL")]
    pub codex_base_url: Option<String>,
    /// A model name clients may use for another, as FROM=TO (repeat it, or comma-separate
    /// them in the variable), e.g. `--alias gpt-4o=gpt-5.5`: a client asking for gpt-4o is
    /// served by gpt-5.5 and its answer says gpt-4o. Added to byok.toml's `[aliases]`;
    /// a FROM given here wins.
    #[arg(
        long = "alias",
        env = "BYOK_ALIASES",
        value_name = "FROM=TO",
        value_delimiter = ',',
        value_parser = parse_alias
    )]
    pub aliases: Vec<(String, String)>,
}

/// `FROM=TO`, both sides non-empty.
fn parse_alias(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((from, to)) if !from.trim().is_empty() && !to.trim().is_empty() => {
            Ok((from.trim().to_owned(), to.trim().to_owned()))
        }
        _ => Err(format!(
            "`{text}` is not FROM=TO (a model name, `=`, the model that serves it)"
        )),
    }
}

/// `byok status`: where the running server listens, as `byok serve` was told.
#[derive(Clone, Debug, Default, Args)]
pub struct StatusArgs {
    /// Where the running server listens and the key it wants, as `byok serve` was told.
    #[command(flatten)]
    pub listen: ListenArgs,
}

impl From<&StatusArgs> for ServeArgs {
    fn from(args: &StatusArgs) -> Self {
        Self {
            listen: args.listen.clone(),
            ..Self::default()
        }
    }
}

/// `byok models`: the upstreams and aliases, as `byok serve` is told them.
#[derive(Clone, Debug, Default, Args)]
pub struct ModelsArgs {
    /// Where the upstreams are and the model names clients may use, as for `byok serve`.
    #[command(flatten)]
    pub upstream: UpstreamArgs,
}

impl From<&ModelsArgs> for ServeArgs {
    fn from(args: &ModelsArgs) -> Self {
        Self {
            upstream: args.upstream.clone(),
            ..Self::default()
        }
    }
}

/// Where `byok serve` listens and the key its clients send: `serve` is told them, `status`
/// finds the running server with them.
#[derive(Clone, Debug, Default, Args)]
pub struct ListenArgs {
    /// The address `byok serve` listens on; anything but loopback needs `--client-key`.
    /// [default: 127.0.0.1]
    #[arg(long, env = "BYOK_HOST")]
    pub host: Option<String>,
    /// The port `byok serve` listens on (0 picks a free one). [default: 8018]
    #[arg(long, env = "BYOK_PORT")]
    pub port: Option<u16>,
    /// A key clients must send as `Authorization: Bearer KEY` (their SDK's api_key); `byok
    /// status` sends it too.
    #[arg(
        long,
        env = "BYOK_CLIENT_KEY",
        hide_env_values = true,
        value_name = "KEY"
    )]
    pub client_key: Option<String>,
}

/// `byok login`.
#[derive(Clone, Debug, Default, Args)]
pub struct LoginArgs {
    /// Sign in with a code typed on another device, for machines without a browser.
    #[arg(long)]
    pub device: bool,
    /// Print the sign-in address without trying to open a browser.
    #[arg(long)]
    pub no_browser: bool,
}

/// `byok logout`.
#[derive(Clone, Debug, Default, Args)]
pub struct LogoutArgs {
    /// The account to remove (as `byok status` lists it). [default: the active one]
    #[arg(long, value_name = "NAME")]
    pub account: Option<String>,
}

/// `byok import-codex-cli`.
#[derive(Clone, Debug, Default, Args)]
pub struct ImportArgs {
    /// The Codex CLI's auth.json, or the directory holding it. [default: CODEX_HOME/auth.json]
    #[arg(long, value_name = "PATH")]
    pub from: Option<PathBuf>,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The error of `byok serve --port eighty`, reworded as if the user typed `typed`.
    fn port_error(typed: &[&str], env_set: bool) -> String {
        let err = Cli::try_parse_from(["byok", "serve", "--port", "eighty"]).unwrap_err();
        let typed: Vec<String> = typed.iter().map(|a| (*a).to_owned()).collect();
        name_the_env_var(err, &typed, |name| env_set && name == "BYOK_PORT")
            .render()
            .to_string()
    }

    #[test]
    fn a_bad_value_from_the_environment_names_the_variable() {
        let from_env = port_error(&["byok", "serve"], true);
        assert!(
            from_env.contains("'eighty' in the environment variable BYOK_PORT (read for --port)"),
            "{from_env}"
        );
        for typed in [
            &["byok", "serve", "--port", "eighty"][..],
            &["byok", "serve", "--port=eighty"],
        ] {
            let from_flag = port_error(typed, true);
            assert!(from_flag.contains("'--port <PORT>'"), "{from_flag}");
        }
        assert!(!port_error(&["byok", "serve"], false).contains("BYOK_PORT"));
    }
}

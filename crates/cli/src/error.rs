//! What can stop a `byok` command, each with what to do about it.

use std::path::PathBuf;

use byok_auth::AuthError;
use byok_server::ServeError;
use byok_types::ByokError;

/// An error of the `byok` command.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CliError {
    /// A settings file (`byok.toml`, `ratelimits.json`) cannot be read.
    #[error("{path} is not valid: {detail}; fix or remove it")]
    Config {
        /// The file.
        path: PathBuf,
        /// What the parser said.
        detail: String,
    },
    /// A file of byok's could not be read or written.
    #[error("cannot read or write {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// The server cannot listen where asked.
    #[error("cannot listen on {addr}: {detail}")]
    Listen {
        /// The address asked for.
        addr: String,
        /// Why.
        detail: String,
    },
    /// `byok logout --account` named an account byok does not have.
    #[error("no account named `{name}` in {path}: `byok status` lists the signed-in accounts")]
    UnknownAccount {
        /// The name given.
        name: String,
        /// The credentials file.
        path: String,
    },
    /// Signing in, or reading the credentials, failed.
    #[error(transparent)]
    Auth(#[from] AuthError),
    /// The server could not start or failed.
    #[error(transparent)]
    Serve(#[from] ServeError),
    /// The shared state (Redis) cannot be used.
    #[error(transparent)]
    State(#[from] byok_state::StateError),
    /// The upstream client could not be built.
    #[error(transparent)]
    Upstream(#[from] ByokError),
}

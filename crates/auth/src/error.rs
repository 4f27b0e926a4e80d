//! What can go wrong while signing in, storing or refreshing tokens, and what to do about it.

use std::path::PathBuf;
use std::time::Duration;

use byok_types::ByokError;

/// Why the issuer refused a refresh token: every case means signing in again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RefreshRejection {
    /// `refresh_token_expired`: the sign-in is too old.
    Expired,
    /// `refresh_token_reused`: another program (often a second copy of the tokens) used it first.
    Reused,
    /// `refresh_token_invalidated`: the sign-in was revoked (signed out elsewhere, password change).
    Invalidated,
    /// HTTP 401 without one of the codes above.
    Unauthorized,
}

impl std::fmt::Display for RefreshRejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Expired => "the refresh token has expired",
            Self::Reused => {
                "the refresh token was already used, probably by another program holding a copy of it"
            }
            Self::Invalidated => "the refresh token was revoked",
            Self::Unauthorized => "the sign-in server refused the refresh token",
        })
    }
}

/// An error of byok-auth. Every message says what went wrong and what to do next.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// The store holds no account at all.
    #[error(
        "not signed in to ChatGPT (no account in {store}): sign in with `byok login`, or take the Codex CLI's sign-in with `byok import-codex-cli`"
    )]
    NotSignedIn {
        /// The store that was searched ([`crate::TokenStore::describe`]).
        store: String,
    },
    /// The store holds no account of that name.
    #[error(
        "no ChatGPT account named `{account}` in {store}: see `byok status` for the signed-in accounts, or sign in with `byok login`"
    )]
    UnknownAccount {
        /// The name asked for.
        account: String,
        /// The store that was searched.
        store: String,
    },
    /// The issuer refused the refresh token: only a new sign-in helps.
    #[error(
        "the ChatGPT sign-in of `{account}` has ended ({reason}): sign in again with `{command}`"
    )]
    SignInAgain {
        /// The account whose refresh failed, as `byok serve` announced it.
        account: String,
        /// Why the issuer refused.
        reason: RefreshRejection,
        /// What signs it in again: `byok login` for byok's own sign-in, `codex login` for the
        /// Codex CLI's used in place ([`crate::TokenStore::sign_in_command`]).
        command: &'static str,
    },
    /// The backend refused the account's token although it was just refreshed: the sign-in
    /// itself no longer works (revoked, signed out elsewhere, the plan ended).
    #[error(
        "the Codex backend refuses the ChatGPT sign-in of `{account}` even with a freshly refreshed token: sign in again with `{command}`"
    )]
    RefusedAfterRefresh {
        /// The account, as `byok serve` announced it ([`crate::TokenStore::label`]).
        account: String,
        /// What signs it in again ([`crate::TokenStore::sign_in_command`]).
        command: &'static str,
    },
    /// The Codex CLI's `auth.json` is missing or holds no ChatGPT tokens.
    #[error(
        "no Codex CLI ChatGPT sign-in in {path}: sign in with `codex login` first (if the Codex CLI keeps its tokens in the OS keyring, set `cli_auth_credentials_store = \"file\"` in its config.toml and sign in again), point `CODEX_HOME` or `--from` at the right place, or use `byok login`"
    )]
    CodexCliMissing {
        /// The `auth.json` that was looked for.
        path: PathBuf,
    },
    /// A credentials file exists but cannot be read as one. byok never overwrites it.
    #[error(
        "{path} is not a valid credentials file ({detail}): byok leaves it untouched; fix it, or move it away and sign in again with `byok login`"
    )]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What the parser said (never the file's content).
        detail: String,
    },
    /// Reading or writing a credentials file failed.
    #[error("cannot {action} {path}: {source}; check that the directory exists and is writable")]
    Io {
        /// `read`, `write`, ...
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// The token store a team of instances shares (Redis) failed, and this instance knows
    /// no tokens of its own to go on with.
    #[error("the shared token store ({at}) failed: {detail}")]
    SharedStore {
        /// Where it is (never a password).
        at: String,
        /// What failed.
        detail: String,
    },
    /// The issuer could not be reached.
    #[error(
        "cannot reach the sign-in server at {url} ({detail}): check the network, or `BYOK_AUTH_ISSUER`"
    )]
    Unreachable {
        /// The URL called.
        url: String,
        /// The transport error.
        detail: String,
    },
    /// The issuer answered with an unexpected error status.
    #[error("the sign-in server answered HTTP {status} at {url}{detail}: try again later")]
    Issuer {
        /// The URL called.
        url: String,
        /// The HTTP status.
        status: u16,
        /// ` (code)` with the issuer's short error code, if it gave one; empty otherwise.
        detail: String,
    },
    /// The issuer's answer could not be understood.
    #[error("the sign-in server sent an answer byok cannot read ({0}): try again later")]
    BadResponse(String),
    /// A JWT could not be decoded.
    #[error("a token is not a readable JWT ({0}): sign in again with `byok login`")]
    InvalidJwt(String),
    /// The browser came back with an error instead of a code (the user declined, ...).
    #[error("sign-in was not completed: {0}; run `byok login` again")]
    LoginDenied(String),
    /// No sign-in callback arrived in time.
    #[error(
        "sign-in timed out after {} s without an answer from the browser: run `byok login` again, or `byok login --device` on a machine without a browser",
        .0.as_secs()
    )]
    LoginTimedOut(Duration),
    /// The device-code flow ran out of time before the code was entered.
    #[error(
        "the device code was not entered within {} s: run `byok login --device` again and enter the new code",
        .0.as_secs()
    )]
    DeviceCodeExpired(Duration),
    /// The issuer does not offer device-code sign-in.
    #[error(
        "the sign-in server does not offer device-code sign-in: use `byok login` in a browser instead"
    )]
    DeviceLoginUnavailable,
    /// None of the callback ports could be bound.
    #[error(
        "cannot listen for the sign-in callback on 127.0.0.1 port {ports:?} ({detail}): stop the program using it (perhaps another sign-in), or use `byok login --device`"
    )]
    CallbackPort {
        /// The ports tried.
        ports: Vec<u16>,
        /// The last bind error.
        detail: String,
    },
    /// The store cannot do this (e.g. signing the Codex CLI out).
    #[error("{0}")]
    Unsupported(String),
}

impl From<AuthError> for ByokError {
    fn from(err: AuthError) -> Self {
        let message = err.to_string();
        match err {
            AuthError::NotSignedIn { .. }
            | AuthError::UnknownAccount { .. }
            | AuthError::SignInAgain { .. }
            | AuthError::RefusedAfterRefresh { .. }
            | AuthError::CodexCliMissing { .. }
            | AuthError::InvalidJwt(_)
            | AuthError::LoginDenied(_) => Self::Unauthorized(message),
            AuthError::Unreachable { .. } | AuthError::SharedStore { .. } => {
                Self::Unreachable(message)
            }
            AuthError::Issuer { .. } | AuthError::BadResponse(_) => Self::BadGateway(message),
            AuthError::LoginTimedOut(_) | AuthError::DeviceCodeExpired(_) => Self::Timeout(message),
            AuthError::Corrupt { .. }
            | AuthError::Io { .. }
            | AuthError::CallbackPort { .. }
            | AuthError::DeviceLoginUnavailable
            | AuthError::Unsupported(_) => Self::Config(message),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refused_refresh_becomes_401_telling_to_sign_in_again() {
        let err = AuthError::SignInAgain {
            account: "me@example.com".into(),
            reason: RefreshRejection::Reused,
            command: "byok login",
        };
        let byok: ByokError = err.into();
        assert_eq!(byok.status(), 401);
        assert!(byok.to_string().contains("sign in again with `byok login`"));
    }

    #[test]
    fn corrupt_file_is_a_config_error_naming_the_file() {
        let err = AuthError::Corrupt {
            path: "/home/me/.byok/credentials.json".into(),
            detail: "expected value at line 1 column 1".into(),
        };
        let byok: ByokError = err.into();
        assert_eq!(byok.status(), 500);
        assert!(byok.to_string().contains("/home/me/.byok/credentials.json"));
    }

    #[test]
    fn unreachable_issuer_is_502() {
        let err = AuthError::Unreachable {
            url: "http://127.0.0.1:9/oauth/token".into(),
            detail: "connection refused".into(),
        };
        assert_eq!(ByokError::from(err).status(), 502);
    }
}

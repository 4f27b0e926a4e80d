//! Who byok says it is to OpenAI: the official Codex CLI, as `codex exec` presents itself.
//!
//! The Codex backend gates models on the client's version (each model of its catalog has a
//! `minimal_client_version`) and the sign-in server and the backend both see the client's
//! `originator` and `User-Agent`. [`CodexIdentity`] is the one place those values come from,
//! for every request byok makes to OpenAI in ChatGPT mode: the Codex backend's `/responses`,
//! the token refresh, and whatever else asks the backend.
//!
//! What the official client sends (Codex CLI 0.169.0, recorded in `codex exec`):
//!
//! ```text
//! originator: codex_exec
//! user-agent: codex_exec/0.169.0 (Debian 12.0.0; x86_64) xterm (codex_exec; 0.169.0)
//! version: 0.169.0
//! ```
//!
//! and, in the body's `client_metadata`, `x-codex-installation-id`: a UUID kept in
//! `$CODEX_HOME/installation_id`, constant for the installation. byok keeps its own in
//! `$BYOK_HOME/installation_id`, or uses the Codex CLI's when it uses the Codex CLI's sign-in
//! in place (then it is the same installation, as far as the backend can tell).

use std::path::{Path, PathBuf};

/// What byok calls itself: `codex_exec`, the originator of `codex exec`, the official
/// non-interactive client, which is what a server answering requests without a person at a
/// terminal is. Its user agent carries the same name.
pub const ORIGINATOR: &str = "codex_exec";

/// The Codex CLI version byok presents unless told otherwise (`codex_client_version`).
pub const DEFAULT_CLIENT_VERSION: &str = "0.169.0";

/// The file, in `BYOK_HOME` or `CODEX_HOME`, that keeps the installation id.
pub const INSTALLATION_ID_FILE: &str = "installation_id";

/// byok's identity towards OpenAI: the official Codex CLI's originator, user agent and
/// version, and an installation id.
///
/// ```
/// use byok_auth::CodexIdentity;
/// let id = CodexIdentity::new("0.170.1").unwrap();
/// assert_eq!(id.originator(), "codex_exec");
/// assert_eq!(id.version(), "0.170.1");
/// // codex_exec/0.170.1 (Debian 12.0.0; x86_64) xterm (codex_exec; 0.170.1)
/// assert!(id.user_agent().starts_with("codex_exec/0.170.1 ("));
/// assert!(id.user_agent().ends_with(" (codex_exec; 0.170.1)"));
/// assert!(CodexIdentity::new("latest").is_err());
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CodexIdentity {
    version: String,
    user_agent: String,
    installation_id: String,
}

/// A `codex_client_version` that is not a version number.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "`{0}` is not a Codex CLI version: give one such as 0.169.0 (digits and dots, as `codex --version` prints it)"
)]
pub struct BadClientVersion(pub String);

impl CodexIdentity {
    /// The identity of Codex CLI `version` (e.g. `0.169.0`), with a fresh installation id
    /// that lives as long as the value (see [`CodexIdentity::with_installation_id`]).
    ///
    /// A version is two to four dot-separated numbers, optionally followed by a `-` suffix
    /// of letters, digits and dots (`0.170.0-alpha.3`), as the Codex CLI's releases are named.
    pub fn new(version: &str) -> Result<Self, BadClientVersion> {
        let version = version.trim();
        if !is_version(version) {
            return Err(BadClientVersion(version.to_owned()));
        }
        Ok(Self {
            version: version.to_owned(),
            user_agent: user_agent(version, &os_part(), &terminal()),
            installation_id: uuid::Uuid::new_v4().to_string(),
        })
    }

    /// The same identity with this installation id (a UUID, see [`installation_id_in`]).
    #[must_use]
    pub fn with_installation_id(mut self, id: impl Into<String>) -> Self {
        self.installation_id = id.into();
        self
    }

    /// The `originator` header: [`ORIGINATOR`].
    pub fn originator(&self) -> &'static str {
        ORIGINATOR
    }

    /// The client version, as the `version` header carries it.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// The `User-Agent`, in the official format:
    /// `codex_exec/VERSION (OS OS_VERSION; ARCH) TERMINAL (codex_exec; VERSION)`.
    pub fn user_agent(&self) -> &str {
        &self.user_agent
    }

    /// The installation id: `client_metadata["x-codex-installation-id"]`.
    pub fn installation_id(&self) -> &str {
        &self.installation_id
    }
}

impl Default for CodexIdentity {
    /// [`DEFAULT_CLIENT_VERSION`] with a fresh installation id.
    fn default() -> Self {
        Self::new(DEFAULT_CLIENT_VERSION).unwrap_or_else(|_| unreachable!("a valid version"))
    }
}

/// Whether `text` is a version as the Codex CLI's releases name them.
fn is_version(text: &str) -> bool {
    let (numbers, suffix) = text.split_once('-').unwrap_or((text, ""));
    let parts: Vec<&str> = numbers.split('.').collect();
    (2..=4).contains(&parts.len())
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.len() <= 9 && p.bytes().all(|b| b.is_ascii_digit()))
        && (text.len() == numbers.len()
            || (!suffix.is_empty()
                && suffix
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'.')))
}

/// The user agent of `version` on `os` (`Debian 12.0.0; x86_64`) in `terminal`.
fn user_agent(version: &str, os: &str, terminal: &str) -> String {
    let candidate = format!("{ORIGINATOR}/{version} ({os}) {terminal} ({ORIGINATOR}; {version})");
    // Only visible ASCII and spaces may go into a header.
    candidate
        .chars()
        .map(|c| if matches!(c, ' '..='~') { c } else { '_' })
        .collect()
}

/// `OS VERSION; ARCH` as the official client reports it (it uses the same `os_info` crate):
/// `Debian 12.0.0; x86_64`, `Mac OS 15.5.0; arm64`.
fn os_part() -> String {
    let info = os_info::get();
    format!(
        "{} {}; {}",
        info.os_type(),
        info.version(),
        info.architecture().unwrap_or("unknown")
    )
}

/// The terminal, as the official client names it in its user agent: the terminal program
/// (with its version when known), else `TERM`, else `unknown` (a service started without a
/// terminal, as `codex exec` would report in the same place). Only `[A-Za-z0-9._/-]`.
fn terminal() -> String {
    let var = |name: &str| {
        std::env::var(name)
            .ok()
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    };
    let name = match (var("TERM_PROGRAM"), var("TERM_PROGRAM_VERSION")) {
        (Some(program), Some(version)) => format!("{program}/{version}"),
        (Some(program), None) => program,
        (None, _) => var("TERM").unwrap_or_else(|| "unknown".to_owned()),
    };
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '/' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// The installation id kept in `dir/installation_id`, created (a `UUIDv4`, as the Codex CLI
/// makes it) if the file is missing or does not hold a UUID. `dir` is `BYOK_HOME`, or
/// `CODEX_HOME` when byok uses the Codex CLI's sign-in in place: then byok and the Codex CLI
/// are one installation.
pub fn installation_id_in(dir: &Path) -> std::io::Result<String> {
    let path = dir.join(INSTALLATION_ID_FILE);
    match std::fs::read_to_string(&path) {
        Ok(text) => {
            if let Ok(id) = uuid::Uuid::parse_str(text.trim()) {
                return Ok(id.hyphenated().to_string());
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    let id = uuid::Uuid::new_v4().to_string();
    std::fs::create_dir_all(dir)?;
    write_new(&path, &id)?;
    Ok(id)
}

/// Writes `id` to `path` through a temporary file and a rename, so a reader never sees half.
fn write_new(path: &PathBuf, id: &str) -> std::io::Result<()> {
    use std::io::Write as _;
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut tmp = tempfile::Builder::new()
        .prefix(".installation_id-")
        .tempfile_in(dir)?;
    tmp.write_all(id.as_bytes())?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_user_agent_has_the_official_format() {
        assert_eq!(
            user_agent("0.169.0", "Debian 12.0.0; x86_64", "xterm"),
            "codex_exec/0.169.0 (Debian 12.0.0; x86_64) xterm (codex_exec; 0.169.0)"
        );
        let id = CodexIdentity::default();
        let prefix = format!("codex_exec/{DEFAULT_CLIENT_VERSION} (");
        assert!(id.user_agent().starts_with(&prefix), "{}", id.user_agent());
        assert!(http_header_safe(id.user_agent()));
    }

    fn http_header_safe(text: &str) -> bool {
        text.bytes().all(|b| (b' '..=b'~').contains(&b))
    }

    #[test]
    fn versions_are_numbers_with_an_optional_suffix() {
        for good in ["0.169.0", "0.170", "1.2.3.4", "0.170.0-alpha.3"] {
            assert!(is_version(good), "{good}");
        }
        for bad in [
            "", "0", "v0.169.0", "0.169.0 ", "0..1", "0.169.0-", "0.1.x", "0.1 (x)",
        ] {
            assert!(!is_version(bad), "{bad}");
        }
        assert_eq!(
            CodexIdentity::new(" 0.171.0 ").unwrap().version(),
            "0.171.0"
        );
    }

    #[test]
    fn the_installation_id_is_kept_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path().join("home");
        let first = installation_id_in(&home).unwrap();
        assert_eq!(uuid::Uuid::parse_str(&first).unwrap().get_version_num(), 4);
        assert_eq!(installation_id_in(&home).unwrap(), first);
        // The Codex CLI's own file, as it writes it (a newline or not), is taken as it is.
        let codex = "8089db65-68f1-4f49-8d4d-5606f0b205d6";
        std::fs::write(home.join(INSTALLATION_ID_FILE), format!("{codex}\n")).unwrap();
        assert_eq!(installation_id_in(&home).unwrap(), codex);
        // Something else is replaced by a new id.
        std::fs::write(home.join(INSTALLATION_ID_FILE), "not a uuid").unwrap();
        let replaced = installation_id_in(&home).unwrap();
        assert_ne!(replaced, codex);
        assert_eq!(
            std::fs::read_to_string(home.join(INSTALLATION_ID_FILE)).unwrap(),
            replaced
        );
    }
}

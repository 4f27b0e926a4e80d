//! Opening the user's browser, when the machine has one.

use std::process::Stdio;

/// Starts the platform's URL opener (`open` on macOS, `xdg-open` elsewhere) without waiting
/// and without output. Failing is fine: the URL is printed anyway.
pub(crate) fn open(url: &str) {
    let opener = if cfg!(target_os = "macos") {
        "open"
    } else {
        "xdg-open"
    };
    let spawned = tokio::process::Command::new(opener)
        .arg(url)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn();
    if let Err(e) = spawned {
        tracing::debug!(opener, error = %e, "could not open a browser");
    }
}

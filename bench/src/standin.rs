//! `byok-bench standin`: byok-test-support's stand-in upstream as a release process, replaying
//! one recorded stream for every `POST /responses` (the Codex backend at the root) and
//! `POST /v1/responses`, optionally paced.
//!
//! It measures byok, not itself: it keeps no requests and does not parse them, sends an
//! unpaced stream as one body with its length, and a paced one event by event from the
//! events it split once at the first request. With `--lifecycle together`, the lifecycle
//! events (`response.created`, `in_progress`) go out in one write with the first output event,
//! as the real backend often sends them: byok holds them back until the first output event
//! (`crates/executor/src/codex/hold.rs`), and the two modes show what that costs when the
//! output follows at once and when it follows a pace later.

use std::path::Path;
use std::time::Duration;

use byok_test_support::upstream::{Reply, Split, StandIn};

use crate::{flag, parsed};

/// `standin --fixture FILE.sse [--pace-ms N] [--lifecycle paced|together]`: serves until
/// killed; prints `http://ADDR`.
pub async fn run(args: &[String]) -> Result<(), String> {
    let fixture = Path::new(flag(args, "--fixture").ok_or("--fixture FILE.sse is required")?);
    let pace = Duration::from_millis(parsed(args, "--pace-ms", 0)?);
    let split = match (pace.is_zero(), flag(args, "--lifecycle").unwrap_or("paced")) {
        (true, _) => Split::Whole,
        (false, "paced") => Split::Events,
        (false, "together") => Split::LifecycleTogether,
        (_, other) => {
            return Err(format!(
                "--lifecycle: `{other}` is neither paced nor together"
            ));
        }
    };
    std::fs::metadata(fixture).map_err(|e| format!("{}: {e}", fixture.display()))?;
    let (Some(folder), Some(name)) = (fixture.parent(), fixture.file_stem()) else {
        return Err(format!("{}: not a FILE.sse", fixture.display()));
    };
    // The stand-in names its recordings for the process's life: this one is read once.
    let name: &'static str = name.to_string_lossy().into_owned().leak();
    let standin = StandIn::builder()
        .recordings(folder)
        .reply(Reply::Replay(name))
        .codex_path("")
        .split(split)
        .maybe_pace((!pace.is_zero()).then_some(pace))
        .keep_requests(false)
        .start()
        .await;
    println!("{}", standin.url);
    std::future::pending::<()>().await;
    Ok(())
}

//! The parts of byok's load benchmark that must run as separate release processes.
//!
//! * `byok-bench standin --fixture FILE.sse [--pace-ms N] [--lifecycle paced|together]`:
//!   byok-test-support's stand-in upstream on 127.0.0.1, replaying a recorded stream for every
//!   `POST .../responses`; prints its address.
//! * `byok-bench load --url URL --body FILE --concurrency N --requests M`: drives load and prints
//!   one JSON object of figures (`--spread-ms S` staggers the clients' starts over S ms;
//!   `--token TEXT` times the first chunk holding TEXT, the first content token).
//!
//! `cargo xtask bench` starts both and `byok serve`, and prints the table.

mod load;
mod standin;
mod stats;

use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("standin") => standin::run(&args[1..]).await,
        Some("load") => load::run(&args[1..]).await,
        _ => Err("usage: byok-bench standin --fixture FILE [--pace-ms N] \
                  [--lifecycle paced|together] | \
                  load --url URL --body FILE --concurrency N --requests M [--expect TEXT] \
                  [--token TEXT] [--spread-ms S]"
            .to_owned()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("byok-bench: {message}");
            ExitCode::FAILURE
        }
    }
}

/// The value after `--name` in `args`, if present.
pub(crate) fn flag<'a>(args: &'a [String], name: &str) -> Option<&'a str> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .map(String::as_str)
}

/// The value after `--name` parsed, or `default`.
pub(crate) fn parsed<T: std::str::FromStr>(
    args: &[String],
    name: &str,
    default: T,
) -> Result<T, String> {
    match flag(args, name) {
        None => Ok(default),
        Some(v) => v.parse().map_err(|_| format!("{name}: cannot parse `{v}`")),
    }
}

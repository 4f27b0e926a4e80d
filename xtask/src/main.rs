//! Development tasks for byok, in plain Rust: `cargo xtask <task>`.
//!
//! * `ci`: everything CI checks, in the order a failure is cheapest to find.
//! * `layers`: the dependency arrows between our crates hold (ARCHITECTURE.md, "Code map").
//! * `map`: every path ARCHITECTURE.md names exists, a file on each row of its "where" table.
//! * `package`: `cargo package` of every publishable crate, against the others as they are.
//! * `downstream`: a crate outside the workspace can use `byok-translate` alone.
//! * `bench`: the proxy load benchmark (byok vs. straight at a stand-in upstream).

mod bench;
mod bench_auth;
mod bench_check;
mod bench_report;
mod ci;
mod downstream;
mod layers;
mod map;
mod package;
mod procstat;
mod shell;

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("ci") => ci::run(),
        Some("layers") => layers::run(),
        Some("map") => map::run(),
        Some("package") => package::run(),
        Some("downstream") => downstream::run(),
        Some("bench") => bench::run(&args[1..]),
        Some("help" | "--help" | "-h") | None => {
            print_help();
            Ok(())
        }
        Some(other) => Err(format!("unknown task `{other}`; run `cargo xtask help`")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("xtask: {message}");
            ExitCode::FAILURE
        }
    }
}

fn print_help() {
    println!(
        "cargo xtask <task>\n\n\
         Tasks:\n  \
         ci          fmt --check, layers, map, clippy -D warnings, tests, docs -D warnings,\n              \
         package, downstream\n  \
         layers      the dependency arrows between byok's crates, from cargo metadata: types and\n              \
         translate on none of ours, server on byok-types only, nothing on the binary's crate\n  \
         map         every path ARCHITECTURE.md names exists (a file on each row of its\n              \
         \"Where does X live\" table)\n  \
         package     cargo package of the publishable crates (removing stale unpacked\n              \
         copies of them from earlier runs first)\n  \
         downstream  build a crate outside the workspace on byok-translate alone and check\n              \
         that its dependency tree holds no tokio, reqwest, hyper or axum\n  \
         bench       proxy load benchmark: byok vs. a stand-in upstream, 1 to 10,000 streams,\n              \
         Chat, Responses and Anthropic Messages; prints a table and writes\n              \
         target/bench/proxy.json; `--only NAMES` runs some scenarios only, of\n              \
         {};\n              \
         `--spread-ms 0` starts the paced scenarios' clients together (default: over 100 ms);\n              \
         `--check` fails when byok's figures against the stand-in's in the same run break\n              \
         a limit of bench/limits.toml; `--byok PATH` measures another build of byok (e.g.\n              \
         one from before a change) with the same harness",
        bench::scenario_names()
    );
}

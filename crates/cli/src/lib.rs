#![doc = include_str!("../README.md")]

mod accounts;
pub mod args;
mod credentials;
mod error;
pub mod models;
pub mod ratelimits;
pub mod serve;
mod settings;
pub mod shared;
pub mod status;

use std::process::ExitCode;

pub use args::{Cli, Command};
pub use credentials::{Credentials, KeySource};
pub use error::CliError;
pub use settings::{CONFIG_FILE, DEFAULT_PORT, Settings};

/// Runs one `byok` command line to its end.
///
/// `serve` stops on Ctrl-C or SIGTERM. Errors are returned, for [`main`] to print.
pub async fn run(cli: Cli) -> Result<(), CliError> {
    // Completions need no settings: they must work before byok was ever configured.
    if let Command::Completions(args) = &cli.command {
        print_completions(args.shell);
        return Ok(());
    }
    let serve_args = match &cli.command {
        Command::Serve(args) => args.clone(),
        Command::Status(args) => args.into(),
        Command::Models(args) => args.into(),
        _ => args::ServeArgs::default(),
    };
    let settings = Settings::resolve(&cli.global, &serve_args)?;
    // After the settings: the log format may come from byok.toml. (A subscriber already
    // installed by an embedding program is kept.)
    init_logging(settings.log_format);
    match &cli.command {
        Command::Serve(_) => {
            serve::raise_open_file_limit();
            let listener = serve::bind(&settings).await?;
            serve::run(settings, listener, byok_server::shutdown_signal()).await
        }
        Command::Login(args) => accounts::login(&settings, args).await,
        Command::Logout(args) => accounts::logout(&settings, args).await,
        Command::Status(_) => status::status(&settings).await,
        Command::ImportCodexCli(args) => accounts::import(&settings, args).await,
        Command::Models(_) => models::models(&settings).await,
        // Printed before the settings were read.
        Command::Completions(_) => Ok(()),
    }
}

/// Writes the completion script of `shell` for the whole `byok` command line to stdout.
fn print_completions(shell: clap_complete::Shell) {
    use clap::CommandFactory as _;
    let mut command = Cli::command();
    clap_complete::generate(shell, &mut command, "byok", &mut std::io::stdout());
}

/// The whole `byok` program: runs the command line (logging to stderr: `RUST_LOG`, default `info`)
/// and turns an error into a message and exit code 1.
pub fn main() -> ExitCode {
    let cli = args::parse();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Logs to stderr with the level from `RUST_LOG` (default `info`), as text or one JSON object
/// per line.
pub fn init_logging(format: args::LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // Colours only for a person at a terminal: a log file or journal gets plain text.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    // Fails only when a subscriber is already installed, which is then kept.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match format {
        args::LogFormat::Text => builder.with_ansi(ansi).try_init(),
        args::LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
}

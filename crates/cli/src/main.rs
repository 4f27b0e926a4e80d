//! The `byok` command: see `byok --help`.

fn main() -> std::process::ExitCode {
    byok::main()
}

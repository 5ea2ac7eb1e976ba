//! The `credvault` binary: parse the command line, start logging, run.

fn main() -> std::process::ExitCode {
    let cli = credvault::cli::Cli::parse_args();
    credvault::logging::init();
    credvault::run(cli)
}

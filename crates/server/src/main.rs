//! The `credvault` binary: parse the command line, start logging, run.

use clap::Parser;

fn main() -> std::process::ExitCode {
    let cli = credvault::cli::Cli::parse();
    credvault::logging::init();
    credvault::run(cli)
}

//! The credvault server and administration CLI.
//!
//! [`run`] dispatches a parsed command line. Every command prints one JSON object on stdout so
//! scripts can read it; logs go to stderr. `exec` is the exception: stdout belongs to the command
//! it runs, and its exit status is that command's.

pub mod bootstrap;
pub mod cli;
pub mod commands;
pub mod config;
pub mod logging;
pub mod upkeep;

use std::process::ExitCode;

use crate::cli::{AdminCommand, Cli, Command, KeysCommand};

/// Runs one command and turns its outcome into the exit code, logging the error chain.
pub fn run(cli: Cli) -> ExitCode {
    let config = cli.config;
    let result = match cli.command.unwrap_or(Command::Serve) {
        Command::Exec(args) => return commands::exec::run(&args),
        Command::Serve => commands::serve::run(&config),
        Command::Migrate => commands::migrate::run(&config),
        Command::Admin(AdminCommand::CreateTeam { label }) => {
            commands::admin::create_team(&config, &label)
        }
        Command::Admin(AdminCommand::CreateToken {
            team,
            role,
            name,
            expires_in,
        }) => commands::admin::create_token(&config, &team, &role, &name, expires_in),
        Command::Admin(AdminCommand::ListTokens { team }) => {
            commands::admin::list_tokens(&config, &team)
        }
        Command::Admin(AdminCommand::RevokeToken { token_id }) => {
            commands::admin::revoke_token(&config, &token_id)
        }
        Command::Keys(KeysCommand::Rotate { batch_size }) => {
            commands::keys::rotate(&config, batch_size)
        }
        Command::Keys(KeysCommand::Status) => commands::keys::status(&config),
        Command::Keys(KeysCommand::Generate { id }) => commands::keys::generate(&id),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            log::error!("{error:#}");
            ExitCode::FAILURE
        }
    }
}

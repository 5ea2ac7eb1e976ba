//! The command line: global configuration flags plus one subcommand.

use std::ffi::OsString;

use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand};

use crate::config::Config;

impl Cli {
    /// Parses the process's arguments (and environment) with [`Cli::command_without_env_values`],
    /// exiting with clap's message on a usage error or after `--help`.
    ///
    /// A usage error of `exec` exits with 125, the status of a failure of credvault itself
    /// there, so that it is not taken for the exit status of the command (clap's is 2).
    pub fn parse_args() -> Cli {
        let matches = Cli::command_without_env_values()
            .try_get_matches()
            .unwrap_or_else(|error| exit_with(error));
        Cli::from_arg_matches(&matches).unwrap_or_else(|error| exit_with(error))
    }

    /// The command line with `hide_env_values` on every argument of every command, so that
    /// `--help` names each setting's environment variable but never shows its value: a database
    /// URL may hold a password, and settings added later are covered without a second thought.
    pub fn command_without_env_values() -> clap::Command {
        hide_env_values(Cli::command())
    }
}

fn exit_with(error: clap::Error) -> ! {
    let exec = Cli::command()
        .ignore_errors(true)
        .try_get_matches()
        .is_ok_and(|matches| matches.subcommand_name() == Some("exec"));
    if exec && error.use_stderr() {
        let _ = error.print();
        std::process::exit(125);
    }
    error.exit()
}

fn hide_env_values(command: clap::Command) -> clap::Command {
    let command = command.mut_args(|arg| arg.hide_env_values(true));
    let subcommands: Vec<String> = command
        .get_subcommands()
        .map(|subcommand| subcommand.get_name().to_owned())
        .collect();
    subcommands.into_iter().fold(command, |command, name| {
        command.mut_subcommand(name, hide_env_values)
    })
}

/// credvault: a multi-tenant vault for integration credentials.
#[derive(Debug, Parser)]
#[command(name = "credvault", version, about, long_about = None)]
pub struct Cli {
    /// Settings shared by every command (each also read from its environment variable).
    #[command(flatten)]
    pub config: Config,
    /// What to do; `serve` when omitted.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP server (applies pending migrations; on an empty database creates team `demo`).
    Serve,
    /// Apply pending database migrations.
    Migrate,
    /// Administer teams and tokens.
    #[command(subcommand)]
    Admin(AdminCommand),
    /// Manage master keys.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Run COMMAND with a credential in its environment (PGHOST, PGPASSWORD, DATABASE_URL, …),
    /// fetched from a credvault server as a service account whose client credentials are in
    /// CREDVAULT_CLIENT_ID and CREDVAULT_CLIENT_SECRET.
    #[command(after_long_help = crate::commands::exec::VARIABLES_HELP)]
    Exec(ExecArgs),
}

/// The arguments of `credvault exec`. The client credentials are not among them: they come from
/// the environment only (`CREDVAULT_CLIENT_ID`, `CREDVAULT_CLIENT_SECRET`), since a flag shows
/// in the process list.
#[derive(Debug, Args)]
pub struct ExecArgs {
    /// The credvault server, e.g. https://vault.example.com.
    #[arg(long, env = "CREDVAULT_URL")]
    pub url: String,
    /// The id of the credential to use.
    #[arg(long, env = "CREDVAULT_CREDENTIAL")]
    pub credential: String,
    /// The team's label or id; the service account's own team when omitted.
    #[arg(long, env = "CREDVAULT_TEAM")]
    pub team: Option<String>,
    /// Seconds each request to the server may take.
    #[arg(
        long,
        env = "CREDVAULT_EXEC_TIMEOUT_SECONDS",
        default_value_t = 10,
        value_parser = clap::value_parser!(u64).range(1..=3600)
    )]
    pub timeout_seconds: u64,
    /// The command and its arguments, after `--`; run directly, not through a shell.
    #[arg(last = true, required = true, value_name = "COMMAND")]
    pub command: Vec<OsString>,
}

/// Administration commands.
#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Create a team and an owner token for it.
    CreateTeam {
        /// The team's label: lowercase letters, digits and '-', at most 63 characters.
        #[arg(long)]
        label: String,
    },
    /// Create a user token with a role in a team.
    CreateToken {
        /// The team's label or id.
        #[arg(long)]
        team: String,
        /// `owner` or `member`.
        #[arg(long, default_value = "member")]
        role: String,
        /// A name for people, shown when the team's tokens are listed.
        #[arg(long, default_value = "admin CLI")]
        name: String,
        /// Seconds until the token stops authenticating; never when omitted.
        #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
        expires_in: Option<u32>,
    },
    /// List a team's user tokens (their metadata; never a token).
    ListTokens {
        /// The team's label or id.
        #[arg(long)]
        team: String,
    },
    /// Revoke a user token by its id (the `token_id` that create-token and list-tokens print).
    RevokeToken {
        /// The token's id.
        #[arg(long)]
        token_id: String,
    },
}

/// Master key commands.
#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Re-encrypt every stored secret to the active key, online, in batches (safe to interrupt
    /// and rerun).
    Rotate {
        /// Rows per transaction (credentials, then OAuth apps).
        #[arg(long, default_value_t = 100)]
        batch_size: u32,
    },
    /// Say how many stored ciphertexts each master key protects.
    Status,
    /// Print a new random master key as `id:base64`, ready for CREDVAULT_MASTER_KEYS.
    Generate {
        /// The key id: 1-32 characters of letters, digits, '-' and '_'.
        #[arg(long)]
        id: String,
    },
}

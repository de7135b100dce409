//! The command line of `whittle`, as clap parses it.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Drive a Whittle fleet: read plans and history, approve, roll back, manage exclusions.
#[derive(Debug, Parser)]
#[command(name = "whittle", version, long_about = None)]
pub struct Cli {
    #[command(flatten)]
    pub connection: ConnectionArgs,
    /// How to print the result.
    #[arg(long, global = true, value_enum, default_value_t = OutputFormat::Table)]
    pub output: OutputFormat,
    #[command(subcommand)]
    pub command: Command,
}

/// Where the coordinator is and the operator's certificate; each falls back to its
/// environment variable, then to the config file.
#[derive(Debug, Clone, Default, Args)]
pub struct ConnectionArgs {
    /// The coordinator's URL, e.g. https://whittle.example.com:7443.
    #[arg(long, global = true, env = "WHITTLE_COORDINATOR", value_name = "URL")]
    pub coordinator: Option<String>,
    /// The CA certificate (PEM) the coordinator's certificate is checked against.
    #[arg(long, global = true, env = "WHITTLE_CA", value_name = "FILE")]
    pub ca: Option<PathBuf>,
    /// The operator's certificate (PEM).
    #[arg(long, global = true, env = "WHITTLE_CERT", value_name = "FILE")]
    pub cert: Option<PathBuf>,
    /// The operator's private key (PEM).
    #[arg(long, global = true, env = "WHITTLE_KEY", value_name = "FILE")]
    pub key: Option<PathBuf>,
    /// A TOML file with the keys coordinator, ca, cert and key.
    #[arg(long, global = true, env = "WHITTLE_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
}

/// How results are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    Table,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Every account the coordinator knows of.
    Accounts,
    /// The roles of one account, with their latest plan.
    Roles {
        #[arg(long, value_name = "ID")]
        account: String,
    },
    /// Plans.
    #[command(subcommand)]
    Plan(PlanCommand),
    /// Approve the latest plans of some roles of one account, or of all that remove something.
    Approve {
        #[arg(long, value_name = "ID")]
        account: String,
        #[arg(long = "role", value_name = "NAME", required_unless_present = "all")]
        roles: Vec<String>,
        #[arg(long, conflicts_with = "roles")]
        all: bool,
    },
    /// Exclusion rules: what is never removed.
    #[command(subcommand)]
    Exclusions(ExclusionsCommand),
    /// Changes from the coordinator's history, newest first.
    History {
        #[arg(long, value_name = "ID")]
        account: Option<String>,
        #[arg(long, value_name = "NAME")]
        role: Option<String>,
        /// RFC 3339: changes made at or after this time.
        #[arg(long, value_name = "TIME")]
        since: Option<String>,
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
        limit: Option<u32>,
    },
    /// Roll back a role, a change or every change of an account since a time.
    Rollback {
        #[arg(long, value_name = "ID")]
        account: String,
        #[command(flatten)]
        target: RollbackTargetArgs,
        /// Restore even when the role was edited after the change.
        #[arg(long)]
        force: bool,
    },
    /// The audit log of operator actions, newest first.
    Audit {
        /// RFC 3339: entries at or after this time.
        #[arg(long, value_name = "TIME")]
        since: Option<String>,
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
        limit: Option<u32>,
    },
}

/// Exactly one thing to roll back.
#[derive(Debug, Args)]
#[group(required = true, multiple = false)]
pub struct RollbackTargetArgs {
    #[arg(long, value_name = "NAME")]
    pub role: Option<String>,
    /// A change id (ULID) from `whittle history`.
    #[arg(long, value_name = "ID")]
    pub change: Option<String>,
    /// RFC 3339: every change of the account made at or after this time.
    #[arg(long, value_name = "TIME")]
    pub since: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum PlanCommand {
    /// The latest plan of one role: what it removes and why, and the new documents.
    Show {
        #[arg(long, value_name = "ID")]
        account: String,
        #[arg(long, value_name = "NAME")]
        role: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum ExclusionsCommand {
    /// Add a rule; every field narrows what it covers.
    Add {
        #[arg(long = "account", value_name = "ID")]
        accounts: Vec<String>,
        #[arg(long, value_name = "GLOB")]
        role_glob: Option<String>,
        #[arg(long, value_name = "PREFIX")]
        path_prefix: Option<String>,
        /// A tag the role must carry, KEY=VALUE.
        #[arg(long = "tag", value_name = "KEY=VALUE")]
        tags: Vec<String>,
        #[arg(long = "action", value_name = "PATTERN")]
        actions: Vec<String>,
        #[arg(long, value_name = "PREFIX")]
        sid_prefix: Option<String>,
        #[arg(long, value_name = "TEXT")]
        reason: String,
        /// RFC 3339; unset: never expires.
        #[arg(long, value_name = "TIME")]
        expires: Option<String>,
    },
    /// Every rule.
    List,
    /// Remove a rule by its id.
    Remove {
        #[arg(value_name = "ID")]
        id: String,
    },
}

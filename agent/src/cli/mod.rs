//! The agent's commands and their flags.

mod plan;

use std::path::PathBuf;
use std::process::ExitCode;

use chrono::{DateTime, Utc};
use clap::{Args, Parser, Subcommand, ValueEnum};

pub use plan::PlanArgs;

/// Removes the IAM permissions that roles do not use, in one AWS account.
#[derive(Debug, Parser)]
#[command(name = "whittle-agent", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Plan which unused permissions to remove (reads only; changes nothing).
    Plan(PlanArgs),
}

/// How a command prints its result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum Output {
    /// A readable summary.
    #[default]
    Table,
    /// Machine-readable JSON.
    Json,
}

/// Where the account's roles, policies and usage come from.
#[derive(Debug, Clone, Args)]
pub struct SourceArgs {
    /// The JSON printed by `aws iam get-account-authorization-details`.
    #[arg(long, value_name = "FILE", requires = "last_accessed")]
    pub authorization_details: Option<PathBuf>,
    /// A folder of `<RoleName>.json` files, each printed by
    /// `aws iam get-service-last-accessed-details` for an ACTION_LEVEL job.
    #[arg(long, value_name = "DIR", requires = "authorization_details")]
    pub last_accessed: Option<PathBuf>,
}

/// Settings of the unused-permission decision.
#[derive(Debug, Clone, Args)]
pub struct DecisionArgs {
    /// Days without use after which a permission is removable.
    #[arg(long, value_name = "N", default_value_t = 90)]
    pub unused_days: u32,
    /// Roles younger than this many days are left alone.
    #[arg(long, value_name = "N", default_value_t = 90)]
    pub min_role_age_days: u32,
    /// Usage data older than this many days is too stale to act on.
    #[arg(long, value_name = "N", default_value_t = 5)]
    pub max_usage_age_days: u32,
    /// The time to plan for (RFC 3339); defaults to the current time.
    #[arg(long, value_name = "RFC3339", value_parser = parse_now)]
    pub now: Option<DateTime<Utc>>,
}

fn parse_now(text: &str) -> Result<DateTime<Utc>, String> {
    whittle_policy::exports::parse_time(text)
}

impl DecisionArgs {
    pub fn settings(&self) -> whittle_policy::Settings {
        whittle_policy::Settings {
            unused_days: self.unused_days,
            min_role_age_days: self.min_role_age_days,
            max_usage_age_days: self.max_usage_age_days,
            ..whittle_policy::Settings::default()
        }
    }

    /// The planning time: `--now`, or the clock (read here, at the edge).
    pub fn now(&self) -> DateTime<Utc> {
        self.now.unwrap_or_else(Utc::now)
    }
}

/// Runs a parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Plan(args) => plan::run(&args),
    }
}

//! The agent's commands and their flags.

mod account;
mod apply;
mod history;
mod plan;
mod rollback;
mod run;
mod simulate;

use std::path::PathBuf;
use std::process::ExitCode;

use chrono::{DateTime, Utc};
use clap::{Args, Parser, Subcommand, ValueEnum};

pub use plan::PlanArgs;

/// Removes the IAM permissions that roles do not use, in one AWS account, and
/// puts them back on demand.
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
    /// Remove unused permissions (a dry run unless --yes).
    Apply(apply::ApplyArgs),
    /// Restore the before-image of changes, from the local journal.
    Rollback(rollback::RollbackArgs),
    /// The changes made in this account, with their states.
    History(history::HistoryArgs),
    /// Run the agent: keep the link to the coordinator and carry out its directives.
    Run(Box<run::RunArgs>),
    /// Simulated accounts for demos and scale runs.
    Simulate(simulate::SimulateArgs),
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

/// Which account, and where the agent keeps its journal.
#[derive(Debug, Clone, Args)]
pub struct AccountArgs {
    /// Configuration file (TOML; see deploy/agent.example.toml).
    #[arg(long, value_name = "FILE", env = "WHITTLE_AGENT_CONFIG")]
    pub config: Option<PathBuf>,
    /// The 12-digit account to act on; the AWS credentials must belong to it.
    #[arg(long, value_name = "ID")]
    pub account: Option<String>,
    /// Where the journal lives [default: .whittle].
    #[arg(long, value_name = "DIR", env = "WHITTLE_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// Act on a simulated account seeded from export files (the layout of
    /// deploy/examples/account-111122223333) instead of AWS. Its state is kept
    /// in the data directory between commands.
    #[arg(long, value_name = "DIR")]
    pub simulate: Option<PathBuf>,
    /// Most IAM writes started per second in this account, above 0 and at
    /// most 100; applies to apply, rollback and run [default: 3, or
    /// iam_writes_per_second in the config file].
    #[arg(long, value_name = "N", value_parser = account::parse_write_rate)]
    pub iam_writes_per_second: Option<whittle_aws::WriteRate>,
}

/// Settings of the unused-permission decision; they override the config file.
#[derive(Debug, Clone, Args)]
pub struct DecisionArgs {
    /// Days without use after which a permission is removable [default: 90].
    #[arg(long, value_name = "N")]
    pub unused_days: Option<u32>,
    /// Roles younger than this many days are left alone [default: 90].
    #[arg(long, value_name = "N")]
    pub min_role_age_days: Option<u32>,
    /// Usage data older than this many days is too stale to act on [default: 5].
    #[arg(long, value_name = "N")]
    pub max_usage_age_days: Option<u32>,
    /// The time to plan (and journal) for, RFC 3339 [default: the current time].
    #[arg(long, value_name = "RFC3339", value_parser = parse_time)]
    pub now: Option<DateTime<Utc>>,
}

pub(crate) fn parse_time(text: &str) -> Result<DateTime<Utc>, String> {
    whittle_policy::exports::parse_time(text)
}

impl DecisionArgs {
    /// `base` (from the config file) with the flags given applied over it.
    pub fn settings(&self, base: &whittle_policy::Settings) -> whittle_policy::Settings {
        let mut s = base.clone();
        if let Some(v) = self.unused_days {
            s.unused_days = v;
        }
        if let Some(v) = self.min_role_age_days {
            s.min_role_age_days = v;
        }
        if let Some(v) = self.max_usage_age_days {
            s.max_usage_age_days = v;
        }
        s
    }

    /// The planning time: `--now`, or the clock (read here, at the edge).
    pub fn now(&self) -> DateTime<Utc> {
        self.now.unwrap_or_else(Utc::now)
    }
}

/// Runs a parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    if let Command::Plan(args) = &cli.command
        && args.source.authorization_details.is_some()
    {
        return plan::run_exports(args);
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| anyhow::anyhow!("cannot start the async runtime: {e}"))?;
    runtime.block_on(async move {
        match cli.command {
            Command::Plan(args) => plan::run_live(&args).await,
            Command::Apply(args) => apply::run(&args).await,
            Command::Rollback(args) => rollback::run(&args).await,
            Command::History(args) => history::run(&args).await,
            Command::Run(args) => run::run(&args).await,
            Command::Simulate(args) => simulate::run(&args),
        }
    })
}

//! `whittle-agent simulate generate`: writes realistic simulated accounts, an
//! organisation of them, for demos and scale runs. Each folder is one account
//! in the layout `plan --simulate` reads (see
//! `deploy/examples/account-111122223333`).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use chrono::{DateTime, Utc};
use clap::{Args, Subcommand};
use whittle_aws::sim::generate::{account_dir, account_ids, generate_org};
use whittle_proto::identity::validate_account_id;

#[derive(Debug, Clone, Args)]
pub struct SimulateArgs {
    #[command(subcommand)]
    pub command: SimulateCommand,
}

#[derive(Debug, Clone, Subcommand)]
pub enum SimulateCommand {
    /// Write simulated accounts (export files), one folder `account-<id>` each.
    Generate(GenerateArgs),
}

#[derive(Debug, Clone, Args)]
pub struct GenerateArgs {
    /// The folder to write the accounts into.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// The accounts to write, comma-separated 12-digit ids.
    #[arg(
        long,
        value_name = "ID,...",
        value_delimiter = ',',
        conflicts_with = "count"
    )]
    pub accounts: Vec<String>,
    /// How many accounts to write, with ids made from the seed (without --accounts).
    #[arg(long, value_name = "N", default_value_t = 5)]
    pub count: usize,
    /// Roles per account.
    #[arg(long, value_name = "N", default_value_t = 80)]
    pub roles: usize,
    /// The same seed (and --now) writes the same files.
    #[arg(long, value_name = "S", default_value_t = 1)]
    pub seed: u64,
    /// Dates and usage are relative to this time, RFC 3339 [default: the current time].
    #[arg(long, value_name = "RFC3339", value_parser = super::parse_time)]
    pub now: Option<DateTime<Utc>>,
    /// Overwrite account folders that already hold files.
    #[arg(long)]
    pub force: bool,
}

pub fn run(args: &SimulateArgs) -> anyhow::Result<ExitCode> {
    match &args.command {
        SimulateCommand::Generate(g) => generate(g),
    }
}

fn generate(args: &GenerateArgs) -> anyhow::Result<ExitCode> {
    if args.roles == 0 {
        bail!("--roles 0: an account needs at least one role");
    }
    let accounts = if args.accounts.is_empty() {
        if args.count == 0 {
            bail!("--count 0: there must be at least one account");
        }
        account_ids(args.count, args.seed)
    } else {
        checked_accounts(&args.accounts)?
    };
    if !args.force {
        for id in &accounts {
            refuse_if_not_empty(&account_dir(&args.out, id))?;
        }
    }
    // The clock is read here, at the edge; the generator takes `now`.
    let now = args.now.unwrap_or_else(Utc::now);
    let written = generate_org(&args.out, &accounts, args.roles, args.seed, now)
        .context("cannot generate the simulated accounts")?;
    for account in &written {
        crate::say!(
            "{}: account {}, {} roles, {} managed policies",
            account.dir.display(),
            account.account_id,
            account.roles,
            account.managed_policies
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// The ids as given, each 12 digits, none twice.
fn checked_accounts(ids: &[String]) -> anyhow::Result<Vec<String>> {
    let mut seen = BTreeSet::new();
    for id in ids {
        validate_account_id(id).map_err(|e| anyhow::anyhow!("--accounts: {e}"))?;
        if !seen.insert(id) {
            bail!("--accounts: {id} is given twice");
        }
    }
    Ok(ids.to_vec())
}

fn refuse_if_not_empty(dir: &Path) -> anyhow::Result<()> {
    if dir.exists() && !dir.is_dir() {
        bail!("{} exists and is not a folder", dir.display());
    }
    if dir.is_dir() {
        let mut entries =
            std::fs::read_dir(dir).with_context(|| format!("cannot read {}", dir.display()))?;
        if entries.next().is_some() {
            bail!(
                "{} exists and is not empty; pass --force to overwrite it",
                dir.display()
            );
        }
    }
    Ok(())
}

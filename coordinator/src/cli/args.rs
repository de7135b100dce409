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
    /// Comma-separated values (`whittle report` only).
    Csv,
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
        /// RFC 3339: apply no earlier than this; until then `whittle plan show` announces
        /// what will be removed and when.
        #[arg(long, value_name = "TIME")]
        at: Option<String>,
    },
    /// Decisions (approvals), newest first.
    Decisions {
        #[arg(long, value_name = "ID")]
        account: Option<String>,
        #[arg(long, value_name = "NAME")]
        role: Option<String>,
        #[arg(long, value_name = "ID")]
        campaign: Option<String>,
        /// Only decisions in this state (scheduled, pending, sent, applied, failed, cancelled).
        #[arg(long = "state", value_name = "STATE")]
        states: Vec<String>,
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
        limit: Option<u32>,
    },
    /// Org-wide removals in waves.
    #[command(subcommand)]
    Campaign(CampaignCommand),
    /// Roles kept out of every campaign until a time.
    #[command(subcommand)]
    Optout(OptoutCommand),
    /// The organisation at a glance: per account and in total, and the roles with the most
    /// unused permissions.
    Report {
        /// How many roles to list among the most unused permissions.
        #[arg(long, value_name = "N", default_value_t = 10)]
        top: u32,
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
        /// Wait until the agent has answered (at most this many seconds), then print per
        /// role what was restored.
        #[arg(long, value_name = "SECONDS", num_args = 0..=1, default_missing_value = "120")]
        wait: Option<u64>,
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

#[derive(Debug, Subcommand)]
pub enum CampaignCommand {
    /// Announce an org-wide removal in waves: the first wave a few canary accounts, each
    /// next wave once the previous one applied cleanly and the soak time passed.
    Create {
        /// `all`, or account ids separated by commas.
        #[arg(long, value_name = "all|ID,ID,...")]
        accounts: String,
        /// Days without use after which a permission is removable [default: each agent's].
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
        unused_days: Option<u32>,
        /// Wave sizes: account counts or cumulative percentages, e.g. `2,25%,100%`.
        #[arg(long, value_name = "SIZES", default_value = "100%")]
        waves: String,
        /// Split a wave with more roles than this.
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
        max_roles_per_wave: Option<u32>,
        /// RFC 3339: the first wave starts no earlier (the notice application teams get).
        #[arg(long, value_name = "TIME")]
        not_before: Option<String>,
        /// Soak time between waves, e.g. `30s`, `15m`, `2h`, `1d` [default: the
        /// coordinator's].
        #[arg(long, value_name = "DURATION")]
        soak: Option<String>,
        /// A note shown in lists.
        #[arg(long, value_name = "TEXT", default_value = "")]
        description: String,
    },
    /// Every campaign, newest first.
    List,
    /// One campaign: its waves and every role's state.
    Show {
        #[arg(value_name = "ID")]
        id: String,
    },
    /// Start no new work until resumed.
    Pause {
        #[arg(value_name = "ID")]
        id: String,
    },
    /// Go on after a pause, or after a halt (its failed roles are skipped).
    Resume {
        #[arg(value_name = "ID")]
        id: String,
    },
    /// Stop for good; decisions not yet handed to agents are cancelled.
    Cancel {
        #[arg(value_name = "ID")]
        id: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum OptoutCommand {
    /// Keep a role out of every campaign until a time.
    Add {
        #[arg(long, value_name = "ID")]
        account: String,
        #[arg(long, value_name = "NAME")]
        role: String,
        #[arg(long, value_name = "TEXT")]
        reason: String,
        /// RFC 3339: when the opt-out ends.
        #[arg(long, value_name = "TIME")]
        until: String,
        /// The team or person who owns the role.
        #[arg(long, value_name = "NAME")]
        owner: String,
    },
    /// Opt-outs in force (with --all, also expired ones).
    List {
        #[arg(long)]
        all: bool,
    },
    /// End an opt-out now.
    Remove {
        #[arg(long, value_name = "ID")]
        account: String,
        #[arg(long, value_name = "NAME")]
        role: String,
    },
}

//! `whittle-agent rollback`: restore before-images from the local journal.
//! Needs nothing but IAM: it is the break-glass path when the coordinator is
//! unreachable.

use std::process::ExitCode;

use chrono::{DateTime, Utc};
use clap::Args;
use serde::Serialize;

use super::account::AccountContext;
use super::{AccountArgs, DecisionArgs, Output, parse_time};
use crate::engine::{EngineError, RolledBack};
use crate::journal::ChangeId;

#[derive(Debug, Clone, Args)]
#[command(group = clap::ArgGroup::new("which").required(true).args(["role", "all"]))]
pub struct RollbackArgs {
    #[command(flatten)]
    pub account: AccountArgs,
    /// Roll back this role's newest change (or --change ID).
    #[arg(long, value_name = "NAME")]
    pub role: Option<String>,
    /// The change to roll back (see `history`).
    #[arg(long, value_name = "ID", requires = "role")]
    pub change: Option<ChangeId>,
    /// Roll back every change made since --since, in every role.
    #[arg(long, requires = "since")]
    pub all: bool,
    /// With --all: the time to go back to (RFC 3339).
    #[arg(long, value_name = "RFC3339", value_parser = parse_time)]
    pub since: Option<DateTime<Utc>>,
    /// Restore even when the role was edited after the change (what the change
    /// touched is restored; later edits elsewhere are kept).
    #[arg(long)]
    pub force: bool,
    #[command(flatten)]
    pub decision: DecisionArgs,
    #[arg(long, value_enum, default_value_t = Output::Table)]
    pub output: Output,
}

#[derive(Debug, Serialize)]
struct Outcome {
    role: Option<String>,
    change_id: Option<String>,
    rolled_back_by: Option<String>,
    error: Option<String>,
}

impl From<Result<RolledBack, EngineError>> for Outcome {
    fn from(r: Result<RolledBack, EngineError>) -> Self {
        match r {
            Ok(b) => Outcome {
                role: Some(b.role),
                change_id: Some(b.change.to_string()),
                rolled_back_by: Some(b.by.to_string()),
                error: None,
            },
            Err(e) => Outcome {
                role: None,
                change_id: None,
                rolled_back_by: None,
                error: Some(e.to_string()),
            },
        }
    }
}

pub async fn run(args: &RollbackArgs) -> anyhow::Result<ExitCode> {
    let ctx = AccountContext::open(&args.account, &args.decision).await?;
    let results: Vec<Outcome> = match (&args.role, args.change, args.since) {
        (Some(role), Some(id), _) => {
            let rec = ctx.engine.journal().get(id)?;
            if &rec.role_name != role {
                anyhow::bail!("change {id} is on role {}, not {role}", rec.role_name);
            }
            vec![ctx.engine.rollback_change(id, args.force).await.into()]
        }
        (Some(role), None, _) => vec![ctx.engine.rollback_role(role, args.force).await.into()],
        (None, _, Some(since)) => ctx
            .engine
            .rollback_since(since, args.force)
            .await?
            .into_iter()
            .map(Outcome::from)
            .collect(),
        (None, _, None) => anyhow::bail!("give --role NAME, or --all --since RFC3339"),
    };
    ctx.save()?;
    let failed = results.iter().filter(|o| o.error.is_some()).count();
    match args.output {
        Output::Json => crate::say!("{}", serde_json::to_string_pretty(&results)?),
        Output::Table => {
            if results.is_empty() {
                crate::say!("Nothing to roll back.");
            }
            for o in &results {
                match &o.error {
                    None => crate::say!(
                        "{}: change {} rolled back (by change {})",
                        o.role.as_deref().unwrap_or("?"),
                        o.change_id.as_deref().unwrap_or("?"),
                        o.rolled_back_by.as_deref().unwrap_or("?")
                    ),
                    Some(e) => crate::say!("FAILED: {e}"),
                }
            }
        }
    }
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

//! `whittle-agent apply`: remove the unused permissions of the selected roles.
//!
//! Plans the roles live, prints the plan, and, with `--yes`, applies each
//! role's plan (drift check, journal, IAM, verify). Without `--yes` nothing is
//! changed.

use std::process::ExitCode;

use clap::Args;
use serde::Serialize;

use super::account::AccountContext;
use super::plan::{live_plans, print};
use super::{AccountArgs, DecisionArgs, Output};
use crate::engine::Applied;

#[derive(Debug, Clone, Args)]
#[command(group = clap::ArgGroup::new("which").required(true).args(["roles", "all"]))]
pub struct ApplyArgs {
    #[command(flatten)]
    pub account: AccountArgs,
    /// Apply to this role (repeatable).
    #[arg(long = "role", value_name = "NAME")]
    pub roles: Vec<String>,
    /// Apply to every role of the account.
    #[arg(long)]
    pub all: bool,
    /// Really change IAM; without it, only show what would change.
    #[arg(long)]
    pub yes: bool,
    #[command(flatten)]
    pub decision: DecisionArgs,
    #[arg(long, value_enum, default_value_t = Output::Table)]
    pub output: Output,
}

#[derive(Debug, Serialize)]
struct Outcome {
    role: String,
    /// `applied`, `no_change`, or `failed`.
    result: &'static str,
    change_id: Option<String>,
    error: Option<String>,
}

pub async fn run(args: &ApplyArgs) -> anyhow::Result<ExitCode> {
    let ctx = AccountContext::open(&args.account, &args.decision).await?;
    let plans = live_plans(&ctx, &args.roles).await?;
    if !args.yes {
        print(&plans, &ctx.settings, ctx.now, args.output)?;
        eprintln!("Dry run: nothing was changed. Run again with --yes to apply.");
        return Ok(ExitCode::SUCCESS);
    }
    let mut outcomes = Vec::new();
    for plan in &plans {
        let o = match ctx.engine.apply_plan(plan, &ctx.protected).await {
            Ok(Applied::Changed(id)) => Outcome {
                role: plan.role_name.clone(),
                result: "applied",
                change_id: Some(id.to_string()),
                error: None,
            },
            Ok(Applied::NoChange) => Outcome {
                role: plan.role_name.clone(),
                result: "no_change",
                change_id: None,
                error: plan.skipped.clone(),
            },
            Err(e) => Outcome {
                role: plan.role_name.clone(),
                result: "failed",
                change_id: None,
                error: Some(e.to_string()),
            },
        };
        outcomes.push(o);
        ctx.save()?;
    }
    let failed = outcomes.iter().filter(|o| o.result == "failed").count();
    match args.output {
        Output::Json => crate::say!("{}", serde_json::to_string_pretty(&outcomes)?),
        Output::Table => {
            for o in &outcomes {
                match o.result {
                    "applied" => crate::say!(
                        "{}: applied (change {})",
                        o.role,
                        o.change_id.as_deref().unwrap_or("?")
                    ),
                    "no_change" => crate::say!(
                        "{}: no change{}",
                        o.role,
                        o.error
                            .as_deref()
                            .map(|e| format!(" ({e})"))
                            .unwrap_or_default()
                    ),
                    _ => crate::say!("{}: FAILED: {}", o.role, o.error.as_deref().unwrap_or("?")),
                }
            }
            let applied = outcomes.iter().filter(|o| o.result == "applied").count();
            crate::say!(
                "{applied} role(s) changed, {failed} failed. Undo with: whittle-agent rollback --role NAME"
            );
        }
    }
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

//! `whittle-agent plan`: what would be removed, and why.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;

use whittle_policy::{Catalogue, Planner, RolePlan, Settings};

use super::account::AccountContext;
use super::{AccountArgs, DecisionArgs, Output};
use crate::config::Config;
use crate::render::{PlanOutput, print_plan_table};

/// Where the account's roles, policies and usage come from when planning
/// offline, from AWS exports.
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

#[derive(Debug, Clone, Args)]
pub struct PlanArgs {
    #[command(flatten)]
    pub source: SourceArgs,
    #[command(flatten)]
    pub account: AccountArgs,
    /// Plan only this role (repeatable); default: every role.
    #[arg(long = "role", value_name = "NAME")]
    pub roles: Vec<String>,
    #[command(flatten)]
    pub decision: DecisionArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Output::Table)]
    pub output: Output,
}

/// Plans from export files: no AWS access at all.
pub fn run_exports(args: &PlanArgs) -> anyhow::Result<ExitCode> {
    let (Some(details), Some(dir)) = (
        &args.source.authorization_details,
        &args.source.last_accessed,
    ) else {
        anyhow::bail!("give both --authorization-details FILE and --last-accessed DIR");
    };
    let base = match &args.account.config {
        Some(path) => Config::load(path)?.planning,
        None => Settings::default(),
    };
    let settings = args.decision.settings(&base);
    let account = crate::exports::load(details, dir, &args.roles)?;
    let planner =
        Planner::new(Catalogue::embedded(), &settings).context("invalid planning settings")?;
    let now = args.decision.now();
    let plans: Vec<_> = account
        .export
        .roles
        .iter()
        .map(|role| {
            planner.plan_role(
                role,
                &account.export.managed_policies,
                account.usage.get(&role.name),
                now,
            )
        })
        .collect();
    print(&plans, &settings, now, args.output)
}

/// Plans the live (or simulated) account.
pub async fn run_live(args: &PlanArgs) -> anyhow::Result<ExitCode> {
    let ctx = AccountContext::open(&args.account, &args.decision).await?;
    let plans = live_plans(&ctx, &args.roles).await?;
    print(&plans, &ctx.settings, ctx.now, args.output)
}

/// Collects and plans the selected roles of the account.
pub(crate) async fn live_plans(
    ctx: &AccountContext,
    roles: &[String],
) -> anyhow::Result<Vec<RolePlan>> {
    let planner =
        Planner::new(Catalogue::embedded(), &ctx.settings).context("invalid planning settings")?;
    crate::collect::plan_live(
        ctx.iam.as_ref(),
        ctx.advisor.as_ref(),
        &planner,
        roles,
        &ctx.protected,
        ctx.now,
        &ctx.poll,
    )
    .await
    .with_context(|| format!("cannot read account {}", ctx.account_id))
}

pub(crate) fn print(
    plans: &[RolePlan],
    settings: &Settings,
    now: chrono::DateTime<chrono::Utc>,
    output: Output,
) -> anyhow::Result<ExitCode> {
    let out = PlanOutput::new(plans, Catalogue::embedded(), settings, now);
    match output {
        Output::Json => crate::say!(
            "{}",
            serde_json::to_string_pretty(&out).context("cannot render the plan as JSON")?
        ),
        Output::Table => print_plan_table(&out),
    }
    Ok(ExitCode::SUCCESS)
}

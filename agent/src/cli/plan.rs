//! `whittle-agent plan`: what would be removed, and why.

use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::Args;

use whittle_policy::{Catalogue, Planner};

use super::{DecisionArgs, Output, SourceArgs};
use crate::render::{PlanOutput, print_plan_table};

#[derive(Debug, Clone, Args)]
pub struct PlanArgs {
    #[command(flatten)]
    pub source: SourceArgs,
    /// Plan only this role (repeatable); default: every role.
    #[arg(long = "role", value_name = "NAME")]
    pub roles: Vec<String>,
    #[command(flatten)]
    pub decision: DecisionArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Output::Table)]
    pub output: Output,
}

pub fn run(args: &PlanArgs) -> anyhow::Result<ExitCode> {
    let (Some(details), Some(dir)) = (
        &args.source.authorization_details,
        &args.source.last_accessed,
    ) else {
        bail!(
            "planning a live account needs the agent's AWS access, which this build does not have yet; \
             give --authorization-details FILE and --last-accessed DIR"
        );
    };
    let output = plan_exports(details, dir, args)?;
    match args.output {
        Output::Json => {
            let text =
                serde_json::to_string_pretty(&output).context("cannot render the plan as JSON")?;
            println!("{text}");
        }
        Output::Table => print_plan_table(&output),
    }
    Ok(ExitCode::SUCCESS)
}

/// Plans every selected role of an exported account.
pub fn plan_exports(details: &Path, dir: &Path, args: &PlanArgs) -> anyhow::Result<PlanOutput> {
    let account = crate::exports::load(details, dir, &args.roles)?;
    let settings = args.decision.settings();
    let catalogue = Catalogue::embedded();
    let planner = Planner::new(catalogue, &settings).context("invalid planning settings")?;
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
    Ok(PlanOutput::new(&plans, catalogue, &settings, now))
}

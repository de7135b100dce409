//! Planning the live account for the coordinator, with the newest exclusion rules:
//! one role (before an apply) or every role (the periodic report).

use chrono::{DateTime, Utc};
use whittle_aws::{AwsError, fetch_usage, inventory};
use whittle_policy::{Catalogue, Planner, RolePlan};
use whittle_proto::convert::{ExclusionRules, Inventory, PlanInputs, PlanSummary};

use super::LinkAccount;
use super::rules::coverage;

/// One role planned live.
#[derive(Debug)]
pub struct Planned {
    pub plan: RolePlan,
    pub summary: PlanSummary,
    /// Set when the role is left alone as a whole (own role, service-linked, a
    /// rule), with the reason.
    pub left_alone: Option<String>,
    /// The actions the plan removes (`service:Action`, as the catalogue spells them).
    pub removals: Vec<String>,
}

/// Plans `name` with the rules' action patterns added to the exclusions; a role a
/// rule covers as a whole (or a protected one) gets a plan that changes nothing.
/// `unused_days` overrides the agent's setting (a campaign's).
pub async fn plan_role(
    account: &LinkAccount,
    rules: &ExclusionRules,
    name: &str,
    now: DateTime<Utc>,
    unused_days: Option<u32>,
) -> Result<Planned, PlanError> {
    let (role, managed) = inventory::read_role(account.iam.as_ref(), name).await?;
    let cover = coverage(rules, &account.account_id, &role, now);
    let mut settings = account.settings.clone();
    if let Some(days) = unused_days {
        settings.unused_days = days;
    }
    settings.exclusions.extend(cover.actions);
    settings.exclusion_version = rules.version;
    let catalogue = Catalogue::embedded();
    let planner = Planner::new(catalogue, &settings).map_err(|e| PlanError::Settings {
        problem: e.to_string(),
    })?;
    let left_alone = account
        .protected
        .get(name)
        .cloned()
        .or(cover.whole_role)
        .or_else(|| {
            role.is_service_linked()
                .then(|| "it is a service-linked role".to_string())
        });
    let usage = if left_alone.is_some() {
        None
    } else {
        match fetch_usage(account.advisor.as_ref(), &role.arn, &account.poll).await {
            Ok(u) => Some(u),
            Err(e) => {
                tracing::warn!(role_name = %name, error = %e, "no usage data");
                None
            }
        }
    };
    let plan = match &left_alone {
        Some(reason) => planner.skipped_plan(&role, &managed, None, now, reason.clone()),
        None => planner.plan_role(&role, &managed, usage.as_ref(), now),
    };
    let report = plan.report(catalogue, &settings);
    let removals = report.removed_actions();
    let inputs = PlanInputs::for_role(role, &managed, usage, settings, now);
    let summary = PlanSummary::new(&plan, &report, inputs);
    Ok(Planned {
        plan,
        summary,
        left_alone,
        removals,
    })
}

/// Plans every role: the account at a glance and one summary per role.
pub async fn plan_account(
    account: &LinkAccount,
    rules: &ExclusionRules,
    now: DateTime<Utc>,
) -> Result<(Inventory, Vec<PlanSummary>), PlanError> {
    let names: Vec<String> = account
        .iam
        .list_roles()
        .await?
        .into_iter()
        .map(|r| r.name)
        .collect();
    let mut summaries = Vec::with_capacity(names.len());
    let (mut granted, mut removable) = (0u64, 0u64);
    for name in &names {
        let planned = plan_role(account, rules, name, now, None).await?;
        granted += u64::from(planned.summary.removable) + u64::from(planned.summary.kept);
        removable += u64::from(planned.summary.removable);
        summaries.push(planned.summary);
    }
    let inventory = Inventory {
        roles: u32::try_from(names.len()).unwrap_or(u32::MAX),
        actions_granted: granted,
        removable,
        observed_at: now,
    };
    Ok((inventory, summaries))
}

/// Why a role could not be planned.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    #[error(transparent)]
    Aws(#[from] AwsError),
    #[error("invalid planning settings: {problem}")]
    Settings { problem: String },
}

//! Collect a live account: roles, their policies and their usage, then plan.
//!
//! Usage comes from IAM access advisor (an `ACTION_LEVEL` job per role, polled
//! with backoff). A role whose report cannot be had is planned without usage,
//! so everything in it is kept, and the reason is in the plan's diagnostics.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use whittle_aws::{AccessAdvisor, AwsError, Iam, PollPolicy, fetch_usage, inventory};
use whittle_policy::{Planner, RolePlan};

/// Plans the named roles (every role when `roles` is empty). `protected` maps
/// role names that must be left alone (the agent's own role) to the reason.
pub async fn plan_live(
    iam: &dyn Iam,
    advisor: &dyn AccessAdvisor,
    planner: &Planner<'_>,
    roles: &[String],
    protected: &BTreeMap<String, String>,
    now: DateTime<Utc>,
    poll: &PollPolicy,
) -> Result<Vec<RolePlan>, AwsError> {
    let names: Vec<String> = if roles.is_empty() {
        iam.list_roles()
            .await?
            .into_iter()
            .map(|r| r.name)
            .collect()
    } else {
        roles.to_vec()
    };
    let mut plans = Vec::with_capacity(names.len());
    for name in names {
        let (role, managed) = inventory::read_role(iam, &name).await?;
        if let Some(reason) = protected.get(&name) {
            plans.push(planner.skipped_plan(&role, &managed, None, now, reason.clone()));
            continue;
        }
        if role.is_service_linked() {
            plans.push(planner.plan_role(&role, &managed, None, now));
            continue;
        }
        let (usage, problem) = match fetch_usage(advisor, &role.arn, poll).await {
            Ok(u) => (Some(u), None),
            Err(e) => {
                tracing::warn!(role_name = %name, error = %e, "no usage data");
                (None, Some(e))
            }
        };
        let mut plan = planner.plan_role(&role, &managed, usage.as_ref(), now);
        if let Some(e) = problem {
            plan.diagnostics
                .push(format!("no access advisor data, everything kept: {e}"));
        }
        plans.push(plan);
    }
    Ok(plans)
}

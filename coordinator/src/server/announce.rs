//! What a stored plan removes, as an announcement: the list of actions (`service:Action`)
//! that an operator or a campaign announces, and that the agent then removes and nothing
//! more. With a campaign's own days-without-use setting, the plan is recomputed from the
//! inputs the agent reported.

use whittle_policy::{Catalogue, Role};

use super::auth::ServerError;
use super::wire;
use crate::store::StoredPlan;

/// A role's plan as it would be announced.
#[derive(Debug, Clone)]
pub struct Announcement {
    /// The actions removed, sorted, each once.
    pub removals: Vec<String>,
    /// The role as the plan saw it (for exclusion rules).
    pub role: Role,
    /// Why the plan leaves the role alone, if it does.
    pub skipped: Option<String>,
}

/// The announcement of `plan`, with `unused_days` instead of the agent's setting when given.
pub fn announcement(
    plan: &StoredPlan,
    unused_days: Option<u32>,
) -> Result<Announcement, ServerError> {
    let summary = wire::plan_summary(plan.clone())?;
    let mut inputs = summary.inputs;
    let unreadable = |problem: String| {
        ServerError::Protocol(format!(
            "the plan of role {} in account {} cannot be announced: {problem}",
            plan.role_name, plan.account_id
        ))
    };
    let removals: Vec<String> = match unused_days {
        Some(days) if days != inputs.settings.unused_days && plan.skipped.is_none() => {
            inputs.settings.unused_days = days;
            let catalogue = Catalogue::embedded();
            let recomputed = inputs
                .plan(catalogue)
                .map_err(|e| unreadable(e.to_string()))?;
            recomputed
                .report(catalogue, &inputs.settings)
                .removed_actions()
        }
        _ => report_removals(&plan.report_json).map_err(unreadable)?,
    };
    Ok(Announcement {
        removals,
        role: inputs.role,
        skipped: plan.skipped.clone(),
    })
}

/// The actions of the `removable` list of a plan's report (as the agent sent it), sorted,
/// each once.
fn report_removals(report_json: &str) -> Result<Vec<String>, String> {
    let report: serde_json::Value =
        serde_json::from_str(report_json).map_err(|e| format!("its report is not JSON: {e}"))?;
    let Some(list) = report.get("removable").and_then(|r| r.as_array()) else {
        return Ok(Vec::new());
    };
    let mut actions = list
        .iter()
        .map(|d| {
            d.get("action")
                .and_then(|a| a.as_str())
                .map(str::to_string)
                .ok_or_else(|| "a removable entry of its report has no action".to_string())
        })
        .collect::<Result<Vec<_>, _>>()?;
    actions.sort();
    actions.dedup();
    Ok(actions)
}

//! What a plan is made from and what the agent reports of it: [`PlanInputs`] (enough
//! for the coordinator to compute the same plan again) and [`PlanSummary`].

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use whittle_policy::catalogue::Catalogue;
use whittle_policy::report::RoleReport;
use whittle_policy::settings::SettingsError;
use whittle_policy::{ManagedPolicy, Planner, Role, RolePlan, RoleState, Settings, Usage};

use super::error::{
    ConvertError, Problem, each, key, nested, non_empty, required, time, time_text,
};
use crate::types::v1 as pb;

/// Everything [`Planner::plan_role`] takes for one role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanInputs {
    pub role: Role,
    /// The managed policies the role uses, by ARN.
    pub managed: BTreeMap<String, ManagedPolicy>,
    /// `None`: no access advisor data for the role.
    pub usage: Option<Usage>,
    pub settings: Settings,
    /// The time the plan is made for.
    pub now: DateTime<Utc>,
}

impl PlanInputs {
    /// The inputs of `role`'s plan, keeping of the account's managed policies only
    /// those attached to the role (the others play no part in its plan).
    pub fn for_role(
        role: Role,
        account_managed: &BTreeMap<String, ManagedPolicy>,
        usage: Option<Usage>,
        settings: Settings,
        now: DateTime<Utc>,
    ) -> PlanInputs {
        let managed = role
            .attached_policies
            .iter()
            .filter_map(|arn| account_managed.get(arn).map(|m| (arn.clone(), m.clone())))
            .collect();
        PlanInputs {
            role,
            managed,
            usage,
            settings,
            now,
        }
    }

    /// The plan these inputs give with `catalogue`: the same plan (and fingerprint)
    /// the agent made, when the catalogue has the same version.
    pub fn plan(&self, catalogue: &Catalogue) -> Result<RolePlan, SettingsError> {
        let planner = Planner::new(catalogue, &self.settings)?;
        Ok(planner.plan_role(&self.role, &self.managed, self.usage.as_ref(), self.now))
    }
}

impl From<PlanInputs> for pb::PlanInputs {
    fn from(inputs: PlanInputs) -> Self {
        let PlanInputs {
            role,
            managed,
            usage,
            settings,
            now,
        } = inputs;
        pb::PlanInputs {
            role: Some(role.into()),
            managed: managed.into_values().map(Into::into).collect(),
            usage: usage.map(Into::into),
            settings: Some(settings.into()),
            now: time_text(now),
        }
    }
}

impl TryFrom<pb::PlanInputs> for PlanInputs {
    type Error = ConvertError;

    fn try_from(inputs: pb::PlanInputs) -> Result<Self, ConvertError> {
        const MESSAGE: &str = "PlanInputs";
        let pb::PlanInputs {
            role,
            managed,
            usage,
            settings,
            now,
        } = inputs;
        let policies: Vec<ManagedPolicy> = each(MESSAGE, "managed", managed)?;
        let mut managed = BTreeMap::new();
        for (i, policy) in policies.into_iter().enumerate() {
            if managed.contains_key(&policy.arn) {
                let at = format!("{}.arn", key("managed", i));
                let problem = Problem::Duplicate { key: policy.arn };
                return Err(ConvertError::new(MESSAGE, &at, problem));
            }
            managed.insert(policy.arn.clone(), policy);
        }
        Ok(PlanInputs {
            role: required(MESSAGE, "role", role)?,
            managed,
            usage: usage.map(|u| nested(MESSAGE, "usage", u)).transpose()?,
            settings: required(MESSAGE, "settings", settings)?,
            now: time(MESSAGE, "now", &now)?,
        })
    }
}

/// One role's plan as the agent reports it: the plan's key facts, the readable
/// report, and the inputs to compute it again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanSummary {
    pub role_arn: String,
    pub role_id: String,
    pub role_name: String,
    pub fingerprint: String,
    pub state_fingerprint: String,
    pub catalogue_version: String,
    pub planned_at: DateTime<Utc>,
    pub skipped: Option<String>,
    /// Removable decisions, as the report lists them.
    pub removable: u32,
    /// Kept decisions, as the report lists them.
    pub kept: u32,
    pub before: RoleState,
    pub after: RoleState,
    /// [`RoleReport`] as JSON, for display.
    pub report_json: String,
    pub inputs: PlanInputs,
}

impl PlanSummary {
    /// The summary of `plan`, whose readable form is `report`, made from `inputs`.
    pub fn new(plan: &RolePlan, report: &RoleReport, inputs: PlanInputs) -> PlanSummary {
        let count = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
        PlanSummary {
            role_arn: plan.role_arn.clone(),
            role_id: plan.role_id.clone(),
            role_name: plan.role_name.clone(),
            fingerprint: plan.fingerprint.clone(),
            state_fingerprint: plan.state_fingerprint.clone(),
            catalogue_version: plan.catalogue_version.clone(),
            planned_at: plan.planned_at,
            skipped: plan.skipped.clone(),
            removable: count(report.removable.len()),
            kept: count(report.kept.len()),
            before: plan.before.clone(),
            after: plan.after.clone(),
            // A report is strings, JSON values and string-keyed maps: it always
            // serializes.
            report_json: serde_json::to_string(report).unwrap_or_default(),
            inputs,
        }
    }
}

impl From<PlanSummary> for pb::PlanSummary {
    fn from(summary: PlanSummary) -> Self {
        let PlanSummary {
            role_arn,
            role_id,
            role_name,
            fingerprint,
            state_fingerprint,
            catalogue_version,
            planned_at,
            skipped,
            removable,
            kept,
            before,
            after,
            report_json,
            inputs,
        } = summary;
        pb::PlanSummary {
            role_arn,
            role_id,
            role_name,
            fingerprint,
            state_fingerprint,
            catalogue_version,
            planned_at: time_text(planned_at),
            skipped,
            removable,
            kept,
            before: Some(before.into()),
            after: Some(after.into()),
            report_json,
            inputs: Some(inputs.into()),
        }
    }
}

const SUMMARY: &str = "PlanSummary";

impl TryFrom<pb::PlanSummary> for PlanSummary {
    type Error = ConvertError;

    fn try_from(summary: pb::PlanSummary) -> Result<Self, ConvertError> {
        let pb::PlanSummary {
            role_arn,
            role_id,
            role_name,
            fingerprint,
            state_fingerprint,
            catalogue_version,
            planned_at,
            skipped,
            removable,
            kept,
            before,
            after,
            report_json,
            inputs,
        } = summary;
        let summary = PlanSummary {
            role_arn: non_empty(SUMMARY, "role_arn", role_arn)?,
            role_id: non_empty(SUMMARY, "role_id", role_id)?,
            role_name: non_empty(SUMMARY, "role_name", role_name)?,
            fingerprint: non_empty(SUMMARY, "fingerprint", fingerprint)?,
            state_fingerprint: non_empty(SUMMARY, "state_fingerprint", state_fingerprint)?,
            catalogue_version,
            planned_at: time(SUMMARY, "planned_at", &planned_at)?,
            skipped,
            removable,
            kept,
            before: required(SUMMARY, "before", before)?,
            after: required(SUMMARY, "after", after)?,
            report_json: json(report_json)?,
            inputs: required(SUMMARY, "inputs", inputs)?,
        };
        consistent(&summary)?;
        Ok(summary)
    }
}

fn json(text: String) -> Result<String, ConvertError> {
    match serde_json::from_str::<serde::de::IgnoredAny>(&text) {
        Ok(_) => Ok(text),
        Err(e) => {
            let problem = Problem::Invalid(format!("not JSON: {e}"));
            Err(ConvertError::new(SUMMARY, "report_json", problem))
        }
    }
}

/// The summary speaks of the role and the time its inputs hold.
fn consistent(summary: &PlanSummary) -> Result<(), ConvertError> {
    let role = &summary.inputs.role;
    let checks = [
        ("inputs.role.arn", &role.arn, &summary.role_arn, "role_arn"),
        (
            "inputs.role.role_id",
            &role.role_id,
            &summary.role_id,
            "role_id",
        ),
        (
            "inputs.role.name",
            &role.name,
            &summary.role_name,
            "role_name",
        ),
    ];
    for (field, inner, outer, outer_field) in checks {
        if inner != outer {
            let problem =
                Problem::Invalid(format!("{inner:?} differs from {outer_field} {outer:?}"));
            return Err(ConvertError::new(SUMMARY, field, problem));
        }
    }
    if summary.inputs.now != summary.planned_at {
        let problem = Problem::Invalid(format!(
            "{} differs from planned_at {}",
            time_text(summary.inputs.now),
            time_text(summary.planned_at)
        ));
        return Err(ConvertError::new(SUMMARY, "inputs.now", problem));
    }
    Ok(())
}

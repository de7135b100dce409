//! Store records to and from the wire's domain types, for the server only.
//!
//! A stored plan keeps what the agent reported of it: the readable report as
//! `report_json`, and in `inputs_json` the plan's inputs together with its before- and
//! after-images ([`PlanRecordJson`]), so that `GetPlan` gives back the summary the agent sent.

use std::collections::BTreeMap;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use whittle_policy::{ManagedPolicy, Role, RoleState, Settings, Usage};
use whittle_proto::admin::v1 as admin_pb;
use whittle_proto::convert::{self, PlanInputs, PlanSummary};

use super::auth::ServerError;
use crate::store::{
    AccountRecord, AuditEntry, Decision, DecisionState, ExclusionRule, RollbackTarget, Selector,
    StoredPlan,
};

/// A time as the wire carries it.
pub fn time_text(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

/// A time an operator gave in field `field`, as RFC 3339.
pub fn parse_time(field: &str, text: &str) -> Result<DateTime<Utc>, ServerError> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| {
            ServerError::Protocol(format!("{field} {text:?} is not an RFC 3339 time: {e}"))
        })
}

/// What `StoredPlan::inputs_json` holds.
#[derive(Debug, Serialize, Deserialize)]
struct PlanRecordJson {
    role: Role,
    managed: BTreeMap<String, ManagedPolicy>,
    usage: Option<Usage>,
    settings: Settings,
    now: DateTime<Utc>,
    before: RoleState,
    after: RoleState,
}

/// A reported plan as the store keeps it.
pub fn stored_plan(
    account_id: &str,
    plan: PlanSummary,
    now: DateTime<Utc>,
) -> Result<StoredPlan, ServerError> {
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
    } = plan;
    let PlanInputs {
        role,
        managed,
        usage,
        settings,
        now: inputs_now,
    } = inputs;
    let record = PlanRecordJson {
        role,
        managed,
        usage,
        settings,
        now: inputs_now,
        before,
        after,
    };
    let inputs_json = serde_json::to_string(&record).map_err(|source| ServerError::StoredPlan {
        account_id: account_id.to_string(),
        role_name: role_name.clone(),
        source,
    })?;
    Ok(StoredPlan {
        account_id: account_id.to_string(),
        role_name,
        role_arn,
        role_id,
        fingerprint,
        state_fingerprint,
        catalogue_version,
        planned_at,
        skipped,
        removable,
        kept,
        report_json,
        inputs_json,
        received_at: now,
    })
}

/// The summary the agent reported, from the stored plan.
pub fn plan_summary(plan: StoredPlan) -> Result<PlanSummary, ServerError> {
    let record: PlanRecordJson =
        serde_json::from_str(&plan.inputs_json).map_err(|source| ServerError::StoredPlan {
            account_id: plan.account_id.clone(),
            role_name: plan.role_name.clone(),
            source,
        })?;
    let PlanRecordJson {
        role,
        managed,
        usage,
        settings,
        now,
        before,
        after,
    } = record;
    Ok(PlanSummary {
        role_arn: plan.role_arn,
        role_id: plan.role_id,
        role_name: plan.role_name,
        fingerprint: plan.fingerprint,
        state_fingerprint: plan.state_fingerprint,
        catalogue_version: plan.catalogue_version,
        planned_at: plan.planned_at,
        skipped: plan.skipped,
        removable: plan.removable,
        kept: plan.kept,
        before,
        after,
        report_json: plan.report_json,
        inputs: PlanInputs {
            role,
            managed,
            usage,
            settings,
            now,
        },
    })
}

pub fn role_summary(plan: &StoredPlan) -> admin_pb::RoleSummary {
    admin_pb::RoleSummary {
        role_name: plan.role_name.clone(),
        role_arn: plan.role_arn.clone(),
        role_id: plan.role_id.clone(),
        fingerprint: plan.fingerprint.clone(),
        planned_at: time_text(plan.planned_at),
        skipped: plan.skipped.clone(),
        removable: plan.removable,
        kept: plan.kept,
    }
}

pub fn account_summary(a: AccountRecord) -> admin_pb::AccountSummary {
    let AccountRecord {
        account_id,
        agent_version,
        connected,
        last_seen,
        last_report,
        roles,
        actions_granted,
        removable,
    } = a;
    admin_pb::AccountSummary {
        account_id,
        agent_version,
        connected,
        last_seen: last_seen.map(time_text),
        last_report: last_report.map(time_text),
        roles,
        actions_granted,
        removable,
    }
}

pub fn decision(d: Decision) -> admin_pb::Decision {
    let state = match d.state {
        DecisionState::Scheduled => admin_pb::DecisionState::Scheduled,
        DecisionState::Pending => admin_pb::DecisionState::Pending,
        DecisionState::Sent => admin_pb::DecisionState::Sent,
        DecisionState::Applied => admin_pb::DecisionState::Applied,
        DecisionState::Failed => admin_pb::DecisionState::Failed,
        DecisionState::Cancelled => admin_pb::DecisionState::Cancelled,
    };
    admin_pb::Decision {
        decision_id: d.decision_id,
        account_id: d.account_id,
        role_name: d.role_name,
        plan_fingerprint: d.plan_fingerprint,
        state: state.into(),
        created_at: time_text(d.created_at),
        author: d.author,
        detail: d.detail.unwrap_or_default(),
        not_before: d.not_before.map(time_text),
        campaign_id: d.campaign_id,
        announced_removals: d.announced,
        change_id: d.change_id.map(|c| c.to_string()),
    }
}

/// A decision state asked for on the wire.
pub fn decision_state(state: admin_pb::DecisionState) -> Option<DecisionState> {
    match state {
        admin_pb::DecisionState::Unspecified => None,
        admin_pb::DecisionState::Scheduled => Some(DecisionState::Scheduled),
        admin_pb::DecisionState::Pending => Some(DecisionState::Pending),
        admin_pb::DecisionState::Sent => Some(DecisionState::Sent),
        admin_pb::DecisionState::Applied => Some(DecisionState::Applied),
        admin_pb::DecisionState::Failed => Some(DecisionState::Failed),
        admin_pb::DecisionState::Cancelled => Some(DecisionState::Cancelled),
    }
}

pub fn audit_entry(e: AuditEntry) -> admin_pb::AuditEntry {
    admin_pb::AuditEntry {
        at: time_text(e.at),
        who: e.who,
        action: e.action,
        target: e.target,
        result: e.result,
    }
}

pub fn selector_to_store(s: convert::Selector) -> Selector {
    let convert::Selector {
        accounts,
        role_name_glob,
        path_prefix,
        tags,
        action_patterns,
        sid_prefix,
    } = s;
    Selector {
        accounts: accounts.into_iter().collect(),
        role_name_glob,
        path_prefix,
        tags,
        action_patterns,
        sid_prefix,
    }
}

pub fn rule_to_wire(r: ExclusionRule) -> convert::ExclusionRule {
    let ExclusionRule {
        id,
        selector,
        reason,
        author,
        expires_at,
        created_at,
    } = r;
    let Selector {
        accounts,
        role_name_glob,
        path_prefix,
        tags,
        action_patterns,
        sid_prefix,
    } = selector;
    convert::ExclusionRule {
        id,
        selector: convert::Selector {
            accounts: accounts.into_iter().collect(),
            role_name_glob,
            path_prefix,
            tags,
            action_patterns,
            sid_prefix,
        },
        reason,
        author,
        expires_at,
        created_at,
    }
}

pub fn rules_to_wire(version: u64, rules: Vec<ExclusionRule>) -> convert::ExclusionRules {
    convert::ExclusionRules {
        version,
        rules: rules.into_iter().map(rule_to_wire).collect(),
    }
}

pub fn target_to_store(t: convert::RollbackTarget) -> RollbackTarget {
    match t {
        convert::RollbackTarget::Change(id) => RollbackTarget::Change(id),
        convert::RollbackTarget::Role(name) => RollbackTarget::Role(name),
        convert::RollbackTarget::Since(t) => RollbackTarget::Since(t),
    }
}

pub fn target_to_wire(t: RollbackTarget) -> convert::RollbackTarget {
    match t {
        RollbackTarget::Change(id) => convert::RollbackTarget::Change(id),
        RollbackTarget::Role(name) => convert::RollbackTarget::Role(name),
        RollbackTarget::Since(t) => convert::RollbackTarget::Since(t),
    }
}

//! The organisation at a glance (the report), opt-outs, and the reads operators use to
//! follow their work: decisions and rollback requests.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use whittle_policy::change::{ChangeKind, ChangeState};
use whittle_proto::admin::v1 as pb;
use whittle_proto::convert::coverage::coverage;

use super::announce::announcement;
use super::auth::ServerError;
use super::{Shared, wire};
use crate::store::{
    DecisionFilter, DecisionState, HistoryFilter, OptOut, PendingRollback, RollbackTarget,
};

/// How many roles the report lists among the most unused permissions by default.
const DEFAULT_TOP: usize = 10;

/// The report: per account, org totals, and the roles with the most unused permissions.
pub(super) async fn report(
    shared: &Shared,
    top: u32,
    now: DateTime<Utc>,
) -> Result<pb::ReportResponse, ServerError> {
    let top = if top == 0 { DEFAULT_TOP } else { top as usize };
    let accounts = shared.blocking(|s| s.list_accounts()).await?;
    let rules = shared.blocking(|s| s.rules()).await?;
    let rules = wire::rules_to_wire(0, rules);
    let opt_outs = shared.blocking(|s| s.list_opt_outs()).await?;
    let applied = shared
        .blocking(|s| {
            s.list_decisions(&DecisionFilter {
                states: vec![DecisionState::Applied],
                ..DecisionFilter::default()
            })
        })
        .await?;
    let mut removed: BTreeMap<String, u64> = BTreeMap::new();
    for d in &applied {
        *removed.entry(d.account_id.clone()).or_default() += d.announced.len() as u64;
    }
    let mut rows = Vec::new();
    let mut top_roles = Vec::new();
    let mut totals = pb::AccountReport {
        account_id: "total".into(),
        ..pb::AccountReport::default()
    };
    for a in accounts {
        let id = a.account_id.clone();
        let plans = shared.blocking(move |s| s.list_plans(&id)).await?;
        let id = a.account_id.clone();
        let history = shared
            .blocking(move |s| {
                s.history(&HistoryFilter {
                    account_id: Some(id),
                    ..HistoryFilter::default()
                })
            })
            .await?;
        let rolled_back = history
            .iter()
            .filter(|c| {
                matches!(c.kind, ChangeKind::Rollback { .. }) && c.state == ChangeState::Applied
            })
            .count() as u64;
        let mut excluded = 0u32;
        for plan in &plans {
            let opted_out = opt_outs
                .iter()
                .any(|o| o.keeps_out(&plan.account_id, &plan.role_name, now));
            let covered = announcement(plan, None)
                .ok()
                .and_then(|an| coverage(&rules, &plan.account_id, &an.role, now).whole_role)
                .is_some();
            if opted_out || covered {
                excluded += 1;
            }
            if plan.skipped.is_none() && plan.removable > 0 {
                top_roles.push(pb::TopRole {
                    account_id: plan.account_id.clone(),
                    role_name: plan.role_name.clone(),
                    removable: plan.removable,
                    kept: plan.kept,
                });
            }
        }
        let row = pb::AccountReport {
            account_id: a.account_id.clone(),
            connected: a.connected,
            roles: a.roles,
            actions_granted: a.actions_granted,
            removable_now: a.removable,
            removed: removed.get(&a.account_id).copied().unwrap_or(0),
            rolled_back,
            excluded,
        };
        totals.roles += row.roles;
        totals.actions_granted += row.actions_granted;
        totals.removable_now += row.removable_now;
        totals.removed += row.removed;
        totals.rolled_back += row.rolled_back;
        totals.excluded += row.excluded;
        totals.connected |= row.connected;
        rows.push(row);
    }
    top_roles.sort_by(|a, b| {
        b.removable
            .cmp(&a.removable)
            .then_with(|| a.account_id.cmp(&b.account_id))
            .then_with(|| a.role_name.cmp(&b.role_name))
    });
    top_roles.truncate(top);
    Ok(pb::ReportResponse {
        generated_at: wire::time_text(now),
        accounts: rows,
        totals: Some(totals),
        top_roles,
    })
}

/// Decisions matching the request, newest first.
pub(super) async fn list_decisions(
    shared: &Shared,
    req: pb::ListDecisionsRequest,
) -> Result<Vec<pb::Decision>, ServerError> {
    let pb::ListDecisionsRequest {
        account_id,
        role_name,
        campaign_id,
        states,
        limit,
    } = req;
    if let Some(a) = &account_id {
        super::admin::account(a)?;
    }
    let mut wanted = Vec::new();
    for s in states {
        let state = pb::DecisionState::try_from(s)
            .ok()
            .and_then(wire::decision_state)
            .ok_or_else(|| ServerError::Protocol(format!("{s} is not a decision state")))?;
        wanted.push(state);
    }
    let filter = DecisionFilter {
        account_id,
        role_name,
        campaign_id,
        states: wanted,
        limit: Some(limit.map_or(1000, |l| (l as usize).min(1000))),
        newest_first: true,
    };
    let decisions = shared.blocking(move |s| s.list_decisions(&filter)).await?;
    Ok(decisions.into_iter().map(wire::decision).collect())
}

/// One rollback request with, per role, what it restored.
pub(super) async fn get_rollback(
    shared: &Shared,
    request_id: String,
) -> Result<pb::GetRollbackResponse, ServerError> {
    let id = request_id.clone();
    let request: PendingRollback = shared
        .blocking(move |s| s.get_rollback(&id))
        .await?
        .ok_or_else(|| ServerError::NotFound(format!("no rollback request {request_id}")))?;
    let mut restored = Vec::new();
    for change_id in &request.change_ids {
        let (account, id) = (request.account_id.clone(), *change_id);
        let change = shared.blocking(move |s| s.get_change(&account, id)).await?;
        let Some(change) = change else {
            restored.push(pb::RestoredRole {
                change_id: change_id.to_string(),
                state: "not yet reported".into(),
                ..pb::RestoredRole::default()
            });
            continue;
        };
        let undid = match change.kind {
            ChangeKind::Rollback { of } => of.to_string(),
            ChangeKind::Restore | ChangeKind::Apply => String::new(),
        };
        restored.push(pb::RestoredRole {
            role_name: change.role_name.clone(),
            change_id: change.id.to_string(),
            undid,
            state: change.state.to_string(),
        });
    }
    let target = match &request.target {
        RollbackTarget::Change(id) => format!("change {id}"),
        RollbackTarget::Role(name) => format!("role {name}"),
        RollbackTarget::Since(t) => format!("since {}", wire::time_text(*t)),
    };
    Ok(pb::GetRollbackResponse {
        request_id: request.request_id,
        account_id: request.account_id,
        target,
        state: request.state.to_string(),
        requested_at: wire::time_text(request.requested_at),
        requested_by: request.requested_by,
        detail: request.detail.unwrap_or_default(),
        restored,
    })
}

/// A new opt-out from the request; the author comes from the certificate.
pub(super) async fn add_opt_out(
    shared: &Shared,
    req: pb::AddOptOutRequest,
    author: String,
) -> Result<(pb::OptOut, String), ServerError> {
    let pb::AddOptOutRequest {
        account_id,
        role_name,
        reason,
        until,
        owner,
    } = req;
    super::admin::account(&account_id)?;
    let until = wire::parse_time("until", &until)?;
    let now = Utc::now();
    let opt_out = OptOut {
        account_id,
        role_name,
        reason,
        until,
        owner,
        created_by: author,
        created_at: now,
    };
    let stored = shared
        .blocking(move |s| s.add_opt_out(opt_out, now))
        .await?;
    let summary = format!(
        "ok: {}/{} until {}",
        stored.account_id,
        stored.role_name,
        wire::time_text(stored.until)
    );
    Ok((opt_out_to_wire(stored, now), summary))
}

pub(super) fn opt_out_to_wire(o: OptOut, now: DateTime<Utc>) -> pb::OptOut {
    pb::OptOut {
        active: o.is_active(now),
        account_id: o.account_id,
        role_name: o.role_name,
        reason: o.reason,
        until: wire::time_text(o.until),
        owner: o.owner,
        created_by: o.created_by,
        created_at: wire::time_text(o.created_at),
    }
}

//! What operators' mutating calls do once authorised: approve plans, roll back, push the
//! exclusion rules. Each returns its result and a one-line summary for the audit log.

use chrono::Utc;
use whittle_proto::admin::v1 as pb;
use whittle_proto::convert::AccountRollback;

use whittle_proto::convert::coverage::coverage;

use super::admin::account;
use super::announce::announcement;
use super::auth::ServerError;
use super::{Shared, deliver, wire};
use crate::store::{
    DecisionFilter, DecisionState, NewDecision, NewRollback, RollbackState, StoreError, StoredPlan,
};

/// Pushes the current rules to every connected agent; returns how many got them.
pub(super) async fn push_rules(shared: &Shared) -> Result<usize, ServerError> {
    let message = deliver::rules_message(shared).await?;
    Ok(shared.fleet.broadcast(message).await)
}

/// Cancels the decisions no agent has yet (Scheduled or Pending) whose role an exclusion
/// rule now covers as a whole; returns how many. (A decision already sent is refused by
/// its agent, which holds the new rules before it applies.)
pub(super) async fn cancel_covered(shared: &Shared) -> Result<usize, ServerError> {
    let now = Utc::now();
    let rules = shared.blocking(|s| s.rules()).await?;
    let rules = wire::rules_to_wire(0, rules);
    let filter = DecisionFilter {
        states: vec![DecisionState::Scheduled, DecisionState::Pending],
        ..DecisionFilter::default()
    };
    let open = shared.blocking(move |s| s.list_decisions(&filter)).await?;
    let mut cancelled = 0;
    for d in open {
        let Some(plan) = shared.plan(&d.account_id, &d.role_name).await? else {
            continue;
        };
        let Ok(a) = announcement(&plan, None) else {
            continue;
        };
        let Some(reason) = coverage(&rules, &d.account_id, &a.role, now).whole_role else {
            continue;
        };
        let id = d.decision_id.clone();
        let detail = format!("cancelled: {reason}");
        let done = shared
            .blocking(move |s| {
                s.transition_decision(&id, DecisionState::Cancelled, Some(detail), None, now)
            })
            .await;
        match done {
            Ok(_) => cancelled += 1,
            // Sent meanwhile: the agent refuses it.
            Err(ServerError::Store(StoreError::InvalidDecisionTransition { .. })) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(cancelled)
}

/// Creates a decision per role (or per role with something removable), then sends them to
/// the agent if it is connected. A role whose decision cannot be made is answered with the
/// reason in `detail` and no id.
pub(super) async fn approve(
    shared: &Shared,
    req: pb::ApproveRequest,
    author: String,
) -> Result<(Vec<pb::Decision>, String), ServerError> {
    let pb::ApproveRequest {
        account_id,
        role_names,
        all_removable,
        not_before,
    } = req;
    account(&account_id)?;
    let now = Utc::now();
    let not_before = not_before
        .map(|t| wire::parse_time("not_before", &t))
        .transpose()?
        .filter(|t| *t > now);
    let account_for_list = account_id.clone();
    let plans = shared
        .blocking(move |s| s.list_plans(&account_for_list))
        .await?;
    let roles: Vec<String> = if all_removable {
        plans
            .iter()
            .filter(|p| p.removable > 0 && p.skipped.is_none())
            .map(|p| p.role_name.clone())
            .collect()
    } else if role_names.is_empty() {
        return Err(ServerError::Protocol(
            "name at least one role, or set all_removable".into(),
        ));
    } else {
        role_names
    };
    let mut out = Vec::new();
    let (mut made, mut refused) = (0, 0);
    for role_name in roles {
        let plan = plans.iter().find(|p| p.role_name == role_name);
        let Some(plan) = plan else {
            refused += 1;
            out.push(refused_decision(
                &account_id,
                &role_name,
                "no plan for this role",
            ));
            continue;
        };
        if let Some(why) = recompute_mismatch(plan) {
            refused += 1;
            out.push(refused_decision(&account_id, &role_name, &why));
            continue;
        }
        let removals = match announcement(plan, None) {
            Ok(a) => a.removals,
            Err(e) => {
                refused += 1;
                out.push(refused_decision(&account_id, &role_name, &e.to_string()));
                continue;
            }
        };
        let new = NewDecision {
            account_id: account_id.clone(),
            role_name: role_name.clone(),
            plan_fingerprint: plan.fingerprint.clone(),
            author: author.clone(),
            detail: None,
            not_before,
            campaign_id: None,
            announced: removals,
            unused_days: None,
        };
        match shared.blocking(move |s| s.create_decision(new, now)).await {
            Ok(d) => {
                made += 1;
                deliver::send_decision(shared, &d).await?;
                let id = d.decision_id.clone();
                let current = shared.blocking(move |s| s.get_decision(&id)).await?;
                out.push(wire::decision(current.unwrap_or(d)));
            }
            Err(ServerError::Store(e)) if !e.is_retryable() => {
                refused += 1;
                out.push(refused_decision(&account_id, &role_name, &e.to_string()));
            }
            Err(e) => return Err(e),
        }
    }
    Ok((out, format!("ok: {made} decisions, {refused} refused")))
}

/// Recomputes the plan from the inputs the agent reported; `Some(reason)` when
/// the result is not the plan that was reported (an approval must name a plan
/// the coordinator can reproduce).
fn recompute_mismatch(plan: &StoredPlan) -> Option<String> {
    let summary = match wire::plan_summary(plan.clone()) {
        Ok(s) => s,
        Err(e) => return Some(format!("the reported plan cannot be read: {e}")),
    };
    let catalogue = whittle_policy::Catalogue::embedded();
    match summary.inputs.plan(catalogue) {
        Ok(p) if p.fingerprint == plan.fingerprint => None,
        Ok(_) if plan.catalogue_version != catalogue.version() => Some(format!(
            "the plan was made with action catalogue {}, the coordinator has {}: it cannot \
             reproduce it; update one of them",
            plan.catalogue_version,
            catalogue.version()
        )),
        Ok(p) => Some(format!(
            "recomputing the plan from its reported inputs gives fingerprint {}, not {}: refused",
            p.fingerprint, plan.fingerprint
        )),
        Err(e) => Some(format!("the reported plan's settings are invalid: {e}")),
    }
}

fn refused_decision(account_id: &str, role_name: &str, why: &str) -> pb::Decision {
    pb::Decision {
        account_id: account_id.to_string(),
        role_name: role_name.to_string(),
        detail: why.to_string(),
        ..pb::Decision::default()
    }
}

/// Queues a rollback and sends it at once if the agent is connected.
pub(super) async fn rollback(
    shared: &Shared,
    req: pb::RollbackRequest,
    author: String,
) -> Result<(pb::RollbackResponse, String), ServerError> {
    let AccountRollback {
        account_id,
        target,
        force,
    } = AccountRollback::try_from(req)?;
    let new = NewRollback {
        account_id: account_id.clone(),
        target: wire::target_to_store(target),
        force,
        requested_by: author,
    };
    let queued = shared
        .blocking(move |s| s.queue_rollback(new, Utc::now()))
        .await?;
    deliver::rollbacks(shared, &account_id).await?;
    // Sent by this call, or by the greeting of a stream that opened meanwhile.
    let id = queued.request_id.clone();
    let now = shared.blocking(move |s| s.get_rollback(&id)).await?;
    let delivery = if now.is_some_and(|r| r.state != RollbackState::Queued) {
        pb::Delivery::Sent
    } else {
        pb::Delivery::Queued
    };
    let summary = format!(
        "ok: request {} {}",
        queued.request_id,
        delivery.as_str_name()
    );
    Ok((
        pb::RollbackResponse {
            request_id: queued.request_id,
            delivery: delivery.into(),
        },
        summary,
    ))
}

//! Handing work to agents: exclusion rules, approved decisions and rollback requests, as
//! directives on the agent's open stream. Used when an agent connects and when an operator
//! acts while it is connected.
//!
//! A directive's id says what it carries out (`decision:<id>`, `rollback:<id>`,
//! `restore:<id>`, `rules:<version>`), so that an outcome can be matched to its record
//! without any state held in memory, across coordinator restarts.

use chrono::Utc;
use whittle_policy::change::{ChangeFilter, ChangeRecord, ChangeState};
use whittle_proto::convert::{
    ApplyDecision, CoordinatorMessage, Directive, DirectiveAction, RollbackOrder,
};

use super::auth::ServerError;
use super::{Shared, wire};
use crate::store::{
    Decision, DecisionFilter, DecisionState, HistoryFilter, PendingRollback, RollbackTarget,
};

/// What a directive id names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DirectiveKind {
    Decision(String),
    Rollback(String),
    Restore(String),
    Rules(String),
}

impl DirectiveKind {
    pub fn id(&self) -> String {
        match self {
            DirectiveKind::Decision(id) => format!("decision:{id}"),
            DirectiveKind::Rollback(id) => format!("rollback:{id}"),
            DirectiveKind::Restore(id) => format!("restore:{id}"),
            DirectiveKind::Rules(v) => format!("rules:{v}"),
        }
    }

    pub fn parse(directive_id: &str) -> Option<DirectiveKind> {
        let (kind, id) = directive_id.split_once(':')?;
        let id = id.to_string();
        match kind {
            "decision" => Some(DirectiveKind::Decision(id)),
            "rollback" => Some(DirectiveKind::Rollback(id)),
            "restore" => Some(DirectiveKind::Restore(id)),
            "rules" => Some(DirectiveKind::Rules(id)),
            _ => None,
        }
    }
}

/// A directive with the trace context of the current span (the operator's call, or the
/// agent's stream when it connects), so that the agent's work joins that trace.
fn directive(kind: DirectiveKind, action: DirectiveAction) -> CoordinatorMessage {
    CoordinatorMessage::Directive(Directive {
        directive_id: kind.id(),
        action,
        trace_context: whittle_proto::telemetry::inject_map(),
    })
}

/// The current exclusion rules, as a directive.
pub async fn rules_message(shared: &Shared) -> Result<CoordinatorMessage, ServerError> {
    let (version, rules) = shared.blocking(|s| s.rules_at_version()).await?;
    Ok(directive(
        DirectiveKind::Rules(version.to_string()),
        DirectiveAction::Rules(wire::rules_to_wire(version, rules)),
    ))
}

/// Sends the account's open (Pending or Sent) decisions to its agent, if connected, and
/// marks them Sent. A decision sent twice has the same directive id, which the agent
/// carries out once. Returns how many were sent.
pub async fn decisions(shared: &Shared, account_id: &str) -> Result<usize, ServerError> {
    let filter = DecisionFilter {
        account_id: Some(account_id.to_string()),
        states: vec![DecisionState::Pending, DecisionState::Sent],
        ..DecisionFilter::default()
    };
    let open = shared.blocking(move |s| s.list_decisions(&filter)).await?;
    let mut sent = 0;
    for d in open {
        if send_decision(shared, &d).await? {
            sent += 1;
        }
    }
    Ok(sent)
}

/// Sends one decision if its agent is connected; marks it Sent. Returns whether sent.
/// A Scheduled decision is not sent: it is not due.
pub async fn send_decision(shared: &Shared, d: &Decision) -> Result<bool, ServerError> {
    if !matches!(d.state, DecisionState::Pending | DecisionState::Sent) {
        return Ok(false);
    }
    let Some(plan) = shared.plan(&d.account_id, &d.role_name).await? else {
        return Ok(false);
    };
    let message = directive(
        DirectiveKind::Decision(d.decision_id.clone()),
        DirectiveAction::Apply(ApplyDecision {
            decision_id: d.decision_id.clone(),
            role_name: plan.role_name,
            role_arn: plan.role_arn,
            plan_fingerprint: d.plan_fingerprint.clone(),
            state_fingerprint: plan.state_fingerprint,
            announced_removals: d.announced.clone(),
            unused_days: d.unused_days,
        }),
    );
    if !shared.fleet.send(&d.account_id, message).await {
        return Ok(false);
    }
    if d.state == DecisionState::Pending {
        let id = d.decision_id.clone();
        shared
            .blocking(move |s| {
                s.transition_decision(&id, DecisionState::Sent, None, None, Utc::now())
            })
            .await?;
    }
    Ok(true)
}

/// Sends the account's queued rollback requests to its agent, if connected: from its
/// journal, or, when the agent said its journal is empty, the before-images from the
/// history. Returns how many were sent.
pub async fn rollbacks(shared: &Shared, account_id: &str) -> Result<usize, ServerError> {
    let Some(journal_empty) = shared.fleet.journal_empty(account_id) else {
        return Ok(0);
    };
    let account = account_id.to_string();
    let taken = shared.blocking(move |s| s.take_queued(&account)).await?;
    let count = taken.len();
    for request in taken {
        let message = if journal_empty {
            restore_message(shared, &request).await?
        } else {
            rollback_message(&request)
        };
        if !shared.fleet.send(account_id, message).await {
            // The agent went away: its stream's end puts the requests back in the queue.
            tracing::warn!(account_id, "agent went away while rollbacks were sent");
            break;
        }
    }
    Ok(count)
}

fn rollback_message(request: &PendingRollback) -> CoordinatorMessage {
    directive(
        DirectiveKind::Rollback(request.request_id.clone()),
        DirectiveAction::Rollback(RollbackOrder {
            request_id: request.request_id.clone(),
            target: wire::target_to_wire(request.target.clone()),
            force: request.force,
        }),
    )
}

/// A restore of the changes the request covers, newest first, from the history.
async fn restore_message(
    shared: &Shared,
    request: &PendingRollback,
) -> Result<CoordinatorMessage, ServerError> {
    let changes = covered_changes(shared, request).await?;
    Ok(directive(
        DirectiveKind::Restore(request.request_id.clone()),
        DirectiveAction::Restore {
            request_id: request.request_id.clone(),
            changes,
        },
    ))
}

async fn covered_changes(
    shared: &Shared,
    request: &PendingRollback,
) -> Result<Vec<ChangeRecord>, ServerError> {
    let account_id = request.account_id.clone();
    let mut changes = ChangeFilter {
        states: vec![ChangeState::Applied, ChangeState::Failed],
        ..ChangeFilter::default()
    };
    match &request.target {
        RollbackTarget::Change(id) => {
            let id = *id;
            let change = shared
                .blocking(move |s| s.get_change(&account_id, id))
                .await?;
            return Ok(change.into_iter().collect());
        }
        RollbackTarget::Role(name) => changes.role_name = Some(name.clone()),
        RollbackTarget::Since(t) => changes.since = Some(*t),
    }
    let filter = HistoryFilter {
        account_id: Some(account_id),
        changes,
        limit: None,
        newest_first: true,
    };
    shared.blocking(move |s| s.history(&filter)).await
}

//! Carrying out the coordinator's directives; each ends in an outcome with the
//! directive's id, and the changes it made are journaled (and so reported).

use whittle_proto::convert::{
    ApplyDecision, Directive, DirectiveAction, DirectiveOutcome, ExclusionRules, RollbackOrder,
    RollbackTarget,
};

use super::{LinkAccount, RuleStore, planning};
use crate::engine::{Applied, EngineError, RolledBack};
use crate::journal::{ChangeId, ChangeRecord};

/// Carries out `directive`; never fails, a failure is an outcome with `ok: false`.
pub(super) async fn carry_out(
    account: &LinkAccount,
    rules: &RuleStore,
    directive: Directive,
) -> DirectiveOutcome {
    let Directive {
        directive_id,
        action,
    } = directive;
    let done = match action {
        DirectiveAction::Rules(new) => store_rules(rules, new),
        DirectiveAction::Apply(decision) => apply(account, rules, &decision).await,
        DirectiveAction::Rollback(order) => rollback(account, &order).await,
        DirectiveAction::Restore {
            request_id,
            changes,
        } => restore(account, &request_id, &changes).await,
    };
    if !done.changes.is_empty()
        && let Some(hook) = &account.after_change
    {
        hook();
    }
    tracing::info!(
        directive_id = %directive_id,
        ok = done.ok,
        message = %done.message,
        "directive carried out"
    );
    DirectiveOutcome {
        directive_id,
        ok: done.ok,
        message: done.message,
        change_ids: done.changes,
    }
}

/// What a directive came to.
struct Done {
    ok: bool,
    message: String,
    changes: Vec<ChangeId>,
}

impl Done {
    fn refused(message: String) -> Done {
        Done {
            ok: false,
            message,
            changes: Vec::new(),
        }
    }
}

fn store_rules(store: &RuleStore, rules: ExclusionRules) -> Done {
    let offered = rules.version;
    match store.replace(rules) {
        Ok(held) if held == offered => Done {
            ok: true,
            message: format!("exclusion rules version {held} stored"),
            changes: Vec::new(),
        },
        Ok(held) => Done {
            ok: true,
            message: format!("exclusion rules version {offered} ignored: version {held} is newer"),
            changes: Vec::new(),
        },
        Err(e) => Done::refused(e.to_string()),
    }
}

/// Re-plans the role live with the newest rules and applies that plan, unless a
/// rule (or protection) now covers the role or its state changed since approval.
async fn apply(account: &LinkAccount, rules: &RuleStore, decision: &ApplyDecision) -> Done {
    let role = &decision.role_name;
    let now = account.engine.now();
    let planned = match planning::plan_role(account, &rules.current(), role, now).await {
        Ok(p) => p,
        Err(e) => return Done::refused(format!("cannot plan role {role}: {e}")),
    };
    if let Some(reason) = planned.left_alone {
        return Done::refused(format!("role {role} is left alone: {reason}"));
    }
    if planned.plan.role_arn != decision.role_arn {
        return Done::refused(format!(
            "role {role} is now {}, not {}: plan again",
            planned.plan.role_arn, decision.role_arn
        ));
    }
    if planned.plan.state_fingerprint != decision.state_fingerprint {
        return Done::refused(format!(
            "role {role} changed since decision {} was planned: plan again",
            decision.decision_id
        ));
    }
    match account
        .engine
        .apply_plan(&planned.plan, &account.protected)
        .await
    {
        Ok(Applied::Changed(id)) => Done {
            ok: true,
            message: format!("decision {} applied to role {role}", decision.decision_id),
            changes: vec![id],
        },
        Ok(Applied::NoChange) => Done {
            ok: true,
            message: format!("role {role}: the plan changes nothing now"),
            changes: Vec::new(),
        },
        Err(e) => failed(e),
    }
}

async fn rollback(account: &LinkAccount, order: &RollbackOrder) -> Done {
    let engine = &account.engine;
    let results: Vec<Result<RolledBack, EngineError>> = match &order.target {
        RollbackTarget::Change(id) => vec![engine.rollback_change(*id, order.force).await],
        RollbackTarget::Role(role) => vec![engine.rollback_role(role, order.force).await],
        RollbackTarget::Since(t) => match engine.rollback_since(*t, order.force).await {
            Ok(all) => all,
            Err(e) => return failed(e),
        },
    };
    let mut changes = Vec::new();
    let mut problems = Vec::new();
    for r in results {
        match r {
            Ok(done) => changes.push(done.by),
            Err(e) => problems.push(e.to_string()),
        }
    }
    let message = if problems.is_empty() {
        format!(
            "rollback {}: {} change(s) rolled back",
            order.request_id,
            changes.len()
        )
    } else {
        format!(
            "rollback {}: {} change(s) rolled back; {}",
            order.request_id,
            changes.len(),
            problems.join("; ")
        )
    };
    Done {
        ok: problems.is_empty(),
        message,
        changes,
    }
}

/// Restores before-images sent from the coordinator's history (newest first),
/// for an agent whose journal was lost. Every change is tried; the outcome
/// lists the restores made and the problems met.
async fn restore(account: &LinkAccount, request_id: &str, changes: &[ChangeRecord]) -> Done {
    let mut made = Vec::new();
    let mut problems = Vec::new();
    for change in changes {
        match account.engine.restore_from_history(change).await {
            Ok(id) => made.push(id),
            Err(e) => problems.push(format!("change {}: {e}", change.id)),
        }
    }
    let mut message = format!("restore {request_id}: {} change(s) restored", made.len());
    if !problems.is_empty() {
        message.push_str("; ");
        message.push_str(&problems.join("; "));
    }
    Done {
        ok: problems.is_empty(),
        message,
        changes: made,
    }
}

/// An engine error as an outcome, with any change it made (a failed apply that
/// restored the before-image journals that restore).
fn failed(e: EngineError) -> Done {
    let changes = match &e {
        EngineError::FailedAndRestored { restored_by, .. } => vec![*restored_by],
        _ => Vec::new(),
    };
    Done {
        ok: false,
        message: e.to_string(),
        changes,
    }
}

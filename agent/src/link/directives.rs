//! Carrying out the coordinator's directives; each ends in an outcome with the
//! directive's id, and the changes it made are journaled (and so reported).

use tracing::Instrument as _;
use whittle_proto::convert::{
    ApplyDecision, Directive, DirectiveAction, DirectiveOutcome, ExclusionRules, PlanSummary,
    Refusal, RollbackOrder, RollbackTarget,
};

use super::{LinkAccount, RuleStore, planning};
use crate::engine::{Applied, EngineError, RolledBack};
use crate::journal::{ChangeId, ChangeRecord};

/// What carrying out a directive came to: the outcome, and a fresh plan of the role
/// to report first when the outcome says the plan grew (so the coordinator announces
/// what the agent sees).
pub(super) struct Carried {
    pub outcome: DirectiveOutcome,
    pub plan: Option<PlanSummary>,
}

/// Carries out `directive`; never fails, a failure is an outcome with `ok: false`.
pub(super) async fn carry_out(
    account: &LinkAccount,
    rules: &RuleStore,
    directive: Directive,
) -> Carried {
    let Directive {
        directive_id,
        action,
        trace_context,
    } = directive;
    // The work joins the trace of the operator's call that caused it.
    let span = tracing::info_span!("directive", directive_id = %directive_id);
    whittle_proto::telemetry::join_trace(&span, &trace_context);
    let work = async {
        match action {
            DirectiveAction::Rules(new) => store_rules(rules, new),
            DirectiveAction::Apply(decision) => apply(account, rules, &decision).await,
            DirectiveAction::Rollback(order) => rollback(account, &order).await,
            DirectiveAction::Restore {
                request_id,
                changes,
            } => restore(account, &request_id, &changes).await,
        }
    };
    let done = work.instrument(span.clone()).await;
    let _entered = span.enter();
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
    Carried {
        outcome: DirectiveOutcome {
            directive_id,
            ok: done.ok,
            message: done.message,
            change_ids: done.changes,
            refusal: done.refusal,
        },
        plan: done.plan,
    }
}

/// What a directive came to.
struct Done {
    ok: bool,
    message: String,
    changes: Vec<ChangeId>,
    refusal: Option<Refusal>,
    plan: Option<PlanSummary>,
}

impl Done {
    fn ok(message: String, changes: Vec<ChangeId>) -> Done {
        Done {
            ok: true,
            message,
            changes,
            refusal: None,
            plan: None,
        }
    }

    fn refused(message: String) -> Done {
        Done {
            ok: false,
            message,
            changes: Vec::new(),
            refusal: None,
            plan: None,
        }
    }

    fn refused_because(refusal: Refusal, message: String) -> Done {
        Done {
            refusal: Some(refusal),
            ..Done::refused(message)
        }
    }
}

fn store_rules(store: &RuleStore, rules: ExclusionRules) -> Done {
    let offered = rules.version;
    match store.replace(rules) {
        Ok(held) if held == offered => {
            Done::ok(format!("exclusion rules version {held} stored"), Vec::new())
        }
        Ok(held) => Done::ok(
            format!("exclusion rules version {offered} ignored: version {held} is newer"),
            Vec::new(),
        ),
        Err(e) => Done::refused(e.to_string()),
    }
}

/// Re-plans the role live with the newest rules and applies that plan, unless a
/// rule (or protection) now covers the role, its state changed since approval, or
/// the plan would remove an action that was not announced.
async fn apply(account: &LinkAccount, rules: &RuleStore, decision: &ApplyDecision) -> Done {
    let role = &decision.role_name;
    let now = account.engine.now();
    let rules = rules.current();
    let planned = match planning::plan_role(account, &rules, role, now, decision.unused_days).await
    {
        Ok(p) => p,
        Err(e) => return Done::refused(format!("cannot plan role {role}: {e}")),
    };
    if let Some(reason) = planned.left_alone {
        return Done::refused_because(
            Refusal::Excluded,
            format!("role {role} is left alone: {reason}"),
        );
    }
    if let Some(extra) = unannounced(&planned.removals, &decision.announced_removals) {
        return Done {
            plan: Some(planned.summary),
            ..Done::refused_because(
                Refusal::PlanGrew,
                format!(
                    "role {role}: the plan now also removes {extra}, which decision {} did not \
                     announce; it must be announced again",
                    decision.decision_id
                ),
            )
        };
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
        Ok(Applied::Changed(id)) => Done::ok(
            format!(
                "decision {} applied to role {role}: {} action(s) removed",
                decision.decision_id,
                planned.removals.len()
            ),
            vec![id],
        ),
        Ok(Applied::NoChange) => Done::ok(
            format!("role {role}: the plan changes nothing now"),
            Vec::new(),
        ),
        Err(e) => failed(e),
    }
}

/// The removals that were not announced, in words (`None` when there are none, or
/// when nothing was announced: a decision from a coordinator that does not announce).
fn unannounced(removals: &[String], announced: &[String]) -> Option<String> {
    if announced.is_empty() {
        return None;
    }
    let extra = whittle_policy::report::unannounced(removals, announced);
    match extra.len() {
        0 => None,
        n if n <= 5 => Some(extra.join(", ")),
        n => Some(format!("{} and {} more", extra[..5].join(", "), n - 5)),
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
        refusal: None,
        plan: None,
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
        refusal: None,
        plan: None,
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
        refusal: None,
        plan: None,
    }
}

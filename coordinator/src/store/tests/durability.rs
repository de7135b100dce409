//! A coordinator restarted mid-run loses nothing: everything written before the store was
//! dropped is there after it is reopened, and counters carry on where they stopped.

use super::*;

/// Everything the store can show, read in one go.
#[derive(Debug, PartialEq)]
struct Snapshot {
    accounts: Vec<AccountRecord>,
    plans: Vec<StoredPlan>,
    decisions: Vec<Decision>,
    rules: (u64, Vec<ExclusionRule>),
    history: Vec<ChangeRecord>,
    audit: Vec<AuditEntry>,
    rollbacks: Vec<PendingRollback>,
}

fn snapshot(s: &Store) -> Snapshot {
    let mut plans = s.list_plans(A).unwrap();
    plans.extend(s.list_plans(B).unwrap());
    let mut rollbacks = s.list_rollbacks(A).unwrap();
    rollbacks.extend(s.list_rollbacks(B).unwrap());
    Snapshot {
        accounts: s.list_accounts().unwrap(),
        plans,
        decisions: s.list_decisions(&DecisionFilter::default()).unwrap(),
        rules: s.rules_at_version().unwrap(),
        history: s.history(&HistoryFilter::default()).unwrap(),
        audit: s.audit(&AuditFilter::default()).unwrap(),
        rollbacks,
    }
}

/// A run in progress: agents connected and reporting, decisions in every state, rules added
/// and removed, changes half done, rollbacks queued and sent.
fn mid_run(s: &Store) -> (String, String) {
    s.set_connected(A, true, Some("1.0.0"), t(0)).unwrap();
    s.set_connected(B, true, Some("1.1.0"), t(0)).unwrap();
    let summary = AccountSummary {
        roles: 3,
        actions_granted: 90,
        removable: 20,
    };
    s.upsert_account(A, summary, t(1)).unwrap();
    for (account, role) in [(A, "app"), (A, "db"), (B, "app")] {
        s.put_plan(&plan(account, role, &format!("fp-{role}"), t(1)))
            .unwrap();
    }
    let sent = s
        .create_decision(new_decision(A, "app", "fp-app"), t(2))
        .unwrap();
    s.transition_decision(&sent.decision_id, DecisionState::Sent, None, None, t(3))
        .unwrap();
    let pending = s
        .create_decision(new_decision(A, "db", "fp-db"), t(3))
        .unwrap();
    let done = s
        .create_decision(new_decision(B, "app", "fp-app"), t(3))
        .unwrap();
    s.transition_decision(
        &done.decision_id,
        DecisionState::Failed,
        Some("drift".into()),
        None,
        t(4),
    )
    .unwrap();
    let (r1, _) = s.add_rule(new_rule("iam:*"), t(4)).unwrap();
    s.add_rule(new_rule("kms:*"), t(4)).unwrap();
    s.remove_rule(&r1.id).unwrap();
    let c = change(A, "app", 5, 1);
    s.upsert_change(A, &moved(&c, ChangeState::Applying, 1, 6))
        .unwrap();
    s.upsert_change(B, &change(B, "app", 5, 2)).unwrap();
    for action in ["connect", "approve", "add_rule"] {
        s.append_audit(new_audit(action), t(7)).unwrap();
    }
    s.queue_rollback(new_rollback(B, RollbackTarget::Role("app".into())), t(8))
        .unwrap();
    s.take_queued(B).unwrap();
    s.queue_rollback(new_rollback(A, RollbackTarget::Since(t(0))), t(8))
        .unwrap();
    s.seen_report(A, "report-1", t(9)).unwrap();
    (sent.decision_id, pending.decision_id)
}

#[test]
fn a_coordinator_restarted_mid_run_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (before, (sent, pending)) = {
        let s = open(dir.path());
        let ids = mid_run(&s);
        (snapshot(&s), ids)
    };
    assert_eq!(before.accounts.len(), 2);
    assert_eq!(before.plans.len(), 3);
    assert_eq!(before.decisions.len(), 3);
    assert_eq!(before.rules.0, 3);
    assert_eq!(before.rules.1.len(), 1);
    assert_eq!(before.history.len(), 2);
    assert_eq!(before.audit.len(), 3);
    assert_eq!(before.rollbacks.len(), 2);

    let s = open(dir.path());
    assert_eq!(snapshot(&s), before);
    assert!(s.seen_report(A, "report-1", t(20)).unwrap());

    // The indexes came back too: open decisions still block, queues carry on.
    let err = s
        .create_decision(new_decision(A, "db", "fp-db"), t(20))
        .unwrap_err();
    assert!(err.to_string().contains(&pending), "{err}");
    s.transition_decision(&sent, DecisionState::Applied, None, None, t(20))
        .unwrap();
    assert_eq!(s.take_queued(A).unwrap().len(), 1);
    assert_eq!(s.requeue_sent(B).unwrap(), 1);
    let of_a = HistoryFilter {
        account_id: Some(A.into()),
        ..Default::default()
    };
    assert_eq!(s.history(&of_a).unwrap()[0].steps_done, 1);

    // Counters carry on where they stopped, even if the clock stepped back.
    assert_eq!(s.add_rule(new_rule("sts:*"), t(0)).unwrap().1, 4);
    assert_eq!(s.append_audit(new_audit("restart"), t(0)).unwrap().seq, 4);
    let newest_rule = before.rules.1.last().unwrap().id.clone();
    assert!(s.rules().unwrap().last().unwrap().id > newest_rule);
}

#[test]
fn a_restart_marks_every_agent_disconnected_when_asked() {
    let dir = tempfile::tempdir().unwrap();
    {
        let s = open(dir.path());
        s.set_connected(A, true, Some("1.0.0"), t(0)).unwrap();
    }
    let s = open(dir.path());
    assert!(s.get_account(A).unwrap().unwrap().connected);
    assert_eq!(s.disconnect_all().unwrap(), 1);
    drop(s);
    assert!(!open(dir.path()).get_account(A).unwrap().unwrap().connected);
}

//! Decisions: creation against the stored plan, the state machine, listing.

use super::*;
use DecisionState::*;

/// A store with plans for `app` and `db` in account A and `app` in account B.
fn with_plans(dir: &Path) -> Store {
    let s = open(dir);
    s.put_plan(&plan(A, "app", "fp-1", t(0))).unwrap();
    s.put_plan(&plan(A, "db", "fp-2", t(0))).unwrap();
    s.put_plan(&plan(B, "app", "fp-3", t(0))).unwrap();
    s
}

#[test]
fn a_decision_starts_pending_for_the_stored_plan() {
    let dir = tempfile::tempdir().unwrap();
    let s = with_plans(dir.path());
    let d = s
        .create_decision(new_decision(A, "app", "fp-1"), t(5))
        .unwrap();
    assert_eq!(d.state, Pending);
    assert_eq!((d.created_at, d.updated_at), (t(5), t(5)));
    assert_eq!((d.author.as_str(), d.change_id), ("alice", None));
    assert_eq!(d.decision_id.len(), 26);
    assert_eq!(s.get_decision(&d.decision_id).unwrap(), Some(d));
    assert_eq!(s.get_decision("01ARZ3NDEKTSV4RRFFQ69G5FAV").unwrap(), None);
}

#[test]
fn a_decision_for_a_missing_changed_or_skipped_plan_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let s = with_plans(dir.path());
    let err = s
        .create_decision(new_decision(A, "gone", "fp-1"), t(5))
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "decision for role gone in account {A} names plan fp-1, but no plan is stored for \
             the role"
        )
    );
    let err = s
        .create_decision(new_decision(A, "app", "fp-0"), t(5))
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "decision for role app in account {A} names plan fp-0, but the stored plan is fp-1"
        )
    );
    let mut skipped = plan(A, "young", "fp-y", t(0));
    skipped.skipped = Some("role younger than 90 days".into());
    s.put_plan(&skipped).unwrap();
    let err = s
        .create_decision(new_decision(A, "young", "fp-y"), t(5))
        .unwrap_err();
    assert!(
        err.to_string()
            .ends_with("but the stored plan skipped the role: role younger than 90 days"),
        "{err}"
    );
    assert!(
        s.list_decisions(&DecisionFilter::default())
            .unwrap()
            .is_empty()
    );
}

#[test]
fn a_role_has_one_open_decision_at_a_time() {
    let dir = tempfile::tempdir().unwrap();
    let s = with_plans(dir.path());
    let first = s
        .create_decision(new_decision(A, "app", "fp-1"), t(5))
        .unwrap();
    let err = s
        .create_decision(new_decision(A, "app", "fp-1"), t(6))
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "role app in account {A} already has open decision {} (state pending)",
            first.decision_id
        )
    );
    s.transition_decision(&first.decision_id, Sent, None, None, t(7))
        .unwrap();
    let err = s
        .create_decision(new_decision(A, "app", "fp-1"), t(8))
        .unwrap_err();
    assert!(err.to_string().ends_with("(state sent)"), "{err}");
    // Other roles and accounts are not held up.
    s.create_decision(new_decision(A, "db", "fp-2"), t(8))
        .unwrap();
    s.create_decision(new_decision(B, "app", "fp-3"), t(8))
        .unwrap();
    s.transition_decision(
        &first.decision_id,
        Cancelled,
        Some("wrong".into()),
        None,
        t(9),
    )
    .unwrap();
    let second = s
        .create_decision(new_decision(A, "app", "fp-1"), t(10))
        .unwrap();
    assert!(second.decision_id > first.decision_id);
}

#[test]
fn every_allowed_transition_is_accepted_and_every_other_refused() {
    let all = [Pending, Sent, Applied, Failed, Cancelled];
    let allowed = [
        (Pending, Sent),
        (Pending, Cancelled),
        (Pending, Applied),
        (Pending, Failed),
        (Sent, Applied),
        (Sent, Failed),
        (Sent, Cancelled),
    ];
    let dir = tempfile::tempdir().unwrap();
    let s = with_plans(dir.path());
    for from in all {
        for to in all.into_iter().filter(|to| *to != from) {
            let d = s
                .create_decision(new_decision(A, "app", "fp-1"), t(0))
                .unwrap();
            let id = d.decision_id.as_str();
            if from == Sent {
                s.transition_decision(id, Sent, None, None, t(1)).unwrap();
            } else if from != Pending {
                s.transition_decision(id, from, None, None, t(1)).unwrap();
            }
            let result = s.transition_decision(id, to, None, None, t(2));
            if allowed.contains(&(from, to)) {
                assert_eq!(result.unwrap().state, to, "{from} -> {to}");
            } else {
                let err = result.unwrap_err();
                assert_eq!(
                    err.to_string(),
                    format!("decision {id} cannot go from state {from} to state {to}")
                );
                assert_eq!(s.get_decision(id).unwrap().unwrap().state, from);
            }
            if s.get_decision(id).unwrap().unwrap().state.is_open() {
                s.transition_decision(id, Cancelled, None, None, t(3))
                    .unwrap();
            }
        }
    }
}

#[test]
fn a_transition_records_detail_change_and_time_and_a_repeat_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let s = with_plans(dir.path());
    let d = s
        .create_decision(new_decision(A, "app", "fp-1"), t(0))
        .unwrap();
    let id = d.decision_id.as_str();
    let c = change_id(3, 7);
    s.transition_decision(id, Sent, None, None, t(1)).unwrap();
    let applied = s
        .transition_decision(id, Applied, Some("3 actions removed".into()), Some(c), t(4))
        .unwrap();
    assert_eq!(applied.change_id, Some(c));
    assert_eq!(applied.detail.as_deref(), Some("3 actions removed"));
    assert_eq!((applied.created_at, applied.updated_at), (t(0), t(4)));
    let again = s
        .transition_decision(id, Applied, Some("other".into()), None, t(9))
        .unwrap();
    assert_eq!(again, applied);
    assert_eq!(s.get_decision(id).unwrap().unwrap(), applied);
}

#[test]
fn a_transition_of_an_unknown_decision_names_it() {
    let dir = tempfile::tempdir().unwrap();
    let s = open(dir.path());
    let err = s
        .transition_decision("nope", Sent, None, None, t(0))
        .unwrap_err();
    assert_eq!(err.to_string(), "decision nope is not in the store");
}

#[test]
fn decisions_are_listed_by_account_role_and_state_with_a_limit() {
    let dir = tempfile::tempdir().unwrap();
    let s = with_plans(dir.path());
    let a_app = s
        .create_decision(new_decision(A, "app", "fp-1"), t(1))
        .unwrap();
    let b_app = s
        .create_decision(new_decision(B, "app", "fp-3"), t(2))
        .unwrap();
    let a_db = s
        .create_decision(new_decision(A, "db", "fp-2"), t(3))
        .unwrap();
    s.transition_decision(&a_app.decision_id, Sent, None, None, t(4))
        .unwrap();
    let ids = |f: DecisionFilter| -> Vec<String> {
        s.list_decisions(&f)
            .unwrap()
            .into_iter()
            .map(|d| d.decision_id)
            .collect()
    };
    let (a1, b1, a2) = (
        a_app.decision_id.as_str(),
        b_app.decision_id.as_str(),
        a_db.decision_id.as_str(),
    );
    assert_eq!(ids(DecisionFilter::default()), [a1, b1, a2]);
    let of_a = DecisionFilter {
        account_id: Some(A.into()),
        ..Default::default()
    };
    assert_eq!(ids(of_a.clone()), [a1, a2]);
    let newest_of_a = DecisionFilter {
        newest_first: true,
        limit: Some(1),
        ..of_a.clone()
    };
    assert_eq!(ids(newest_of_a), [a2]);
    let pending = DecisionFilter {
        states: vec![Pending],
        ..Default::default()
    };
    assert_eq!(ids(pending), [b1, a2]);
    let app = DecisionFilter {
        role_name: Some("app".into()),
        newest_first: true,
        ..Default::default()
    };
    assert_eq!(ids(app), [b1, a1]);
    let first = DecisionFilter {
        limit: Some(2),
        ..Default::default()
    };
    assert_eq!(ids(first), [a1, b1]);
}

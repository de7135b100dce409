//! A change's life: begin, steps, the state machine and its refusals.

use super::*;

#[test]
fn begin_durably_records_the_before_image_in_state_intended() {
    let dir = tempfile::tempdir().unwrap();
    let j = open(dir.path());
    let new = change("app");
    let r = j.begin(new.clone(), t(0)).unwrap();
    assert_eq!(r.state, ChangeState::Intended);
    assert_eq!(
        (r.before.clone(), r.after.clone(), r.diff.clone()),
        (new.before, new.after, new.diff)
    );
    assert_eq!((r.steps_done, r.created_at, r.updated_at), (0, t(0), t(0)));
    assert!(r.created_versions.is_empty() && !r.reported && r.error.is_none());
    assert_eq!(r.id.timestamp_ms(), t(0).timestamp_millis() as u64);
    assert_eq!(j.get(r.id).unwrap(), r);
    assert_eq!(j.path(), dir.path().join("journal.redb"));
}

#[test]
fn an_apply_moves_through_its_steps_to_applied() {
    let dir = tempfile::tempdir().unwrap();
    let j = open(dir.path());
    let id = j.begin(change("app"), t(0)).unwrap().id;
    assert_eq!(
        j.mark_applying(id, t(1)).unwrap().state,
        ChangeState::Applying
    );
    let r = j
        .record_step(id, 1, Some((MANAGED.into(), "v2".into())), t(2))
        .unwrap();
    assert_eq!(r.steps_done, 1);
    assert_eq!(
        r.created_versions.get(MANAGED).map(String::as_str),
        Some("v2")
    );
    // Recording the same step again (a retried write) is harmless.
    j.record_step(id, 1, Some((MANAGED.into(), "v2".into())), t(2))
        .unwrap();
    j.record_step(id, 3, None, t(3)).unwrap();
    let r = j.mark_applied(id, t(4)).unwrap();
    assert_eq!(
        (r.state, r.steps_done, r.updated_at, r.created_at),
        (ChangeState::Applied, 3, t(4), t(0))
    );
    assert_eq!(j.get(id).unwrap(), r);
}

#[test]
fn the_state_machine_allows_only_its_edges() {
    use ChangeState::*;
    let all = [Intended, Applying, Applied, Failed, RolledBack];
    let allowed = [
        (Intended, Applying),
        (Intended, Failed),
        (Applying, Applied),
        (Applying, Failed),
        (Applied, RolledBack),
        (Failed, RolledBack),
    ];
    for from in all {
        for to in all {
            assert_eq!(
                from.can_become(to),
                allowed.contains(&(from, to)),
                "{from} -> {to}"
            );
        }
    }
}

#[test]
fn a_forbidden_transition_names_the_change_and_both_states() {
    let dir = tempfile::tempdir().unwrap();
    let j = open(dir.path());
    let id = j.begin(change("app"), t(0)).unwrap().id;
    let err = j.mark_applied(id, t(1)).unwrap_err();
    assert!(
        matches!(err, JournalError::InvalidTransition { .. }),
        "{err}"
    );
    assert_eq!(
        err.to_string(),
        format!("change {id} cannot go from state intended to state applied")
    );

    apply_all(&j, id, t(1));
    let err = j.mark_applying(id, t(2)).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("change {id} cannot go from state applied to state applying")
    );
    let err = j.mark_failed(id, "late", t(2)).unwrap_err();
    assert!(
        matches!(err, JournalError::InvalidTransition { .. }),
        "{err}"
    );
    // A refused transition changes nothing.
    assert_eq!(j.get(id).unwrap().state, ChangeState::Applied);
    assert_eq!(j.get(id).unwrap().updated_at, t(1));
}

#[test]
fn applied_needs_every_step() {
    let dir = tempfile::tempdir().unwrap();
    let j = open(dir.path());
    let id = j.begin(change("app"), t(0)).unwrap().id;
    j.mark_applying(id, t(1)).unwrap();
    j.record_step(id, 2, None, t(2)).unwrap();
    let err = j.mark_applied(id, t(3)).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("change {id} cannot be marked applied: only 2 of its 3 steps are done")
    );
}

#[test]
fn record_step_refuses_what_does_not_fit_the_change() {
    let dir = tempfile::tempdir().unwrap();
    let j = open(dir.path());
    let id = j.begin(change("app"), t(0)).unwrap().id;
    let step = |n, v: Option<(&str, &str)>| {
        j.record_step(id, n, v.map(|(a, b)| (a.to_string(), b.to_string())), t(1))
            .unwrap_err()
            .to_string()
    };
    assert!(step(1, None).ends_with("it is in state intended, not applying"));
    j.mark_applying(id, t(1)).unwrap();
    assert!(step(4, None).ends_with("its diff has only 3 changes"));
    j.record_step(id, 2, Some((MANAGED.into(), "v2".into())), t(1))
        .unwrap();
    assert!(step(1, None).ends_with("2 steps are already recorded"));
    assert_eq!(
        step(2, Some(("arn:aws:iam::1:policy/other", "v9"))),
        format!(
            "change {id} cannot record step 2: managed policy arn:aws:iam::1:policy/other is \
             not in its diff"
        )
    );
    assert!(
        step(3, Some((MANAGED, "v3"))).ends_with(
            "version v2 of {MANAGED} is already recorded, not v3"
                .replace("{MANAGED}", MANAGED)
                .as_str()
        )
    );
    assert_eq!(j.get(id).unwrap().steps_done, 2);
}

#[test]
fn a_failed_change_keeps_its_reason_and_can_be_rolled_back() {
    let dir = tempfile::tempdir().unwrap();
    let j = open(dir.path());
    let orig = j.begin(change("app"), t(0)).unwrap();
    j.mark_applying(orig.id, t(1)).unwrap();
    j.record_step(orig.id, 1, None, t(1)).unwrap();
    let failed = j.mark_failed(orig.id, "iam said no", t(2)).unwrap();
    assert_eq!(
        (failed.state, failed.error.as_deref()),
        (ChangeState::Failed, Some("iam said no"))
    );
    let err = j.mark_failed(orig.id, "again", t(3)).unwrap_err();
    assert!(
        matches!(err, JournalError::InvalidTransition { .. }),
        "{err}"
    );

    let undo = j.begin(rollback_of(&orig), t(4)).unwrap();
    apply_all(&j, undo.id, t(5));
    let r = j.mark_rolled_back(orig.id, undo.id, t(6)).unwrap();
    assert_eq!(
        (r.state, r.rolled_back_by),
        (ChangeState::RolledBack, Some(undo.id))
    );
    assert_eq!(r.error.as_deref(), Some("iam said no"));
    let err = j.mark_rolled_back(orig.id, undo.id, t(7)).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "change {} cannot go from state rolled_back to state rolled_back",
            orig.id
        )
    );
}

#[test]
fn rolled_back_must_name_an_applied_rollback_of_the_same_change() {
    let dir = tempfile::tempdir().unwrap();
    let j = open(dir.path());
    let a = j.begin(change("app"), t(0)).unwrap();
    apply_all(&j, a.id, t(1));
    let b = j.begin(change("other"), t(2)).unwrap();
    apply_all(&j, b.id, t(3));
    let undo_b = j.begin(rollback_of(&b), t(4)).unwrap();
    let undo_a = j.begin(rollback_of(&a), t(5)).unwrap();
    let missing: ChangeId = "01ARZ3NDEKTSV4RRFFQ69G5FAV".parse().unwrap();
    let reason = |by| match j.mark_rolled_back(a.id, by, t(6)).unwrap_err() {
        JournalError::InvalidRollback { reason, .. } => reason,
        other => panic!("{other}"),
    };
    assert_eq!(reason(a.id), "a change cannot undo itself");
    assert_eq!(reason(missing), "it is not in the journal");
    assert_eq!(reason(b.id), "it is an apply, not a rollback");
    assert_eq!(reason(undo_b.id), format!("it rolls back change {}", b.id));
    assert_eq!(reason(undo_a.id), "it is in state intended, not applied");
    assert_eq!(j.get(a.id).unwrap().state, ChangeState::Applied);
    apply_all(&j, undo_a.id, t(7));
    assert_eq!(
        j.mark_rolled_back(a.id, undo_a.id, t(8)).unwrap().state,
        ChangeState::RolledBack
    );
}

#[test]
fn a_missing_id_is_not_found_everywhere() {
    let dir = tempfile::tempdir().unwrap();
    let j = open(dir.path());
    let id: ChangeId = "01ARZ3NDEKTSV4RRFFQ69G5FAV".parse().unwrap();
    let other = j.begin(change("app"), t(0)).unwrap().id;
    let results = [
        j.get(id),
        j.mark_applying(id, t(1)),
        j.record_step(id, 1, None, t(1)),
        j.mark_applied(id, t(1)),
        j.mark_failed(id, "x", t(1)),
        j.mark_rolled_back(id, other, t(1)),
        j.mark_reported(id),
    ];
    for r in results {
        let err = r.unwrap_err();
        assert_eq!(
            err.to_string(),
            "change 01ARZ3NDEKTSV4RRFFQ69G5FAV is not in the journal"
        );
    }
}

#[test]
fn begin_refuses_an_inconsistent_change() {
    let dir = tempfile::tempdir().unwrap();
    let j = open(dir.path());
    let mut empty = change("app");
    empty.role_id.clear();
    let err = j.begin(empty, t(0)).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "new change for role {:?} is invalid: role_id is empty",
            arn("app")
        )
    );
    let mut wrong_after = change("app");
    wrong_after.after.inline.clear();
    let err = j.begin(wrong_after, t(0)).unwrap_err();
    assert!(
        err.to_string()
            .ends_with("the diff applied to the before-image is not the after-image")
    );
    let mut drifted = change("app");
    drifted
        .before
        .inline
        .insert("keep".into(), "changed".into());
    let err = j.begin(drifted, t(0)).unwrap_err();
    assert!(
        err.to_string()
            .contains("the diff does not fit the before-image"),
        "{err}"
    );
    let err = j
        .begin(change("app"), Utc.timestamp_opt(-5, 0).unwrap())
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("outside what a change id can hold"),
        "{err}"
    );
    assert!(j.list(&ChangeFilter::default()).unwrap().is_empty());
}

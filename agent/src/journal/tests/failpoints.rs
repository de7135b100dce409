//! Simulated crashes at the apply's failpoints.

use super::*;

#[cfg(not(feature = "failpoints"))]
#[test]
fn without_the_feature_failpoints_never_fire() {
    assert_eq!(failpoint::hit("after_journal_intent"), Ok(()));
    assert_eq!(failpoint::hit_after_step(1), Ok(()));
}

#[cfg(feature = "failpoints")]
#[test]
fn an_armed_point_fires_once_for_its_name_only() {
    let _serial = failpoint::serial();
    assert_eq!(failpoint::hit("after_journal_intent"), Ok(()));
    failpoint::arm("after_step_2");
    assert_eq!(failpoint::armed_point().as_deref(), Some("after_step_2"));
    assert_eq!(failpoint::hit("after_journal_intent"), Ok(()));
    assert_eq!(failpoint::hit_after_step(1), Ok(()));
    let crash = failpoint::hit_after_step(2).unwrap_err();
    assert_eq!(
        crash.to_string(),
        "simulated crash at failpoint after_step_2"
    );
    assert_eq!(failpoint::hit_after_step(2), Ok(()));
    assert_eq!(failpoint::armed_point(), None);
    failpoint::arm("before_mark_applied");
    failpoint::disarm();
    assert_eq!(failpoint::hit("before_mark_applied"), Ok(()));
}

/// The journal side of an apply, with its crash points, as the apply will call them.
#[cfg(feature = "failpoints")]
fn journal_side_of_an_apply(dir: &Path) -> Result<ChangeId, failpoint::Crash> {
    let j = open(dir);
    let r = j.begin(change("app"), t(0)).unwrap();
    failpoint::hit("after_journal_intent")?;
    j.mark_applying(r.id, t(1)).unwrap();
    failpoint::hit("after_mark_applying")?;
    for step in 1..=r.diff.changes.len() as u32 {
        // The IAM write of this step would go here.
        j.record_step(r.id, step, None, t(2)).unwrap();
        failpoint::hit_after_step(step)?;
    }
    failpoint::hit("before_mark_applied")?;
    j.mark_applied(r.id, t(3)).unwrap();
    Ok(r.id)
}

#[cfg(feature = "failpoints")]
#[test]
fn after_a_crash_at_any_point_the_journal_shows_what_to_restore() {
    use ChangeState::*;
    let _serial = failpoint::serial();
    let cases = [
        ("after_journal_intent", Intended, 0),
        ("after_mark_applying", Applying, 0),
        ("after_step_1", Applying, 1),
        ("after_step_2", Applying, 2),
        ("before_mark_applied", Applying, 3),
    ];
    for (point, state, steps_done) in cases {
        let dir = tempfile::tempdir().unwrap();
        failpoint::arm(point);
        // On another thread, as an apply in spawn_blocking would run; the journal is dropped
        // with the thread, as a dead process's would be.
        let dir_path = dir.path().to_path_buf();
        let crashed = std::thread::spawn(move || journal_side_of_an_apply(&dir_path));
        assert_eq!(crashed.join().unwrap().unwrap_err().point, point);
        let unfinished = open(dir.path()).unfinished().unwrap();
        assert_eq!(unfinished.len(), 1, "{point}");
        let r = &unfinished[0];
        assert_eq!((r.state, r.steps_done), (state, steps_done), "{point}");
        assert_eq!(r.before, change("app").before, "{point}");
    }
    let dir = tempfile::tempdir().unwrap();
    let id = journal_side_of_an_apply(dir.path()).unwrap();
    let j = open(dir.path());
    assert!(j.unfinished().unwrap().is_empty());
    assert_eq!(j.get(id).unwrap().state, ChangeState::Applied);
}

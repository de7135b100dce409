//! The rollback queue.

use super::*;
use RollbackState::*;

fn ids(v: &[PendingRollback]) -> Vec<&str> {
    v.iter().map(|r| r.request_id.as_str()).collect()
}

#[test]
fn requests_are_taken_first_in_first_out_and_only_once() {
    let dir = tempfile::tempdir().unwrap();
    let s = open(dir.path());
    let r1 = s
        .queue_rollback(
            new_rollback(A, RollbackTarget::Change(change_id(0, 1))),
            t(5),
        )
        .unwrap();
    let rb = s
        .queue_rollback(new_rollback(B, RollbackTarget::Role("app".into())), t(5))
        .unwrap();
    let r2 = s
        .queue_rollback(new_rollback(A, RollbackTarget::Since(t(0))), t(5))
        .unwrap();
    assert_eq!(
        (r1.state, r1.requested_at, r1.detail.clone()),
        (Queued, t(5), None)
    );
    let taken = s.take_queued(A).unwrap();
    assert_eq!(ids(&taken), [&r1.request_id, &r2.request_id]);
    assert!(taken.iter().all(|r| r.state == Sent));
    assert_eq!(taken[1].target, RollbackTarget::Since(t(0)));
    assert!(s.take_queued(A).unwrap().is_empty());
    let r3 = s
        .queue_rollback(new_rollback(A, RollbackTarget::Role("db".into())), t(6))
        .unwrap();
    assert_eq!(ids(&s.take_queued(A).unwrap()), [&r3.request_id]);
    assert_eq!(ids(&s.take_queued(B).unwrap()), [&rb.request_id]);
    assert_eq!(
        ids(&s.list_rollbacks(A).unwrap()),
        [&r1.request_id, &r2.request_id, &r3.request_id]
    );
}

#[test]
fn sent_requests_go_back_in_the_queue_when_the_agent_leaves() {
    let dir = tempfile::tempdir().unwrap();
    let s = open(dir.path());
    let r1 = s
        .queue_rollback(new_rollback(A, RollbackTarget::Role("app".into())), t(0))
        .unwrap();
    let r2 = s
        .queue_rollback(new_rollback(A, RollbackTarget::Role("db".into())), t(1))
        .unwrap();
    s.take_queued(A).unwrap();
    s.finish_rollback(A, &r1.request_id, true, None, Vec::new())
        .unwrap();
    assert_eq!(s.requeue_sent(A).unwrap(), 1);
    assert_eq!(ids(&s.take_queued(A).unwrap()), [&r2.request_id]);
}

#[test]
fn a_finished_request_keeps_its_answer() {
    let dir = tempfile::tempdir().unwrap();
    let s = open(dir.path());
    let r = s
        .queue_rollback(new_rollback(A, RollbackTarget::Role("app".into())), t(0))
        .unwrap();
    let id = r.request_id.as_str();
    s.take_queued(A).unwrap();
    let failed = s
        .finish_rollback(A, id, false, Some("role is gone".into()), Vec::new())
        .unwrap();
    assert_eq!(
        (failed.state, failed.detail.as_deref()),
        (Failed, Some("role is gone"))
    );
    // The same answer again changes nothing.
    assert_eq!(
        s.finish_rollback(A, id, false, None, Vec::new()).unwrap(),
        failed
    );
    let err = s
        .finish_rollback(A, id, true, None, Vec::new())
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("rollback request {id} is already failed and cannot become done")
    );
    assert_eq!(s.get_rollback(id).unwrap(), Some(failed));
    assert_eq!(s.requeue_sent(A).unwrap(), 0);
}

#[test]
fn a_request_is_finished_only_by_its_own_account() {
    let dir = tempfile::tempdir().unwrap();
    let s = open(dir.path());
    let r = s
        .queue_rollback(new_rollback(A, RollbackTarget::Role("app".into())), t(0))
        .unwrap();
    let err = s
        .finish_rollback(B, &r.request_id, true, None, Vec::new())
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "rollback request {} of account {B} is not in the store",
            r.request_id
        )
    );
    // An answer may come before the send is recorded (the request was requeued).
    let done = s
        .finish_rollback(A, &r.request_id, true, None, Vec::new())
        .unwrap();
    assert_eq!(done.state, Done);
    assert!(s.take_queued(A).unwrap().is_empty());
}

#[test]
fn a_malformed_request_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let s = open(dir.path());
    let err = s
        .queue_rollback(new_rollback(A, RollbackTarget::Role(String::new())), t(0))
        .unwrap_err();
    assert_eq!(err.to_string(), "invalid role name \"\": it is empty");
    let err = s
        .queue_rollback(new_rollback("x", RollbackTarget::Since(t(0))), t(0))
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid account id \"x\": expected 12 digits"
    );
    assert!(s.list_rollbacks(A).unwrap().is_empty());
}

//! The audit log: sequence numbers and listing.

use super::*;

fn seqs(s: &Store, f: AuditFilter) -> Vec<u64> {
    s.audit(&f).unwrap().into_iter().map(|e| e.seq).collect()
}

#[test]
fn entries_are_numbered_in_the_order_they_are_appended() {
    let dir = tempfile::tempdir().unwrap();
    let s = open(dir.path());
    let first = s.append_audit(new_audit("add_rule"), t(0)).unwrap();
    assert_eq!(
        first,
        AuditEntry {
            seq: 1,
            at: t(0),
            who: "operator:alice".into(),
            action: "add_rule".into(),
            target: A.into(),
            result: "ok".into(),
        }
    );
    assert_eq!(s.append_audit(new_audit("approve"), t(1)).unwrap().seq, 2);
    assert_eq!(s.audit(&AuditFilter::default()).unwrap()[0], first);
    let err = s
        .append_audit(
            NewAuditEntry {
                who: String::new(),
                ..new_audit("x")
            },
            t(2),
        )
        .unwrap_err();
    assert_eq!(err.to_string(), "invalid audit actor \"\": it is empty");
}

#[test]
fn entries_are_listed_after_a_cursor_since_a_time_and_up_to_a_limit() {
    let dir = tempfile::tempdir().unwrap();
    let s = open(dir.path());
    for i in 0..6 {
        s.append_audit(new_audit(&format!("a{i}")), t(i * 10))
            .unwrap();
    }
    assert_eq!(seqs(&s, AuditFilter::default()), [1, 2, 3, 4, 5, 6]);
    let page = |after_seq, limit| AuditFilter {
        after_seq,
        limit: Some(limit),
        ..Default::default()
    };
    assert_eq!(seqs(&s, page(None, 2)), [1, 2]);
    assert_eq!(seqs(&s, page(Some(2), 2)), [3, 4]);
    assert!(seqs(&s, page(Some(6), 2)).is_empty());
    assert!(seqs(&s, page(Some(u64::MAX), 2)).is_empty());
    let since = |secs, newest_first, limit| AuditFilter {
        since: Some(t(secs)),
        newest_first,
        limit,
        ..Default::default()
    };
    assert_eq!(seqs(&s, since(25, false, None)), [4, 5, 6]);
    assert_eq!(seqs(&s, since(20, false, None)), [3, 4, 5, 6]);
    assert_eq!(seqs(&s, since(20, true, Some(2))), [6, 5]);
    let newest = AuditFilter {
        newest_first: true,
        limit: Some(3),
        ..Default::default()
    };
    assert_eq!(seqs(&s, newest), [6, 5, 4]);
    let both = AuditFilter {
        since: Some(t(10)),
        after_seq: Some(4),
        ..Default::default()
    };
    assert_eq!(seqs(&s, both), [5, 6]);
}

#[test]
fn a_clock_that_steps_back_does_not_hide_or_reorder_entries() {
    let dir = tempfile::tempdir().unwrap();
    let s = open(dir.path());
    s.append_audit(new_audit("a"), t(100)).unwrap();
    s.append_audit(new_audit("b"), t(50)).unwrap();
    s.append_audit(new_audit("c"), t(120)).unwrap();
    let since = |secs| AuditFilter {
        since: Some(t(secs)),
        ..Default::default()
    };
    assert_eq!(seqs(&s, since(60)), [1, 3]);
    assert_eq!(seqs(&s, since(0)), [1, 2, 3]);
}

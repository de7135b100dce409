//! History: idempotent upserts, no going back, fixed parts, queries.

use super::*;
use ChangeState::*;

#[test]
fn a_change_reported_twice_is_stored_once() {
    let dir = tempfile::tempdir().unwrap();
    let s = open(dir.path());
    let c = change(A, "app", 0, 1);
    assert_eq!(s.upsert_change(A, &c).unwrap(), Upsert::Inserted);
    assert_eq!(s.upsert_change(A, &c).unwrap(), Upsert::Unchanged);
    assert_eq!(
        s.history(&HistoryFilter::default()).unwrap(),
        vec![c.clone()]
    );
    // The same id in another account is another change.
    let other = change(B, "app", 0, 1);
    assert_eq!(s.upsert_change(B, &other).unwrap(), Upsert::Inserted);
    assert_eq!(s.get_change(A, c.id).unwrap(), Some(c));
    assert_eq!(s.get_change(B, other.id).unwrap(), Some(other));
}

#[test]
fn a_change_only_moves_forward() {
    let dir = tempfile::tempdir().unwrap();
    let s = open(dir.path());
    let intended = change(A, "app", 0, 1);
    let applying1 = moved(&intended, Applying, 1, 1);
    let applying2 = moved(&intended, Applying, 2, 2);
    let applied = moved(&intended, Applied, 2, 3);
    let rolled_back = ChangeRecord {
        rolled_back_by: Some(change_id(10, 2)),
        ..moved(&intended, RolledBack, 2, 11)
    };
    let get = || s.get_change(A, intended.id).unwrap().unwrap();
    assert_eq!(s.upsert_change(A, &applying2).unwrap(), Upsert::Inserted);
    for older in [&intended, &applying1] {
        assert_eq!(s.upsert_change(A, older).unwrap(), Upsert::Stale);
        assert_eq!(get(), applying2);
    }
    assert_eq!(s.upsert_change(A, &applied).unwrap(), Upsert::Advanced);
    assert_eq!(s.upsert_change(A, &applying2).unwrap(), Upsert::Stale);
    // Failed is as far as Applied; whichever final state came first stays.
    let failed = ChangeRecord {
        error: Some("throttled".into()),
        ..moved(&intended, Failed, 2, 20)
    };
    assert_eq!(s.upsert_change(A, &failed).unwrap(), Upsert::Stale);
    assert_eq!(get(), applied);
    assert_eq!(s.upsert_change(A, &rolled_back).unwrap(), Upsert::Advanced);
    for older in [&intended, &applying1, &applying2, &applied, &failed] {
        assert_eq!(s.upsert_change(A, older).unwrap(), Upsert::Stale);
    }
    assert_eq!(get(), rolled_back);
}

#[test]
fn within_a_state_steps_then_time_decide() {
    let dir = tempfile::tempdir().unwrap();
    let s = open(dir.path());
    let c = change(A, "app", 0, 1);
    let step1 = moved(&c, Applying, 1, 5);
    let step1_later = ChangeRecord {
        created_versions: BTreeMap::from([("arn:p".to_string(), "v2".to_string())]),
        ..moved(&c, Applying, 1, 6)
    };
    s.upsert_change(A, &step1).unwrap();
    assert_eq!(s.upsert_change(A, &step1_later).unwrap(), Upsert::Advanced);
    assert_eq!(s.upsert_change(A, &step1).unwrap(), Upsert::Stale);
    // Only the acknowledgement mark differs: nothing to write.
    let acked = ChangeRecord {
        reported: true,
        ..step1_later.clone()
    };
    assert_eq!(s.upsert_change(A, &acked).unwrap(), Upsert::Unchanged);
    assert_eq!(s.get_change(A, c.id).unwrap().unwrap(), step1_later);
}

#[test]
fn a_report_that_rewrites_the_fixed_parts_of_a_change_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let s = open(dir.path());
    let c = change(A, "app", 0, 1);
    s.upsert_change(A, &c).unwrap();
    let mut forged = moved(&c, Applying, 1, 1);
    forged.before.inline.insert("keep".into(), "{}".into());
    let err = s.upsert_change(A, &forged).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "change {} of account {A} conflicts with the stored copy: its before-image differs",
            c.id
        )
    );
    let renamed = ChangeRecord {
        role_arn: arn(A, "other"),
        ..moved(&c, Applying, 1, 1)
    };
    let err = s.upsert_change(A, &renamed).unwrap_err();
    assert!(err.to_string().ends_with("its role arn differs"), "{err}");
    assert_eq!(s.get_change(A, c.id).unwrap().unwrap(), c);
}

#[test]
fn a_change_reported_by_another_account_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let s = open(dir.path());
    let c = change(A, "app", 0, 1);
    let err = s.upsert_change(B, &c).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "change {} names account {A}, but was reported by account {B}",
            c.id
        )
    );
    assert!(s.history(&HistoryFilter::default()).unwrap().is_empty());
}

/// Account A: app at 0, db at 10, app at 20 (failed); account B: app at 5, web at 15.
fn with_history(dir: &Path) -> (Store, [ChangeId; 5]) {
    let s = open(dir);
    let a1 = change(A, "app", 0, 1);
    let b1 = change(B, "app", 5, 2);
    let a2 = change(A, "db", 10, 3);
    let b2 = change(B, "web", 15, 4);
    let a3 = moved(&change(A, "app", 20, 5), Failed, 0, 21);
    for c in [&a3, &b2, &a2, &b1, &a1] {
        s.upsert_change(&c.account_id, c).unwrap();
    }
    (s, [a1.id, b1.id, a2.id, b2.id, a3.id])
}

#[test]
fn history_is_queried_by_account_role_time_and_state_in_time_order() {
    let dir = tempfile::tempdir().unwrap();
    let (s, [a1, b1, a2, b2, a3]) = with_history(dir.path());
    let ids = |f: HistoryFilter| -> Vec<ChangeId> {
        s.history(&f).unwrap().into_iter().map(|r| r.id).collect()
    };
    let all = HistoryFilter::default();
    assert_eq!(ids(all.clone()), [a1, b1, a2, b2, a3]);
    let of_a = HistoryFilter {
        account_id: Some(A.into()),
        ..Default::default()
    };
    assert_eq!(ids(of_a.clone()), [a1, a2, a3]);
    let app_of_a = HistoryFilter {
        changes: ChangeFilter {
            role_name: Some("app".into()),
            ..Default::default()
        },
        ..of_a.clone()
    };
    assert_eq!(ids(app_of_a), [a1, a3]);
    let by_arn = HistoryFilter {
        changes: ChangeFilter {
            role_arn: Some(arn(B, "app")),
            ..Default::default()
        },
        ..Default::default()
    };
    assert_eq!(ids(by_arn), [b1]);
    let since = |account: Option<&str>, secs| HistoryFilter {
        account_id: account.map(str::to_string),
        changes: ChangeFilter {
            since: Some(t(secs)),
            ..Default::default()
        },
        ..Default::default()
    };
    assert_eq!(ids(since(None, 5)), [b1, a2, b2, a3]);
    assert_eq!(ids(since(Some(A), 5)), [a2, a3]);
    assert_eq!(ids(since(Some(B), 16)), []);
    let failed = HistoryFilter {
        changes: ChangeFilter {
            states: vec![Failed],
            ..Default::default()
        },
        ..Default::default()
    };
    assert_eq!(ids(failed), [a3]);
    assert!(
        ids(HistoryFilter {
            account_id: Some("999999999999".into()),
            ..Default::default()
        })
        .is_empty()
    );
}

#[test]
fn history_limits_keep_the_oldest_or_the_newest() {
    let dir = tempfile::tempdir().unwrap();
    let (s, [a1, b1, a2, b2, a3]) = with_history(dir.path());
    let ids = |account: Option<&str>, limit, newest_first| -> Vec<ChangeId> {
        let f = HistoryFilter {
            account_id: account.map(str::to_string),
            limit: Some(limit),
            newest_first,
            ..Default::default()
        };
        s.history(&f).unwrap().into_iter().map(|r| r.id).collect()
    };
    assert_eq!(ids(None, 2, false), [a1, b1]);
    assert_eq!(ids(None, 3, true), [a3, b2, a2]);
    assert_eq!(ids(Some(A), 2, false), [a1, a2]);
    assert_eq!(ids(Some(A), 2, true), [a3, a2]);
    assert_eq!(ids(Some(B), 10, true), [b2, b1]);
    assert_eq!(ids(Some(B), 0, true), []);
}

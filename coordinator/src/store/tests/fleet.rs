//! Accounts, plans and seen report ids.

use super::*;

#[test]
fn an_account_is_created_on_first_contact_and_updated_after() {
    let dir = tempfile::tempdir().unwrap();
    let s = open(dir.path());
    assert_eq!(s.get_account(A).unwrap(), None);
    let a = s.set_connected(A, true, Some("1.0.0"), t(0)).unwrap();
    assert!(a.connected);
    assert_eq!(a.agent_version, "1.0.0");
    assert_eq!(a.last_seen, Some(t(0)));
    assert_eq!(a.last_report, None);
    let summary = AccountSummary {
        roles: 12,
        actions_granted: 400,
        removable: 150,
    };
    let a = s.upsert_account(A, summary, t(5)).unwrap();
    assert_eq!((a.roles, a.actions_granted, a.removable), (12, 400, 150));
    assert_eq!((a.last_report, a.last_seen), (Some(t(5)), Some(t(5))));
    assert!(a.connected, "a report leaves the connection as it is");
    let a = s.set_connected(A, false, None, t(9)).unwrap();
    assert!(!a.connected);
    assert_eq!(
        a.agent_version, "1.0.0",
        "no version given keeps the stored one"
    );
    assert_eq!(a.roles, 12);
    assert_eq!(s.get_account(A).unwrap(), Some(a));
}

#[test]
fn accounts_are_listed_in_id_order_and_all_disconnected_on_start() {
    let dir = tempfile::tempdir().unwrap();
    let s = open(dir.path());
    s.set_connected(B, true, Some("1.1.0"), t(0)).unwrap();
    s.set_connected(A, true, Some("1.0.0"), t(1)).unwrap();
    s.upsert_account("777788889999", AccountSummary::default(), t(2))
        .unwrap();
    let ids = |s: &Store| -> Vec<(String, bool)> {
        s.list_accounts()
            .unwrap()
            .into_iter()
            .map(|a| (a.account_id, a.connected))
            .collect()
    };
    assert_eq!(
        ids(&s),
        [
            (A.to_string(), true),
            (B.to_string(), true),
            ("777788889999".to_string(), false)
        ]
    );
    assert_eq!(s.disconnect_all().unwrap(), 2);
    assert!(ids(&s).iter().all(|(_, c)| !c));
    assert_eq!(s.get_account(B).unwrap().unwrap().last_seen, Some(t(0)));
    assert_eq!(s.disconnect_all().unwrap(), 0);
}

#[test]
fn a_bad_account_id_is_refused_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let s = open(dir.path());
    for bad in ["42", "11112222333a", "", "1111222233334"] {
        let err = s.set_connected(bad, true, None, t(0)).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("invalid account id {bad:?}: expected 12 digits")
        );
    }
    let err = s.put_plan(&plan("12", "app", "fp", t(0))).unwrap_err();
    assert!(matches!(err, StoreError::InvalidInput { .. }), "{err}");
    assert!(s.list_accounts().unwrap().is_empty());
}

#[test]
fn the_newest_plan_of_a_role_replaces_older_ones_and_a_late_old_one_is_ignored() {
    let dir = tempfile::tempdir().unwrap();
    let s = open(dir.path());
    assert!(s.put_plan(&plan(A, "app", "fp-1", t(10))).unwrap());
    assert!(s.put_plan(&plan(A, "app", "fp-2", t(20))).unwrap());
    assert!(!s.put_plan(&plan(A, "app", "fp-old", t(15))).unwrap());
    assert_eq!(
        s.get_plan(A, "app").unwrap().unwrap(),
        plan(A, "app", "fp-2", t(20))
    );
    // The same plan sent again is stored again, harmlessly.
    assert!(s.put_plan(&plan(A, "app", "fp-2", t(20))).unwrap());
    assert_eq!(s.get_plan(A, "other").unwrap(), None);
    assert_eq!(s.get_plan(B, "app").unwrap(), None);
}

#[test]
fn plans_are_listed_per_account_in_role_order() {
    let dir = tempfile::tempdir().unwrap();
    let s = open(dir.path());
    for (account, role) in [(B, "x"), (A, "web"), (A, "api"), (B, "a"), (A, "db")] {
        s.put_plan(&plan(account, role, "fp", t(0))).unwrap();
    }
    let roles = |account: &str| -> Vec<String> {
        s.list_plans(account)
            .unwrap()
            .into_iter()
            .map(|p| p.role_name)
            .collect()
    };
    assert_eq!(roles(A), ["api", "db", "web"]);
    assert_eq!(roles(B), ["a", "x"]);
    assert!(roles("999999999999").is_empty());
}

#[test]
fn a_plan_without_role_or_fingerprint_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let s = open(dir.path());
    let err = s.put_plan(&plan(A, " ", "fp", t(0))).unwrap_err();
    assert_eq!(err.to_string(), "invalid role name \" \": it is empty");
    let err = s.put_plan(&plan(A, "app", "", t(0))).unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid plan fingerprint \"\": it is empty"
    );
}

#[test]
fn a_report_id_is_new_once_per_account() {
    let dir = tempfile::tempdir().unwrap();
    let s = open(dir.path());
    assert!(!s.seen_report(A, "r1", t(0)).unwrap());
    assert!(s.seen_report(A, "r1", t(1)).unwrap());
    assert!(!s.seen_report(B, "r1", t(2)).unwrap());
    assert!(!s.seen_report(A, "r2", t(3)).unwrap());
    let err = s.seen_report(A, "", t(3)).unwrap_err();
    assert_eq!(err.to_string(), "invalid report id \"\": it is empty");
}

#[test]
fn old_report_ids_can_be_forgotten() {
    let dir = tempfile::tempdir().unwrap();
    let s = open(dir.path());
    s.seen_report(A, "old", t(0)).unwrap();
    s.seen_report(A, "new", t(100)).unwrap();
    assert_eq!(s.forget_reports_before(t(50)).unwrap(), 1);
    assert!(!s.seen_report(A, "old", t(101)).unwrap());
    assert!(s.seen_report(A, "new", t(101)).unwrap());
}

#[test]
fn a_whole_report_is_recorded_once() {
    let dir = tempfile::tempdir().unwrap();
    let s = open(dir.path());
    let c = change(A, "app", 0, 1);
    let report = Report {
        summary: Some(AccountSummary {
            roles: 2,
            actions_granted: 10,
            removable: 4,
        }),
        plans: vec![plan(A, "app", "fp-1", t(0)), plan(A, "db", "fp-9", t(0))],
        changes: vec![c.clone()],
    };
    let done = s.ingest_report(A, "r1", &report, t(5)).unwrap().unwrap();
    assert_eq!(done.plans_stored, 2);
    assert_eq!(done.changes, [(c.id, Upsert::Inserted)]);
    assert_eq!(s.ingest_report(A, "r1", &report, t(6)).unwrap(), None);
    assert_eq!(s.list_plans(A).unwrap().len(), 2);
    assert_eq!(s.get_change(A, c.id).unwrap(), Some(c.clone()));
    assert_eq!(s.get_account(A).unwrap().unwrap().last_report, Some(t(5)));
    // A report with the same contents under a new id is harmless.
    let again = s.ingest_report(A, "r2", &report, t(7)).unwrap().unwrap();
    assert_eq!(again.changes, [(c.id, Upsert::Unchanged)]);
}

#[test]
fn a_report_with_one_bad_record_is_refused_whole_and_not_marked_seen() {
    let dir = tempfile::tempdir().unwrap();
    let s = open(dir.path());
    let report = Report {
        summary: None,
        plans: vec![plan(A, "app", "fp-1", t(0))],
        changes: vec![change(A, "app", 0, 1), change(B, "db", 0, 2)],
    };
    let err = s.ingest_report(A, "r1", &report, t(5)).unwrap_err();
    assert!(err.to_string().ends_with(&format!(
        "names account {B}, but was reported by account {A}"
    )));
    assert!(s.list_plans(A).unwrap().is_empty());
    assert!(!s.seen_report(A, "r1", t(6)).unwrap());
    let foreign_plan = Report {
        plans: vec![plan(B, "app", "fp-1", t(0))],
        ..Default::default()
    };
    let err = s.ingest_report(A, "r2", &foreign_plan, t(5)).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("plan of role app names account {B}, but was reported by account {A}")
    );
}

//! Tests of the journal: the state machine, durability across reopen, queries, ids, and the
//! refusal of newer, corrupt and locked files.

use std::collections::BTreeMap;
use std::path::Path;

use chrono::{DateTime, TimeZone, Utc};
use whittle_policy::diff::{Diff, RoleState};

use super::*;

fn t(secs: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(1_700_000_000 + secs, 0).unwrap()
}

fn arn(role: &str) -> String {
    format!("arn:aws:iam::111122223333:role/{role}")
}

const MANAGED: &str = "arn:aws:iam::111122223333:policy/app";

/// A change with three steps: a new managed document version, a trimmed inline policy and
/// a deleted one.
fn change(role: &str) -> NewChange {
    let mut before = RoleState::default();
    before
        .inline
        .insert("keep".into(), r#"{"a":"s3:*"}"#.into());
    before
        .inline
        .insert("drop".into(), r#"{"a":"ec2:*"}"#.into());
    before
        .managed_documents
        .insert(MANAGED.into(), "v1 doc".into());
    before.attached.insert(MANAGED.into());
    let mut after = before.clone();
    after
        .inline
        .insert("keep".into(), r#"{"a":"s3:GetObject"}"#.into());
    after.inline.remove("drop");
    after
        .managed_documents
        .insert(MANAGED.into(), "v2 doc".into());
    let diff = Diff::between(&before, &after);
    assert_eq!(diff.changes.len(), 3);
    NewChange {
        kind: ChangeKind::Apply,
        account_id: "111122223333".into(),
        role_arn: arn(role),
        role_id: format!("AROA{}", role.to_uppercase()),
        role_name: role.into(),
        plan_fingerprint: Some("fp-1".into()),
        before,
        after,
        diff,
        managed_versions_before: BTreeMap::from([(MANAGED.to_string(), "v1".to_string())]),
    }
}

/// The rollback of `of`: the inverse diff, from its after-image back to its before-image.
fn rollback_of(of: &ChangeRecord) -> NewChange {
    NewChange {
        kind: ChangeKind::Rollback { of: of.id },
        plan_fingerprint: None,
        before: of.after.clone(),
        after: of.before.clone(),
        diff: of.diff.inverse(),
        managed_versions_before: BTreeMap::new(),
        account_id: of.account_id.clone(),
        role_arn: of.role_arn.clone(),
        role_id: of.role_id.clone(),
        role_name: of.role_name.clone(),
    }
}

fn open(dir: &Path) -> Journal {
    Journal::open(dir).unwrap()
}

/// Runs a whole apply of `id` through the journal.
fn apply_all(j: &Journal, id: ChangeId, now: DateTime<Utc>) -> ChangeRecord {
    j.mark_applying(id, now).unwrap();
    let total = j.get(id).unwrap().diff.changes.len() as u32;
    for step in 1..=total {
        j.record_step(id, step, None, now).unwrap();
    }
    j.mark_applied(id, now).unwrap()
}

mod failpoints;
mod lifecycle;
mod opening;
mod queries;

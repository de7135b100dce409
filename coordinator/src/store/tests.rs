//! Tests of the store: each area, durability across reopen, and the refusal of newer,
//! corrupt and locked files.

use std::collections::BTreeMap;
use std::path::Path;

use chrono::{DateTime, TimeZone, Utc};
use ulid::Ulid;
use whittle_policy::change::{ChangeKind, NewChange};
use whittle_policy::diff::{Diff, RoleState};

use super::*;

mod audit;
mod campaigns;
mod decisions;
mod durability;
mod fleet;
mod history;
mod opening;
mod rollbacks;
mod rules;

const A: &str = "111122223333";
const B: &str = "444455556666";

fn t(secs: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(1_700_000_000 + secs, 0).unwrap()
}

fn open(dir: &Path) -> Store {
    Store::open(dir).unwrap()
}

fn arn(account: &str, role: &str) -> String {
    format!("arn:aws:iam::{account}:role/{role}")
}

/// The plan of `role` in `account` with fingerprint `fp`, planned at `planned`.
fn plan(account: &str, role: &str, fp: &str, planned: DateTime<Utc>) -> StoredPlan {
    StoredPlan {
        account_id: account.into(),
        role_name: role.into(),
        role_arn: arn(account, role),
        role_id: format!("AROA{}", role.to_uppercase()),
        fingerprint: fp.into(),
        state_fingerprint: format!("state-{fp}"),
        catalogue_version: "2025-01-01".into(),
        planned_at: planned,
        skipped: None,
        removable: 3,
        kept: 7,
        report_json: r#"{"removed":["ec2:*"]}"#.into(),
        inputs_json: r#"{"policies":{}}"#.into(),
        received_at: planned,
    }
}

/// A change id made at `t(secs)`, distinct per `n`.
fn change_id(secs: i64, n: u128) -> ChangeId {
    let ms = u64::try_from(t(secs).timestamp_millis()).unwrap();
    ChangeId::from_ulid(Ulid::from_parts(ms, n))
}

/// A change of `role` in `account` that began at `t(secs)`, in state Intended, with two
/// steps: a trimmed inline policy and a deleted one.
fn change(account: &str, role: &str, secs: i64, n: u128) -> ChangeRecord {
    let mut before = RoleState::default();
    before
        .inline
        .insert("keep".into(), r#"{"a":"s3:*"}"#.into());
    before
        .inline
        .insert("drop".into(), r#"{"a":"ec2:*"}"#.into());
    let mut after = before.clone();
    after
        .inline
        .insert("keep".into(), r#"{"a":"s3:GetObject"}"#.into());
    after.inline.remove("drop");
    let diff = Diff::between(&before, &after);
    let new = NewChange {
        kind: ChangeKind::Apply,
        account_id: account.into(),
        role_arn: arn(account, role),
        role_id: format!("AROA{}", role.to_uppercase()),
        role_name: role.into(),
        plan_fingerprint: Some("fp-1".into()),
        before,
        after,
        diff,
        managed_versions_before: BTreeMap::new(),
    };
    ChangeRecord::new(change_id(secs, n), new, t(secs))
}

/// `r` moved to `state` at `t(secs)` with `steps` steps done.
fn moved(r: &ChangeRecord, state: ChangeState, steps: u32, secs: i64) -> ChangeRecord {
    ChangeRecord {
        state,
        steps_done: steps,
        updated_at: t(secs),
        ..r.clone()
    }
}

fn new_decision(account: &str, role: &str, fp: &str) -> NewDecision {
    NewDecision {
        account_id: account.into(),
        role_name: role.into(),
        plan_fingerprint: fp.into(),
        author: "alice".into(),
        detail: None,
        ..NewDecision::default()
    }
}

fn new_rule(pattern: &str) -> NewRule {
    NewRule {
        selector: Selector {
            action_patterns: vec![pattern.into()],
            ..Default::default()
        },
        reason: "break glass".into(),
        author: "alice".into(),
        expires_at: None,
    }
}

fn new_audit(action: &str) -> NewAuditEntry {
    NewAuditEntry {
        who: "operator:alice".into(),
        action: action.into(),
        target: A.into(),
        result: "ok".into(),
    }
}

fn new_rollback(account: &str, target: RollbackTarget) -> NewRollback {
    NewRollback {
        account_id: account.into(),
        target,
        force: false,
        requested_by: "alice".into(),
    }
}

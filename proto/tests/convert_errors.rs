//! A malformed domain message fails to convert with an error naming the field and the
//! problem, and never panics. (Agent and operator messages: `convert_errors_protocol.rs`.)

#![allow(clippy::unwrap_used)] // test code: a failed set-up should fail the test

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use whittle_policy::change::{ChangeKind, ChangeRecord, ChangeState};
use whittle_policy::{Diff, RoleState, Settings};
use whittle_proto::convert::*;
use whittle_proto::{admin, types};

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .unwrap()
        .with_timezone(&Utc)
}

/// The error message of converting `wire` into `D`.
fn error<D, P>(wire: P) -> String
where
    D: TryFrom<P, Error = ConvertError> + std::fmt::Debug,
{
    D::try_from(wire).unwrap_err().to_string()
}

fn state() -> RoleState {
    RoleState {
        inline: BTreeMap::from([("app".into(), r#"{"Statement":[]}"#.into())]),
        attached: ["arn:aws:iam::111122223333:policy/a".to_string()].into(),
        managed_documents: BTreeMap::new(),
    }
}

fn record() -> types::v1::ChangeRecord {
    let before = state();
    let after = RoleState::default();
    ChangeRecord {
        id: "01KAE5Z0B8X3W4T7Q9M2N6P1RA".parse().unwrap(),
        kind: ChangeKind::Apply,
        account_id: "111122223333".into(),
        role_arn: "arn:aws:iam::111122223333:role/app".into(),
        role_id: "AROAEXAMPLE".into(),
        role_name: "app".into(),
        plan_fingerprint: Some("f".into()),
        diff: Diff::between(&before, &after),
        before,
        after,
        managed_versions_before: BTreeMap::new(),
        created_versions: BTreeMap::new(),
        state: ChangeState::Applied,
        steps_done: 2,
        error: None,
        rolled_back_by: None,
        created_at: at("2026-11-20T12:00:00Z"),
        updated_at: at("2026-11-20T12:00:01Z"),
        reported: false,
    }
    .into()
}

fn record_error(change: impl FnOnce(&mut types::v1::ChangeRecord)) -> String {
    let mut wire = record();
    change(&mut wire);
    error::<ChangeRecord, _>(wire)
}

#[test]
fn bad_change_records_fail_to_convert_naming_the_field() {
    assert_eq!(
        record_error(|r| r.created_at = "x".into()),
        r#"ChangeRecord.created_at: "x" is not an RFC 3339 time"#
    );
    assert_eq!(
        record_error(|r| r.id = "nope".into()),
        r#"ChangeRecord.id: change id "nope" is not a valid ulid: it has 4 characters, a ulid has 26"#
    );
    assert_eq!(
        record_error(|r| r.account_id = "12".into()),
        r#"ChangeRecord.account_id: "12" is not a 12-digit account id"#
    );
    assert_eq!(
        record_error(|r| r.role_name = String::new()),
        "ChangeRecord.role_name: must not be empty"
    );
    assert_eq!(
        record_error(|r| r.kind = None),
        "ChangeRecord.kind: missing"
    );
    assert_eq!(
        record_error(|r| r.kind = Some(types::v1::ChangeKind { kind: None })),
        "ChangeRecord.kind.kind: missing"
    );
    assert_eq!(
        record_error(|r| {
            r.kind = Some(
                ChangeKind::Rollback {
                    of: "01KAE5Z0B8X3W4T7Q9M2N6P1RA".parse().unwrap(),
                }
                .into(),
            );
            if let Some(types::v1::change_kind::Kind::Rollback(rb)) =
                r.kind.as_mut().and_then(|k| k.kind.as_mut())
            {
                rb.of = "8ZZZZZZZZZZZZZZZZZZZZZZZZZ".into();
            }
        }),
        r#"ChangeRecord.kind.rollback.of: change id "8ZZZZZZZZZZZZZZZZZZZZZZZZZ" is not a valid ulid: it is out of range or not in canonical form"#
    );
    assert_eq!(record_error(|r| r.state = 0), "ChangeRecord.state: missing");
    assert_eq!(
        record_error(|r| r.state = 42),
        "ChangeRecord.state: 42 is not a known ChangeState value"
    );
    assert_eq!(
        record_error(|r| r.after = None),
        "ChangeRecord.after: missing"
    );
    assert_eq!(
        record_error(|r| {
            if let Some(b) = r.before.as_mut() {
                b.attached.push("arn:aws:iam::111122223333:policy/a".into());
            }
        }),
        r#"ChangeRecord.before.attached[1]: "arn:aws:iam::111122223333:policy/a" appears more than once"#
    );
    assert_eq!(
        record_error(|r| {
            if let Some(d) = r.diff.as_mut() {
                d.changes[1].kind = None;
            }
        }),
        "ChangeRecord.diff.changes[1].kind: missing"
    );
    assert_eq!(
        record_error(|r| r.rolled_back_by = Some(String::new())),
        r#"ChangeRecord.rolled_back_by: change id "" is not a valid ulid: it has 0 characters, a ulid has 26"#
    );
}

#[test]
fn bad_roles_usage_and_settings_fail_to_convert_naming_the_field() {
    let role = types::v1::Role {
        arn: "arn:aws:iam::111122223333:role/app".into(),
        role_id: "AROAEXAMPLE".into(),
        name: "app".into(),
        path: "/".into(),
        create_date: "2023-05-16".into(),
        ..Default::default()
    };
    assert_eq!(
        error::<whittle_policy::Role, _>(role.clone()),
        r#"Role.create_date: "2023-05-16" is not an RFC 3339 time"#
    );
    let usage = |services| types::v1::Usage {
        observed_at: "2026-11-19T06:01:00Z".into(),
        granularity: types::v1::Granularity::Action.into(),
        services,
    };
    let service = |action: &str, last_used: &str| types::v1::ServiceUsage {
        last_authenticated: Some("2026-11-19T06:01:00Z".into()),
        actions: BTreeMap::from([(
            action.to_string(),
            types::v1::ActionUsage {
                last_used: Some(last_used.into()),
            },
        )]),
    };
    assert_eq!(
        error::<whittle_policy::Usage, _>(usage(BTreeMap::from([(
            "s3".into(),
            service("getobject", "yesterday")
        )]))),
        r#"Usage.services["s3"].actions["getobject"].last_used: "yesterday" is not an RFC 3339 time"#
    );
    assert_eq!(
        error::<whittle_policy::Usage, _>(usage(BTreeMap::from([(
            "s3".into(),
            service("GetObject", "2026-11-19T06:01:00Z")
        )]))),
        r#"Usage.services["s3"].actions["GetObject"]: an action name must be lowercase"#
    );
    assert_eq!(
        error::<whittle_policy::Usage, _>(usage(BTreeMap::from([(
            "S3".into(),
            types::v1::ServiceUsage::default()
        )]))),
        r#"Usage.services["S3"]: a service prefix must be lowercase"#
    );
    let mut unknown = usage(BTreeMap::new());
    unknown.granularity = 7;
    assert_eq!(
        error::<whittle_policy::Usage, _>(unknown),
        "Usage.granularity: 7 is not a known Granularity value"
    );
    let mut settings: types::v1::Settings = Settings::default().into();
    settings.unused_days = 0;
    assert_eq!(
        error::<Settings, _>(settings.clone()),
        "Settings: setting unused_days is 0: it must be at least 1"
    );
    let inputs = types::v1::PlanInputs {
        role: Some(role),
        managed: Vec::new(),
        usage: None,
        settings: Some(settings),
        now: "2026-11-20T12:00:00Z".into(),
    };
    assert_eq!(
        error::<PlanInputs, _>(inputs),
        r#"PlanInputs.role.create_date: "2023-05-16" is not an RFC 3339 time"#
    );
}

fn inputs() -> types::v1::PlanInputs {
    let role = whittle_policy::Role {
        arn: "arn:aws:iam::111122223333:role/app".into(),
        role_id: "AROAEXAMPLE".into(),
        name: "app".into(),
        path: "/".into(),
        create_date: at("2023-05-16T00:00:00Z"),
        tags: BTreeMap::new(),
        permissions_boundary: None,
        last_used: None,
        inline_policies: BTreeMap::new(),
        attached_policies: vec!["arn:aws:iam::111122223333:policy/a".into()],
    };
    let policy = whittle_policy::ManagedPolicy {
        arn: "arn:aws:iam::111122223333:policy/a".into(),
        name: "a".into(),
        path: "/".into(),
        policy_id: "ANPAEXAMPLE".into(),
        default_version_id: "v1".into(),
        attachment_count: 1,
        permissions_boundary_usage_count: 0,
        document: r#"{"Statement":[]}"#.into(),
    };
    PlanInputs {
        managed: BTreeMap::from([(policy.arn.clone(), policy)]),
        role,
        usage: None,
        settings: Settings::default(),
        now: at("2026-11-20T12:00:00Z"),
    }
    .into()
}

#[test]
fn bad_plan_inputs_and_summaries_fail_to_convert_naming_the_field() {
    let mut twice = inputs();
    twice.managed.push(twice.managed[0].clone());
    assert_eq!(
        error::<PlanInputs, _>(twice),
        r#"PlanInputs.managed[1].arn: "arn:aws:iam::111122223333:policy/a" appears more than once"#
    );
    let mut no_role = inputs();
    no_role.role = None;
    assert_eq!(error::<PlanInputs, _>(no_role), "PlanInputs.role: missing");
    let mut bad_settings = inputs();
    if let Some(s) = bad_settings.settings.as_mut() {
        s.never_remove = vec!["PassRole".into()];
    }
    assert_eq!(
        error::<PlanInputs, _>(bad_settings),
        "PlanInputs.settings: setting never_remove holds \"PassRole\": an action pattern is `service:action` (wildcards allowed) or `*`"
    );

    let summary = || types::v1::PlanSummary {
        role_arn: "arn:aws:iam::111122223333:role/app".into(),
        role_id: "AROAEXAMPLE".into(),
        role_name: "app".into(),
        fingerprint: "f".into(),
        state_fingerprint: "s".into(),
        catalogue_version: "2026-11-01".into(),
        planned_at: "2026-11-20T12:00:00Z".into(),
        skipped: None,
        removable: 0,
        kept: 0,
        before: Some(RoleState::default().into()),
        after: Some(RoleState::default().into()),
        report_json: "{}".into(),
        inputs: Some(inputs()),
    };
    assert!(PlanSummary::try_from(summary()).is_ok());
    let mut s = summary();
    s.report_json = "{".into();
    assert_eq!(
        error::<PlanSummary, _>(s),
        "PlanSummary.report_json: not JSON: EOF while parsing an object at line 1 column 1"
    );
    let mut s = summary();
    s.role_arn = "arn:aws:iam::111122223333:role/other".into();
    assert_eq!(
        error::<PlanSummary, _>(s),
        r#"PlanSummary.inputs.role.arn: "arn:aws:iam::111122223333:role/app" differs from role_arn "arn:aws:iam::111122223333:role/other""#
    );
    let mut s = summary();
    s.planned_at = "2026-11-20T12:00:01Z".into();
    assert_eq!(
        error::<PlanSummary, _>(s),
        "PlanSummary.inputs.now: 2026-11-20T12:00:00Z differs from planned_at 2026-11-20T12:00:01Z"
    );
    let mut s = summary();
    s.inputs = None;
    assert_eq!(error::<PlanSummary, _>(s), "PlanSummary.inputs: missing");
}

fn rule(id: &str) -> types::v1::ExclusionRule {
    ExclusionRule {
        id: id.into(),
        selector: Selector::default(),
        reason: "break glass".into(),
        author: "alice".into(),
        expires_at: None,
        created_at: at("2026-11-20T12:00:00Z"),
    }
    .into()
}

#[test]
fn bad_exclusion_rules_fail_to_convert_naming_the_field() {
    let selector = |change: fn(&mut types::v1::Selector)| {
        let mut s = types::v1::Selector::default();
        change(&mut s);
        error::<Selector, _>(s)
    };
    assert_eq!(
        selector(|s| s.accounts = vec!["111122223333".into(), "1111-2222-3333".into()]),
        r#"Selector.accounts[1]: "1111-2222-3333" is not a 12-digit account id"#
    );
    assert_eq!(
        selector(|s| s.accounts = vec!["111122223333".into(), "111122223333".into()]),
        r#"Selector.accounts[1]: "111122223333" appears more than once"#
    );
    assert_eq!(
        selector(|s| s.action_patterns = vec!["iam:*".into(), "s3GetObject".into()]),
        "Selector.action_patterns[1]: \"s3GetObject\" is not an action pattern (`service:action`, wildcards allowed, or `*`)"
    );
    assert_eq!(
        selector(|s| s.role_name_glob = Some(String::new())),
        "Selector.role_name_glob: must not be empty"
    );
    let mut no_selector = rule("r1");
    no_selector.selector = None;
    assert_eq!(
        error::<ExclusionRule, _>(no_selector),
        "ExclusionRule.selector: missing"
    );
    let mut expiry = rule("r1");
    expiry.expires_at = Some("soon".into());
    assert_eq!(
        error::<ExclusionRule, _>(expiry),
        r#"ExclusionRule.expires_at: "soon" is not an RFC 3339 time"#
    );
    let rules = types::v1::ExclusionRules {
        version: 2,
        rules: vec![rule("r1"), rule("r2"), rule("r1")],
    };
    assert_eq!(
        error::<ExclusionRules, _>(rules),
        r#"ExclusionRules.rules[2].id: "r1" appears more than once"#
    );
    let request = admin::v1::AddExclusionRequest {
        selector: Some(types::v1::Selector::default()),
        reason: String::new(),
        expires_at: None,
    };
    assert_eq!(
        error::<NewExclusion, _>(request),
        "AddExclusionRequest.reason: must not be empty"
    );
}

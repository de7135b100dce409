//! A malformed agent or operator message fails to convert with an error naming the
//! field and the problem, and never panics. (Domain messages: `convert_errors.rs`.)

#![allow(clippy::unwrap_used)] // test code: a failed set-up should fail the test

use chrono::{DateTime, Utc};
use whittle_policy::change::{ChangeKind, ChangeRecord, ChangeState};
use whittle_policy::{Change, Diff, RoleState, Settings};
use whittle_proto::convert::*;
use whittle_proto::{admin, agent, types};

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

/// A valid record of a change that detached one policy.
fn record() -> types::v1::ChangeRecord {
    let arn = "arn:aws:iam::111122223333:policy/a".to_string();
    let before = RoleState {
        attached: [arn].into(),
        ..RoleState::default()
    };
    let after = RoleState::default();
    ChangeRecord {
        id: "01KAE5Z0B8X3W4T7Q9M2N6P1RA".parse().unwrap(),
        kind: ChangeKind::Apply,
        account_id: "111122223333".into(),
        role_arn: "arn:aws:iam::111122223333:role/app".into(),
        role_id: "AROAEXAMPLE".into(),
        role_name: "app".into(),
        plan_fingerprint: None,
        diff: Diff::between(&before, &after),
        before,
        after,
        managed_versions_before: Default::default(),
        created_versions: Default::default(),
        state: ChangeState::Applied,
        steps_done: 1,
        error: None,
        rolled_back_by: None,
        created_at: at("2026-11-20T12:00:00Z"),
        updated_at: at("2026-11-20T12:00:01Z"),
        reported: false,
    }
    .into()
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
fn bad_agent_messages_fail_to_convert_naming_the_field() {
    use agent::v1::{agent_message::Kind, report::Body};
    let hello = agent::v1::Hello {
        agent_version: "0.1.0".into(),
        account_id: "12".into(),
        exclusion_version: 0,
        journal_empty: false,
    };
    assert_eq!(
        error::<Hello, _>(hello.clone()),
        r#"Hello.account_id: "12" is not a 12-digit account id"#
    );
    let message = |kind| agent::v1::AgentMessage { kind };
    assert_eq!(
        error::<AgentMessage, _>(message(Some(Kind::Hello(hello)))),
        r#"AgentMessage.hello.account_id: "12" is not a 12-digit account id"#
    );
    assert_eq!(
        error::<AgentMessage, _>(message(None)),
        "AgentMessage.kind: missing"
    );
    let mut change = record();
    change.updated_at = "2026-13-01T00:00:00Z".into();
    let report = |body| agent::v1::Report {
        report_id: "r-1".into(),
        body,
    };
    assert_eq!(
        error::<AgentMessage, _>(message(Some(Kind::Report(report(Some(Body::Change(
            change
        ))))))),
        r#"AgentMessage.report.change.updated_at: "2026-13-01T00:00:00Z" is not an RFC 3339 time"#
    );
    assert_eq!(error::<Report, _>(report(None)), "Report.body: missing");
    let inventory = agent::v1::InventorySummary {
        roles: 1,
        actions_granted: 10,
        removable: 11,
        observed_at: "2026-11-20T12:00:00Z".into(),
    };
    assert_eq!(
        error::<Report, _>(report(Some(Body::Inventory(inventory)))),
        "Report.inventory.removable: 11 is more than actions_granted (10)"
    );
    let outcome = agent::v1::DirectiveOutcome {
        directive_id: "d-1".into(),
        ok: true,
        message: String::new(),
        change_ids: vec![
            "01KAE5Z0B8X3W4T7Q9M2N6P1RA".into(),
            "01KAE5Z0B8X3W4T7Q9M2N6P1R".into(),
        ],
        refusal: 0,
    };
    assert_eq!(
        error::<DirectiveOutcome, _>(outcome),
        r#"DirectiveOutcome.change_ids[1]: change id "01KAE5Z0B8X3W4T7Q9M2N6P1R" is not a valid ulid: it has 25 characters, a ulid has 26"#
    );
    let outcome = agent::v1::DirectiveOutcome {
        directive_id: "d-1".into(),
        ok: false,
        message: String::new(),
        change_ids: Vec::new(),
        refusal: 9,
    };
    assert_eq!(
        error::<DirectiveOutcome, _>(outcome),
        "DirectiveOutcome.refusal: 9 is not a known Refusal value"
    );
}

#[test]
fn bad_directives_fail_to_convert_naming_the_field() {
    use agent::v1::{coordinator_message::Kind, directive::Action, rollback_request::Target};
    let directive = |action| agent::v1::CoordinatorMessage {
        kind: Some(Kind::Directive(agent::v1::Directive {
            directive_id: "d-1".into(),
            action,
            trace_context: Default::default(),
        })),
    };
    assert_eq!(
        error::<CoordinatorMessage, _>(directive(None)),
        "CoordinatorMessage.directive.action: missing"
    );
    let apply = agent::v1::ApplyDecision {
        decision_id: "dec-1".into(),
        role_name: "app".into(),
        role_arn: "arn:aws:iam::111122223333:role/app".into(),
        plan_fingerprint: "f".into(),
        state_fingerprint: String::new(),
        announced_removals: Vec::new(),
        unused_days: None,
    };
    assert_eq!(
        error::<CoordinatorMessage, _>(directive(Some(Action::Apply(apply.clone())))),
        "CoordinatorMessage.directive.apply.state_fingerprint: must not be empty"
    );
    let announced = agent::v1::ApplyDecision {
        state_fingerprint: "s".into(),
        announced_removals: vec!["s3:GetObject".into(), "GetObject".into()],
        ..apply.clone()
    };
    assert_eq!(
        error::<CoordinatorMessage, _>(directive(Some(Action::Apply(announced)))),
        r#"CoordinatorMessage.directive.apply.announced_removals[1]: "GetObject" is not a service:Action name"#
    );
    let zero_days = agent::v1::ApplyDecision {
        state_fingerprint: "s".into(),
        unused_days: Some(0),
        ..apply
    };
    assert_eq!(
        error::<CoordinatorMessage, _>(directive(Some(Action::Apply(zero_days)))),
        "CoordinatorMessage.directive.apply.unused_days: must be at least 1"
    );
    let rollback = |target| agent::v1::RollbackRequest {
        request_id: "rb-1".into(),
        target,
        force: false,
    };
    assert_eq!(
        error::<CoordinatorMessage, _>(directive(Some(Action::Rollback(rollback(Some(
            Target::Since("last week".into())
        )))))),
        r#"CoordinatorMessage.directive.rollback.since: "last week" is not an RFC 3339 time"#
    );
    assert_eq!(
        error::<RollbackOrder, _>(rollback(None)),
        "RollbackRequest.target: missing"
    );
    let mut bad = record();
    bad.id = String::new();
    let restore = agent::v1::RestoreFromHistory {
        request_id: "restore-1".into(),
        changes: vec![record(), bad],
    };
    assert_eq!(
        error::<CoordinatorMessage, _>(directive(Some(Action::Restore(restore)))),
        r#"CoordinatorMessage.directive.restore.changes[1].id: change id "" is not a valid ulid: it has 0 characters, a ulid has 26"#
    );
    let rules = types::v1::ExclusionRules {
        version: 1,
        rules: vec![types::v1::ExclusionRule {
            created_at: String::new(),
            ..rule("r1")
        }],
    };
    assert_eq!(
        error::<CoordinatorMessage, _>(directive(Some(Action::Rules(rules)))),
        r#"CoordinatorMessage.directive.rules.rules[0].created_at: "" is not an RFC 3339 time"#
    );
}

#[test]
fn bad_operator_requests_fail_to_convert_naming_the_field() {
    use admin::v1::rollback_request::Target;
    let rollback = |account: &str, target| admin::v1::RollbackRequest {
        account_id: account.into(),
        target,
        force: false,
    };
    assert_eq!(
        error::<AccountRollback, _>(rollback("1111", Some(Target::RoleName("app".into())))),
        r#"RollbackRequest.account_id: "1111" is not a 12-digit account id"#
    );
    assert_eq!(
        error::<AccountRollback, _>(rollback(
            "111122223333",
            Some(Target::RoleName(String::new()))
        )),
        "RollbackRequest.role_name: must not be empty"
    );
    assert_eq!(
        error::<AccountRollback, _>(rollback("111122223333", None)),
        "RollbackRequest.target: missing"
    );
    let history = admin::v1::HistoryRequest {
        limit: Some(0),
        ..Default::default()
    };
    assert_eq!(
        error::<HistoryQuery, _>(history),
        "HistoryRequest.limit: 0 returns nothing; leave it unset for no limit"
    );
    let audit = admin::v1::AuditRequest {
        since: Some("2026-11-20".into()),
        limit: None,
    };
    assert_eq!(
        error::<AuditQuery, _>(audit),
        r#"AuditRequest.since: "2026-11-20" is not an RFC 3339 time"#
    );
}

#[test]
fn empty_messages_fail_to_convert_with_an_error_not_a_panic() {
    let errors = [
        error::<ChangeRecord, _>(types::v1::ChangeRecord::default()),
        error::<Change, _>(types::v1::Change::default()),
        error::<ChangeKind, _>(types::v1::ChangeKind::default()),
        error::<whittle_policy::Role, _>(types::v1::Role::default()),
        error::<whittle_policy::ManagedPolicy, _>(types::v1::ManagedPolicy::default()),
        error::<whittle_policy::Usage, _>(types::v1::Usage::default()),
        error::<Settings, _>(types::v1::Settings::default()),
        error::<PlanInputs, _>(types::v1::PlanInputs::default()),
        error::<PlanSummary, _>(types::v1::PlanSummary::default()),
        error::<ExclusionRule, _>(types::v1::ExclusionRule::default()),
        error::<Hello, _>(agent::v1::Hello::default()),
        error::<AgentMessage, _>(agent::v1::AgentMessage::default()),
        error::<CoordinatorMessage, _>(agent::v1::CoordinatorMessage::default()),
        error::<Directive, _>(agent::v1::Directive::default()),
        error::<DirectiveOutcome, _>(agent::v1::DirectiveOutcome::default()),
        error::<RollbackOrder, _>(agent::v1::RollbackRequest::default()),
        error::<AccountRollback, _>(admin::v1::RollbackRequest::default()),
        error::<NewExclusion, _>(admin::v1::AddExclusionRequest::default()),
    ];
    for e in errors {
        assert!(e.contains(": "), "{e}");
    }
    // Empty messages that are valid values.
    assert_eq!(
        RoleState::try_from(types::v1::RoleState::default()),
        Ok(RoleState::default())
    );
    assert_eq!(
        Diff::try_from(types::v1::Diff::default()),
        Ok(Diff::default())
    );
    assert_eq!(
        Selector::try_from(types::v1::Selector::default()),
        Ok(Selector::default())
    );
    assert_eq!(
        HistoryQuery::try_from(admin::v1::HistoryRequest::default()),
        Ok(HistoryQuery::default())
    );
}

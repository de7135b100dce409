//! Domain value -> protobuf -> bytes -> protobuf -> domain value gives the value back,
//! for every converted type, with the example account under `deploy/examples/` and
//! real plans made from it.

#![allow(clippy::unwrap_used)] // test code: a failed set-up should fail the test

use std::collections::BTreeMap;
use std::fmt::Debug;

use chrono::{DateTime, Duration, Utc};
use prost::Message;
use whittle_policy::catalogue::Catalogue;
use whittle_policy::change::{ChangeId, ChangeKind, ChangeRecord, ChangeState, NewChange};
use whittle_policy::exports::{AccountExport, parse_authorization_details, parse_last_accessed};
use whittle_policy::{Role, RolePlan, Settings, Usage};
use whittle_proto::convert::*;
use whittle_proto::{admin, agent, types};

const ACCOUNT: &str = "111122223333";

/// A file of the example account.
macro_rules! example {
    ($file:literal) => {
        include_str!(concat!(
            "../../deploy/examples/account-111122223333/",
            $file
        ))
    };
}

const DETAILS: &str = example!("authorization-details.json");
const LAST_ACCESSED: [(&str, &str); 8] = [
    (
        "AWSServiceRoleForAutoScaling",
        example!("last-accessed/AWSServiceRoleForAutoScaling.json"),
    ),
    (
        "app-web-frontend",
        example!("last-accessed/app-web-frontend.json"),
    ),
    (
        "break-glass-admin",
        example!("last-accessed/break-glass-admin.json"),
    ),
    ("ci-deployer", example!("last-accessed/ci-deployer.json")),
    (
        "data-pipeline",
        example!("last-accessed/data-pipeline.json"),
    ),
    (
        "new-analytics-role",
        example!("last-accessed/new-analytics-role.json"),
    ),
    (
        "ops-readonly-except-secrets",
        example!("last-accessed/ops-readonly-except-secrets.json"),
    ),
    (
        "reporting-lambda",
        example!("last-accessed/reporting-lambda.json"),
    ),
];

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .unwrap()
        .with_timezone(&Utc)
}

fn now() -> DateTime<Utc> {
    at("2026-11-20T12:00:00Z")
}

fn account() -> AccountExport {
    parse_authorization_details(DETAILS).unwrap()
}

fn usage(role: &str) -> Usage {
    let (_, text) = LAST_ACCESSED
        .iter()
        .find(|(name, _)| *name == role)
        .unwrap();
    parse_last_accessed(text).unwrap()
}

fn role<'a>(account: &'a AccountExport, name: &str) -> &'a Role {
    account.roles.iter().find(|r| r.name == name).unwrap()
}

fn inputs(name: &str) -> PlanInputs {
    let account = account();
    let role = role(&account, name).clone();
    let settings = Settings::default();
    PlanInputs::for_role(
        role,
        &account.managed_policies,
        Some(usage(name)),
        settings,
        now(),
    )
}

fn plan(inputs: &PlanInputs) -> RolePlan {
    inputs.plan(Catalogue::embedded()).unwrap()
}

/// Converts to protobuf, encodes, decodes, converts back: the value must survive.
fn round_trip<D, P>(value: D) -> P
where
    D: Clone + PartialEq + Debug + Into<P> + TryFrom<P, Error = ConvertError>,
    P: Message + Default + Clone,
{
    let wire: P = value.clone().into();
    let decoded = P::decode(wire.encode_to_vec().as_slice()).unwrap();
    let back = D::try_from(decoded).unwrap();
    assert_eq!(back, value);
    wire
}

fn change_id(text: &str) -> ChangeId {
    text.parse().unwrap()
}

/// A record of the reporting-lambda plan, as a journal holds it after the apply.
fn record(plan: &RolePlan) -> ChangeRecord {
    let new = NewChange {
        kind: ChangeKind::Apply,
        account_id: ACCOUNT.to_string(),
        role_arn: plan.role_arn.clone(),
        role_id: plan.role_id.clone(),
        role_name: plan.role_name.clone(),
        plan_fingerprint: Some(plan.fingerprint.clone()),
        before: plan.before.clone(),
        after: plan.after.clone(),
        diff: plan.diff(),
        managed_versions_before: BTreeMap::from([(
            "arn:aws:iam::111122223333:policy/reporting-lambda-access".to_string(),
            "v2".to_string(),
        )]),
    };
    let created = now() + Duration::nanoseconds(123_456_789);
    let mut record = ChangeRecord::new(change_id("01KAE5Z0B8X3W4T7Q9M2N6P1RA"), new, created);
    record.created_versions.insert(
        "arn:aws:iam::111122223333:policy/reporting-lambda-access".to_string(),
        "v3".to_string(),
    );
    record.state = ChangeState::Applied;
    record.steps_done = u32::try_from(record.diff.changes.len()).unwrap();
    record.updated_at = created + Duration::milliseconds(1500);
    record.reported = true;
    record
}

#[test]
fn role_states_and_diffs_of_real_plans_convert_both_ways() {
    for name in ["reporting-lambda", "app-web-frontend", "ci-deployer"] {
        let plan = plan(&inputs(name));
        assert!(plan.has_changes(), "{name} should have changes");
        round_trip::<_, types::v1::RoleState>(plan.before.clone());
        round_trip::<_, types::v1::RoleState>(plan.after.clone());
        let diff = plan.diff();
        round_trip::<_, types::v1::Diff>(diff.inverse());
        let wire = round_trip::<_, types::v1::Diff>(diff.clone());
        assert_eq!(wire.changes.len(), diff.changes.len());
        for change in diff.changes {
            round_trip::<_, types::v1::Change>(change);
        }
    }
    // reporting-lambda's diff holds every kind of change.
    let diff = plan(&inputs("reporting-lambda")).diff();
    let kinds: Vec<&str> = diff
        .changes
        .iter()
        .map(|c| match c {
            whittle_policy::Change::Inline { .. } => "inline",
            whittle_policy::Change::Attachment { .. } => "attachment",
            whittle_policy::Change::ManagedDocument { .. } => "managed_document",
        })
        .collect();
    assert!(kinds.contains(&"attachment") && kinds.contains(&"managed_document"));
}

#[test]
fn change_records_convert_both_ways_in_every_kind_and_state() {
    let plan = plan(&inputs("reporting-lambda"));
    let applied = record(&plan);
    round_trip::<_, types::v1::ChangeRecord>(applied.clone());

    let mut rolled_back = applied.clone();
    rolled_back.state = ChangeState::RolledBack;
    rolled_back.rolled_back_by = Some(change_id("01KAE61J2C4V8X0Z5R7T9W3Y6B"));
    round_trip::<_, types::v1::ChangeRecord>(rolled_back);

    let mut rollback = applied.clone();
    rollback.kind = ChangeKind::Rollback { of: applied.id };
    rollback.diff = applied.diff.inverse();
    std::mem::swap(&mut rollback.before, &mut rollback.after);
    rollback.plan_fingerprint = None;
    rollback.state = ChangeState::Failed;
    rollback.error = Some("iam said no: AccessDenied".to_string());
    round_trip::<_, types::v1::ChangeRecord>(rollback);

    for state in [ChangeState::Intended, ChangeState::Applying] {
        let mut restore = applied.clone();
        restore.kind = ChangeKind::Restore;
        restore.state = state;
        restore.reported = false;
        round_trip::<_, types::v1::ChangeRecord>(restore);
    }
}

#[test]
fn roles_policies_and_usage_of_the_example_account_convert_both_ways() {
    let account = account();
    assert_eq!(account.roles.len(), 8);
    for role in account.roles {
        let name = role.name.clone();
        round_trip::<_, types::v1::Role>(role);
        round_trip::<_, types::v1::Usage>(usage(&name));
    }
    assert_eq!(account.managed_policies.len(), 6);
    for policy in account.managed_policies.into_values() {
        round_trip::<_, types::v1::ManagedPolicy>(policy);
    }
}

#[test]
fn settings_convert_both_ways() {
    round_trip::<_, types::v1::Settings>(Settings::default());
    round_trip::<_, types::v1::Settings>(Settings {
        unused_days: 30,
        min_role_age_days: 0,
        max_usage_age_days: 2,
        norepo_sid_prefix: String::new(),
        never_remove: vec!["iam:PassRole".into(), "sts:AssumeRole".into()],
        exclusions: vec!["s3:Get*".into(), "*".into()],
        exclusion_version: 17,
    });
}

#[test]
fn plan_inputs_convert_and_give_the_same_plan_again() {
    for name in ["reporting-lambda", "app-web-frontend", "new-analytics-role"] {
        let inputs = inputs(name);
        let original = plan(&inputs);
        round_trip::<_, types::v1::PlanInputs>(inputs.clone());
        let wire: types::v1::PlanInputs = inputs.into();
        let recomputed = plan(&PlanInputs::try_from(wire).unwrap());
        assert_eq!(recomputed.fingerprint, original.fingerprint);
        assert_eq!(recomputed.after, original.after);
    }
    // Without usage data, and with only the role's own managed policies.
    let mut inputs = inputs("reporting-lambda");
    inputs.usage = None;
    assert_eq!(inputs.managed.len(), 4);
    round_trip::<_, types::v1::PlanInputs>(inputs);
}

#[test]
fn plan_summaries_convert_both_ways() {
    for name in ["reporting-lambda", "AWSServiceRoleForAutoScaling"] {
        let inputs = inputs(name);
        let plan = plan(&inputs);
        let report = plan.report(Catalogue::embedded(), &inputs.settings);
        let summary = PlanSummary::new(&plan, &report, inputs);
        assert_eq!(
            summary.skipped.is_some(),
            name.starts_with("AWSServiceRole")
        );
        let wire = round_trip::<_, types::v1::PlanSummary>(summary);
        let report: serde_json::Value = serde_json::from_str(&wire.report_json).unwrap();
        assert_eq!(report["role_name"], name);
    }
}

fn selector() -> Selector {
    Selector {
        accounts: [ACCOUNT.to_string(), "444455556666".to_string()].into(),
        role_name_glob: Some("break-glass-*".into()),
        path_prefix: Some("/".into()),
        tags: BTreeMap::from([("whittle:role".into(), "break-glass".into())]),
        action_patterns: vec!["iam:*".into(), "*".into()],
        sid_prefix: Some("Keep".into()),
    }
}

#[test]
fn exclusion_rules_convert_both_ways() {
    let rule = ExclusionRule {
        id: "01KAE5Z0B8X3W4T7Q9M2N6P1RA".into(),
        selector: selector(),
        reason: "never touch break-glass roles".into(),
        author: "alice".into(),
        expires_at: Some(at("2027-01-01T00:00:00Z")),
        created_at: at("2026-11-20T12:00:00.5Z"),
    };
    round_trip::<_, types::v1::Selector>(Selector::default());
    round_trip::<_, types::v1::ExclusionRule>(rule.clone());
    let everything = ExclusionRule {
        id: "r2".into(),
        selector: Selector::default(),
        expires_at: None,
        ..rule.clone()
    };
    round_trip::<_, types::v1::ExclusionRules>(ExclusionRules {
        version: 3,
        rules: vec![rule, everything],
    });
    round_trip::<_, admin::v1::AddExclusionRequest>(NewExclusion {
        selector: selector(),
        reason: "ci needs its cache".into(),
        expires_at: None,
    });
}

#[test]
fn agent_messages_convert_both_ways() {
    let inputs = inputs("reporting-lambda");
    let plan = plan(&inputs);
    let report = plan.report(Catalogue::embedded(), &inputs.settings);
    let bodies = [
        ReportBody::Inventory(Inventory {
            roles: 8,
            actions_granted: 22_900,
            removable: 22_200,
            observed_at: now(),
        }),
        ReportBody::Plan(Box::new(PlanSummary::new(&plan, &report, inputs.clone()))),
        ReportBody::Change(Box::new(record(&plan))),
    ];
    for (i, body) in bodies.into_iter().enumerate() {
        let report = Report {
            report_id: format!("report-{i}"),
            body,
        };
        round_trip::<_, agent::v1::AgentMessage>(AgentMessage::Report(report));
    }
    round_trip::<_, agent::v1::AgentMessage>(AgentMessage::Hello(Hello {
        agent_version: "0.1.0".into(),
        account_id: ACCOUNT.into(),
        exclusion_version: 4,
        journal_empty: true,
    }));
    round_trip::<_, agent::v1::AgentMessage>(AgentMessage::Outcome(DirectiveOutcome {
        directive_id: "d-1".into(),
        ok: true,
        message: "applied".into(),
        change_ids: vec![change_id("01KAE5Z0B8X3W4T7Q9M2N6P1RA")],
        refusal: None,
    }));
    for refusal in [Refusal::Excluded, Refusal::PlanGrew] {
        round_trip::<_, agent::v1::AgentMessage>(AgentMessage::Outcome(DirectiveOutcome {
            directive_id: "d-2".into(),
            ok: false,
            message: "refused".into(),
            change_ids: Vec::new(),
            refusal: Some(refusal),
        }));
    }
}

#[test]
fn coordinator_messages_convert_both_ways() {
    let plan = plan(&inputs("reporting-lambda"));
    let actions = [
        DirectiveAction::Rules(ExclusionRules::default()),
        DirectiveAction::Apply(ApplyDecision {
            decision_id: "dec-1".into(),
            role_name: plan.role_name.clone(),
            role_arn: plan.role_arn.clone(),
            plan_fingerprint: plan.fingerprint.clone(),
            state_fingerprint: plan.state_fingerprint.clone(),
            announced_removals: vec!["s3:GetObject".into(), "sqs:SendMessage".into()],
            unused_days: Some(30),
        }),
        DirectiveAction::Rollback(RollbackOrder {
            request_id: "rb-1".into(),
            target: RollbackTarget::Since(at("2026-11-20T00:00:00Z")),
            force: true,
        }),
        DirectiveAction::Rollback(RollbackOrder {
            request_id: "rb-2".into(),
            target: RollbackTarget::Change(change_id("01KAE5Z0B8X3W4T7Q9M2N6P1RA")),
            force: false,
        }),
        DirectiveAction::Restore {
            request_id: "restore-1".into(),
            changes: vec![record(&plan)],
        },
    ];
    for (i, action) in actions.into_iter().enumerate() {
        let trace_context = if i % 2 == 0 {
            Default::default()
        } else {
            [(
                "traceparent".to_string(),
                "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".to_string(),
            )]
            .into()
        };
        let directive = Directive {
            directive_id: format!("d-{i}"),
            action,
            trace_context,
        };
        round_trip::<_, agent::v1::CoordinatorMessage>(CoordinatorMessage::Directive(directive));
    }
    round_trip::<_, agent::v1::CoordinatorMessage>(CoordinatorMessage::Welcome(Welcome {
        coordinator_version: "0.1.0".into(),
        exclusion_version: 4,
    }));
    round_trip::<_, agent::v1::CoordinatorMessage>(CoordinatorMessage::Ack {
        report_id: "report-0".into(),
    });
}

#[test]
fn operator_queries_convert_both_ways() {
    for target in [
        RollbackTarget::Role("reporting-lambda".into()),
        RollbackTarget::Change(change_id("01KAE5Z0B8X3W4T7Q9M2N6P1RA")),
        RollbackTarget::Since(at("2026-11-19T08:30:00.25+00:00")),
    ] {
        round_trip::<_, admin::v1::RollbackRequest>(AccountRollback {
            account_id: ACCOUNT.into(),
            target,
            force: false,
        });
    }
    round_trip::<_, admin::v1::HistoryRequest>(HistoryQuery::default());
    round_trip::<_, admin::v1::HistoryRequest>(HistoryQuery {
        account_id: Some(ACCOUNT.into()),
        role_name: Some("reporting-lambda".into()),
        since: Some(now()),
        limit: Some(50),
    });
    round_trip::<_, admin::v1::AuditRequest>(AuditQuery {
        since: Some(now()),
        limit: Some(10),
    });
}

#[test]
fn times_convert_to_rfc_3339_in_utc_exactly() {
    let mut role = role(&account(), "app-web-frontend").clone();
    role.create_date = at("2023-05-16T09:12:45.000000001+02:00");
    role.last_used = None;
    let wire = round_trip::<_, types::v1::Role>(role);
    assert_eq!(wire.create_date, "2023-05-16T07:12:45.000000001Z");
    assert_eq!(wire.last_used, None);
}

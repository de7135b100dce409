//! The coordinator's directives over the link, against a fake coordinator over
//! real mutual TLS and the simulated example account: exclusion rules, applies,
//! rollbacks.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod link_fake;
mod support;

use chrono::Utc;
use link_fake::{Conn, Coordinator, account};
use support::World;
use whittle_agent::link::{RuleStore, planning, run_link};
use whittle_policy::change::{ChangeKind, ChangeRecord, ChangeState};
use whittle_proto::convert::{
    AgentMessage, ApplyDecision, CoordinatorMessage, Directive, DirectiveAction, DirectiveOutcome,
    ExclusionRule, ExclusionRules, Refusal, ReportBody, RollbackOrder, RollbackTarget, Selector,
    Welcome,
};

/// Starts the link and answers its Hello; returns the stream and the Hello's
/// exclusion version.
async fn connected(
    w: &World,
    coordinator: &mut Coordinator,
) -> (Conn, u64, tokio::task::JoinHandle<()>) {
    let link = tokio::spawn({
        let run = run_link(
            account(&w.sim, &w.engine, w.dir.path()),
            coordinator.settings(),
        );
        async move {
            let _ = run.await;
        }
    });
    let mut conn = coordinator.accept().await;
    let AgentMessage::Hello(hello) = conn.recv().await else {
        panic!("expected Hello first");
    };
    conn.send(CoordinatorMessage::Welcome(Welcome {
        coordinator_version: "test".into(),
        exclusion_version: 0,
    }))
    .await;
    (conn, hello.exclusion_version, link)
}

fn directive(id: &str, action: DirectiveAction) -> CoordinatorMessage {
    CoordinatorMessage::Directive(Directive {
        directive_id: id.into(),
        action,
        trace_context: Default::default(),
    })
}

/// The change records reported and the outcome, up to the outcome; every change
/// report is acknowledged.
async fn answer(conn: &mut Conn) -> (Vec<ChangeRecord>, DirectiveOutcome) {
    let mut changes = Vec::new();
    for m in conn.until_outcome().await {
        match m {
            AgentMessage::Report(r) => {
                if let ReportBody::Change(c) = r.body {
                    changes.push(*c);
                }
                conn.send(CoordinatorMessage::Ack {
                    report_id: r.report_id,
                })
                .await;
            }
            AgentMessage::Outcome(o) => return (changes, o),
            AgentMessage::Hello(_) => panic!("a second Hello on one stream"),
        }
    }
    panic!("no outcome")
}

async fn decision(w: &World, role: &str) -> DirectiveAction {
    let plan = w.plan(role).await;
    DirectiveAction::Apply(ApplyDecision {
        decision_id: format!("decision-{role}"),
        role_name: role.into(),
        role_arn: plan.role_arn.clone(),
        plan_fingerprint: plan.fingerprint.clone(),
        state_fingerprint: plan.state_fingerprint.clone(),
        announced_removals: Vec::new(),
        unused_days: None,
    })
}

#[tokio::test]
async fn exclusion_rules_are_persisted_and_refuse_a_later_apply_of_a_covered_role() {
    let w = World::new();
    let mut coordinator = Coordinator::start().await;
    let (mut conn, version, link) = connected(&w, &mut coordinator).await;
    assert_eq!(version, 0);
    let rules = ExclusionRules {
        version: 3,
        rules: vec![ExclusionRule {
            id: "rule-1".into(),
            selector: Selector {
                role_name_glob: Some("ci-*".into()),
                ..Selector::default()
            },
            reason: "the release pipeline".into(),
            author: "alice".into(),
            expires_at: None,
            created_at: Utc::now(),
        }],
    };
    conn.send(directive("d-rules", DirectiveAction::Rules(rules.clone())))
        .await;
    let (changes, outcome) = answer(&mut conn).await;
    assert!(changes.is_empty());
    assert_eq!(outcome.directive_id, "d-rules");
    assert!(outcome.ok, "{}", outcome.message);

    // The rules survive a restart of the agent, and its Hello says so.
    link.abort();
    let _ = link.await;
    assert_eq!(RuleStore::open(w.dir.path()).unwrap().current(), rules);
    let (mut conn, version, link) = connected(&w, &mut coordinator).await;
    assert_eq!(version, 3);

    let before = w.state("ci-deployer").await;
    conn.send(directive("d-apply", decision(&w, "ci-deployer").await))
        .await;
    let (changes, outcome) = answer(&mut conn).await;
    assert_eq!(outcome.directive_id, "d-apply");
    assert!(!outcome.ok, "a covered role must be refused");
    assert_eq!(
        outcome.refusal,
        Some(Refusal::Excluded),
        "{}",
        outcome.message
    );
    assert!(outcome.message.contains("rule-1"), "{}", outcome.message);
    assert!(changes.is_empty() && outcome.change_ids.is_empty());
    assert!(w.state("ci-deployer").await.same_as(&before));
    link.abort();
}

/// The actions a plan removes, from its report.
fn removals(plan: &whittle_policy::RolePlan) -> Vec<String> {
    plan.report(
        whittle_policy::Catalogue::embedded(),
        &whittle_policy::Settings::default(),
    )
    .removed_actions()
}

#[tokio::test]
async fn an_apply_that_would_remove_more_than_announced_is_refused_and_the_plan_reported() {
    let w = World::new();
    let mut coordinator = Coordinator::start().await;
    let (mut conn, _, link) = connected(&w, &mut coordinator).await;
    let before = w.state("ci-deployer").await;
    let plan = w.plan("ci-deployer").await;
    let all = removals(&plan);
    assert!(all.len() > 1, "the example role removes several actions");
    let DirectiveAction::Apply(mut apply) = decision(&w, "ci-deployer").await else {
        unreachable!()
    };
    // Only one action was announced; the plan removes more now.
    apply.announced_removals = vec![all[0].clone()];
    conn.send(directive("d-grew", DirectiveAction::Apply(apply.clone())))
        .await;
    // The last plan reported before the outcome is the role's fresh one.
    let mut reported_plan = None;
    let outcome = loop {
        match conn.recv().await {
            AgentMessage::Report(r) => {
                if let ReportBody::Plan(p) = r.body {
                    reported_plan = Some(*p);
                }
                conn.send(CoordinatorMessage::Ack {
                    report_id: r.report_id,
                })
                .await;
            }
            AgentMessage::Outcome(o) => break o,
            AgentMessage::Hello(_) => panic!("a second Hello on one stream"),
        }
    };
    assert!(!outcome.ok);
    assert_eq!(
        outcome.refusal,
        Some(Refusal::PlanGrew),
        "{}",
        outcome.message
    );
    assert!(outcome.message.contains(&all[1]), "{}", outcome.message);
    assert!(outcome.change_ids.is_empty());
    let reported = reported_plan.expect("the fresh plan is reported before the outcome");
    assert_eq!(reported.role_name, "ci-deployer");
    assert!(
        w.state("ci-deployer").await.same_as(&before),
        "nothing was removed"
    );

    // Announcing every action the plan removes lets the same decision through.
    apply.announced_removals = all;
    conn.send(directive("d-all", DirectiveAction::Apply(apply)))
        .await;
    let (changes, outcome) = answer(&mut conn).await;
    assert!(outcome.ok, "{}", outcome.message);
    assert_eq!(changes.len(), 1);
    link.abort();
}

#[tokio::test]
async fn an_apply_decision_changes_the_role_and_a_rollback_by_role_restores_it() {
    let w = World::new();
    let mut coordinator = Coordinator::start().await;
    let (mut conn, _, link) = connected(&w, &mut coordinator).await;
    let before = w.state("ci-deployer").await;

    conn.send(directive("d-apply", decision(&w, "ci-deployer").await))
        .await;
    let (changes, outcome) = answer(&mut conn).await;
    assert!(outcome.ok, "{}", outcome.message);
    assert_eq!(outcome.directive_id, "d-apply");
    assert_eq!(changes.len(), 1);
    let applied = &changes[0];
    assert_eq!(outcome.change_ids, vec![applied.id]);
    assert_eq!(applied.kind, ChangeKind::Apply);
    assert_eq!(applied.state, ChangeState::Applied);
    let after = w.state("ci-deployer").await;
    assert!(!after.same_as(&before), "the apply removed nothing");
    assert!(after.same_as(&applied.after));

    conn.send(directive(
        "d-rollback",
        DirectiveAction::Rollback(RollbackOrder {
            request_id: "r-1".into(),
            target: RollbackTarget::Role("ci-deployer".into()),
            force: false,
        }),
    ))
    .await;
    let (changes, outcome) = answer(&mut conn).await;
    assert!(outcome.ok, "{}", outcome.message);
    assert_eq!(outcome.directive_id, "d-rollback");
    let rollback = changes
        .iter()
        .find(|c| c.kind == ChangeKind::Rollback { of: applied.id })
        .expect("the rollback is reported");
    assert_eq!(outcome.change_ids, vec![rollback.id]);
    assert!(
        changes
            .iter()
            .any(|c| c.id == applied.id && c.state == ChangeState::RolledBack),
        "the rolled-back change is reported in its new state"
    );
    assert!(w.state("ci-deployer").await.same_as(&before));

    // The same directive again is answered, not redone.
    conn.send(directive("d-apply", decision(&w, "ci-deployer").await))
        .await;
    let (changes, again) = answer(&mut conn).await;
    assert!(changes.is_empty());
    assert_eq!(again.change_ids, vec![applied.id]);
    assert!(w.state("ci-deployer").await.same_as(&before));
    link.abort();
}

#[tokio::test]
async fn an_apply_decision_on_a_changed_role_is_refused() {
    let w = World::new();
    let mut coordinator = Coordinator::start().await;
    let (mut conn, _, link) = connected(&w, &mut coordinator).await;
    let DirectiveAction::Apply(mut stale) = decision(&w, "ci-deployer").await else {
        unreachable!()
    };
    stale.state_fingerprint = "not-the-state-anymore".into();
    conn.send(directive("d-stale", DirectiveAction::Apply(stale)))
        .await;
    let (changes, outcome) = answer(&mut conn).await;
    assert!(!outcome.ok);
    assert!(
        outcome.message.contains("changed since"),
        "{}",
        outcome.message
    );
    assert!(changes.is_empty());
    link.abort();
}

fn removable(report_json: &str) -> Vec<String> {
    let v: serde_json::Value = serde_json::from_str(report_json).unwrap();
    v["removable"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["action"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn the_action_patterns_of_a_rule_are_kept_by_an_apply() {
    let w = World::new();
    let link_account = account(&w.sim, &w.engine, w.dir.path());
    let now = support::now();
    let unruled = planning::plan_role(
        &link_account,
        &ExclusionRules::default(),
        "ci-deployer",
        now,
        None,
    )
    .await
    .unwrap();
    let all = removable(&unruled.summary.report_json);
    let kept = all
        .first()
        .expect("ci-deployer has removable actions")
        .clone();
    let rules = ExclusionRules {
        version: 1,
        rules: vec![ExclusionRule {
            id: "keep-one".into(),
            selector: Selector {
                role_name_glob: Some("ci-deployer".into()),
                action_patterns: vec![kept.clone()],
                ..Selector::default()
            },
            reason: "used yearly".into(),
            author: "bob".into(),
            expires_at: None,
            created_at: now,
        }],
    };
    let ruled = planning::plan_role(&link_account, &rules, "ci-deployer", now, None)
        .await
        .unwrap();
    assert!(!removable(&ruled.summary.report_json).contains(&kept));
    assert!(ruled.left_alone.is_none());

    let mut coordinator = Coordinator::start().await;
    let (mut conn, _, link) = connected(&w, &mut coordinator).await;
    conn.send(directive("d-rules", DirectiveAction::Rules(rules)))
        .await;
    assert!(answer(&mut conn).await.1.ok);
    conn.send(directive("d-apply", decision(&w, "ci-deployer").await))
        .await;
    let (changes, outcome) = answer(&mut conn).await;
    assert!(outcome.ok, "{}", outcome.message);
    assert_eq!(changes.len(), 1);
    assert!(changes[0].after.same_as(&ruled.plan.after));
    assert!(!changes[0].after.same_as(&unruled.plan.after));
    link.abort();
}

//! The fleet end to end: a real coordinator and three in-process agents, each on its own
//! simulated account, over mutual TLS on loopback. Every scenario asserts what an operator
//! observes through the AdminService and what IAM holds.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code

use std::time::Duration;

use tonic::transport::Channel;
use whittle_agent::link::LinkError;
use whittle_coordinator::store::{AuditFilter, DecisionFilter, DecisionState, RollbackState};
use whittle_policy::change::{ChangeKind, ChangeRecord, ChangeState};
use whittle_proto::admin::v1 as admin_pb;
use whittle_proto::admin::v1::admin_service_client::AdminServiceClient;
use whittle_proto::admin::v1::rollback_request::Target;
use whittle_proto::convert::{NewExclusion, Selector};
use whittle_proto::identity::OperatorRole;
use whittle_tests::{ACCOUNTS, Fleet, eventually, now};

type Admin = AdminServiceClient<Channel>;

/// A role of the example account with removable inline permissions.
const PIPELINE: &str = "data-pipeline";
/// Another one.
const FRONTEND: &str = "app-web-frontend";
/// How many roles the example account has.
const ROLES: u32 = 8;

async fn accounts(admin: &Admin) -> Vec<admin_pb::AccountSummary> {
    admin
        .clone()
        .list_accounts(admin_pb::ListAccountsRequest {})
        .await
        .unwrap()
        .into_inner()
        .accounts
}

/// Waits until every account of the fleet is connected and has reported its inventory and
/// plans.
async fn ready(admin: &Admin) {
    for account in ACCOUNTS {
        connected(admin, account, true).await;
    }
    eventually("every account reported its inventory and plans", || async {
        let all = accounts(admin).await;
        let reported = all.len() == ACCOUNTS.len()
            && all
                .iter()
                .all(|a| a.last_report.is_some() && a.roles == ROLES);
        if !reported {
            return None;
        }
        for account in ACCOUNTS {
            let roles = roles(admin, account).await;
            if roles.len() != ROLES as usize
                || !roles
                    .iter()
                    .any(|r| r.role_name == PIPELINE && r.removable > 0)
                || !roles
                    .iter()
                    .any(|r| r.role_name == FRONTEND && r.removable > 0)
            {
                return None;
            }
        }
        Some(())
    })
    .await;
}

async fn connected(admin: &Admin, account: &str, want: bool) {
    eventually(&format!("{account} shows connected={want}"), || async {
        accounts(admin)
            .await
            .iter()
            .any(|a| a.account_id == account && a.connected == want)
            .then_some(())
    })
    .await;
}

async fn roles(admin: &Admin, account: &str) -> Vec<admin_pb::RoleSummary> {
    admin
        .clone()
        .list_roles(admin_pb::ListRolesRequest {
            account_id: account.into(),
        })
        .await
        .unwrap()
        .into_inner()
        .roles
}

async fn approve(admin: &Admin, account: &str, role: &str) -> admin_pb::Decision {
    let mut decisions = admin
        .clone()
        .approve(admin_pb::ApproveRequest {
            not_before: None,
            account_id: account.into(),
            role_names: vec![role.into()],
            all_removable: false,
        })
        .await
        .unwrap()
        .into_inner()
        .decisions;
    assert_eq!(decisions.len(), 1, "{decisions:?}");
    decisions.remove(0)
}

/// Waits until the decision reaches one of `states`, and gives it.
async fn decision_in(
    fleet: &Fleet,
    decision_id: &str,
    states: &[DecisionState],
) -> whittle_coordinator::store::Decision {
    eventually(&format!("decision {decision_id} in {states:?}"), || async {
        let d = fleet.server().store().get_decision(decision_id).unwrap()?;
        states.contains(&d.state).then_some(d)
    })
    .await
}

async fn history(admin: &Admin, account: &str, role: Option<&str>) -> Vec<ChangeRecord> {
    admin
        .clone()
        .history(admin_pb::HistoryRequest {
            account_id: Some(account.into()),
            role_name: role.map(str::to_string),
            since: None,
            limit: None,
        })
        .await
        .unwrap()
        .into_inner()
        .changes
        .into_iter()
        .map(|c| ChangeRecord::try_from(c).unwrap())
        .collect()
}

async fn rollback(admin: &Admin, account: &str, target: Target) -> admin_pb::RollbackResponse {
    admin
        .clone()
        .rollback(admin_pb::RollbackRequest {
            account_id: account.into(),
            target: Some(target),
            force: false,
        })
        .await
        .unwrap()
        .into_inner()
}

async fn add_exclusion(admin: &Admin, selector: Selector) -> admin_pb::AddExclusionResponse {
    let new = NewExclusion {
        selector,
        reason: "end-to-end test".into(),
        expires_at: None,
    };
    admin
        .clone()
        .add_exclusion(admin_pb::AddExclusionRequest::from(new))
        .await
        .unwrap()
        .into_inner()
}

/// Approves `role` of agent `i`'s account and waits until the change is applied.
async fn apply(fleet: &Fleet, admin: &Admin, i: usize, role: &str) -> ChangeRecord {
    let account = ACCOUNTS[i];
    let decision = approve(admin, account, role).await;
    assert_ne!(
        decision.state(),
        admin_pb::DecisionState::Pending,
        "{decision:?}"
    );
    let done = decision_in(
        fleet,
        &decision.decision_id,
        &[
            DecisionState::Applied,
            DecisionState::Failed,
            DecisionState::Cancelled,
        ],
    )
    .await;
    assert_eq!(done.state, DecisionState::Applied, "{done:?}");
    assert_eq!(done.author, decision.author);
    let change_id = done
        .change_id
        .expect("an applied decision names its change");
    let changes = history(admin, account, Some(role)).await;
    changes
        .into_iter()
        .find(|c| c.id == change_id)
        .expect("the history holds the decision's change")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_agent_registers_and_reports_and_the_operator_sees_them() {
    let fleet = Fleet::start().await;
    let admin = fleet.admin("vera", OperatorRole::Viewer).await;
    ready(&admin).await;
    let all = accounts(&admin).await;
    let mut ids: Vec<_> = all.iter().map(|a| a.account_id.as_str()).collect();
    ids.sort_unstable();
    assert_eq!(ids, ACCOUNTS);
    for a in &all {
        assert!(a.connected, "{a:?}");
        assert_eq!(a.roles, ROLES, "{a:?}");
        assert!(a.actions_granted > 0 && a.removable > 0, "{a:?}");
        assert!(!a.agent_version.is_empty(), "{a:?}");
        let roles = roles(&admin, &a.account_id).await;
        assert_eq!(roles.len(), ROLES as usize, "{roles:?}");
        for r in &roles {
            assert!(r.role_arn.contains(&a.account_id), "{r:?}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_approved_role_is_applied_and_its_change_is_in_the_history() {
    let fleet = Fleet::start().await;
    let admin = fleet.admin("otto", OperatorRole::Operator).await;
    ready(&admin).await;
    let agent = &fleet.agents[1];
    let before = agent.state(PIPELINE).await;
    let untouched = fleet.agents[0].state(PIPELINE).await;

    let change = apply(&fleet, &admin, 1, PIPELINE).await;
    assert_eq!(change.kind, ChangeKind::Apply);
    assert_eq!(change.state, ChangeState::Applied);
    assert_eq!(change.account_id, ACCOUNTS[1]);
    assert_eq!(change.role_name, PIPELINE);
    assert_eq!(
        change.before, before,
        "the before-image is the role as it was"
    );
    let after = agent.state(PIPELINE).await;
    assert_ne!(after, before, "IAM holds the change");
    assert_eq!(
        change.after, after,
        "the after-image is the role as IAM holds it"
    );
    // Only that account changed.
    assert_eq!(fleet.agents[0].state(PIPELINE).await, untouched);
    assert!(history(&admin, ACCOUNTS[0], None).await.is_empty());
    assert!(history(&admin, ACCOUNTS[2], None).await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_exclusion_reaches_every_agent_within_a_second() {
    let fleet = Fleet::start().await;
    let admin = fleet.admin("ada", OperatorRole::Admin).await;
    ready(&admin).await;
    let added = add_exclusion(
        &admin,
        Selector {
            role_name_glob: Some("break-glass*".into()),
            ..Selector::default()
        },
    )
    .await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(1);
    loop {
        let versions: Vec<u64> = fleet
            .agents
            .iter()
            .map(|a| a.persisted_exclusion_version())
            .collect();
        if versions.iter().all(|v| *v >= added.version) {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "rules version {} not persisted by every agent within a second: {versions:?}",
            added.version
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let listed = admin
        .clone()
        .list_exclusions(admin_pb::ListExclusionsRequest {})
        .await
        .unwrap()
        .into_inner()
        .rules
        .unwrap();
    assert_eq!(listed.version, added.version);
    assert_eq!(listed.rules.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_exclusion_stops_a_pending_apply() {
    let mut fleet = Fleet::start().await;
    let admin = fleet.admin("ada", OperatorRole::Admin).await;
    ready(&admin).await;
    let before = fleet.agents[2].state(PIPELINE).await;

    fleet.agent_down(2);
    connected(&admin, ACCOUNTS[2], false).await;
    let decision = approve(&admin, ACCOUNTS[2], PIPELINE).await;
    assert_eq!(decision.state(), admin_pb::DecisionState::Pending);
    let rule = add_exclusion(
        &admin,
        Selector {
            accounts: [ACCOUNTS[2].to_string()].into(),
            role_name_glob: Some(PIPELINE.into()),
            ..Selector::default()
        },
    )
    .await;
    fleet.agent_up(2);

    let done = decision_in(
        &fleet,
        &decision.decision_id,
        &[
            DecisionState::Applied,
            DecisionState::Failed,
            DecisionState::Cancelled,
        ],
    )
    .await;
    // Cancelled, not failed: the coordinator called it off when the rule came, before
    // the agent was back.
    assert_eq!(done.state, DecisionState::Cancelled, "{done:?}");
    let detail = done.detail.clone().unwrap_or_default();
    assert!(detail.contains(&rule.rule.unwrap().id), "{done:?}");
    assert!(done.change_id.is_none(), "{done:?}");
    // The agent, back, gets the rule and the decision never reaches it.
    eventually("the agent holds the new rules", || async {
        (fleet.agents[2].persisted_exclusion_version() >= rule.version).then_some(())
    })
    .await;
    connected(&admin, ACCOUNTS[2], true).await;
    assert_eq!(fleet.agents[2].state(PIPELINE).await, before);
    assert!(history(&admin, ACCOUNTS[2], None).await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_role_rolled_back_through_the_coordinator_is_as_before() {
    let fleet = Fleet::start().await;
    let admin = fleet.admin("otto", OperatorRole::Operator).await;
    ready(&admin).await;
    let agent = &fleet.agents[0];
    let before = agent.state(PIPELINE).await;
    let change = apply(&fleet, &admin, 0, PIPELINE).await;
    assert_ne!(agent.state(PIPELINE).await, before);

    let sent = rollback(&admin, ACCOUNTS[0], Target::RoleName(PIPELINE.into())).await;
    assert_eq!(sent.delivery(), admin_pb::Delivery::Sent);
    rollback_done(&fleet, &sent.request_id).await;
    assert_eq!(agent.state(PIPELINE).await, before);
    // The history keeps the change, rolled back by a rollback from the agent's journal.
    rolled_back(&admin, ACCOUNTS[0], &change).await;
    let changes = history(&admin, ACCOUNTS[0], Some(PIPELINE)).await;
    assert_eq!(changes.len(), 2, "{changes:?}");
}

/// Waits until the coordinator holds the rollback request as done.
async fn rollback_done(fleet: &Fleet, request_id: &str) {
    let done = eventually(&format!("rollback {request_id} finished"), || async {
        let r = fleet.server().store().get_rollback(request_id).unwrap()?;
        r.state.is_finished().then_some(r)
    })
    .await;
    assert_eq!(done.state, RollbackState::Done, "{done:?}");
}

/// Waits until the history shows `change` rolled back by a rollback change.
async fn rolled_back(admin: &Admin, account: &str, change: &ChangeRecord) {
    eventually(&format!("change {} rolled back", change.id), || async {
        let changes = history(admin, account, Some(&change.role_name)).await;
        let original = changes.iter().find(|c| c.id == change.id)?;
        let by = original.rolled_back_by?;
        let undo = changes.iter().find(|c| c.id == by)?;
        (original.state == ChangeState::RolledBack
            && undo.kind == ChangeKind::Rollback { of: change.id }
            && undo.state == ChangeState::Applied)
            .then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_account_rolled_back_since_a_time_is_as_before() {
    let fleet = Fleet::start().await;
    let admin = fleet.admin("otto", OperatorRole::Operator).await;
    ready(&admin).await;
    let agent = &fleet.agents[1];
    let pipeline = agent.state(PIPELINE).await;
    let frontend = agent.state(FRONTEND).await;
    let other = fleet.agents[2].state(PIPELINE).await;
    let first = apply(&fleet, &admin, 1, PIPELINE).await;
    let second = apply(&fleet, &admin, 1, FRONTEND).await;
    let elsewhere = apply(&fleet, &admin, 2, PIPELINE).await;
    assert_ne!(agent.state(PIPELINE).await, pipeline);
    assert_ne!(agent.state(FRONTEND).await, frontend);

    let since = (now() - chrono::Duration::hours(1)).to_rfc3339();
    let sent = rollback(&admin, ACCOUNTS[1], Target::Since(since)).await;
    assert_eq!(sent.delivery(), admin_pb::Delivery::Sent);
    rollback_done(&fleet, &sent.request_id).await;
    let changes = history(&admin, ACCOUNTS[1], None).await;
    assert!(changes.iter().any(|c| c.id == first.id), "{changes:?}");
    assert!(changes.iter().any(|c| c.id == second.id), "{changes:?}");
    assert_eq!(agent.state(PIPELINE).await, pipeline);
    assert_eq!(agent.state(FRONTEND).await, frontend);
    // The operator reads, per role, what the request restored.
    let restored = admin
        .clone()
        .get_rollback(admin_pb::GetRollbackRequest {
            request_id: sent.request_id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(restored.state, "done");
    assert_eq!(restored.requested_by, "otto");
    let mut undone: Vec<(String, String)> = restored
        .restored
        .iter()
        .map(|r| (r.role_name.clone(), r.undid.clone()))
        .collect();
    undone.sort();
    let mut expected = vec![
        (PIPELINE.to_string(), first.id.to_string()),
        (FRONTEND.to_string(), second.id.to_string()),
    ];
    expected.sort();
    assert_eq!(undone, expected, "{restored:?}");
    // The other account keeps its change.
    assert_ne!(fleet.agents[2].state(PIPELINE).await, other);
    let changes = history(&admin, ACCOUNTS[2], None).await;
    assert_eq!(changes.len(), 1, "{changes:?}");
    assert_eq!(changes[0].id, elsewhere.id);
    assert_eq!(changes[0].state, ChangeState::Applied);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rollback_queued_while_the_agent_is_down_runs_when_it_reconnects() {
    let mut fleet = Fleet::start().await;
    let admin = fleet.admin("otto", OperatorRole::Operator).await;
    ready(&admin).await;
    let before = fleet.agents[0].state(FRONTEND).await;
    let change = apply(&fleet, &admin, 0, FRONTEND).await;
    let applied = fleet.agents[0].state(FRONTEND).await;
    assert_ne!(applied, before);

    fleet.agent_down(0);
    connected(&admin, ACCOUNTS[0], false).await;
    let queued = rollback(&admin, ACCOUNTS[0], Target::RoleName(FRONTEND.into())).await;
    assert_eq!(queued.delivery(), admin_pb::Delivery::Queued);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        fleet.agents[0].state(FRONTEND).await,
        applied,
        "nothing runs while the agent is down"
    );

    fleet.agent_up(0);
    rolled_back(&admin, ACCOUNTS[0], &change).await;
    assert_eq!(fleet.agents[0].state(FRONTEND).await, before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_certificate_cannot_speak_for_another_account() {
    let mut fleet = Fleet::start().await;
    let admin = fleet.admin("vera", OperatorRole::Viewer).await;
    ready(&admin).await;
    // Agent 1 comes back with agent 0's certificate.
    fleet.agent_down(1);
    connected(&admin, ACCOUNTS[1], false).await;
    let settings = fleet.link_settings(ACCOUNTS[0]);
    fleet.agents[1].start(settings);
    match fleet.agents[1].join().await {
        Err(LinkError::Status(s)) => {
            assert_eq!(s.code(), tonic::Code::PermissionDenied, "{s:?}")
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    let all = accounts(&admin).await;
    let one = all.iter().find(|a| a.account_id == ACCOUNTS[1]).unwrap();
    assert!(!one.connected, "{one:?}");
    let audit = admin
        .clone()
        .audit(admin_pb::AuditRequest::default())
        .await
        .unwrap()
        .into_inner()
        .entries;
    assert!(
        audit
            .iter()
            .any(|e| e.who == format!("agent of account {}", ACCOUNTS[0])
                && e.result.contains(ACCOUNTS[1])
                && e.result != "ok"),
        "{audit:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_viewer_cannot_approve() {
    let fleet = Fleet::start().await;
    let viewer = fleet.admin("vera", OperatorRole::Viewer).await;
    ready(&viewer).await;
    let before = fleet.agents[0].state(PIPELINE).await;
    let err = viewer
        .clone()
        .approve(admin_pb::ApproveRequest {
            not_before: None,
            account_id: ACCOUNTS[0].into(),
            role_names: vec![PIPELINE.into()],
            all_removable: false,
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), tonic::Code::PermissionDenied, "{err:?}");
    let decisions = fleet
        .server()
        .store()
        .list_decisions(&DecisionFilter::default())
        .unwrap();
    assert!(decisions.is_empty(), "{decisions:?}");
    let audit = viewer
        .clone()
        .audit(admin_pb::AuditRequest::default())
        .await
        .unwrap()
        .into_inner()
        .entries;
    assert!(
        audit
            .iter()
            .any(|e| e.who.contains("vera") && e.action == "approve" && e.result != "ok"),
        "{audit:?}"
    );
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(fleet.agents[0].state(PIPELINE).await, before);
}

async fn operator_audit(admin: &Admin) -> Vec<admin_pb::AuditEntry> {
    admin
        .clone()
        .audit(admin_pb::AuditRequest::default())
        .await
        .unwrap()
        .into_inner()
        .entries
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_coordinator_restart_loses_nothing() {
    let mut fleet = Fleet::start().await;
    let admin = fleet.admin("ada", OperatorRole::Admin).await;
    ready(&admin).await;
    // Before the restart: an applied change, a rule, a rollback done and a decision pending
    // for an agent that is down.
    let before = fleet.agents[2].state(FRONTEND).await;
    let applied = apply(&fleet, &admin, 0, PIPELINE).await;
    let undone = apply(&fleet, &admin, 1, PIPELINE).await;
    let undo = rollback(&admin, ACCOUNTS[1], Target::RoleName(PIPELINE.into())).await;
    rollback_done(&fleet, &undo.request_id).await;
    assert_eq!(fleet.agents[1].state(PIPELINE).await, undone.before);
    // The change that undid it is reported, too.
    eventually("the undoing change is in the history", || async {
        (history(&admin, ACCOUNTS[1], None).await.len() == 2).then_some(())
    })
    .await;
    let rule = add_exclusion(
        &admin,
        Selector {
            role_name_glob: Some("break-glass*".into()),
            ..Selector::default()
        },
    )
    .await;
    fleet.agent_down(2);
    connected(&admin, ACCOUNTS[2], false).await;
    let pending = approve(&admin, ACCOUNTS[2], FRONTEND).await;
    assert_eq!(pending.state(), admin_pb::DecisionState::Pending);

    let rules = admin
        .clone()
        .list_exclusions(admin_pb::ListExclusionsRequest {})
        .await
        .unwrap()
        .into_inner();
    let mut changes = Vec::new();
    for account in ACCOUNTS {
        changes.push(history(&admin, account, None).await);
    }
    let decisions = fleet
        .server()
        .store()
        .list_decisions(&DecisionFilter::default())
        .unwrap();
    let audit = fleet
        .server()
        .store()
        .audit(&AuditFilter::default())
        .unwrap();
    assert!(!audit.is_empty());
    let seen = operator_audit(&admin).await;

    // The coordinator goes away and comes back on a fresh port (127.0.0.1:0); the agents
    // follow.
    drop(admin);
    fleet.stop_coordinator().await;
    fleet.start_coordinator().await;
    for i in 0..2 {
        fleet.agent_up(i);
    }
    let admin = fleet.admin("ada", OperatorRole::Admin).await;
    connected(&admin, ACCOUNTS[0], true).await;
    connected(&admin, ACCOUNTS[1], true).await;

    let after = admin
        .clone()
        .list_exclusions(admin_pb::ListExclusionsRequest {})
        .await
        .unwrap()
        .into_inner();
    assert_eq!(after, rules);
    assert_eq!(after.rules.unwrap().version, rule.version);
    for (i, account) in ACCOUNTS.iter().enumerate() {
        assert_eq!(
            history(&admin, account, None).await,
            changes[i],
            "{account}"
        );
    }
    let kept = fleet
        .server()
        .store()
        .list_decisions(&DecisionFilter::default())
        .unwrap();
    assert_eq!(kept, decisions);
    let kept_audit = fleet
        .server()
        .store()
        .audit(&AuditFilter::default())
        .unwrap();
    assert!(kept_audit.len() >= audit.len());
    assert_eq!(kept_audit[..audit.len()], audit[..]);
    let seen_after = operator_audit(&admin).await;
    for entry in &seen {
        assert!(seen_after.contains(entry), "lost {entry:?}");
    }
    assert_eq!(
        fleet.agents[0].state(PIPELINE).await,
        applied.after,
        "IAM keeps the change"
    );

    // The pending decision survived: it runs when its agent comes up.
    fleet.agent_up(2);
    let done = decision_in(
        &fleet,
        &pending.decision_id,
        &[
            DecisionState::Applied,
            DecisionState::Failed,
            DecisionState::Cancelled,
        ],
    )
    .await;
    assert_eq!(done.state, DecisionState::Applied, "{done:?}");
    assert_ne!(fleet.agents[2].state(FRONTEND).await, before);
}

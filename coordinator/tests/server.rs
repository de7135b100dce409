//! The coordinator's AgentService over real mutual TLS on loopback: a fake agent says
//! hello, reports, gets acks, directives and rules; what operators then see.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code

mod server_harness;

use std::time::Duration;

use server_harness::*;
use whittle_policy::change::ChangeState;
use whittle_proto::admin::v1 as admin_pb;
use whittle_proto::convert::{
    AgentMessage, CoordinatorMessage, DirectiveAction, DirectiveOutcome, NewExclusion, ReportBody,
    Selector,
};
use whittle_proto::identity::OperatorRole;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_reports_and_an_operator_sees_it() {
    let fx = Fixture::new();
    let server = fx.start().await;
    let mut agent = server
        .agent(&fx, &fx.agent_cert(A), hello(A, 0, false))
        .await
        .unwrap();
    match agent.expect().await {
        CoordinatorMessage::Welcome(w) => assert_eq!(w.exclusion_version, 0),
        other => panic!("expected welcome, got {other:?}"),
    }
    agent.report("inv-1", inventory(3, 40, 12)).await;
    let plan = plan(A, "app", "fp-1", 5);
    agent
        .report("plan-1", ReportBody::Plan(Box::new(plan.clone())))
        .await;
    let change = change(A, "other", "fp-x", ChangeState::Applied);
    agent
        .report("change-1", ReportBody::Change(Box::new(change.clone())))
        .await;
    // Sent again (as after a reconnect): acked again, stored once.
    agent
        .report("change-1", ReportBody::Change(Box::new(change.clone())))
        .await;
    let stored = server
        .store()
        .history(&whittle_coordinator::store::HistoryFilter::default())
        .unwrap();
    assert_eq!(stored, vec![change.clone()]);

    let viewer = fx.operator_cert("vera", OperatorRole::Viewer);
    let mut admin = server.admin(&fx, &viewer).await;
    let accounts = admin
        .list_accounts(admin_pb::ListAccountsRequest {})
        .await
        .unwrap()
        .into_inner()
        .accounts;
    assert_eq!(accounts.len(), 1);
    let a = &accounts[0];
    assert_eq!(a.account_id, A);
    assert!(a.connected);
    assert_eq!((a.roles, a.actions_granted, a.removable), (3, 40, 12));
    assert_eq!(a.agent_version, "0.1.0-test");

    let roles = admin
        .list_roles(admin_pb::ListRolesRequest {
            account_id: A.into(),
        })
        .await
        .unwrap()
        .into_inner()
        .roles;
    assert_eq!(roles.len(), 1);
    assert_eq!(
        (roles[0].role_name.as_str(), roles[0].removable),
        ("app", 5)
    );
    let got = admin
        .get_plan(admin_pb::GetPlanRequest {
            account_id: A.into(),
            role_name: "app".into(),
        })
        .await
        .unwrap()
        .into_inner()
        .plan
        .unwrap();
    assert_eq!(
        whittle_proto::convert::PlanSummary::try_from(got).unwrap(),
        plan
    );
    let history = admin
        .history(admin_pb::HistoryRequest::default())
        .await
        .unwrap()
        .into_inner()
        .changes;
    assert_eq!(history.len(), 1);

    // A plan of a role granting almost every AWS action is several MiB (more than gRPC's
    // usual 4 MiB): it is stored too.
    let mut big = server_harness::plan(A, "admin", "fp-big", 5);
    big.report_json = serde_json::json!({ "kept": "x".repeat(6 * 1024 * 1024) }).to_string();
    agent
        .report("plan-big", ReportBody::Plan(Box::new(big)))
        .await;
    assert!(
        server
            .store()
            .get_plan(A, "admin")
            .unwrap()
            .is_some_and(|p| p.report_json.len() > 6 * 1024 * 1024)
    );
    drop(agent);
    eventually("the account shows disconnected", || {
        !server.store().get_account(A).unwrap().unwrap().connected
    })
    .await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_approval_reaches_the_agent_and_its_change_finishes_the_decision() {
    let fx = Fixture::new();
    let server = fx.start().await;
    let mut agent = server
        .agent(&fx, &fx.agent_cert(A), hello(A, 0, false))
        .await
        .unwrap();
    agent.expect().await; // welcome
    agent
        .report("p1", ReportBody::Plan(Box::new(plan(A, "app", "fp-1", 4))))
        .await;
    agent
        .report("p2", ReportBody::Plan(Box::new(plan(A, "idle", "fp-2", 0))))
        .await;

    let op = fx.operator_cert("otto", OperatorRole::Operator);
    let mut admin = server.admin(&fx, &op).await;
    let decisions = admin
        .approve(admin_pb::ApproveRequest {
            not_before: None,
            account_id: A.into(),
            role_names: vec![],
            all_removable: true,
        })
        .await
        .unwrap()
        .into_inner()
        .decisions;
    assert_eq!(decisions.len(), 1, "only the role with something to remove");
    assert_eq!(decisions[0].role_name, "app");
    assert_eq!(decisions[0].author, "otto");
    assert_eq!(decisions[0].state(), admin_pb::DecisionState::Sent);

    let directive = match agent.expect().await {
        CoordinatorMessage::Directive(d) => d,
        other => panic!("expected a directive, got {other:?}"),
    };
    let DirectiveAction::Apply(apply) = &directive.action else {
        panic!("expected apply, got {directive:?}");
    };
    assert_eq!(apply.decision_id, decisions[0].decision_id);
    assert_eq!(apply.state_fingerprint, "state-fp-1");

    let applied = change(A, "app", "fp-1", ChangeState::Applied);
    agent
        .report("c1", ReportBody::Change(Box::new(applied.clone())))
        .await;
    let decision = server
        .store()
        .get_decision(&apply.decision_id)
        .unwrap()
        .unwrap();
    assert_eq!(
        decision.state,
        whittle_coordinator::store::DecisionState::Applied
    );
    assert_eq!(decision.change_id, Some(applied.id));
    // The outcome arriving later changes nothing.
    agent
        .send(AgentMessage::Outcome(DirectiveOutcome {
            refusal: None,
            directive_id: directive.directive_id.clone(),
            ok: true,
            message: "applied".into(),
            change_ids: vec![applied.id],
        }))
        .await;
    agent.report("inv", inventory(2, 10, 0)).await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_exclusion_reaches_every_connected_agent_within_a_second() {
    let fx = Fixture::new();
    let server = fx.start().await;
    let mut a = server
        .agent(&fx, &fx.agent_cert(A), hello(A, 0, false))
        .await
        .unwrap();
    let mut b = server
        .agent(&fx, &fx.agent_cert(B), hello(B, 0, false))
        .await
        .unwrap();
    a.expect().await;
    b.expect().await;

    let admin_cert = fx.operator_cert("ada", OperatorRole::Admin);
    let mut admin = server.admin(&fx, &admin_cert).await;
    let new = NewExclusion {
        selector: Selector {
            role_name_glob: Some("break-glass*".into()),
            ..Selector::default()
        },
        reason: "never touch break-glass roles".into(),
        expires_at: None,
    };
    let added = admin.add_exclusion(admin_pb::AddExclusionRequest::from(new));
    let added = added.await.unwrap().into_inner();
    assert_eq!(added.version, 1);
    let rule_id = added.rule.unwrap().id;

    for agent in [&mut a, &mut b] {
        let message = tokio::time::timeout(Duration::from_secs(1), agent.expect())
            .await
            .expect("the rules did not arrive within a second");
        let CoordinatorMessage::Directive(d) = message else {
            panic!("expected rules, got {message:?}");
        };
        let DirectiveAction::Rules(rules) = d.action else {
            panic!("expected rules, got {d:?}");
        };
        assert_eq!(rules.version, 1);
        assert_eq!(rules.rules.len(), 1);
        assert_eq!(rules.rules[0].id, rule_id);
        assert_eq!(rules.rules[0].author, "ada");
    }

    // An agent that connects later with older rules gets them after the welcome.
    drop(a);
    let mut a = server
        .agent(&fx, &fx.agent_cert(A), hello(A, 0, false))
        .await
        .unwrap();
    assert!(matches!(a.expect().await, CoordinatorMessage::Welcome(w) if w.exclusion_version == 1));
    match a.expect().await {
        CoordinatorMessage::Directive(d) => {
            assert!(matches!(d.action, DirectiveAction::Rules(r) if r.version == 1));
        }
        other => panic!("expected rules, got {other:?}"),
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rollback_is_queued_then_sent_and_restored_from_history_for_an_empty_journal() {
    let fx = Fixture::new();
    let server = fx.start().await;
    let cert = fx.agent_cert(A);
    let mut agent = server.agent(&fx, &cert, hello(A, 0, false)).await.unwrap();
    agent.expect().await;
    let applied = change(A, "app", "fp-1", ChangeState::Applied);
    agent
        .report("c1", ReportBody::Change(Box::new(applied.clone())))
        .await;
    drop(agent);
    eventually("the account shows disconnected", || {
        !server.store().get_account(A).unwrap().unwrap().connected
    })
    .await;

    let op = fx.operator_cert("otto", OperatorRole::Operator);
    let mut admin = server.admin(&fx, &op).await;
    let queued = admin
        .rollback(admin_pb::RollbackRequest {
            account_id: A.into(),
            target: Some(admin_pb::rollback_request::Target::RoleName("app".into())),
            force: false,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(queued.delivery(), admin_pb::Delivery::Queued);

    // The agent comes back without its disk: it gets the before-images from the history.
    let mut agent = server.agent(&fx, &cert, hello(A, 0, true)).await.unwrap();
    agent.expect().await; // welcome
    let directive = match agent.expect().await {
        CoordinatorMessage::Directive(d) => d,
        other => panic!("expected a directive, got {other:?}"),
    };
    match &directive.action {
        DirectiveAction::Restore {
            request_id,
            changes,
        } => {
            assert_eq!(request_id, &queued.request_id);
            assert_eq!(changes, &vec![applied.clone()]);
        }
        other => panic!("expected a restore, got {other:?}"),
    }
    agent
        .send(AgentMessage::Outcome(DirectiveOutcome {
            refusal: None,
            directive_id: directive.directive_id.clone(),
            ok: true,
            message: "restored".into(),
            change_ids: vec![],
        }))
        .await;
    let request_id = queued.request_id.clone();
    eventually("the rollback is done", || {
        server
            .store()
            .get_rollback(&request_id)
            .unwrap()
            .unwrap()
            .state
            == whittle_coordinator::store::RollbackState::Done
    })
    .await;

    // Connected with a journal (the new stream replaces the old one): a rollback is sent
    // at once, from the journal.
    let mut agent = server.agent(&fx, &cert, hello(A, 0, false)).await.unwrap();
    agent.expect().await; // welcome
    let sent = admin
        .rollback(admin_pb::RollbackRequest {
            account_id: A.into(),
            target: Some(admin_pb::rollback_request::Target::ChangeId(
                applied.id.to_string(),
            )),
            force: true,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(sent.delivery(), admin_pb::Delivery::Sent);
    match agent.expect().await {
        CoordinatorMessage::Directive(d) => match d.action {
            DirectiveAction::Rollback(order) => {
                assert_eq!(order.request_id, sent.request_id);
                assert!(order.force);
            }
            other => panic!("expected a rollback, got {other:?}"),
        },
        other => panic!("expected a directive, got {other:?}"),
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_connection_replaces_the_old_one_and_hello_must_come_first() {
    let fx = Fixture::new();
    let server = fx.start().await;
    let cert = fx.agent_cert(A);
    let mut old = server.agent(&fx, &cert, hello(A, 0, false)).await.unwrap();
    old.expect().await;
    let mut new = server.agent(&fx, &cert, hello(A, 0, false)).await.unwrap();
    new.expect().await;
    // The old stream ends; the new one still works, and the account stays connected.
    if let Ok(Some(m)) = old.next().await {
        panic!("unexpected message on the old stream: {m:?}");
    }
    new.report("inv", inventory(1, 1, 0)).await;
    assert!(server.store().get_account(A).unwrap().unwrap().connected);
    assert_eq!(server.fleet_len(), 1);

    // A stream that does not start with a hello is refused.
    let channel = server
        .channel(fx.ca.cert_pem().as_bytes(), Some(&fx.agent_cert(B)))
        .await
        .unwrap();
    let (tx, rx) = tokio::sync::mpsc::channel(1);
    let report = whittle_proto::convert::Report {
        report_id: "r".into(),
        body: inventory(1, 1, 0),
    };
    tx.send(AgentMessage::Report(report).into()).await.unwrap();
    let mut client =
        whittle_proto::agent::v1::agent_service_client::AgentServiceClient::new(channel);
    let call = client.connect(tokio_stream::wrappers::ReceiverStream::new(rx));
    let err = tokio::time::timeout(WAIT, call).await.unwrap().unwrap_err();
    assert_eq!(err.code(), tonic::Code::InvalidArgument, "{err:?}");
    assert!(err.message().contains("hello"), "{err:?}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plan_the_coordinator_cannot_reproduce_is_not_approved() {
    let fx = Fixture::new();
    let server = fx.start().await;
    let mut agent = server
        .agent(&fx, &fx.agent_cert(A), hello(A, 0, false))
        .await
        .unwrap();
    agent.expect().await; // welcome
    let mut forged = plan(A, "app", "fp-1", 4);
    forged.fingerprint = "0000000000000000ffffffffffffffff".into();
    agent.report("p1", ReportBody::Plan(Box::new(forged))).await;
    let op = fx.operator_cert("otto", OperatorRole::Operator);
    let mut admin = server.admin(&fx, &op).await;
    let decisions = admin
        .approve(admin_pb::ApproveRequest {
            not_before: None,
            account_id: A.into(),
            role_names: vec!["app".into()],
            all_removable: false,
        })
        .await
        .unwrap()
        .into_inner()
        .decisions;
    assert_eq!(decisions.len(), 1);
    assert!(decisions[0].decision_id.is_empty(), "no decision was made");
    assert!(
        decisions[0].detail.contains("recomputing the plan"),
        "{}",
        decisions[0].detail
    );
    server.stop().await;
}

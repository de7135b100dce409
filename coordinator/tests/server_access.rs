//! Who may talk to the coordinator: callers without a certificate of the fleet's CA are
//! refused, an agent speaks only for its own account, a viewer cannot approve (and the
//! denial is audited); and what survives a restart. Real mutual TLS on loopback.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code

mod server_harness;

use chrono::Utc;
use server_harness::*;
use whittle_coordinator::ca::{Ca, IssueRequest};
use whittle_coordinator::server::Config;
use whittle_coordinator::store::{DecisionFilter, HistoryFilter};
use whittle_policy::change::ChangeState;
use whittle_proto::admin::v1 as admin_pb;
use whittle_proto::admin::v1::admin_service_client::AdminServiceClient;
use whittle_proto::convert::{CoordinatorMessage, NewExclusion, ReportBody, Selector};
use whittle_proto::identity::OperatorRole;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_caller_without_a_client_certificate_is_refused() {
    let fx = Fixture::new();
    let server = fx.start().await;
    let refused = match server.channel(fx.ca.cert_pem().as_bytes(), None).await {
        Err(_) => true,
        Ok(channel) => AdminServiceClient::new(channel)
            .list_accounts(admin_pb::ListAccountsRequest {})
            .await
            .is_err(),
    };
    assert!(refused, "a call without a client certificate was served");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_certificate_from_another_ca_is_refused() {
    let fx = Fixture::new();
    let server = fx.start().await;
    let other_dir = tempfile::TempDir::new().unwrap();
    let other = Ca::init(other_dir.path(), Utc::now()).unwrap();
    let intruder = other
        .issue(
            IssueRequest::operator("mallory", OperatorRole::Admin).unwrap(),
            Utc::now(),
        )
        .unwrap();
    // The client trusts the real CA (so that the server is accepted) but presents a
    // certificate of another CA.
    let refused = match server
        .channel(fx.ca.cert_pem().as_bytes(), Some(&intruder))
        .await
    {
        Err(_) => true,
        Ok(channel) => AdminServiceClient::new(channel)
            .list_accounts(admin_pb::ListAccountsRequest {})
            .await
            .is_err(),
    };
    assert!(refused, "a certificate of another CA was served");
    assert!(server.store().list_accounts().unwrap().is_empty());
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_cannot_speak_for_another_account() {
    let fx = Fixture::new();
    let server = fx.start().await;
    let err = match server
        .agent(&fx, &fx.agent_cert(A), hello(B, 0, false))
        .await
    {
        Err(status) => status,
        Ok(mut agent) => agent.next().await.expect_err("the stream was accepted"),
    };
    assert_eq!(err.code(), tonic::Code::PermissionDenied, "{err:?}");
    assert!(server.store().get_account(B).unwrap().is_none());
    assert!(server.store().get_account(A).unwrap().is_none());
    let audit = server.store().audit(&Default::default()).unwrap();
    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0].who, format!("agent of account {A}"));
    assert!(audit[0].result.contains(B), "{audit:?}");

    // Nor use the operators' service.
    let channel = server
        .channel(fx.ca.cert_pem().as_bytes(), Some(&fx.agent_cert(A)))
        .await
        .unwrap();
    let err = AdminServiceClient::new(channel)
        .list_accounts(admin_pb::ListAccountsRequest {})
        .await
        .unwrap_err();
    assert_eq!(err.code(), tonic::Code::PermissionDenied);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_viewer_cannot_approve_and_the_denial_is_audited() {
    let fx = Fixture::new();
    let server = fx.start().await;
    let viewer = fx.operator_cert("vera", OperatorRole::Viewer);
    let mut admin = server.admin(&fx, &viewer).await;
    let err = admin
        .approve(admin_pb::ApproveRequest {
            not_before: None,
            account_id: A.into(),
            role_names: vec!["app".into()],
            all_removable: false,
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), tonic::Code::PermissionDenied);
    // A viewer may still read the audit log, which holds the denial.
    let entries = admin
        .audit(admin_pb::AuditRequest::default())
        .await
        .unwrap()
        .into_inner()
        .entries;
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert_eq!(entries[0].who, "operator vera (viewer)");
    assert_eq!(entries[0].action, "approve");
    assert!(entries[0].target.contains(A));
    assert!(entries[0].result.contains("may not approve"), "{entries:?}");
    // And an operator role is not enough for exclusions.
    let op = fx.operator_cert("otto", OperatorRole::Operator);
    let err = server
        .admin(&fx, &op)
        .await
        .remove_exclusion(admin_pb::RemoveExclusionRequest { id: "x".into() })
        .await
        .unwrap_err();
    assert_eq!(err.code(), tonic::Code::PermissionDenied);
    assert!(
        server
            .store()
            .list_decisions(&DecisionFilter::default())
            .unwrap()
            .is_empty()
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_keeps_rules_decisions_history_and_audit() {
    let fx = Fixture::new();
    let server = fx.start().await;
    let mut agent = server
        .agent(&fx, &fx.agent_cert(A), hello(A, 0, false))
        .await
        .unwrap();
    agent.expect().await;
    agent
        .report("p1", ReportBody::Plan(Box::new(plan(A, "app", "fp-1", 3))))
        .await;
    let applied = change(A, "old", "fp-0", ChangeState::Applied);
    agent
        .report("c1", ReportBody::Change(Box::new(applied.clone())))
        .await;
    let admin_cert = fx.operator_cert("ada", OperatorRole::Admin);
    let mut admin = server.admin(&fx, &admin_cert).await;
    let new = NewExclusion {
        selector: Selector::default(),
        reason: "freeze".into(),
        expires_at: None,
    };
    admin
        .add_exclusion(admin_pb::AddExclusionRequest::from(new))
        .await
        .unwrap();
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
    drop((agent, admin));
    server.stop().await;

    let server = fx.start().await;
    let store = server.store();
    assert!(!store.get_account(A).unwrap().unwrap().connected);
    assert_eq!(store.rules().unwrap().len(), 1);
    assert_eq!(store.exclusion_version().unwrap(), 1);
    let kept = store.list_decisions(&DecisionFilter::default()).unwrap();
    assert_eq!(kept.len(), 1);
    assert_eq!(kept[0].decision_id, decisions[0].decision_id);
    assert_eq!(
        store.history(&HistoryFilter::default()).unwrap(),
        vec![applied]
    );
    let mut admin = server.admin(&fx, &admin_cert).await;
    let audit = admin
        .audit(admin_pb::AuditRequest::default())
        .await
        .unwrap()
        .into_inner()
        .entries;
    let actions: Vec<&str> = audit.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(actions, ["approve", "add_exclusion"], "newest first");

    // The agent reconnects with the rules it has: the open decision is sent again.
    let mut agent = server
        .agent(&fx, &fx.agent_cert(A), hello(A, 1, false))
        .await
        .unwrap();
    assert!(matches!(
        agent.expect().await,
        CoordinatorMessage::Welcome(_)
    ));
    match agent.expect().await {
        CoordinatorMessage::Directive(d) => {
            assert_eq!(
                d.directive_id,
                format!("decision:{}", decisions[0].decision_id)
            );
        }
        other => panic!("expected the decision, got {other:?}"),
    }
    server.stop().await;
}

#[test]
fn the_example_config_parses() {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/coordinator.example.toml");
    let config = Config::load(&path).unwrap();
    assert_eq!(config.listen.port(), 7443);
    assert_eq!(
        config.tls.ca_cert,
        std::path::Path::new("/etc/whittle/ca.pem")
    );
    let err = Config::parse(
        "listen = \"0.0.0.0:1\"\ndata_dir = \"x\"\nport = 3\n",
        &path,
    );
    assert!(err.unwrap_err().to_string().contains("port"));
    assert_eq!(config.campaigns.tick_ms, 1000);
    assert_eq!(config.campaigns.default_soak_seconds, 3600);
    let tls = "[tls]\nca_cert = \"a\"\ncert = \"b\"\nkey = \"c\"\n";
    let minimal = format!("listen = \"0.0.0.0:1\"\ndata_dir = \"x\"\n{tls}");
    let config = Config::parse(&minimal, &path).unwrap();
    assert_eq!(config.campaigns, Default::default());
    let bad_tick = format!("{minimal}[campaigns]\ntick_ms = 5\n");
    let err = Config::parse(&bad_tick, &path).unwrap_err().to_string();
    assert!(
        err.contains("tick_ms = 5") && err.contains("100 to 60000"),
        "{err}"
    );
}

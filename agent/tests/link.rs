//! The link to the coordinator against a fake coordinator over real mutual TLS:
//! Hello, change reports and their acks, reconnects, the periodic plan.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod link_fake;
mod support;

use std::time::Duration;

use link_fake::{Coordinator, WAIT, account};
use support::{World, none};
use whittle_agent::engine::Applied;
use whittle_agent::link::{LinkError, RuleStore, run_link};
use whittle_proto::convert::{
    AgentMessage, CoordinatorMessage, Directive, DirectiveAction, ExclusionRule, ExclusionRules,
    Report, ReportBody, Selector, Welcome,
};

fn welcome() -> CoordinatorMessage {
    CoordinatorMessage::Welcome(Welcome {
        coordinator_version: "test".into(),
        exclusion_version: 0,
    })
}

/// Applies the role's plan directly (as the CLI would), leaving an unreported record.
async fn change(w: &World, role: &str) {
    let plan = w.plan(role).await;
    let applied = w.engine.apply_plan(&plan, &none()).await.unwrap();
    assert!(
        matches!(applied, Applied::Changed(_)),
        "{role}: {applied:?}"
    );
}

fn change_report(m: AgentMessage) -> Report {
    match m {
        AgentMessage::Report(
            r @ Report {
                body: ReportBody::Change(_),
                ..
            },
        ) => r,
        other => panic!("expected a change report, got {other:?}"),
    }
}

async fn unreported_becomes(w: &World, n: usize) {
    tokio::time::timeout(WAIT, async {
        while w.engine.journal().unreported().unwrap().len() != n {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .expect("the journal's unreported records did not reach the expected count");
}

#[tokio::test]
async fn hello_names_the_account_its_rules_and_an_empty_journal() {
    let w = World::new();
    let mut coordinator = Coordinator::start().await;
    let link = tokio::spawn(run_link(
        account(&w.sim, &w.engine, w.dir.path()),
        coordinator.settings(),
    ));
    let mut conn = coordinator.accept().await;
    match conn.recv().await {
        AgentMessage::Hello(h) => {
            assert_eq!(h.account_id, "111122223333");
            assert_eq!(h.exclusion_version, 0);
            assert!(h.journal_empty);
            assert!(!h.agent_version.is_empty());
        }
        other => panic!("expected Hello first, got {other:?}"),
    }
    link.abort();
}

#[tokio::test]
async fn journal_records_are_reported_and_marked_only_after_their_ack() {
    let w = World::new();
    change(&w, "ci-deployer").await;
    let mut coordinator = Coordinator::start().await;
    let link = tokio::spawn(run_link(
        account(&w.sim, &w.engine, w.dir.path()),
        coordinator.settings(),
    ));
    let mut conn = coordinator.accept().await;
    let AgentMessage::Hello(hello) = conn.recv().await else {
        panic!("expected Hello first");
    };
    assert!(!hello.journal_empty);
    conn.send(welcome()).await;
    let report = change_report(conn.recv_kept().await);
    let ReportBody::Change(record) = &report.body else {
        unreachable!()
    };
    assert_eq!(record.role_name, "ci-deployer");
    // Not acknowledged yet: still unreported.
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(w.engine.journal().unreported().unwrap().len(), 1);
    conn.send(CoordinatorMessage::Ack {
        report_id: report.report_id.clone(),
    })
    .await;
    unreported_becomes(&w, 0).await;
    assert!(w.engine.journal().get(record.id).unwrap().reported);
    link.abort();
}

#[tokio::test]
async fn a_reconnect_resends_what_was_not_acked_and_nothing_twice() {
    let w = World::new();
    change(&w, "ci-deployer").await;
    change(&w, "app-web-frontend").await;
    let mut coordinator = Coordinator::start().await;
    let link = tokio::spawn(run_link(
        account(&w.sim, &w.engine, w.dir.path()),
        coordinator.settings(),
    ));

    let mut first = coordinator.accept().await;
    assert!(matches!(first.recv().await, AgentMessage::Hello(_)));
    first.send(welcome()).await;
    let a = change_report(first.recv_kept().await);
    let b = change_report(first.recv_kept().await);
    assert_ne!(a.report_id, b.report_id);
    first
        .send(CoordinatorMessage::Ack {
            report_id: a.report_id.clone(),
        })
        .await;
    unreported_becomes(&w, 1).await;
    first.close();

    let mut second = coordinator.accept().await;
    assert!(matches!(second.recv().await, AgentMessage::Hello(_)));
    second.send(welcome()).await;
    let again = change_report(second.recv_kept().await);
    assert_eq!(
        again.report_id, b.report_id,
        "only the unacknowledged report comes again"
    );
    second
        .send(CoordinatorMessage::Ack {
            report_id: again.report_id.clone(),
        })
        .await;
    unreported_becomes(&w, 0).await;
    let extra = second.try_recv_kept(Duration::from_millis(500)).await;
    assert!(extra.is_none(), "nothing is sent twice: {extra:?}");
    link.abort();
}

#[tokio::test]
async fn the_account_is_planned_and_reported_with_the_rules_held() {
    let w = World::new();
    let rules = ExclusionRules {
        version: 4,
        rules: vec![ExclusionRule {
            id: "rule-ci".into(),
            selector: Selector {
                role_name_glob: Some("ci-*".into()),
                ..Selector::default()
            },
            reason: "the release pipeline".into(),
            author: "alice".into(),
            expires_at: None,
            created_at: support::now(),
        }],
    };
    RuleStore::open(w.dir.path())
        .unwrap()
        .replace(rules)
        .unwrap();
    let roles = w.iam.list_roles().await.unwrap().len();
    let mut coordinator = Coordinator::start().await;
    let link = tokio::spawn(run_link(
        account(&w.sim, &w.engine, w.dir.path()),
        coordinator.settings(),
    ));
    let mut conn = coordinator.accept().await;
    let AgentMessage::Hello(hello) = conn.recv().await else {
        panic!("expected Hello first");
    };
    assert_eq!(hello.exclusion_version, 4);
    // The first plan follows the Welcome.
    conn.send(CoordinatorMessage::Welcome(Welcome {
        coordinator_version: "test".into(),
        exclusion_version: 4,
    }))
    .await;
    let inventory = loop {
        if let AgentMessage::Report(Report {
            body: ReportBody::Inventory(i),
            ..
        }) = conn.recv().await
        {
            break i;
        }
    };
    assert_eq!(inventory.roles as usize, roles);
    assert!(inventory.removable > 0 && inventory.actions_granted >= inventory.removable);
    let mut plans = Vec::new();
    while plans.len() < roles {
        if let AgentMessage::Report(Report {
            body: ReportBody::Plan(p),
            ..
        }) = conn.recv().await
        {
            plans.push(p);
        }
    }
    let ci = plans.iter().find(|p| p.role_name == "ci-deployer").unwrap();
    assert!(
        ci.skipped.as_deref().unwrap_or("").contains("rule-ci"),
        "{:?}",
        ci.skipped
    );
    assert_eq!(ci.inputs.settings.exclusion_version, 4);
    assert!(plans.iter().any(|p| p.skipped.is_none() && p.removable > 0));
    link.abort();
}

#[tokio::test]
async fn newer_rules_announced_in_the_welcome_come_before_the_first_plan() {
    let w = World::new();
    let roles = w.iam.list_roles().await.unwrap().len();
    let mut coordinator = Coordinator::start().await;
    let link = tokio::spawn(run_link(
        account(&w.sim, &w.engine, w.dir.path()),
        coordinator.settings(),
    ));
    let mut conn = coordinator.accept().await;
    let AgentMessage::Hello(hello) = conn.recv().await else {
        panic!("expected Hello first");
    };
    assert_eq!(hello.exclusion_version, 0);
    conn.send(CoordinatorMessage::Welcome(Welcome {
        coordinator_version: "test".into(),
        exclusion_version: 2,
    }))
    .await;
    let rules = ExclusionRules {
        version: 2,
        rules: vec![ExclusionRule {
            id: "rule-ci".into(),
            selector: Selector {
                role_name_glob: Some("ci-*".into()),
                ..Selector::default()
            },
            reason: "the release pipeline".into(),
            author: "alice".into(),
            expires_at: None,
            created_at: support::now(),
        }],
    };
    conn.send(CoordinatorMessage::Directive(Directive {
        directive_id: "rules:2".into(),
        action: DirectiveAction::Rules(rules),
        trace_context: Default::default(),
    }))
    .await;
    // Every plan reported, the first included, was made with the rules.
    let mut plans = Vec::new();
    while plans.len() < roles {
        if let AgentMessage::Report(Report {
            body: ReportBody::Plan(p),
            ..
        }) = conn.recv().await
        {
            plans.push(p);
        }
    }
    assert!(
        plans
            .iter()
            .all(|p| p.inputs.settings.exclusion_version == 2)
    );
    let ci = plans.iter().find(|p| p.role_name == "ci-deployer").unwrap();
    assert!(ci.skipped.as_deref().unwrap_or("").contains("rule-ci"));
    link.abort();
}

#[tokio::test]
async fn a_refusal_by_the_coordinator_ends_the_link_without_retrying() {
    let w = World::new();
    let coordinator = Coordinator::refusing(tonic::Code::PermissionDenied).await;
    let ended = tokio::time::timeout(
        WAIT,
        run_link(
            account(&w.sim, &w.engine, w.dir.path()),
            coordinator.settings(),
        ),
    )
    .await
    .expect("a refused link must end");
    let err = ended.expect_err("a refused link is an error");
    assert!(!err.is_retryable(), "{err}");
    assert!(matches!(err, LinkError::Status(ref s) if s.code() == tonic::Code::PermissionDenied));
}

#[tokio::test]
async fn an_unreachable_coordinator_is_retried_until_the_attempts_are_spent() {
    let w = World::new();
    let coordinator = Coordinator::start().await;
    let mut settings = coordinator.settings();
    // A port nothing listens on.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    settings.coordinator = format!("https://127.0.0.1:{}", closed.local_addr().unwrap().port());
    drop(closed);
    settings.reconnect.max_attempts = Some(3);
    let ended = tokio::time::timeout(
        WAIT,
        run_link(account(&w.sim, &w.engine, w.dir.path()), settings),
    )
    .await
    .expect("the attempts must run out");
    match ended {
        Err(LinkError::GaveUp { attempts, last }) => {
            assert_eq!(attempts, 4, "the first dial and three retries");
            assert!(last.is_retryable(), "{last}");
        }
        other => panic!("expected GaveUp, got {other:?}"),
    }
}

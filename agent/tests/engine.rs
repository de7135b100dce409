//! Apply and rollback against the simulated example account, as a user of the
//! agent would see them: IAM ends exactly as planned, then exactly as before.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use support::{World, none};
use whittle_agent::engine::{Applied, EngineError};
use whittle_agent::journal::{ChangeFilter, ChangeState};

const ROLES: [&str; 4] = [
    "app-web-frontend",
    "data-pipeline",
    "ci-deployer",
    "reporting-lambda",
];

#[tokio::test]
async fn apply_then_rollback_restores_every_document_and_attachment() {
    let w = World::new();
    let account_before = w.sim.export();
    for role in ROLES {
        let before = w.state(role).await;
        let plan = w.plan(role).await;
        assert!(plan.has_changes(), "{role}");
        let Applied::Changed(id) = w.engine.apply_plan(&plan, &none()).await.unwrap() else {
            panic!("{role}: no change")
        };
        assert!(
            w.state(role).await.same_as(&plan.after),
            "{role}: IAM holds the planned after-image"
        );
        let rec = w.engine.journal().get(id).unwrap();
        assert_eq!(rec.state, ChangeState::Applied);
        assert_eq!(
            rec.before, plan.before,
            "the full before-image is journaled"
        );

        let back = w.engine.rollback_role(role, false).await.unwrap();
        assert_eq!(back.change, id);
        let after_rollback = w.state(role).await;
        assert_eq!(
            after_rollback, before,
            "{role}: documents are back byte for byte"
        );
        assert_eq!(
            w.engine.journal().get(id).unwrap().state,
            ChangeState::RolledBack
        );
    }
    // The copy made for the shared policy is gone, attachment counts are back.
    let account_after = w.sim.export();
    assert_eq!(
        account_after.managed_policies.keys().collect::<Vec<_>>(),
        account_before.managed_policies.keys().collect::<Vec<_>>()
    );
    for (arn, p) in &account_before.managed_policies {
        let q = &account_after.managed_policies[arn];
        assert_eq!(p.attachment_count, q.attachment_count, "{arn}");
        assert!(
            whittle_policy::diff::same_document(&p.document, &q.document),
            "{arn}"
        );
    }
}

#[tokio::test]
async fn a_rollback_can_be_rolled_back() {
    let w = World::new();
    let plan = w.plan("ci-deployer").await;
    w.engine.apply_plan(&plan, &none()).await.unwrap();
    let first = w.engine.rollback_role("ci-deployer", false).await.unwrap();
    let second = w.engine.rollback_role("ci-deployer", false).await.unwrap();
    assert_eq!(
        second.change, first.by,
        "the newest applied change is the rollback"
    );
    assert!(
        w.state("ci-deployer").await.same_as(&plan.after),
        "the trimmed policy is back"
    );
}

#[tokio::test]
async fn rollback_since_restores_the_whole_account() {
    let w = World::new();
    let mut before = Vec::new();
    for role in ROLES {
        before.push(w.state(role).await);
        let plan = w.plan(role).await;
        w.engine.apply_plan(&plan, &none()).await.unwrap();
    }
    let results = w
        .engine
        .rollback_since(support::now() - chrono::Duration::hours(1), false)
        .await
        .unwrap();
    assert_eq!(results.len(), ROLES.len());
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    for (role, b) in ROLES.iter().zip(before) {
        assert_eq!(w.state(role).await, b, "{role}");
    }
    let applied = ChangeFilter {
        states: vec![ChangeState::Applied],
        ..ChangeFilter::default()
    };
    assert!(
        w.engine
            .journal()
            .list(&applied)
            .unwrap()
            .iter()
            .all(|r| matches!(r.kind, whittle_agent::journal::ChangeKind::Rollback { .. }))
    );
}

#[tokio::test]
async fn a_role_changed_after_planning_is_refused_as_drift() {
    let w = World::new();
    let plan = w.plan("app-web-frontend").await;
    let backdoor = w.sim.backdoor();
    whittle_aws::Iam::put_role_policy(&backdoor, "app-web-frontend", "added-by-someone", r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:ListAllMyBuckets","Resource":"*"}]}"#)
        .await
        .unwrap();
    w.sim.reset_calls();
    let err = w.engine.apply_plan(&plan, &none()).await.unwrap_err();
    assert!(matches!(err, EngineError::Drift { .. }), "{err}");
    assert!(err.to_string().contains("added-by-someone"), "{err}");
    assert_eq!(w.sim.write_calls(), 0, "nothing was written");
    assert!(
        w.engine
            .journal()
            .list(&ChangeFilter::default())
            .unwrap()
            .is_empty(),
        "nothing journaled"
    );
}

#[tokio::test]
async fn a_throttling_storm_still_completes() {
    let w = World::new();
    let plan = w.plan("reporting-lambda").await;
    for op in [
        "GetRole",
        "PutRolePolicy",
        "CreatePolicyVersion",
        "CreatePolicy",
        "AttachRolePolicy",
        "DetachRolePolicy",
        "ListPolicyVersions",
    ] {
        w.sim.throttle_next(op, 20);
    }
    let applied = w.engine.apply_plan(&plan, &none()).await.unwrap();
    assert!(matches!(applied, Applied::Changed(_)));
    assert!(w.state("reporting-lambda").await.same_as(&plan.after));
}

#[tokio::test]
async fn a_failing_write_restores_the_before_image() {
    let w = World::new();
    let before = w.state("reporting-lambda").await;
    let plan = w.plan("reporting-lambda").await;
    w.sim
        .fail_next("DetachRolePolicy", whittle_aws::ErrorKind::AccessDenied, 1);
    let err = w.engine.apply_plan(&plan, &none()).await.unwrap_err();
    assert!(
        matches!(err, EngineError::FailedAndRestored { .. }),
        "{err}"
    );
    w.sim.clear_faults();
    assert!(w.state("reporting-lambda").await.same_as(&before));
    let all = w.engine.journal().list(&ChangeFilter::default()).unwrap();
    assert_eq!(all.len(), 2, "the apply and its restore");
    assert_eq!(all[0].state, ChangeState::RolledBack);
    assert!(
        all[0]
            .error
            .as_deref()
            .unwrap()
            .contains("DetachRolePolicy")
            || all[0].error.as_deref().unwrap().contains("denied"),
        "{:?}",
        all[0].error
    );
}

#[tokio::test]
async fn protected_and_service_linked_roles_are_never_changed() {
    let w = World::new();
    let plan = w.plan("app-web-frontend").await;
    let protected = [(
        "app-web-frontend".to_string(),
        "the agent runs as this role".to_string(),
    )]
    .into();
    let err = w.engine.apply_plan(&plan, &protected).await.unwrap_err();
    assert!(matches!(err, EngineError::Protected { .. }));
    let slr = w.plan("AWSServiceRoleForAutoScaling").await;
    assert_eq!(
        w.engine.apply_plan(&slr, &none()).await.unwrap(),
        Applied::NoChange
    );
}

#[tokio::test]
async fn a_rollback_over_someone_elses_edit_needs_force() {
    let w = World::new();
    let plan = w.plan("ci-deployer").await;
    w.engine.apply_plan(&plan, &none()).await.unwrap();
    whittle_aws::Iam::put_role_policy(
        &w.sim.backdoor(),
        "ci-deployer",
        "later",
        r#"{"Statement":[{"Effect":"Allow","Action":"sqs:ListQueues","Resource":"*"}]}"#,
    )
    .await
    .unwrap();
    let err = w
        .engine
        .rollback_role("ci-deployer", false)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("--force"), "{err}");
    w.engine.rollback_role("ci-deployer", true).await.unwrap();
    let state = w.state("ci-deployer").await;
    assert!(
        state.inline.contains_key("later"),
        "the later edit is left alone"
    );
    assert!(whittle_policy::diff::same_document(
        &state.inline["ci-deploy"],
        &plan.before.inline["ci-deploy"]
    ));
}

#[tokio::test]
async fn a_redeployed_agent_restores_from_the_coordinators_copy() {
    let w = World::new();
    let before = w.state("reporting-lambda").await;
    let plan = w.plan("reporting-lambda").await;
    let Applied::Changed(id) = w.engine.apply_plan(&plan, &none()).await.unwrap() else {
        panic!("no change")
    };
    // The coordinator's history holds this copy; the agent's disk is lost.
    let copy = w.engine.journal().get(id).unwrap();
    let fresh_dir = tempfile::tempdir().unwrap();
    let journal =
        std::sync::Arc::new(whittle_agent::journal::Journal::open(fresh_dir.path()).unwrap());
    let engine = whittle_agent::engine::Engine::new(
        w.iam.clone(),
        journal.clone(),
        "111122223333",
        std::sync::Arc::new(support::Fixed(support::now())),
    );
    let restore = engine.restore_from_history(&copy).await.unwrap();
    assert_eq!(
        w.state("reporting-lambda").await,
        before,
        "documents and attachments are back"
    );
    let rec = journal.get(restore).unwrap();
    assert_eq!(rec.state, ChangeState::Applied);
    assert_eq!(rec.kind, whittle_agent::journal::ChangeKind::Restore);
    // A second restore of the same change is refused: the role is no longer as it left it.
    let err = engine.restore_from_history(&copy).await.unwrap_err();
    assert!(matches!(err, EngineError::Drift { .. }), "{err}");
}

//! An apply or a rollback killed at each crash point, then the agent restarted:
//! reconcile leaves every role fully before or fully after, and the journal
//! keeps every before-image. Runs with the `failpoints` feature.

#![cfg(feature = "failpoints")]
#![allow(clippy::unwrap_used, clippy::expect_used)]
// The failpoint guard serialises these tests across threads on purpose; each test
// runs on its own single-threaded runtime, so holding it across `.await` is safe.
#![allow(clippy::await_holding_lock)]

mod support;

use support::{World, none};
use whittle_agent::engine::EngineError;
use whittle_agent::journal::{ChangeFilter, ChangeKind, ChangeState, failpoint};

fn points(steps: usize) -> Vec<String> {
    let mut p = vec![
        "after_journal_intent".to_string(),
        "after_mark_applying".to_string(),
    ];
    p.extend((1..=steps).map(|i| format!("after_step_{i}")));
    p.push("before_mark_applied".to_string());
    p
}

#[tokio::test]
async fn an_apply_killed_anywhere_is_finished_or_undone_on_restart() {
    let _serial = failpoint::serial();
    // reporting-lambda: a trim, a copy attached before the original is detached, a detach.
    let probe = World::new().plan("reporting-lambda").await;
    let steps = probe.diff().changes.len();
    assert!(steps >= 5, "{steps}");
    for point in points(steps) {
        let mut w = World::new();
        let plan = w.plan("reporting-lambda").await;
        failpoint::arm(&point);
        let err = w.engine.apply_plan(&plan, &none()).await.unwrap_err();
        failpoint::disarm();
        assert!(matches!(err, EngineError::Crash(_)), "{point}: {err}");

        w.restart();
        let done = w.engine.reconcile().await.unwrap();
        let state = w.state("reporting-lambda").await;
        let before = state.same_as(&plan.before);
        let after = state.same_as(&plan.after);
        assert!(
            before ^ after,
            "{point}: the role is half-done: {}",
            plan.before.difference(&state)
        );
        let journal = w.engine.journal();
        assert!(journal.unfinished().unwrap().is_empty(), "{point}");
        let records = journal.list(&ChangeFilter::default()).unwrap();
        let apply = records
            .iter()
            .find(|r| r.kind == ChangeKind::Apply)
            .unwrap();
        assert_eq!(
            apply.before, plan.before,
            "{point}: the before-image is kept"
        );
        if point == "before_mark_applied" || point == format!("after_step_{steps}") {
            assert!(
                after,
                "{point}: every write was done: reconcile finishes it"
            );
            assert_eq!(apply.state, ChangeState::Applied);
            assert_eq!(done[0].outcome, "finished");
        } else {
            assert!(before, "{point}: reconcile restores the before-image");
            assert_eq!(apply.state, ChangeState::RolledBack, "{point}");
        }
    }
}

#[tokio::test]
async fn a_rollback_killed_anywhere_is_finished_or_undone_on_restart() {
    let _serial = failpoint::serial();
    let probe = World::new().plan("reporting-lambda").await;
    let steps = probe.diff().changes.len();
    for point in points(steps) {
        let mut w = World::new();
        let plan = w.plan("reporting-lambda").await;
        w.engine.apply_plan(&plan, &none()).await.unwrap();
        failpoint::arm(&point);
        let err = w
            .engine
            .rollback_role("reporting-lambda", false)
            .await
            .unwrap_err();
        failpoint::disarm();
        assert!(matches!(err, EngineError::Crash(_)), "{point}: {err}");

        w.restart();
        w.engine.reconcile().await.unwrap();
        let state = w.state("reporting-lambda").await;
        assert!(
            state.same_as(&plan.before) ^ state.same_as(&plan.after),
            "{point}: half-done"
        );
        assert!(
            w.engine.journal().unfinished().unwrap().is_empty(),
            "{point}"
        );
        // Whatever happened, a rollback now (or again) gets the role back.
        if state.same_as(&plan.after) {
            w.engine
                .rollback_role("reporting-lambda", false)
                .await
                .unwrap();
        }
        assert!(
            w.state("reporting-lambda").await.same_as(&plan.before),
            "{point}"
        );
    }
}

//! Fault injection, latency and call counters of the simulated account.

use super::*;
use crate::inventory::read_account;

#[tokio::test]
async fn the_sim_itself_never_retries() {
    let sim = example();
    sim.throttle_next(ops::GET_ROLE, 1);
    let err = sim.get_role("ci-deployer").await.unwrap_err();
    assert_eq!((err.kind, err.operation), (ErrorKind::Throttled, "GetRole"));
    assert!(
        sim.get_role("ci-deployer").await.is_ok(),
        "only the next call was throttled"
    );
}

#[tokio::test]
async fn a_throttle_storm_passes_within_the_retry_budget() {
    let sim = example();
    let iam = Retrying::new(sim.clone(), RetryPolicy::fast());
    sim.throttle_next(ops::PUT_ROLE_POLICY, 20);
    let started = std::time::Instant::now();
    iam.put_role_policy("ci-deployer", "extra", DOC)
        .await
        .unwrap();
    assert!(
        started.elapsed() < RetryPolicy::fast().max_total,
        "{:?}",
        started.elapsed()
    );
    assert_eq!(sim.calls(ops::PUT_ROLE_POLICY), 21);
    assert_eq!(sim.write_calls(), 21);
    assert!(sim.get_role_policy("ci-deployer", "extra").await.is_ok());
}

#[tokio::test]
async fn a_throttle_storm_during_a_full_read_changes_nothing_but_time() {
    let sim = example();
    let calm = read_account(&sim).await.unwrap();
    let iam = Retrying::new(sim.clone(), RetryPolicy::fast());
    sim.throttle_next(ops::GET_ROLE, 8);
    sim.throttle_next(ops::GET_POLICY_VERSION, 6);
    sim.throttle_next(ops::LIST_ROLES, 6);
    let stormy = read_account(&iam).await.unwrap();
    assert_eq!(stormy.roles, calm.roles);
    assert_eq!(stormy.managed_policies, calm.managed_policies);
}

#[tokio::test]
async fn permanent_failures_are_not_retried() {
    let sim = example();
    let iam = Retrying::new(sim.clone(), RetryPolicy::fast());
    sim.fail_always(ops::GET_POLICY, ErrorKind::AccessDenied);
    let arn = "arn:aws:iam::111122223333:policy/legacy-kinesis-access";
    let err = iam.get_policy(arn).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::AccessDenied);
    assert_eq!(sim.calls(ops::GET_POLICY), 1);
    let err = iam.get_policy(arn).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::AccessDenied, "always means always");
    sim.clear_faults();
    assert!(iam.get_policy(arn).await.is_ok());
}

#[tokio::test]
async fn a_failure_that_outlasts_the_budget_is_returned() {
    let sim = example();
    let policy = RetryPolicy {
        max_attempts: 4,
        ..RetryPolicy::fast()
    };
    let iam = Retrying::new(sim.clone(), policy);
    sim.fail_always(ops::DELETE_ROLE_POLICY, ErrorKind::ConcurrentModification);
    let err = iam
        .delete_role_policy("ci-deployer", "ci-deploy")
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::ConcurrentModification);
    assert_eq!(sim.calls(ops::DELETE_ROLE_POLICY), 4);
    assert!(
        sim.get_role_policy("ci-deployer", "ci-deploy")
            .await
            .is_ok(),
        "nothing was deleted"
    );
}

#[tokio::test]
async fn queued_failures_come_in_order() {
    let sim = example();
    sim.fail_next(ops::GET_ROLE, ErrorKind::Transient, 1);
    sim.fail_next(ops::GET_ROLE, ErrorKind::NotFound, 1);
    assert_eq!(
        sim.get_role("ci-deployer").await.unwrap_err().kind,
        ErrorKind::Transient
    );
    assert_eq!(
        sim.get_role("ci-deployer").await.unwrap_err().kind,
        ErrorKind::NotFound
    );
    assert!(sim.get_role("ci-deployer").await.is_ok());
}

#[tokio::test(start_paused = true)]
async fn latency_delays_each_call() {
    let sim = example();
    sim.set_latency(ops::GET_ROLE, Duration::from_secs(2));
    let started = tokio::time::Instant::now();
    sim.get_role("ci-deployer").await.unwrap();
    sim.get_role("ci-deployer").await.unwrap();
    assert!(started.elapsed() >= Duration::from_secs(4));
    let started = tokio::time::Instant::now();
    sim.list_roles().await.unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "other operations are not delayed"
    );
}

#[tokio::test]
async fn counters_count_calls_and_writes_but_not_the_backdoor() {
    let sim = example();
    sim.get_role("ci-deployer").await.unwrap();
    let _ = sim.get_role("nope").await;
    sim.put_role_policy("ci-deployer", "x", DOC).await.unwrap();
    sim.delete_role_policy("ci-deployer", "x").await.unwrap();
    assert_eq!(sim.calls(ops::GET_ROLE), 2, "failed calls count too");
    assert_eq!(sim.write_calls(), 2);
    let counts = sim.call_counts();
    assert_eq!(counts.get("PutRolePolicy"), Some(&1));

    let someone_else = sim.backdoor();
    sim.fail_always(ops::PUT_ROLE_POLICY, ErrorKind::AccessDenied);
    someone_else
        .put_role_policy("ci-deployer", "drift", DOC)
        .await
        .unwrap();
    assert_eq!(
        sim.write_calls(),
        2,
        "out-of-band edits are not the agent's writes"
    );
    let names = sim
        .backdoor()
        .list_role_policies("ci-deployer")
        .await
        .unwrap();
    assert_eq!(names, ["ci-deploy", "drift"]);
    sim.reset_calls();
    assert!(sim.call_counts().is_empty());
}

//! The rate on tokio's paused clock: every duration asserted is virtual time.

use std::time::Duration;

use tokio::time::Instant;

use super::*;
use crate::retry::RetryPolicy;
use crate::retrying::Retrying;
use crate::sim::SimAccount;

const ACCOUNT: &str = "111122223333";
const DOC: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}"#;

/// A simulated account with one role, `app`, behind a limiter at `per_second`.
fn limited(per_second: f64) -> (SimAccount, RateLimited<SimAccount>) {
    let sim = SimAccount::new(ACCOUNT);
    sim.create_role("app", "/").unwrap();
    let rate = WriteRate::new(per_second).unwrap();
    (sim.clone(), RateLimited::new(sim, rate))
}

async fn put(iam: &impl Iam, name: &str) {
    iam.put_role_policy("app", name, DOC).await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn ten_writes_at_two_per_second_take_four_and_a_half_seconds() {
    let (sim, iam) = limited(2.0);
    let start = Instant::now();
    let mut starts = Vec::new();
    for i in 0..10 {
        put(&iam, &format!("p{i}")).await;
        starts.push(start.elapsed());
    }
    let elapsed = start.elapsed();
    assert!(elapsed >= Duration::from_millis(4500), "{elapsed:?}");
    assert!(elapsed < Duration::from_millis(5000), "{elapsed:?}");
    assert_eq!(starts[0], Duration::ZERO, "the first write does not wait");
    for pair in starts.windows(2) {
        assert!(
            pair[1] - pair[0] >= Duration::from_millis(500),
            "{starts:?}"
        );
    }
    assert_eq!(sim.calls(ops::PUT_ROLE_POLICY), 10);
}

#[tokio::test(start_paused = true)]
async fn every_kind_of_write_takes_a_slot() {
    let (_, iam) = limited(1.0);
    let start = Instant::now();
    let arn = iam
        .create_policy("copy", "/whittle/", DOC, None)
        .await
        .unwrap();
    iam.attach_role_policy("app", &arn).await.unwrap();
    let v2 = iam.create_policy_version(&arn, DOC, false).await.unwrap();
    iam.set_default_policy_version(&arn, &v2).await.unwrap();
    iam.delete_policy_version(&arn, "v1").await.unwrap();
    iam.detach_role_policy("app", &arn).await.unwrap();
    iam.delete_policy(&arn).await.unwrap();
    put(&iam, "p").await;
    iam.delete_role_policy("app", "p").await.unwrap();
    // Nine writes at 1/s: eight waits.
    assert_eq!(start.elapsed(), Duration::from_secs(8));
}

#[tokio::test(start_paused = true)]
async fn reads_are_not_delayed() {
    let (_, iam) = limited(0.5);
    put(&iam, "p").await;
    let start = Instant::now();
    for _ in 0..20 {
        iam.list_roles().await.unwrap();
        iam.get_role("app").await.unwrap();
        iam.list_role_policies("app").await.unwrap();
        iam.get_role_policy("app", "p").await.unwrap();
        iam.list_attached_role_policies("app").await.unwrap();
        iam.get_caller_identity().await.unwrap();
        let job = iam
            .generate_service_last_accessed_details("arn:aws:iam::111122223333:role/app")
            .await
            .unwrap();
        iam.get_service_last_accessed_details(&job).await.unwrap();
    }
    assert_eq!(start.elapsed(), Duration::ZERO);
    // The slot the first write left is still taken: the next write waits 2 s.
    put(&iam, "q").await;
    assert_eq!(start.elapsed(), Duration::from_secs(2));
}

#[tokio::test(start_paused = true)]
async fn concurrent_callers_share_the_budget() {
    let (sim, iam) = limited(4.0);
    let start = Instant::now();
    let tasks: Vec<_> = (0..4)
        .map(|t| {
            let iam = iam.clone();
            tokio::spawn(async move {
                let mut done = Vec::new();
                for i in 0..5 {
                    put(&iam, &format!("t{t}-{i}")).await;
                    done.push(start.elapsed());
                }
                done
            })
        })
        .collect();
    let mut done = Vec::new();
    for t in tasks {
        done.extend(t.await.unwrap());
    }
    done.sort();
    // Twenty writes at 4/s, whoever makes them: nineteen gaps of 250 ms.
    assert_eq!(done.len(), 20);
    for pair in done.windows(2) {
        assert!(pair[1] - pair[0] >= Duration::from_millis(250), "{done:?}");
    }
    assert!(start.elapsed() >= Duration::from_millis(4750));
    assert_eq!(sim.calls(ops::PUT_ROLE_POLICY), 20);
}

#[tokio::test(start_paused = true)]
async fn separate_limiters_do_not_wait_for_each_other() {
    // One limiter per account: two accounts each make five writes at 1/s in
    // parallel, in 4 s rather than 9 s.
    let (_, a) = limited(1.0);
    let (_, b) = limited(1.0);
    let start = Instant::now();
    let run = |iam: RateLimited<SimAccount>| async move {
        for i in 0..5 {
            put(&iam, &format!("p{i}")).await;
        }
    };
    tokio::join!(run(a), run(b));
    assert_eq!(start.elapsed(), Duration::from_secs(4));
}

#[tokio::test(start_paused = true)]
async fn a_retried_write_takes_a_slot_per_attempt() {
    // Inside `Retrying`, each attempt of a throttled write waits for its slot.
    let (sim, limited) = limited(2.0);
    let iam = Retrying::new(limited, RetryPolicy::fast());
    sim.throttle_next(ops::PUT_ROLE_POLICY, 2);
    let start = Instant::now();
    put(&iam, "p").await;
    assert_eq!(sim.calls(ops::PUT_ROLE_POLICY), 3);
    assert!(
        start.elapsed() >= Duration::from_secs(1),
        "{:?}",
        start.elapsed()
    );
}

#[tokio::test(start_paused = true)]
async fn an_idle_limiter_allows_a_burst_of_one() {
    let (_, iam) = limited(1.0);
    put(&iam, "a").await;
    tokio::time::sleep(Duration::from_secs(10)).await;
    let start = Instant::now();
    put(&iam, "b").await;
    assert_eq!(
        start.elapsed(),
        Duration::ZERO,
        "a slot is free after idling"
    );
    put(&iam, "c").await;
    assert_eq!(
        start.elapsed(),
        Duration::from_secs(1),
        "idle time is not saved up"
    );
}

#[test]
fn invalid_rates_are_refused() {
    for bad in [0.0, -1.0, 100.5, f64::NAN, f64::INFINITY] {
        let e = WriteRate::new(bad).unwrap_err();
        let message = e.to_string();
        assert!(message.contains(&bad.to_string()), "{message}");
        assert!(message.contains("at most 100"), "{message}");
    }
    assert_eq!(WriteRate::new(100.0).unwrap().per_second(), 100.0);
    assert_eq!(
        WriteRate::new(0.5).unwrap().interval(),
        Duration::from_secs(2)
    );
    assert_eq!(WriteRate::default().per_second(), 3.0);
}

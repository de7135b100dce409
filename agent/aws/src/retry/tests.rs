use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use super::*;
use crate::error::ErrorKind;

fn failing_until(
    calls: &AtomicU32,
    failures: u32,
    kind: ErrorKind,
) -> impl Future<Output = Result<u32, AwsError>> + '_ {
    let n = calls.fetch_add(1, Ordering::SeqCst) + 1;
    async move {
        if n <= failures {
            Err(AwsError::new(kind, "PutRolePolicy", "injected"))
        } else {
            Ok(n)
        }
    }
}

#[tokio::test]
async fn retryable_errors_are_retried_until_success() {
    let calls = AtomicU32::new(0);
    let got = retry(&RetryPolicy::fast(), || {
        failing_until(&calls, 5, ErrorKind::Throttled)
    })
    .await;
    assert_eq!(got, Ok(6));
    assert_eq!(calls.load(Ordering::SeqCst), 6);
}

#[tokio::test]
async fn permanent_errors_are_not_retried() {
    for kind in [
        ErrorKind::NotFound,
        ErrorKind::MalformedPolicy,
        ErrorKind::AccessDenied,
    ] {
        let calls = AtomicU32::new(0);
        let err = retry(&RetryPolicy::fast(), || failing_until(&calls, 100, kind))
            .await
            .unwrap_err();
        assert_eq!(err.kind, kind);
        assert_eq!(
            err.message, "injected",
            "one attempt leaves the message alone"
        );
        assert_eq!(
            calls.load(Ordering::SeqCst),
            1,
            "{kind:?} must not be retried"
        );
    }
}

#[tokio::test]
async fn attempts_are_bounded() {
    let calls = AtomicU32::new(0);
    let policy = RetryPolicy {
        max_attempts: 3,
        ..RetryPolicy::fast()
    };
    let err = retry(&policy, || failing_until(&calls, 100, ErrorKind::Transient))
        .await
        .unwrap_err();
    assert_eq!(calls.load(Ordering::SeqCst), 3);
    assert_eq!(err.kind, ErrorKind::Transient);
    assert!(
        err.message.contains("gave up after 3 attempts"),
        "{}",
        err.message
    );
}

#[tokio::test(start_paused = true)]
async fn total_time_is_bounded() {
    let calls = AtomicU32::new(0);
    let policy = RetryPolicy {
        min_delay: Duration::from_secs(1),
        max_delay: Duration::from_secs(10),
        max_attempts: 1000,
        max_total: Duration::from_secs(30),
    };
    let started = Instant::now();
    let err = retry(&policy, || {
        failing_until(&calls, u32::MAX, ErrorKind::Throttled)
    })
    .await
    .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Throttled);
    assert!(
        started.elapsed() <= Duration::from_secs(30),
        "{:?}",
        started.elapsed()
    );
    let made = calls.load(Ordering::SeqCst);
    // 1 + 2 + 4 + 8 s (each with up to 100% jitter) already needs at least 15 s.
    assert!((3..=6).contains(&made), "{made} attempts");
}

#[tokio::test(start_paused = true)]
async fn delays_grow_with_jitter_and_stay_under_the_cap() {
    let policy = RetryPolicy {
        min_delay: Duration::from_millis(100),
        max_delay: Duration::from_secs(1),
        max_attempts: 8,
        max_total: Duration::from_secs(60),
    };
    let calls = AtomicU32::new(0);
    let started = Instant::now();
    let _ = retry(&policy, || {
        failing_until(&calls, u32::MAX, ErrorKind::Throttled)
    })
    .await;
    assert_eq!(calls.load(Ordering::SeqCst), 8);
    // Without jitter: 0.1 + 0.2 + 0.4 + 0.8 + 1 + 1 + 1 = 4.5 s; jitter adds up to as much again.
    let elapsed = started.elapsed();
    assert!(elapsed >= Duration::from_millis(4500), "{elapsed:?}");
    assert!(elapsed < Duration::from_millis(9000), "{elapsed:?}");
}

//! The one retry layer: exponential backoff with jitter, by `backon`.
//!
//! Only retryable errors ([`AwsError::is_retryable`]: throttling, transient
//! failures, concurrent modification) are tried again, and never more than
//! [`RetryPolicy::max_attempts`] times nor past [`RetryPolicy::max_total`]. The
//! SDK adapter turns the SDK's own retries off, so this is the only layer.
//! Sleeps use tokio's clock, so tests may run with `tokio::time::pause()`.

use std::future::Future;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use backon::{ExponentialBuilder, Retryable};
use tokio::time::Instant;

use crate::error::AwsError;

/// How hard to try one AWS call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// The first delay; each next one doubles, plus a random jitter of up to itself.
    pub min_delay: Duration,
    /// The delay stops growing here (before jitter).
    pub max_delay: Duration,
    /// Attempts in all, the first one included; 1 means no retry.
    pub max_attempts: u32,
    /// No new attempt starts once this much time has passed since the first.
    pub max_total: Duration,
}

impl Default for RetryPolicy {
    /// For production: 100 ms doubling up to 10 s, 8 attempts, 60 s in all.
    fn default() -> Self {
        RetryPolicy {
            min_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(10),
            max_attempts: 8,
            max_total: Duration::from_secs(60),
        }
    }
}

impl RetryPolicy {
    /// For tests: millisecond delays and a generous number of attempts, so a
    /// storm of a few dozen throttled calls passes in well under a second.
    pub fn fast() -> RetryPolicy {
        RetryPolicy {
            min_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(10),
            max_attempts: 40,
            max_total: Duration::from_secs(10),
        }
    }

    /// One attempt, no retry.
    pub fn none() -> RetryPolicy {
        RetryPolicy {
            max_attempts: 1,
            ..RetryPolicy::fast()
        }
    }

    fn backoff(&self) -> ExponentialBuilder {
        let retries = usize::try_from(self.max_attempts.saturating_sub(1)).unwrap_or(usize::MAX);
        ExponentialBuilder::new()
            .with_min_delay(self.min_delay)
            .with_max_delay(self.max_delay.max(self.min_delay))
            .with_max_times(retries)
            .with_total_delay(Some(self.max_total))
            .with_jitter()
    }
}

/// Runs `call` until it succeeds, fails with an error that is not retryable, or
/// the policy's attempts or time run out. The last error is returned; when it
/// came after retries, its message says how many attempts were made.
pub async fn retry<T, F, Fut>(policy: &RetryPolicy, mut call: F) -> Result<T, AwsError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, AwsError>>,
{
    let started = Instant::now();
    let attempts = AtomicU32::new(0);
    let counted = || {
        attempts.fetch_add(1, Ordering::Relaxed);
        call()
    };
    let result = counted
        .retry(policy.backoff())
        .sleep(tokio::time::sleep)
        .when(AwsError::is_retryable)
        .adjust(|_, next| next.filter(|delay| started.elapsed() + *delay <= policy.max_total))
        .notify(|err, delay| {
            tracing::warn!(
                operation = err.operation,
                error = %err,
                attempt = attempts.load(Ordering::Relaxed),
                delay_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
                "aws call failed, retrying"
            );
        })
        .await;
    result.map_err(|mut err| {
        let made = attempts.load(Ordering::Relaxed);
        if made > 1 {
            err.message = format!(
                "{} (gave up after {made} attempts in {} ms)",
                err.message,
                started.elapsed().as_millis()
            );
        }
        err
    })
}

#[cfg(test)]
mod tests;

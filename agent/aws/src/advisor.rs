//! Usage from IAM access advisor: generate a report, then poll until it is done.
//!
//! The report is an asynchronous job. [`fetch_usage`] starts it and polls with
//! exponential backoff (and jitter) until it completes, fails, or the deadline
//! passes. Both calls go through the same [`AccessAdvisor`], so the same client
//! and credentials ask for the job and read it.

use std::time::Duration;

use backon::{ExponentialBuilder, Retryable};
use tokio::time::Instant;
use whittle_policy::Usage;

use crate::api::AccessAdvisor;
use crate::error::{AwsError, ErrorKind};
use crate::ops;
use crate::types::LastAccessedJob;

/// How to wait for an access advisor job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PollPolicy {
    /// The wait before the first poll; each next one doubles, plus jitter.
    pub first_delay: Duration,
    /// The wait between polls stops growing here (before jitter).
    pub max_delay: Duration,
    /// Give up once the job has run this long.
    pub deadline: Duration,
}

impl Default for PollPolicy {
    /// For production: jobs usually take seconds, sometimes minutes.
    fn default() -> Self {
        PollPolicy {
            first_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(20),
            deadline: Duration::from_secs(600),
        }
    }
}

impl PollPolicy {
    /// For tests: millisecond waits, a few seconds in all.
    pub fn fast() -> PollPolicy {
        PollPolicy {
            first_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(10),
            deadline: Duration::from_secs(5),
        }
    }
}

/// Why one poll did not give an answer.
enum Poll {
    Pending,
    Failed(AwsError),
}

/// Generates an `ACTION_LEVEL` report for a role and waits for it.
///
/// A poll that fails with a retryable error (throttling) counts as one more
/// wait; any other error ends the wait. A failed job is an error of kind
/// [`ErrorKind::Other`]; a job still running at the deadline is
/// [`ErrorKind::Transient`], worth asking again later.
pub async fn fetch_usage(
    advisor: &dyn AccessAdvisor,
    role_arn: &str,
    poll: &PollPolicy,
) -> Result<Usage, AwsError> {
    let job_id = advisor
        .generate_service_last_accessed_details(role_arn)
        .await?;
    let started = Instant::now();
    let backoff = ExponentialBuilder::new()
        .with_min_delay(poll.first_delay)
        .with_max_delay(poll.max_delay.max(poll.first_delay))
        .without_max_times()
        .with_jitter();
    let once = || async {
        match advisor.get_service_last_accessed_details(&job_id).await {
            Ok(LastAccessedJob::Completed(usage)) => Ok(usage),
            Ok(LastAccessedJob::InProgress) => Err(Poll::Pending),
            Ok(LastAccessedJob::Failed(reason)) => Err(Poll::Failed(AwsError::new(
                ErrorKind::Other,
                ops::GET_SERVICE_LAST_ACCESSED_DETAILS,
                format!("access advisor job {job_id} for {role_arn} failed: {reason}"),
            ))),
            Err(err) if err.is_retryable() => {
                tracing::warn!(error = %err, job_id = %job_id, "access advisor poll failed");
                Err(Poll::Pending)
            }
            Err(err) => Err(Poll::Failed(err)),
        }
    };
    // The first poll waits too: a job is never done the instant it is made.
    tokio::time::sleep(poll.first_delay).await;
    let outcome = once
        .retry(backoff)
        .sleep(tokio::time::sleep)
        .when(|p| matches!(p, Poll::Pending))
        .adjust(|_, next| next.filter(|delay| started.elapsed() + *delay <= poll.deadline))
        .await;
    match outcome {
        Ok(usage) => Ok(usage),
        Err(Poll::Failed(err)) => Err(err),
        Err(Poll::Pending) => Err(AwsError::new(
            ErrorKind::Transient,
            ops::GET_SERVICE_LAST_ACCESSED_DETAILS,
            format!(
                "access advisor job {job_id} for {role_arn} still in progress after {} s",
                started.elapsed().as_secs()
            ),
        )),
    }
}

//! [`RateLimited`]: any implementation of the traits, with its IAM writes
//! spaced to a [`WriteRate`].
//!
//! IAM throttles each account as a whole, so the agent keeps its own writes
//! under a configured rate: reads pass straight through, and each write
//! ([`crate::ops::WRITES`]) waits for the next free slot before it starts. The
//! slots are shared by every clone of one `RateLimited`, hence by every task
//! of the account that uses it; accounts with their own wrapper do not wait
//! for each other. The first write starts at once (a burst of one), then
//! writes start `1 / rate` seconds apart.
//!
//! Waits use tokio's clock, so tests may run with `tokio::time::pause()`.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::Mutex;
use tokio::time::Instant;

use crate::api::{AccessAdvisor, Iam, Sts};
use crate::error::AwsError;
use crate::ops;
use crate::types::{CallerIdentity, LastAccessedJob, PolicyInfo, PolicyVersionInfo, RoleInfo};

/// How many IAM writes may start per second in one account.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WriteRate(f64);

/// A rate outside `(0, MAX]`.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("IAM write rate {value} is not a number of writes per second above 0 and at most {max}", max = WriteRate::MAX)]
pub struct WriteRateError {
    /// The rate refused.
    pub value: f64,
}

impl WriteRate {
    /// The highest rate accepted: far above what IAM allows one account, so
    /// anything beyond it is a typing error.
    pub const MAX: f64 = 100.0;

    /// The agent's default: a few writes per second.
    pub const DEFAULT: WriteRate = WriteRate(3.0);

    /// A rate of `per_second` writes per second, above 0 and at most [`WriteRate::MAX`].
    pub fn new(per_second: f64) -> Result<WriteRate, WriteRateError> {
        // `NaN` fails both comparisons and is refused with the rest.
        if per_second > 0.0 && per_second <= WriteRate::MAX {
            Ok(WriteRate(per_second))
        } else {
            Err(WriteRateError { value: per_second })
        }
    }

    /// Writes per second.
    pub fn per_second(self) -> f64 {
        self.0
    }

    /// The time between the starts of two writes.
    pub fn interval(self) -> Duration {
        // Infallible: the rate is in (0, 100], so the interval is finite and at least 10 ms.
        Duration::from_secs_f64(1.0 / self.0)
    }
}

// Sound: a `WriteRate` is never NaN, so equality is reflexive.
impl Eq for WriteRate {}

impl Default for WriteRate {
    fn default() -> Self {
        WriteRate::DEFAULT
    }
}

impl fmt::Display for WriteRate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/s", self.0)
    }
}

/// Wraps an implementation and spaces its IAM writes to a [`WriteRate`].
#[derive(Clone)]
pub struct RateLimited<T> {
    inner: T,
    rate: WriteRate,
    /// When the next write may start. Held only to take a slot, never across
    /// the wait nor the call.
    next_slot: Arc<Mutex<Instant>>,
}

impl<T: fmt::Debug> fmt::Debug for RateLimited<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RateLimited")
            .field("inner", &self.inner)
            .field("rate", &self.rate)
            .finish_non_exhaustive()
    }
}

impl<T> RateLimited<T> {
    pub fn new(inner: T, rate: WriteRate) -> RateLimited<T> {
        RateLimited {
            inner,
            rate,
            next_slot: Arc::new(Mutex::new(Instant::now())),
        }
    }

    /// The wrapped implementation.
    pub fn inner(&self) -> &T {
        &self.inner
    }

    pub fn rate(&self) -> WriteRate {
        self.rate
    }

    /// Takes the next write slot and waits until it comes. A caller dropped
    /// while waiting leaves its slot unused: the rate errs on the slow side.
    async fn write_slot(&self, operation: &'static str) {
        debug_assert!(ops::is_write(operation), "{operation} is not a write");
        let now = Instant::now();
        let start = {
            let mut next = self.next_slot.lock().await;
            let start = (*next).max(now);
            *next = start + self.rate.interval();
            start
        };
        if start > now {
            let waited = start - now;
            tracing::debug!(
                operation,
                wait_ms = u64::try_from(waited.as_millis()).unwrap_or(u64::MAX),
                writes_per_second = self.rate.per_second(),
                "IAM write waits for the account's write rate"
            );
            tokio::time::sleep_until(start).await;
        }
    }
}

#[async_trait]
impl<T: Iam> Iam for RateLimited<T> {
    async fn list_roles(&self) -> Result<Vec<RoleInfo>, AwsError> {
        self.inner.list_roles().await
    }

    async fn get_role(&self, role_name: &str) -> Result<RoleInfo, AwsError> {
        self.inner.get_role(role_name).await
    }

    async fn list_role_policies(&self, role_name: &str) -> Result<Vec<String>, AwsError> {
        self.inner.list_role_policies(role_name).await
    }

    async fn get_role_policy(
        &self,
        role_name: &str,
        policy_name: &str,
    ) -> Result<String, AwsError> {
        self.inner.get_role_policy(role_name, policy_name).await
    }

    async fn put_role_policy(
        &self,
        role_name: &str,
        policy_name: &str,
        document: &str,
    ) -> Result<(), AwsError> {
        self.write_slot(ops::PUT_ROLE_POLICY).await;
        self.inner
            .put_role_policy(role_name, policy_name, document)
            .await
    }

    async fn delete_role_policy(&self, role_name: &str, policy_name: &str) -> Result<(), AwsError> {
        self.write_slot(ops::DELETE_ROLE_POLICY).await;
        self.inner.delete_role_policy(role_name, policy_name).await
    }

    async fn list_attached_role_policies(&self, role_name: &str) -> Result<Vec<String>, AwsError> {
        self.inner.list_attached_role_policies(role_name).await
    }

    async fn attach_role_policy(&self, role_name: &str, policy_arn: &str) -> Result<(), AwsError> {
        self.write_slot(ops::ATTACH_ROLE_POLICY).await;
        self.inner.attach_role_policy(role_name, policy_arn).await
    }

    async fn detach_role_policy(&self, role_name: &str, policy_arn: &str) -> Result<(), AwsError> {
        self.write_slot(ops::DETACH_ROLE_POLICY).await;
        self.inner.detach_role_policy(role_name, policy_arn).await
    }

    async fn get_policy(&self, policy_arn: &str) -> Result<PolicyInfo, AwsError> {
        self.inner.get_policy(policy_arn).await
    }

    async fn get_policy_version(
        &self,
        policy_arn: &str,
        version_id: &str,
    ) -> Result<String, AwsError> {
        self.inner.get_policy_version(policy_arn, version_id).await
    }

    async fn list_policy_versions(
        &self,
        policy_arn: &str,
    ) -> Result<Vec<PolicyVersionInfo>, AwsError> {
        self.inner.list_policy_versions(policy_arn).await
    }

    async fn create_policy_version(
        &self,
        policy_arn: &str,
        document: &str,
        set_as_default: bool,
    ) -> Result<String, AwsError> {
        self.write_slot(ops::CREATE_POLICY_VERSION).await;
        self.inner
            .create_policy_version(policy_arn, document, set_as_default)
            .await
    }

    async fn delete_policy_version(
        &self,
        policy_arn: &str,
        version_id: &str,
    ) -> Result<(), AwsError> {
        self.write_slot(ops::DELETE_POLICY_VERSION).await;
        self.inner
            .delete_policy_version(policy_arn, version_id)
            .await
    }

    async fn set_default_policy_version(
        &self,
        policy_arn: &str,
        version_id: &str,
    ) -> Result<(), AwsError> {
        self.write_slot(ops::SET_DEFAULT_POLICY_VERSION).await;
        self.inner
            .set_default_policy_version(policy_arn, version_id)
            .await
    }

    async fn create_policy(
        &self,
        policy_name: &str,
        path: &str,
        document: &str,
        description: Option<&str>,
    ) -> Result<String, AwsError> {
        self.write_slot(ops::CREATE_POLICY).await;
        self.inner
            .create_policy(policy_name, path, document, description)
            .await
    }

    async fn delete_policy(&self, policy_arn: &str) -> Result<(), AwsError> {
        self.write_slot(ops::DELETE_POLICY).await;
        self.inner.delete_policy(policy_arn).await
    }
}

/// Access advisor calls are not IAM writes: they pass through.
#[async_trait]
impl<T: AccessAdvisor> AccessAdvisor for RateLimited<T> {
    async fn generate_service_last_accessed_details(
        &self,
        role_arn: &str,
    ) -> Result<String, AwsError> {
        self.inner
            .generate_service_last_accessed_details(role_arn)
            .await
    }

    async fn get_service_last_accessed_details(
        &self,
        job_id: &str,
    ) -> Result<LastAccessedJob, AwsError> {
        self.inner.get_service_last_accessed_details(job_id).await
    }
}

#[async_trait]
impl<T: Sts> Sts for RateLimited<T> {
    async fn get_caller_identity(&self) -> Result<CallerIdentity, AwsError> {
        self.inner.get_caller_identity().await
    }
}

#[cfg(test)]
mod tests;

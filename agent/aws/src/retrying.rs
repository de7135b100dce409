//! [`Retrying`]: any implementation of the traits, with every call retried.
//!
//! The SDK adapter retries each request by itself. The simulated account, like
//! AWS, does not; wrap it in `Retrying` to give the agent the same behaviour
//! against it (each trait call is retried as a whole).

use async_trait::async_trait;

use crate::api::{AccessAdvisor, Iam, Sts};
use crate::error::AwsError;
use crate::retry::{RetryPolicy, retry};
use crate::types::{CallerIdentity, LastAccessedJob, PolicyInfo, PolicyVersionInfo, RoleInfo};

/// Wraps an implementation and retries its calls with a [`RetryPolicy`].
#[derive(Debug, Clone)]
pub struct Retrying<T> {
    inner: T,
    policy: RetryPolicy,
}

impl<T> Retrying<T> {
    pub fn new(inner: T, policy: RetryPolicy) -> Retrying<T> {
        Retrying { inner, policy }
    }

    /// The wrapped implementation.
    pub fn inner(&self) -> &T {
        &self.inner
    }
}

#[async_trait]
impl<T: Iam> Iam for Retrying<T> {
    async fn list_roles(&self) -> Result<Vec<RoleInfo>, AwsError> {
        retry(&self.policy, || self.inner.list_roles()).await
    }

    async fn get_role(&self, role_name: &str) -> Result<RoleInfo, AwsError> {
        retry(&self.policy, || self.inner.get_role(role_name)).await
    }

    async fn list_role_policies(&self, role_name: &str) -> Result<Vec<String>, AwsError> {
        retry(&self.policy, || self.inner.list_role_policies(role_name)).await
    }

    async fn get_role_policy(
        &self,
        role_name: &str,
        policy_name: &str,
    ) -> Result<String, AwsError> {
        retry(&self.policy, || {
            self.inner.get_role_policy(role_name, policy_name)
        })
        .await
    }

    async fn put_role_policy(
        &self,
        role_name: &str,
        policy_name: &str,
        document: &str,
    ) -> Result<(), AwsError> {
        retry(&self.policy, || {
            self.inner.put_role_policy(role_name, policy_name, document)
        })
        .await
    }

    async fn delete_role_policy(&self, role_name: &str, policy_name: &str) -> Result<(), AwsError> {
        retry(&self.policy, || {
            self.inner.delete_role_policy(role_name, policy_name)
        })
        .await
    }

    async fn list_attached_role_policies(&self, role_name: &str) -> Result<Vec<String>, AwsError> {
        retry(&self.policy, || {
            self.inner.list_attached_role_policies(role_name)
        })
        .await
    }

    async fn attach_role_policy(&self, role_name: &str, policy_arn: &str) -> Result<(), AwsError> {
        retry(&self.policy, || {
            self.inner.attach_role_policy(role_name, policy_arn)
        })
        .await
    }

    async fn detach_role_policy(&self, role_name: &str, policy_arn: &str) -> Result<(), AwsError> {
        retry(&self.policy, || {
            self.inner.detach_role_policy(role_name, policy_arn)
        })
        .await
    }

    async fn get_policy(&self, policy_arn: &str) -> Result<PolicyInfo, AwsError> {
        retry(&self.policy, || self.inner.get_policy(policy_arn)).await
    }

    async fn get_policy_version(
        &self,
        policy_arn: &str,
        version_id: &str,
    ) -> Result<String, AwsError> {
        retry(&self.policy, || {
            self.inner.get_policy_version(policy_arn, version_id)
        })
        .await
    }

    async fn list_policy_versions(
        &self,
        policy_arn: &str,
    ) -> Result<Vec<PolicyVersionInfo>, AwsError> {
        retry(&self.policy, || self.inner.list_policy_versions(policy_arn)).await
    }

    async fn create_policy_version(
        &self,
        policy_arn: &str,
        document: &str,
        set_as_default: bool,
    ) -> Result<String, AwsError> {
        retry(&self.policy, || {
            self.inner
                .create_policy_version(policy_arn, document, set_as_default)
        })
        .await
    }

    async fn delete_policy_version(
        &self,
        policy_arn: &str,
        version_id: &str,
    ) -> Result<(), AwsError> {
        retry(&self.policy, || {
            self.inner.delete_policy_version(policy_arn, version_id)
        })
        .await
    }

    async fn set_default_policy_version(
        &self,
        policy_arn: &str,
        version_id: &str,
    ) -> Result<(), AwsError> {
        retry(&self.policy, || {
            self.inner
                .set_default_policy_version(policy_arn, version_id)
        })
        .await
    }

    async fn create_policy(
        &self,
        policy_name: &str,
        path: &str,
        document: &str,
        description: Option<&str>,
    ) -> Result<String, AwsError> {
        retry(&self.policy, || {
            self.inner
                .create_policy(policy_name, path, document, description)
        })
        .await
    }

    async fn delete_policy(&self, policy_arn: &str) -> Result<(), AwsError> {
        retry(&self.policy, || self.inner.delete_policy(policy_arn)).await
    }
}

#[async_trait]
impl<T: AccessAdvisor> AccessAdvisor for Retrying<T> {
    async fn generate_service_last_accessed_details(
        &self,
        role_arn: &str,
    ) -> Result<String, AwsError> {
        retry(&self.policy, || {
            self.inner.generate_service_last_accessed_details(role_arn)
        })
        .await
    }

    async fn get_service_last_accessed_details(
        &self,
        job_id: &str,
    ) -> Result<LastAccessedJob, AwsError> {
        retry(&self.policy, || {
            self.inner.get_service_last_accessed_details(job_id)
        })
        .await
    }
}

#[async_trait]
impl<T: Sts> Sts for Retrying<T> {
    async fn get_caller_identity(&self) -> Result<CallerIdentity, AwsError> {
        retry(&self.policy, || self.inner.get_caller_identity()).await
    }
}

//! The three narrow traits through which Whittle talks to AWS.
//!
//! They speak the project's own types, never the SDK's: the agent holds an
//! `Arc<dyn Iam>` and neither knows nor cares whether the SDK adapter
//! ([`crate::sdk`]) or the simulated account ([`crate::sim`]) answers.
//! List calls page internally and return everything. Documents come back decoded.
//! Each method is one logical AWS call; whether failed calls are retried is
//! up to the implementation (the SDK adapter retries, the simulated account does
//! not; wrap it in [`crate::Retrying`] to get the same behaviour).

use async_trait::async_trait;

use crate::error::AwsError;
use crate::types::{CallerIdentity, LastAccessedJob, PolicyInfo, PolicyVersionInfo, RoleInfo};

/// The IAM calls Whittle makes on roles and managed policies.
#[async_trait]
pub trait Iam: Send + Sync {
    /// Every role of the account (`ListRoles`, all pages). AWS leaves out tags,
    /// permissions boundary and last use here; [`Iam::get_role`] has them.
    async fn list_roles(&self) -> Result<Vec<RoleInfo>, AwsError>;

    /// One role with its tags, permissions boundary and last use (`GetRole`).
    async fn get_role(&self, role_name: &str) -> Result<RoleInfo, AwsError>;

    /// The names of a role's inline policies (`ListRolePolicies`, all pages).
    async fn list_role_policies(&self, role_name: &str) -> Result<Vec<String>, AwsError>;

    /// An inline policy's decoded document (`GetRolePolicy`).
    async fn get_role_policy(&self, role_name: &str, policy_name: &str)
    -> Result<String, AwsError>;

    /// Creates or replaces an inline policy (`PutRolePolicy`).
    async fn put_role_policy(
        &self,
        role_name: &str,
        policy_name: &str,
        document: &str,
    ) -> Result<(), AwsError>;

    /// Removes an inline policy (`DeleteRolePolicy`).
    async fn delete_role_policy(&self, role_name: &str, policy_name: &str) -> Result<(), AwsError>;

    /// The ARNs of the managed policies attached to a role
    /// (`ListAttachedRolePolicies`, all pages).
    async fn list_attached_role_policies(&self, role_name: &str) -> Result<Vec<String>, AwsError>;

    /// Attaches a managed policy to a role (`AttachRolePolicy`).
    async fn attach_role_policy(&self, role_name: &str, policy_arn: &str) -> Result<(), AwsError>;

    /// Detaches a managed policy from a role (`DetachRolePolicy`).
    async fn detach_role_policy(&self, role_name: &str, policy_arn: &str) -> Result<(), AwsError>;

    /// A managed policy without its document (`GetPolicy`).
    async fn get_policy(&self, policy_arn: &str) -> Result<PolicyInfo, AwsError>;

    /// One version's decoded document (`GetPolicyVersion`).
    async fn get_policy_version(
        &self,
        policy_arn: &str,
        version_id: &str,
    ) -> Result<String, AwsError>;

    /// Every version of a managed policy (`ListPolicyVersions`, all pages).
    async fn list_policy_versions(
        &self,
        policy_arn: &str,
    ) -> Result<Vec<PolicyVersionInfo>, AwsError>;

    /// Adds a version and answers its id (`CreatePolicyVersion`). A policy has
    /// at most five versions: the sixth is [`crate::ErrorKind::LimitExceeded`].
    async fn create_policy_version(
        &self,
        policy_arn: &str,
        document: &str,
        set_as_default: bool,
    ) -> Result<String, AwsError>;

    /// Removes a non-default version (`DeletePolicyVersion`).
    async fn delete_policy_version(
        &self,
        policy_arn: &str,
        version_id: &str,
    ) -> Result<(), AwsError>;

    /// Makes a version the default (`SetDefaultPolicyVersion`).
    async fn set_default_policy_version(
        &self,
        policy_arn: &str,
        version_id: &str,
    ) -> Result<(), AwsError>;

    /// Creates a customer-managed policy and answers its ARN (`CreatePolicy`).
    /// `path` starts and ends with `/`.
    async fn create_policy(
        &self,
        policy_name: &str,
        path: &str,
        document: &str,
        description: Option<&str>,
    ) -> Result<String, AwsError>;

    /// Deletes a customer-managed policy (`DeletePolicy`). It must be attached
    /// nowhere and have no version but the default.
    async fn delete_policy(&self, policy_arn: &str) -> Result<(), AwsError>;
}

/// IAM access advisor: when a role last used each service and tracked action.
#[async_trait]
pub trait AccessAdvisor: Send + Sync {
    /// Starts an `ACTION_LEVEL` report for a role and answers the job id
    /// (`GenerateServiceLastAccessedDetails`).
    async fn generate_service_last_accessed_details(
        &self,
        role_arn: &str,
    ) -> Result<String, AwsError>;

    /// The job's state; a completed report has every page merged
    /// (`GetServiceLastAccessedDetails`).
    async fn get_service_last_accessed_details(
        &self,
        job_id: &str,
    ) -> Result<LastAccessedJob, AwsError>;
}

/// STS: who the credentials belong to.
#[async_trait]
pub trait Sts: Send + Sync {
    /// `GetCallerIdentity`.
    async fn get_caller_identity(&self) -> Result<CallerIdentity, AwsError>;
}

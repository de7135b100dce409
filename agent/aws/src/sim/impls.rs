//! The three traits on [`SimAccount`]: each call goes through
//! [`SimAccount::call`] (counters, faults, span), then the state's rules.

use async_trait::async_trait;

use super::SimAccount;
use crate::api::{AccessAdvisor, Iam, Sts};
use crate::error::{AwsError, ErrorKind};
use crate::ops;
use crate::trace::CallFields;
use crate::types::{CallerIdentity, LastAccessedJob, PolicyInfo, PolicyVersionInfo, RoleInfo};

#[async_trait]
impl Iam for SimAccount {
    async fn list_roles(&self) -> Result<Vec<RoleInfo>, AwsError> {
        self.call(CallFields::new(ops::LIST_ROLES), |s, _| {
            Ok(s.iam.list_roles())
        })
        .await
    }

    async fn get_role(&self, role_name: &str) -> Result<RoleInfo, AwsError> {
        let op = ops::GET_ROLE;
        self.call(CallFields::new(op).role(role_name), |s, _| {
            Ok(s.iam.role(op, role_name)?.info.clone())
        })
        .await
    }

    async fn list_role_policies(&self, role_name: &str) -> Result<Vec<String>, AwsError> {
        let op = ops::LIST_ROLE_POLICIES;
        self.call(CallFields::new(op).role(role_name), |s, _| {
            Ok(s.iam.role(op, role_name)?.inline.keys().cloned().collect())
        })
        .await
    }

    async fn get_role_policy(
        &self,
        role_name: &str,
        policy_name: &str,
    ) -> Result<String, AwsError> {
        let fields = CallFields::new(ops::GET_ROLE_POLICY).role(role_name);
        self.call(fields, |s, _| s.iam.get_role_policy(role_name, policy_name))
            .await
    }

    async fn put_role_policy(
        &self,
        role_name: &str,
        policy_name: &str,
        document: &str,
    ) -> Result<(), AwsError> {
        let fields = CallFields::new(ops::PUT_ROLE_POLICY).role(role_name);
        self.call(fields, |s, _| {
            s.iam.put_role_policy(role_name, policy_name, document)
        })
        .await
    }

    async fn delete_role_policy(&self, role_name: &str, policy_name: &str) -> Result<(), AwsError> {
        let fields = CallFields::new(ops::DELETE_ROLE_POLICY).role(role_name);
        self.call(fields, |s, _| {
            s.iam.delete_role_policy(role_name, policy_name)
        })
        .await
    }

    async fn list_attached_role_policies(&self, role_name: &str) -> Result<Vec<String>, AwsError> {
        let op = ops::LIST_ATTACHED_ROLE_POLICIES;
        self.call(CallFields::new(op).role(role_name), |s, _| {
            Ok(s.iam.role(op, role_name)?.attached.clone())
        })
        .await
    }

    async fn attach_role_policy(&self, role_name: &str, policy_arn: &str) -> Result<(), AwsError> {
        let fields = CallFields::new(ops::ATTACH_ROLE_POLICY)
            .role(role_name)
            .policy(policy_arn);
        self.call(fields, |s, _| {
            s.iam.attach_role_policy(role_name, policy_arn)
        })
        .await
    }

    async fn detach_role_policy(&self, role_name: &str, policy_arn: &str) -> Result<(), AwsError> {
        let fields = CallFields::new(ops::DETACH_ROLE_POLICY)
            .role(role_name)
            .policy(policy_arn);
        self.call(fields, |s, _| {
            s.iam.detach_role_policy(role_name, policy_arn)
        })
        .await
    }

    async fn get_policy(&self, policy_arn: &str) -> Result<PolicyInfo, AwsError> {
        let op = ops::GET_POLICY;
        self.call(CallFields::new(op).policy(policy_arn), |s, _| {
            Ok(s.iam.policy(op, policy_arn)?.info.clone())
        })
        .await
    }

    async fn get_policy_version(
        &self,
        policy_arn: &str,
        version_id: &str,
    ) -> Result<String, AwsError> {
        let fields = CallFields::new(ops::GET_POLICY_VERSION).policy(policy_arn);
        self.call(fields, |s, _| {
            s.iam.get_policy_version(policy_arn, version_id)
        })
        .await
    }

    async fn list_policy_versions(
        &self,
        policy_arn: &str,
    ) -> Result<Vec<PolicyVersionInfo>, AwsError> {
        let fields = CallFields::new(ops::LIST_POLICY_VERSIONS).policy(policy_arn);
        self.call(fields, |s, _| s.iam.list_policy_versions(policy_arn))
            .await
    }

    async fn create_policy_version(
        &self,
        policy_arn: &str,
        document: &str,
        set_as_default: bool,
    ) -> Result<String, AwsError> {
        let fields = CallFields::new(ops::CREATE_POLICY_VERSION).policy(policy_arn);
        self.call(fields, |s, now| {
            s.iam
                .create_policy_version(policy_arn, document, set_as_default, now)
        })
        .await
    }

    async fn delete_policy_version(
        &self,
        policy_arn: &str,
        version_id: &str,
    ) -> Result<(), AwsError> {
        let fields = CallFields::new(ops::DELETE_POLICY_VERSION).policy(policy_arn);
        self.call(fields, |s, _| {
            s.iam.delete_policy_version(policy_arn, version_id)
        })
        .await
    }

    async fn set_default_policy_version(
        &self,
        policy_arn: &str,
        version_id: &str,
    ) -> Result<(), AwsError> {
        let fields = CallFields::new(ops::SET_DEFAULT_POLICY_VERSION).policy(policy_arn);
        self.call(fields, |s, _| {
            s.iam.set_default_policy_version(policy_arn, version_id)
        })
        .await
    }

    async fn create_policy(
        &self,
        policy_name: &str,
        path: &str,
        document: &str,
        _description: Option<&str>,
    ) -> Result<String, AwsError> {
        let fields = CallFields::new(ops::CREATE_POLICY);
        self.call(fields, |s, now| {
            s.iam.create_policy(policy_name, path, document, now)
        })
        .await
    }

    async fn delete_policy(&self, policy_arn: &str) -> Result<(), AwsError> {
        let fields = CallFields::new(ops::DELETE_POLICY).policy(policy_arn);
        self.call(fields, |s, _| s.iam.delete_policy(policy_arn))
            .await
    }
}

#[async_trait]
impl AccessAdvisor for SimAccount {
    async fn generate_service_last_accessed_details(
        &self,
        role_arn: &str,
    ) -> Result<String, AwsError> {
        let op = ops::GENERATE_SERVICE_LAST_ACCESSED_DETAILS;
        self.call(CallFields::new(op), |s, _| {
            let role = s
                .iam
                .roles
                .values()
                .find(|r| r.info.arn == role_arn)
                .ok_or_else(|| {
                    let text = format!("NoSuchEntity: The entity {role_arn} cannot be found.");
                    AwsError::new(ErrorKind::NotFound, op, text)
                })?;
            let name = role.info.name.clone();
            Ok(s.advisor.generate(&name))
        })
        .await
    }

    async fn get_service_last_accessed_details(
        &self,
        job_id: &str,
    ) -> Result<LastAccessedJob, AwsError> {
        let fields = CallFields::new(ops::GET_SERVICE_LAST_ACCESSED_DETAILS);
        self.call(fields, |s, now| s.advisor.get(job_id, now)).await
    }
}

#[async_trait]
impl Sts for SimAccount {
    async fn get_caller_identity(&self) -> Result<CallerIdentity, AwsError> {
        let account = self.account_id().to_string();
        self.call(CallFields::new(ops::GET_CALLER_IDENTITY), |_, _| {
            Ok(CallerIdentity {
                arn: format!("arn:aws:sts::{account}:assumed-role/whittle-agent/sim"),
                user_id: "AROASIMWHITTLEAGENT:sim".to_string(),
                account,
            })
        })
        .await
    }
}

//! [`Iam`] on the AWS SDK: one method per IAM API call, lists paged with `Marker`.

use async_trait::async_trait;
use tracing::Instrument;
use whittle_policy::document::decode_document_text;

use super::{SdkAws, convert};
use crate::api::Iam;
use crate::error::AwsError;
use crate::ops;
use crate::trace::CallFields;
use crate::types::{PolicyInfo, PolicyVersionInfo, RoleInfo};

#[async_trait]
impl Iam for SdkAws {
    async fn list_roles(&self) -> Result<Vec<RoleInfo>, AwsError> {
        let op = ops::LIST_ROLES;
        let page = |marker: Option<String>| {
            self.send(op, move || {
                self.iam
                    .list_roles()
                    .set_marker(marker.clone())
                    .set_max_items(self.page_size)
                    .send()
            })
        };
        self.paged(op, page, |answer, out| {
            for role in answer.roles() {
                out.push(convert::role_info(op, role)?);
            }
            Ok(())
        })
        .instrument(self.span(CallFields::new(op)))
        .await
    }

    async fn get_role(&self, role_name: &str) -> Result<RoleInfo, AwsError> {
        let op = ops::GET_ROLE;
        async {
            let out = self
                .send(op, || self.iam.get_role().role_name(role_name).send())
                .await?;
            let role = out.role().ok_or_else(|| convert::missing(op, "Role"))?;
            convert::role_info(op, role)
        }
        .instrument(self.span(CallFields::new(op).role(role_name)))
        .await
    }

    async fn list_role_policies(&self, role_name: &str) -> Result<Vec<String>, AwsError> {
        let op = ops::LIST_ROLE_POLICIES;
        let page = |marker: Option<String>| {
            self.send(op, move || {
                self.iam
                    .list_role_policies()
                    .role_name(role_name)
                    .set_marker(marker.clone())
                    .set_max_items(self.page_size)
                    .send()
            })
        };
        self.paged(op, page, |answer, out| {
            out.extend(answer.policy_names().iter().cloned());
            Ok(())
        })
        .instrument(self.span(CallFields::new(op).role(role_name)))
        .await
    }

    async fn get_role_policy(
        &self,
        role_name: &str,
        policy_name: &str,
    ) -> Result<String, AwsError> {
        let op = ops::GET_ROLE_POLICY;
        async {
            let out = self
                .send(op, || {
                    self.iam
                        .get_role_policy()
                        .role_name(role_name)
                        .policy_name(policy_name)
                        .send()
                })
                .await?;
            Ok(decode_document_text(out.policy_document()))
        }
        .instrument(self.span(CallFields::new(op).role(role_name)))
        .await
    }

    async fn put_role_policy(
        &self,
        role_name: &str,
        policy_name: &str,
        document: &str,
    ) -> Result<(), AwsError> {
        let op = ops::PUT_ROLE_POLICY;
        self.send(op, || {
            self.iam
                .put_role_policy()
                .role_name(role_name)
                .policy_name(policy_name)
                .policy_document(document)
                .send()
        })
        .instrument(self.span(CallFields::new(op).role(role_name)))
        .await
        .map(drop)
    }

    async fn delete_role_policy(&self, role_name: &str, policy_name: &str) -> Result<(), AwsError> {
        let op = ops::DELETE_ROLE_POLICY;
        self.send(op, || {
            self.iam
                .delete_role_policy()
                .role_name(role_name)
                .policy_name(policy_name)
                .send()
        })
        .instrument(self.span(CallFields::new(op).role(role_name)))
        .await
        .map(drop)
    }

    async fn list_attached_role_policies(&self, role_name: &str) -> Result<Vec<String>, AwsError> {
        let op = ops::LIST_ATTACHED_ROLE_POLICIES;
        let page = |marker: Option<String>| {
            self.send(op, move || {
                self.iam
                    .list_attached_role_policies()
                    .role_name(role_name)
                    .set_marker(marker.clone())
                    .set_max_items(self.page_size)
                    .send()
            })
        };
        self.paged(op, page, |answer, out| {
            for attached in answer.attached_policies() {
                let arn = attached
                    .policy_arn()
                    .ok_or_else(|| convert::missing(op, "AttachedPolicies.PolicyArn"))?;
                out.push(arn.to_string());
            }
            Ok(())
        })
        .instrument(self.span(CallFields::new(op).role(role_name)))
        .await
    }

    async fn attach_role_policy(&self, role_name: &str, policy_arn: &str) -> Result<(), AwsError> {
        let op = ops::ATTACH_ROLE_POLICY;
        self.send(op, || {
            self.iam
                .attach_role_policy()
                .role_name(role_name)
                .policy_arn(policy_arn)
                .send()
        })
        .instrument(self.span(CallFields::new(op).role(role_name).policy(policy_arn)))
        .await
        .map(drop)
    }

    async fn detach_role_policy(&self, role_name: &str, policy_arn: &str) -> Result<(), AwsError> {
        let op = ops::DETACH_ROLE_POLICY;
        self.send(op, || {
            self.iam
                .detach_role_policy()
                .role_name(role_name)
                .policy_arn(policy_arn)
                .send()
        })
        .instrument(self.span(CallFields::new(op).role(role_name).policy(policy_arn)))
        .await
        .map(drop)
    }

    async fn get_policy(&self, policy_arn: &str) -> Result<PolicyInfo, AwsError> {
        let op = ops::GET_POLICY;
        async {
            let out = self
                .send(op, || self.iam.get_policy().policy_arn(policy_arn).send())
                .await?;
            let policy = out.policy().ok_or_else(|| convert::missing(op, "Policy"))?;
            convert::policy_info(op, policy)
        }
        .instrument(self.span(CallFields::new(op).policy(policy_arn)))
        .await
    }

    async fn get_policy_version(
        &self,
        policy_arn: &str,
        version_id: &str,
    ) -> Result<String, AwsError> {
        let op = ops::GET_POLICY_VERSION;
        async {
            let out = self
                .send(op, || {
                    self.iam
                        .get_policy_version()
                        .policy_arn(policy_arn)
                        .version_id(version_id)
                        .send()
                })
                .await?;
            let document = out
                .policy_version()
                .and_then(|v| v.document())
                .ok_or_else(|| convert::missing(op, "PolicyVersion.Document"))?;
            Ok(decode_document_text(document))
        }
        .instrument(self.span(CallFields::new(op).policy(policy_arn)))
        .await
    }

    async fn list_policy_versions(
        &self,
        policy_arn: &str,
    ) -> Result<Vec<PolicyVersionInfo>, AwsError> {
        let op = ops::LIST_POLICY_VERSIONS;
        let page = |marker: Option<String>| {
            self.send(op, move || {
                self.iam
                    .list_policy_versions()
                    .policy_arn(policy_arn)
                    .set_marker(marker.clone())
                    .set_max_items(self.page_size)
                    .send()
            })
        };
        self.paged(op, page, |answer, out| {
            for version in answer.versions() {
                out.push(convert::version_info(op, version)?);
            }
            Ok(())
        })
        .instrument(self.span(CallFields::new(op).policy(policy_arn)))
        .await
    }

    async fn create_policy_version(
        &self,
        policy_arn: &str,
        document: &str,
        set_as_default: bool,
    ) -> Result<String, AwsError> {
        let op = ops::CREATE_POLICY_VERSION;
        async {
            let out = self
                .send(op, || {
                    self.iam
                        .create_policy_version()
                        .policy_arn(policy_arn)
                        .policy_document(document)
                        .set_as_default(set_as_default)
                        .send()
                })
                .await?;
            out.policy_version()
                .and_then(|v| v.version_id())
                .map(str::to_string)
                .ok_or_else(|| convert::missing(op, "PolicyVersion.VersionId"))
        }
        .instrument(self.span(CallFields::new(op).policy(policy_arn)))
        .await
    }

    async fn delete_policy_version(
        &self,
        policy_arn: &str,
        version_id: &str,
    ) -> Result<(), AwsError> {
        let op = ops::DELETE_POLICY_VERSION;
        self.send(op, || {
            self.iam
                .delete_policy_version()
                .policy_arn(policy_arn)
                .version_id(version_id)
                .send()
        })
        .instrument(self.span(CallFields::new(op).policy(policy_arn)))
        .await
        .map(drop)
    }

    async fn set_default_policy_version(
        &self,
        policy_arn: &str,
        version_id: &str,
    ) -> Result<(), AwsError> {
        let op = ops::SET_DEFAULT_POLICY_VERSION;
        self.send(op, || {
            self.iam
                .set_default_policy_version()
                .policy_arn(policy_arn)
                .version_id(version_id)
                .send()
        })
        .instrument(self.span(CallFields::new(op).policy(policy_arn)))
        .await
        .map(drop)
    }

    async fn create_policy(
        &self,
        policy_name: &str,
        path: &str,
        document: &str,
        description: Option<&str>,
    ) -> Result<String, AwsError> {
        let op = ops::CREATE_POLICY;
        async {
            let out = self
                .send(op, || {
                    self.iam
                        .create_policy()
                        .policy_name(policy_name)
                        .path(path)
                        .policy_document(document)
                        .set_description(description.map(str::to_string))
                        .send()
                })
                .await?;
            out.policy()
                .and_then(|p| p.arn())
                .map(str::to_string)
                .ok_or_else(|| convert::missing(op, "Policy.Arn"))
        }
        .instrument(self.span(CallFields::new(op)))
        .await
    }

    async fn delete_policy(&self, policy_arn: &str) -> Result<(), AwsError> {
        let op = ops::DELETE_POLICY;
        self.send(op, || {
            self.iam.delete_policy().policy_arn(policy_arn).send()
        })
        .instrument(self.span(CallFields::new(op).policy(policy_arn)))
        .await
        .map(drop)
    }
}

//! Managed policies and their versions in the simulated account.

use chrono::{DateTime, Utc};

use super::state::{
    IamState, MAX_POLICY_VERSIONS, SimPolicy, SimVersion, check_document, check_managed_size, err,
};
use crate::error::{AwsError, ErrorKind};
use crate::ops;
use crate::types::{PolicyInfo, PolicyVersionInfo};

impl IamState {
    pub fn get_policy_version(&self, arn: &str, id: &str) -> Result<String, AwsError> {
        let op = ops::GET_POLICY_VERSION;
        let policy = self.policy(op, arn)?;
        let version = policy.version(id).ok_or_else(|| {
            let text = format!("Policy {arn} version {id} does not exist or is not attachable.");
            err(ErrorKind::NotFound, op, "NoSuchEntity", text)
        })?;
        Ok(version.document.clone())
    }

    pub fn list_policy_versions(&self, arn: &str) -> Result<Vec<PolicyVersionInfo>, AwsError> {
        let policy = self.policy(ops::LIST_POLICY_VERSIONS, arn)?;
        Ok(policy
            .versions
            .iter()
            .map(|v| PolicyVersionInfo {
                version_id: v.id.clone(),
                is_default: v.id == policy.info.default_version_id,
                create_date: Some(v.create_date),
            })
            .collect())
    }

    pub fn create_policy_version(
        &mut self,
        arn: &str,
        document: &str,
        set_as_default: bool,
        now: DateTime<Utc>,
    ) -> Result<String, AwsError> {
        let op = ops::CREATE_POLICY_VERSION;
        let policy = self.own_policy_mut(op, arn)?;
        if policy.versions.len() >= MAX_POLICY_VERSIONS {
            let text = format!(
                "A managed policy can have up to {MAX_POLICY_VERSIONS} versions. Before you create a new version, you must delete an existing version."
            );
            return Err(err(ErrorKind::LimitExceeded, op, "LimitExceeded", text));
        }
        check_document(op, document)?;
        check_managed_size(op, document)?;
        let id = format!("v{}", policy.next_version);
        policy.next_version += 1;
        policy.versions.push(SimVersion {
            id: id.clone(),
            document: document.to_string(),
            create_date: now,
        });
        if set_as_default {
            policy.info.default_version_id = id.clone();
        }
        Ok(id)
    }

    pub fn delete_policy_version(&mut self, arn: &str, id: &str) -> Result<(), AwsError> {
        let op = ops::DELETE_POLICY_VERSION;
        let policy = self.own_policy_mut(op, arn)?;
        let Some(at) = policy.versions.iter().position(|v| v.id == id) else {
            let text = format!("Policy {arn} version {id} does not exist.");
            return Err(err(ErrorKind::NotFound, op, "NoSuchEntity", text));
        };
        if policy.info.default_version_id == id {
            let text = "Cannot delete the default version of a policy.".to_string();
            return Err(err(ErrorKind::DeleteConflict, op, "DeleteConflict", text));
        }
        policy.versions.remove(at);
        Ok(())
    }

    pub fn set_default_policy_version(&mut self, arn: &str, id: &str) -> Result<(), AwsError> {
        let op = ops::SET_DEFAULT_POLICY_VERSION;
        let policy = self.own_policy_mut(op, arn)?;
        if policy.version(id).is_none() {
            let text = format!("Policy {arn} version {id} does not exist.");
            return Err(err(ErrorKind::NotFound, op, "NoSuchEntity", text));
        }
        policy.info.default_version_id = id.to_string();
        Ok(())
    }

    pub fn create_policy(
        &mut self,
        name: &str,
        path: &str,
        document: &str,
        now: DateTime<Utc>,
    ) -> Result<String, AwsError> {
        let op = ops::CREATE_POLICY;
        let invalid = |text: String| err(ErrorKind::InvalidInput, op, "ValidationError", text);
        if !path.starts_with('/') || !path.ends_with('/') || path.contains("//") {
            return Err(invalid(format!(
                "Path {path:?} must start and end with '/'."
            )));
        }
        let name_ok = |c: char| c.is_ascii_alphanumeric() || "+=,.@-_".contains(c);
        if name.is_empty() || name.len() > 128 || !name.chars().all(name_ok) {
            return Err(invalid(format!(
                "Policy name {name:?} is not a valid policy name."
            )));
        }
        let arn = format!("arn:aws:iam::{}:policy{path}{name}", self.account_id);
        if self.policies.contains_key(&arn) {
            let text =
                format!("A policy called {name} already exists. Duplicate names are not allowed.");
            return Err(err(
                ErrorKind::AlreadyExists,
                op,
                "EntityAlreadyExists",
                text,
            ));
        }
        check_document(op, document)?;
        check_managed_size(op, document)?;
        let info = PolicyInfo {
            arn: arn.clone(),
            name: name.to_string(),
            path: path.to_string(),
            policy_id: self.new_id("ANPA"),
            default_version_id: "v1".to_string(),
            attachment_count: 0,
            permissions_boundary_usage_count: 0,
        };
        let version = SimVersion {
            id: "v1".into(),
            document: document.to_string(),
            create_date: now,
        };
        self.policies.insert(
            arn.clone(),
            SimPolicy {
                info,
                versions: vec![version],
                next_version: 2,
            },
        );
        Ok(arn)
    }

    pub fn delete_policy(&mut self, arn: &str) -> Result<(), AwsError> {
        let op = ops::DELETE_POLICY;
        let policy = self.own_policy_mut(op, arn)?;
        let conflict =
            |text: &str| err(ErrorKind::DeleteConflict, op, "DeleteConflict", text.into());
        if policy.info.attachment_count > 0 || policy.info.permissions_boundary_usage_count > 0 {
            return Err(conflict("Cannot delete a policy attached to entities."));
        }
        if policy.versions.len() > 1 {
            return Err(conflict(
                "This policy has more than one version. Before you delete a policy, you must delete the policy's versions. The default version is deleted with the policy.",
            ));
        }
        self.policies.remove(arn);
        Ok(())
    }
}

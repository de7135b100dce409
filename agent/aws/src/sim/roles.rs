//! Roles, their inline policies and their attachments in the simulated account.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use whittle_policy::document::iam_size;

use super::state::{
    IamState, MAX_ATTACHED_POLICIES, MAX_INLINE_SIZE, SimRole, check_document, err,
};
use crate::error::{AwsError, ErrorKind};
use crate::ops;
use crate::types::RoleInfo;

impl IamState {
    /// Adds a role (not an IAM call the agent makes: for tests and demos).
    pub fn create_role(
        &mut self,
        name: &str,
        path: &str,
        now: DateTime<Utc>,
    ) -> Result<RoleInfo, AwsError> {
        let op = ops::CREATE_ROLE;
        if self.roles.contains_key(name) {
            let text = format!("Role with name {name} already exists.");
            return Err(err(
                ErrorKind::AlreadyExists,
                op,
                "EntityAlreadyExists",
                text,
            ));
        }
        if !path.starts_with('/') || !path.ends_with('/') {
            let text = format!("Path {path:?} must start and end with '/'.");
            return Err(err(ErrorKind::InvalidInput, op, "ValidationError", text));
        }
        let info = RoleInfo {
            arn: format!("arn:aws:iam::{}:role{path}{name}", self.account_id),
            role_id: self.new_id("AROA"),
            name: name.to_string(),
            path: path.to_string(),
            create_date: now,
            tags: BTreeMap::new(),
            permissions_boundary: None,
            last_used: None,
        };
        let role = SimRole {
            info: info.clone(),
            inline: BTreeMap::new(),
            attached: Vec::new(),
        };
        self.roles.insert(name.to_string(), role);
        Ok(info)
    }

    /// Removes a role that has no policies left, as IAM requires.
    pub fn delete_role(&mut self, name: &str) -> Result<(), AwsError> {
        let op = ops::DELETE_ROLE;
        let role = self.role(op, name)?;
        if !role.inline.is_empty() || !role.attached.is_empty() {
            let text = "Cannot delete entity, must delete policies first.".to_string();
            return Err(err(ErrorKind::DeleteConflict, op, "DeleteConflict", text));
        }
        self.roles.remove(name);
        Ok(())
    }

    /// Changes a role's tags, permissions boundary or last use in place.
    pub fn edit_role(
        &mut self,
        name: &str,
        edit: impl FnOnce(&mut RoleInfo),
    ) -> Result<(), AwsError> {
        let role = self.role_mut(ops::GET_ROLE, name)?;
        let before = role.info.clone();
        edit(&mut role.info);
        // The identity of a role is not editable.
        role.info.arn = before.arn;
        role.info.role_id = before.role_id;
        role.info.name = before.name;
        role.info.path = before.path;
        Ok(())
    }

    /// `ListRoles` leaves out tags, permissions boundary and last use, like AWS.
    pub fn list_roles(&self) -> Vec<RoleInfo> {
        self.roles
            .values()
            .map(|r| RoleInfo {
                tags: BTreeMap::new(),
                permissions_boundary: None,
                last_used: None,
                ..r.info.clone()
            })
            .collect()
    }

    pub fn get_role_policy(&self, role: &str, name: &str) -> Result<String, AwsError> {
        let op = ops::GET_ROLE_POLICY;
        self.role(op, role)?
            .inline
            .get(name)
            .cloned()
            .ok_or_else(|| {
                let text = format!("The role policy with name {name} cannot be found.");
                err(ErrorKind::NotFound, op, "NoSuchEntity", text)
            })
    }

    pub fn put_role_policy(
        &mut self,
        role: &str,
        name: &str,
        document: &str,
    ) -> Result<(), AwsError> {
        let op = ops::PUT_ROLE_POLICY;
        let current = self.role(op, role)?;
        check_document(op, document)?;
        let others: usize = current
            .inline
            .iter()
            .filter(|(n, _)| n.as_str() != name)
            .map(|(_, d)| iam_size(d))
            .sum();
        if others + iam_size(document) > MAX_INLINE_SIZE {
            let text =
                format!("Maximum policy size of {MAX_INLINE_SIZE} bytes exceeded for role {role}");
            return Err(err(ErrorKind::LimitExceeded, op, "LimitExceeded", text));
        }
        self.role_mut(op, role)?
            .inline
            .insert(name.to_string(), document.to_string());
        Ok(())
    }

    pub fn delete_role_policy(&mut self, role: &str, name: &str) -> Result<(), AwsError> {
        let op = ops::DELETE_ROLE_POLICY;
        match self.role_mut(op, role)?.inline.remove(name) {
            Some(_) => Ok(()),
            None => {
                let text = format!("The role policy with name {name} cannot be found.");
                Err(err(ErrorKind::NotFound, op, "NoSuchEntity", text))
            }
        }
    }

    pub fn attach_role_policy(&mut self, role: &str, arn: &str) -> Result<(), AwsError> {
        let op = ops::ATTACH_ROLE_POLICY;
        let attached = &self.role(op, role)?.attached;
        self.policy(op, arn)?;
        if attached.iter().any(|a| a == arn) {
            return Ok(());
        }
        if attached.len() >= MAX_ATTACHED_POLICIES {
            let text = format!("Cannot exceed quota for PoliciesPerRole: {MAX_ATTACHED_POLICIES}");
            return Err(err(ErrorKind::LimitExceeded, op, "LimitExceeded", text));
        }
        self.role_mut(op, role)?.attached.push(arn.to_string());
        self.policy_mut(op, arn)?.info.attachment_count += 1;
        Ok(())
    }

    pub fn detach_role_policy(&mut self, role: &str, arn: &str) -> Result<(), AwsError> {
        let op = ops::DETACH_ROLE_POLICY;
        let attached = &mut self.role_mut(op, role)?.attached;
        let Some(at) = attached.iter().position(|a| a == arn) else {
            return Err(err(
                ErrorKind::NotFound,
                op,
                "NoSuchEntity",
                format!("Policy {arn} was not found."),
            ));
        };
        attached.remove(at);
        if let Some(policy) = self.policies.get_mut(arn) {
            policy.info.attachment_count = policy.info.attachment_count.saturating_sub(1);
        }
        Ok(())
    }
}

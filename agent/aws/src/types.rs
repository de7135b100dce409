//! What the AWS calls answer, in the project's own types.
//!
//! Documents are always decoded JSON text (see
//! [`whittle_policy::document::decode_document_text`]); dates are UTC.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use whittle_policy::{ManagedPolicy, Role, Usage};

/// A role without its policies, as `GetRole` answers it.
///
/// `ListRoles` answers the same shape, but AWS leaves out tags, permissions
/// boundary and last use there: only [`crate::Iam::get_role`] fills them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleInfo {
    pub arn: String,
    pub role_id: String,
    pub name: String,
    pub path: String,
    pub create_date: DateTime<Utc>,
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    #[serde(default)]
    pub permissions_boundary: Option<String>,
    #[serde(default)]
    pub last_used: Option<DateTime<Utc>>,
}

impl RoleInfo {
    /// The role with its inline policies (name to document) and attached policy ARNs.
    pub fn into_role(
        self,
        inline_policies: BTreeMap<String, String>,
        attached_policies: Vec<String>,
    ) -> Role {
        let RoleInfo {
            arn,
            role_id,
            name,
            path,
            create_date,
            tags,
            permissions_boundary,
            last_used,
        } = self;
        Role {
            arn,
            role_id,
            name,
            path,
            create_date,
            tags,
            permissions_boundary,
            last_used,
            inline_policies,
            attached_policies,
        }
    }

    /// The role-level part of a [`Role`].
    pub fn from_role(role: &Role) -> RoleInfo {
        RoleInfo {
            arn: role.arn.clone(),
            role_id: role.role_id.clone(),
            name: role.name.clone(),
            path: role.path.clone(),
            create_date: role.create_date,
            tags: role.tags.clone(),
            permissions_boundary: role.permissions_boundary.clone(),
            last_used: role.last_used,
        }
    }
}

/// A managed policy without its document, as `GetPolicy` answers it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyInfo {
    pub arn: String,
    pub name: String,
    pub path: String,
    pub policy_id: String,
    pub default_version_id: String,
    /// How many users, groups and roles it is attached to.
    pub attachment_count: u32,
    /// How many users and roles use it as a permissions boundary.
    pub permissions_boundary_usage_count: u32,
}

impl PolicyInfo {
    /// The managed policy with its default version's document.
    pub fn into_managed(self, document: String) -> ManagedPolicy {
        let PolicyInfo {
            arn,
            name,
            path,
            policy_id,
            default_version_id,
            attachment_count,
            permissions_boundary_usage_count,
        } = self;
        ManagedPolicy {
            arn,
            name,
            path,
            policy_id,
            default_version_id,
            attachment_count,
            permissions_boundary_usage_count,
            document,
        }
    }
}

/// One version of a managed policy, as `ListPolicyVersions` answers it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyVersionInfo {
    /// `v1`, `v2`, ...
    pub version_id: String,
    pub is_default: bool,
    pub create_date: Option<DateTime<Utc>>,
}

/// Who the credentials belong to, as `sts:GetCallerIdentity` answers it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallerIdentity {
    /// The 12-digit account id.
    pub account: String,
    pub arn: String,
    pub user_id: String,
}

/// The state of an access advisor job (`GetServiceLastAccessedDetails`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LastAccessedJob {
    InProgress,
    /// Every page of the report, merged.
    Completed(Usage),
    /// The job failed; the service's explanation.
    Failed(String),
}

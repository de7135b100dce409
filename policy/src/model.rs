//! The account as the algebra sees it: roles, managed policies and usage.
//!
//! These are the project's own types; the exports parser and the AWS door both
//! produce them. Policy documents are held as decoded JSON text.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A role, keyed by ARN *and* RoleId (a role re-created with the same name is new).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Role {
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
    /// Inline policies: name to decoded document text.
    #[serde(default)]
    pub inline_policies: BTreeMap<String, String>,
    /// ARNs of the attached managed policies.
    #[serde(default)]
    pub attached_policies: Vec<String>,
}

impl Role {
    /// Service-linked roles belong to AWS services and are never changed.
    pub fn is_service_linked(&self) -> bool {
        self.path.starts_with("/aws-service-role/")
    }

    /// The 12-digit account of the role, from its ARN.
    pub fn account_id(&self) -> Option<&str> {
        account_of_arn(&self.arn)
    }
}

/// The account id field of an ARN (`arn:aws:iam::123456789012:role/x`).
pub fn account_of_arn(arn: &str) -> Option<&str> {
    arn.split(':').nth(4).filter(|a| !a.is_empty())
}

/// A managed policy with its default version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManagedPolicy {
    pub arn: String,
    pub name: String,
    pub path: String,
    pub policy_id: String,
    pub default_version_id: String,
    /// How many users, groups and roles it is attached to.
    pub attachment_count: u32,
    /// How many users and roles use it as a permissions boundary.
    #[serde(default)]
    pub permissions_boundary_usage_count: u32,
    /// The default version's decoded document.
    pub document: String,
}

impl ManagedPolicy {
    /// AWS-managed policies live in the `aws` account (`arn:aws:iam::aws:policy/...`).
    pub fn is_aws_managed(&self) -> bool {
        account_of_arn(&self.arn) == Some("aws")
    }

    /// Whether changing the policy in place would affect only the one role that
    /// uses it: customer-managed, attached once, and no permissions boundary.
    pub fn is_exclusive(&self) -> bool {
        !self.is_aws_managed()
            && self.attachment_count <= 1
            && self.permissions_boundary_usage_count == 0
    }
}

/// How detailed a usage report is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Granularity {
    Service,
    Action,
}

/// What IAM access advisor observed for one role.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    /// When the data was observed (the access advisor job's completion time).
    pub observed_at: DateTime<Utc>,
    pub granularity: Granularity,
    /// Keyed by lowercase service prefix.
    pub services: BTreeMap<String, ServiceUsage>,
}

/// One service in a usage report.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceUsage {
    /// `None`: never used within the tracking period.
    pub last_authenticated: Option<DateTime<Utc>>,
    /// Tracked actions, keyed by lowercase action name; `None`: never used.
    pub actions: BTreeMap<String, Option<DateTime<Utc>>>,
}

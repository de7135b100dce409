//! The IAM side of the simulated account: roles, inline policies, managed
//! policies and their versions, with IAM's rules and error codes.
//!
//! Plain synchronous code on plain data; [`super::SimAccount`] holds it behind
//! a lock and adds the clock, faults and counters.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use whittle_policy::document::iam_size;
use whittle_policy::exports::AccountExport;
use whittle_policy::{ManagedPolicy, Role};

use crate::error::{AwsError, ErrorKind};
use crate::types::{PolicyInfo, RoleInfo};

/// IAM's quotas (the defaults of a new account).
pub const MAX_POLICY_VERSIONS: usize = 5;
pub const MAX_ATTACHED_POLICIES: usize = 10;
pub const MAX_INLINE_SIZE: usize = 10_240;
pub const MAX_MANAGED_SIZE: usize = 6_144;

#[derive(Debug, Clone)]
pub(super) struct SimRole {
    pub info: RoleInfo,
    pub inline: BTreeMap<String, String>,
    pub attached: Vec<String>,
}

#[derive(Debug, Clone)]
pub(super) struct SimVersion {
    pub id: String,
    pub document: String,
    pub create_date: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub(super) struct SimPolicy {
    pub info: PolicyInfo,
    /// Oldest first.
    pub versions: Vec<SimVersion>,
    /// The number of the next version: IAM never reuses one.
    pub next_version: u32,
}

impl SimPolicy {
    pub(super) fn version(&self, id: &str) -> Option<&SimVersion> {
        self.versions.iter().find(|v| v.id == id)
    }
}

#[derive(Debug, Default)]
pub(super) struct IamState {
    pub account_id: String,
    pub roles: BTreeMap<String, SimRole>,
    pub policies: BTreeMap<String, SimPolicy>,
    next_id: u64,
}

pub(super) fn err(kind: ErrorKind, op: &'static str, code: &str, text: String) -> AwsError {
    AwsError::new(kind, op, format!("{code}: {text}"))
}

pub(super) fn no_role(op: &'static str, name: &str) -> AwsError {
    err(
        ErrorKind::NotFound,
        op,
        "NoSuchEntity",
        format!("The role with name {name} cannot be found."),
    )
}

pub(super) fn no_policy(op: &'static str, arn: &str) -> AwsError {
    err(
        ErrorKind::NotFound,
        op,
        "NoSuchEntity",
        format!("Policy {arn} was not found."),
    )
}

pub(super) fn is_aws_managed(arn: &str) -> bool {
    whittle_policy::model::account_of_arn(arn) == Some("aws")
}

/// Checks a document the way IAM does, roughly: a JSON object whose statements
/// each have an `Effect` and an `Action` or `NotAction`.
pub(super) fn check_document(op: &'static str, document: &str) -> Result<(), AwsError> {
    let malformed = |text: &str| {
        err(
            ErrorKind::MalformedPolicy,
            op,
            "MalformedPolicyDocument",
            text.into(),
        )
    };
    let value: serde_json::Value =
        serde_json::from_str(document).map_err(|_| malformed("Syntax errors in policy."))?;
    let statements = match value.get("Statement") {
        Some(serde_json::Value::Array(list)) if !list.is_empty() => list.clone(),
        Some(one @ serde_json::Value::Object(_)) => vec![one.clone()],
        _ => return Err(malformed("Policy document must contain a Statement.")),
    };
    if let Some(version) = value.get("Version")
        && version != "2012-10-17"
        && version != "2008-10-17"
    {
        return Err(malformed("The policy failed legacy parsing"));
    }
    for statement in &statements {
        match statement.get("Effect").and_then(|e| e.as_str()) {
            Some("Allow" | "Deny") => {}
            _ => return Err(malformed("Policy statement must contain a valid Effect.")),
        }
        if statement.get("Action").is_none() && statement.get("NotAction").is_none() {
            return Err(malformed("Policy statement must contain actions."));
        }
    }
    Ok(())
}

impl IamState {
    pub fn new(account_id: &str) -> IamState {
        IamState {
            account_id: account_id.to_string(),
            next_id: 1,
            ..IamState::default()
        }
    }

    /// Seeds roles and managed policies; versions are dated `now`.
    pub fn seed(&mut self, export: AccountExport, now: DateTime<Utc>) {
        for role in export.roles {
            let info = RoleInfo::from_role(&role);
            let Role {
                inline_policies,
                attached_policies,
                ..
            } = role;
            self.roles.insert(
                info.name.clone(),
                SimRole {
                    info,
                    inline: inline_policies,
                    attached: attached_policies,
                },
            );
        }
        for (arn, policy) in export.managed_policies {
            let ManagedPolicy {
                arn: _,
                name,
                path,
                policy_id,
                default_version_id,
                attachment_count,
                permissions_boundary_usage_count,
                document,
            } = policy;
            let number = default_version_id
                .trim_start_matches('v')
                .parse::<u32>()
                .unwrap_or(1);
            let version = SimVersion {
                id: default_version_id.clone(),
                document,
                create_date: now,
            };
            let info = PolicyInfo {
                arn: arn.clone(),
                name,
                path,
                policy_id,
                default_version_id,
                attachment_count,
                permissions_boundary_usage_count,
            };
            self.policies.insert(
                arn,
                SimPolicy {
                    info,
                    versions: vec![version],
                    next_version: number + 1,
                },
            );
        }
    }

    /// A fresh id with IAM's prefix (`AROA` roles, `ANPA` policies).
    pub fn new_id(&mut self, prefix: &str) -> String {
        let n = self.next_id;
        self.next_id += 1;
        format!("{prefix}SIM{n:014}")
    }

    pub fn role(&self, op: &'static str, name: &str) -> Result<&SimRole, AwsError> {
        self.roles.get(name).ok_or_else(|| no_role(op, name))
    }

    pub(super) fn role_mut(
        &mut self,
        op: &'static str,
        name: &str,
    ) -> Result<&mut SimRole, AwsError> {
        self.roles.get_mut(name).ok_or_else(|| no_role(op, name))
    }

    pub fn policy(&self, op: &'static str, arn: &str) -> Result<&SimPolicy, AwsError> {
        self.policies.get(arn).ok_or_else(|| no_policy(op, arn))
    }

    pub(super) fn policy_mut(
        &mut self,
        op: &'static str,
        arn: &str,
    ) -> Result<&mut SimPolicy, AwsError> {
        self.policies.get_mut(arn).ok_or_else(|| no_policy(op, arn))
    }

    /// A customer-managed policy that may be changed.
    pub(super) fn own_policy_mut(
        &mut self,
        op: &'static str,
        arn: &str,
    ) -> Result<&mut SimPolicy, AwsError> {
        if is_aws_managed(arn) && self.policies.contains_key(arn) {
            return Err(err(
                ErrorKind::AccessDenied,
                op,
                "AccessDenied",
                format!("Policy {arn} is managed by AWS and cannot be changed."),
            ));
        }
        self.policy_mut(op, arn)
    }

    /// Every role with its policies and every managed policy with its default document.
    pub fn export(&self) -> AccountExport {
        let roles = self
            .roles
            .values()
            .map(|r| {
                r.info
                    .clone()
                    .into_role(r.inline.clone(), r.attached.clone())
            })
            .collect();
        let managed_policies = self
            .policies
            .iter()
            .map(|(arn, p)| {
                let document = p
                    .version(&p.info.default_version_id)
                    .map(|v| v.document.clone());
                (
                    arn.clone(),
                    p.info.clone().into_managed(document.unwrap_or_default()),
                )
            })
            .collect();
        AccountExport {
            roles,
            managed_policies,
        }
    }
}

pub(super) fn check_managed_size(op: &'static str, document: &str) -> Result<(), AwsError> {
    if iam_size(document) > MAX_MANAGED_SIZE {
        let text = format!("Cannot exceed quota for PolicySize: {MAX_MANAGED_SIZE}");
        return Err(err(ErrorKind::LimitExceeded, op, "LimitExceeded", text));
    }
    Ok(())
}

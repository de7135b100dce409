//! Parsers for AWS's own export files.
//!
//! - `aws iam get-account-authorization-details` (roles, inline policies,
//!   attachments and managed policies with their versions);
//! - `aws iam get-service-last-accessed-details` for an `ACTION_LEVEL` job.
//!
//! The parsers take text, not files: the caller reads the file and adds its name
//! to the error. Errors name the element and what is wrong with it.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::Value;

use crate::document::decode_document_text;
use crate::model::{Granularity, ManagedPolicy, Role, ServiceUsage, Usage};

/// A problem with an export file's content.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("not the JSON of {expected}: {source}")]
    Json {
        expected: &'static str,
        source: serde_json::Error,
    },
    #[error("{at}: {problem}")]
    Invalid { at: String, problem: String },
}

/// Roles and managed policies of one account.
#[derive(Debug, Clone, Default)]
pub struct AccountExport {
    pub roles: Vec<Role>,
    /// Managed policies by ARN.
    pub managed_policies: BTreeMap<String, ManagedPolicy>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RawDetails {
    role_detail_list: Vec<RawRole>,
    #[serde(default)]
    policies: Vec<RawPolicy>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RawRole {
    path: String,
    role_name: String,
    role_id: String,
    arn: String,
    create_date: String,
    #[serde(default)]
    role_policy_list: Vec<RawInline>,
    #[serde(default)]
    attached_managed_policies: Vec<RawAttached>,
    #[serde(default)]
    tags: Vec<RawTag>,
    #[serde(default)]
    role_last_used: Option<RawLastUsed>,
    #[serde(default)]
    permissions_boundary: Option<RawBoundary>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RawInline {
    policy_name: String,
    policy_document: Value,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RawAttached {
    policy_arn: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RawTag {
    key: String,
    value: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RawLastUsed {
    last_used_date: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RawBoundary {
    permissions_boundary_arn: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RawPolicy {
    policy_name: String,
    policy_id: String,
    arn: String,
    path: String,
    default_version_id: String,
    #[serde(default)]
    attachment_count: u32,
    #[serde(default)]
    permissions_boundary_usage_count: u32,
    #[serde(default)]
    policy_version_list: Vec<RawVersion>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RawVersion {
    document: Value,
    version_id: String,
    #[serde(default)]
    is_default_version: bool,
}

/// Parses the output of `aws iam get-account-authorization-details`.
pub fn parse_authorization_details(text: &str) -> Result<AccountExport, ExportError> {
    let raw: RawDetails = serde_json::from_str(text).map_err(|source| ExportError::Json {
        expected: "get-account-authorization-details (RoleDetailList, Policies)",
        source,
    })?;
    let mut out = AccountExport::default();
    for (i, r) in raw.role_detail_list.into_iter().enumerate() {
        let at = format!("RoleDetailList[{i}] ({})", r.role_name);
        let mut inline_policies = BTreeMap::new();
        for (j, p) in r.role_policy_list.into_iter().enumerate() {
            let doc = document_text(p.policy_document).map_err(|problem| {
                invalid(format!("{at}.RolePolicyList[{j}].PolicyDocument"), problem)
            })?;
            inline_policies.insert(p.policy_name, doc);
        }
        let last_used = match r.role_last_used.and_then(|l| l.last_used_date) {
            Some(d) => Some(
                parse_time(&d)
                    .map_err(|p| invalid(format!("{at}.RoleLastUsed.LastUsedDate"), p))?,
            ),
            None => None,
        };
        out.roles.push(Role {
            create_date: parse_time(&r.create_date)
                .map_err(|p| invalid(format!("{at}.CreateDate"), p))?,
            arn: r.arn,
            role_id: r.role_id,
            name: r.role_name,
            path: r.path,
            tags: r.tags.into_iter().map(|t| (t.key, t.value)).collect(),
            permissions_boundary: r.permissions_boundary.map(|b| b.permissions_boundary_arn),
            last_used,
            inline_policies,
            attached_policies: r
                .attached_managed_policies
                .into_iter()
                .map(|a| a.policy_arn)
                .collect(),
        });
    }
    for (i, p) in raw.policies.into_iter().enumerate() {
        let at = format!("Policies[{i}] ({})", p.policy_name);
        let default = p
            .policy_version_list
            .into_iter()
            .find(|v| v.is_default_version || v.version_id == p.default_version_id)
            .ok_or_else(|| {
                invalid(
                    format!("{at}.PolicyVersionList"),
                    format!("has no default version ({})", p.default_version_id),
                )
            })?;
        let document = document_text(default.document)
            .map_err(|problem| invalid(format!("{at}.PolicyVersionList.Document"), problem))?;
        out.managed_policies.insert(
            p.arn.clone(),
            ManagedPolicy {
                arn: p.arn,
                name: p.policy_name,
                path: p.path,
                policy_id: p.policy_id,
                default_version_id: p.default_version_id,
                attachment_count: p.attachment_count,
                permissions_boundary_usage_count: p.permissions_boundary_usage_count,
                document,
            },
        );
    }
    Ok(out)
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RawLastAccessed {
    job_status: String,
    #[serde(default)]
    job_type: Option<String>,
    job_completion_date: Option<String>,
    #[serde(default)]
    services_last_accessed: Vec<RawServiceAccess>,
    #[serde(default)]
    is_truncated: bool,
    #[serde(default)]
    error: Option<Value>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RawServiceAccess {
    service_namespace: String,
    last_authenticated: Option<String>,
    #[serde(default)]
    tracked_actions_last_accessed: Option<Vec<RawActionAccess>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RawActionAccess {
    action_name: String,
    last_accessed_time: Option<String>,
}

/// Parses the output of `aws iam get-service-last-accessed-details`.
pub fn parse_last_accessed(text: &str) -> Result<Usage, ExportError> {
    let raw: RawLastAccessed = serde_json::from_str(text).map_err(|source| ExportError::Json {
        expected: "get-service-last-accessed-details (JobStatus, ServicesLastAccessed)",
        source,
    })?;
    if raw.job_status != "COMPLETED" {
        let detail = raw.error.map(|e| format!(" ({e})")).unwrap_or_default();
        return Err(invalid(
            "JobStatus".into(),
            format!("is {:?}, not \"COMPLETED\"{detail}", raw.job_status),
        ));
    }
    if raw.is_truncated {
        return Err(invalid(
            "IsTruncated".into(),
            "is true: the report is one page of several; export every page into one file".into(),
        ));
    }
    let observed_at = match raw.job_completion_date {
        Some(d) => parse_time(&d).map_err(|p| invalid("JobCompletionDate".into(), p))?,
        None => return Err(invalid("JobCompletionDate".into(), "is missing".into())),
    };
    let granularity = match raw.job_type.as_deref() {
        Some("ACTION_LEVEL") => Granularity::Action,
        Some("SERVICE_LEVEL") | None => Granularity::Service,
        Some(other) => {
            return Err(invalid(
                "JobType".into(),
                format!("is {other:?}, not \"ACTION_LEVEL\" or \"SERVICE_LEVEL\""),
            ));
        }
    };
    let mut services = BTreeMap::new();
    for (i, s) in raw.services_last_accessed.into_iter().enumerate() {
        let at = format!("ServicesLastAccessed[{i}] ({})", s.service_namespace);
        let last_authenticated = match s.last_authenticated {
            Some(d) => {
                Some(parse_time(&d).map_err(|p| invalid(format!("{at}.LastAuthenticated"), p))?)
            }
            None => None,
        };
        let mut actions = BTreeMap::new();
        for (j, a) in s
            .tracked_actions_last_accessed
            .unwrap_or_default()
            .into_iter()
            .enumerate()
        {
            let when = match a.last_accessed_time {
                Some(d) => Some(parse_time(&d).map_err(|p| {
                    invalid(
                        format!("{at}.TrackedActionsLastAccessed[{j}].LastAccessedTime"),
                        p,
                    )
                })?),
                None => None,
            };
            actions.insert(a.action_name.to_ascii_lowercase(), when);
        }
        services.insert(
            s.service_namespace.to_ascii_lowercase(),
            ServiceUsage {
                last_authenticated,
                actions,
            },
        );
    }
    Ok(Usage {
        observed_at,
        granularity,
        services,
    })
}

/// The account in the shape `get-account-authorization-details` prints (roles
/// and managed policies with their default version): the inverse of
/// [`parse_authorization_details`], used to keep a simulated account on disk.
pub fn to_authorization_details(export: &AccountExport) -> Value {
    let time =
        |t: DateTime<Utc>| Value::String(t.to_rfc3339_opts(chrono::SecondsFormat::Secs, false));
    let doc = |text: &str| {
        serde_json::from_str::<Value>(text).unwrap_or_else(|_| Value::String(text.to_string()))
    };
    let roles: Vec<Value> = export
        .roles
        .iter()
        .map(|r| {
            let mut role = serde_json::json!({
                "Path": r.path,
                "RoleName": r.name,
                "RoleId": r.role_id,
                "Arn": r.arn,
                "CreateDate": time(r.create_date),
                "RolePolicyList": r.inline_policies.iter()
                    .map(|(n, d)| serde_json::json!({"PolicyName": n, "PolicyDocument": doc(d)}))
                    .collect::<Vec<_>>(),
                "AttachedManagedPolicies": r.attached_policies.iter()
                    .map(|a| serde_json::json!({"PolicyName": a.rsplit('/').next().unwrap_or(a), "PolicyArn": a}))
                    .collect::<Vec<_>>(),
                "Tags": r.tags.iter().map(|(k, v)| serde_json::json!({"Key": k, "Value": v})).collect::<Vec<_>>(),
                "RoleLastUsed": r.last_used.map(|t| serde_json::json!({"LastUsedDate": time(t)})).unwrap_or(serde_json::json!({})),
            });
            if let Some(b) = &r.permissions_boundary {
                role["PermissionsBoundary"] = serde_json::json!({
                    "PermissionsBoundaryType": "Policy", "PermissionsBoundaryArn": b
                });
            }
            role
        })
        .collect();
    let policies: Vec<Value> = export
        .managed_policies
        .values()
        .map(|p| {
            serde_json::json!({
                "PolicyName": p.name,
                "PolicyId": p.policy_id,
                "Arn": p.arn,
                "Path": p.path,
                "DefaultVersionId": p.default_version_id,
                "AttachmentCount": p.attachment_count,
                "PermissionsBoundaryUsageCount": p.permissions_boundary_usage_count,
                "IsAttachable": true,
                "PolicyVersionList": [{
                    "Document": doc(&p.document),
                    "VersionId": p.default_version_id,
                    "IsDefaultVersion": true
                }]
            })
        })
        .collect();
    serde_json::json!({
        "UserDetailList": [],
        "GroupDetailList": [],
        "RoleDetailList": roles,
        "Policies": policies,
        "IsTruncated": false
    })
}

fn invalid(at: String, problem: String) -> ExportError {
    ExportError::Invalid { at, problem }
}

/// A document given as a JSON object or as (URL-encoded) text.
fn document_text(v: Value) -> Result<String, String> {
    match v {
        Value::String(s) => Ok(decode_document_text(&s)),
        obj @ Value::Object(_) => Ok(obj.to_string()),
        other => Err(format!("is {other}, neither a JSON object nor a string")),
    }
}

/// Parses the timestamps the AWS CLI prints (`2026-11-19T08:00:00+00:00`, `...Z`).
pub fn parse_time(text: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(text)
        .map(|d| d.with_timezone(&Utc))
        .map_err(|e| format!("{text:?} is not an RFC 3339 date-time ({e})"))
}

#[cfg(test)]
mod tests;

//! SDK answers to the project's types, in one place.
//!
//! Every SDK shape is read field by field here; a required field the service
//! left out is an error of kind [`ErrorKind::Other`] naming the operation and
//! the field. Documents are decoded with
//! [`whittle_policy::document::decode_document_text`] by the callers.

use std::collections::BTreeMap;

use aws_sdk_iam::operation::get_service_last_accessed_details::GetServiceLastAccessedDetailsOutput;
use aws_sdk_iam::operation::list_attached_role_policies::ListAttachedRolePoliciesOutput;
use aws_sdk_iam::operation::list_policy_versions::ListPolicyVersionsOutput;
use aws_sdk_iam::operation::list_role_policies::ListRolePoliciesOutput;
use aws_sdk_iam::operation::list_roles::ListRolesOutput;
use aws_sdk_iam::types::{
    AccessAdvisorUsageGranularityType, JobStatusType, Policy, PolicyVersion, Role,
    ServiceLastAccessed,
};
use chrono::{DateTime, Utc};
use whittle_policy::model::{Granularity, ServiceUsage, Usage};

use crate::error::{AwsError, ErrorKind};
use crate::types::{LastAccessedJob, PolicyInfo, PolicyVersionInfo, RoleInfo};

/// One page of a list answer.
pub(super) trait Page {
    fn truncated(&self) -> bool;
    fn next(&self) -> Option<&str>;
}

macro_rules! page {
    ($($output:ty),* $(,)?) => {
        $(impl Page for $output {
            fn truncated(&self) -> bool {
                self.is_truncated()
            }
            fn next(&self) -> Option<&str> {
                self.marker()
            }
        })*
    };
}

page!(
    ListRolesOutput,
    ListRolePoliciesOutput,
    ListAttachedRolePoliciesOutput,
    ListPolicyVersionsOutput,
    GetServiceLastAccessedDetailsOutput,
);

/// The marker of the next page, or `None` after the last page. A truncated
/// answer without a new marker would loop for ever: it is an error.
pub(super) fn next_marker(
    operation: &'static str,
    page: &impl Page,
    previous: Option<&str>,
) -> Result<Option<String>, AwsError> {
    if !page.truncated() {
        return Ok(None);
    }
    match page.next() {
        Some(next) if !next.is_empty() && Some(next) != previous => Ok(Some(next.to_string())),
        Some(_) => Err(bad_answer(
            operation,
            "IsTruncated is true but Marker did not advance",
        )),
        None => Err(missing(operation, "Marker (IsTruncated is true)")),
    }
}

pub(super) fn missing(operation: &'static str, field: &str) -> AwsError {
    bad_answer(operation, &format!("the answer has no {field}"))
}

fn bad_answer(operation: &'static str, problem: &str) -> AwsError {
    AwsError::new(ErrorKind::Other, operation, problem.to_string())
}

pub(super) fn time(
    operation: &'static str,
    field: &str,
    t: &aws_smithy_types::DateTime,
) -> Result<DateTime<Utc>, AwsError> {
    DateTime::from_timestamp(t.secs(), t.subsec_nanos())
        .ok_or_else(|| bad_answer(operation, &format!("{field} {t} is out of range")))
}

fn opt_time(
    operation: &'static str,
    field: &str,
    t: Option<&aws_smithy_types::DateTime>,
) -> Result<Option<DateTime<Utc>>, AwsError> {
    t.map(|t| time(operation, field, t)).transpose()
}

fn count(value: Option<i32>) -> u32 {
    value.and_then(|v| u32::try_from(v).ok()).unwrap_or(0)
}

pub(super) fn role_info(operation: &'static str, role: &Role) -> Result<RoleInfo, AwsError> {
    Ok(RoleInfo {
        arn: role.arn().to_string(),
        role_id: role.role_id().to_string(),
        name: role.role_name().to_string(),
        path: role.path().to_string(),
        create_date: time(operation, "CreateDate", role.create_date())?,
        tags: role
            .tags()
            .iter()
            .map(|t| (t.key().to_string(), t.value().to_string()))
            .collect(),
        permissions_boundary: role
            .permissions_boundary()
            .and_then(|b| b.permissions_boundary_arn())
            .map(str::to_string),
        last_used: opt_time(
            operation,
            "RoleLastUsed.LastUsedDate",
            role.role_last_used().and_then(|u| u.last_used_date()),
        )?,
    })
}

pub(super) fn policy_info(operation: &'static str, p: &Policy) -> Result<PolicyInfo, AwsError> {
    let field = |value: Option<&str>, name: &str| {
        value
            .map(str::to_string)
            .ok_or_else(|| missing(operation, &format!("Policy.{name}")))
    };
    Ok(PolicyInfo {
        arn: field(p.arn(), "Arn")?,
        name: field(p.policy_name(), "PolicyName")?,
        path: p.path().unwrap_or("/").to_string(),
        policy_id: field(p.policy_id(), "PolicyId")?,
        default_version_id: field(p.default_version_id(), "DefaultVersionId")?,
        attachment_count: count(p.attachment_count()),
        permissions_boundary_usage_count: count(p.permissions_boundary_usage_count()),
    })
}

pub(super) fn version_info(
    operation: &'static str,
    v: &PolicyVersion,
) -> Result<PolicyVersionInfo, AwsError> {
    Ok(PolicyVersionInfo {
        version_id: v
            .version_id()
            .map(str::to_string)
            .ok_or_else(|| missing(operation, "PolicyVersion.VersionId"))?,
        is_default: v.is_default_version(),
        create_date: opt_time(operation, "PolicyVersion.CreateDate", v.create_date())?,
    })
}

/// Merges the pages of one access advisor report.
#[derive(Debug, Default)]
pub(super) struct ReportBuilder {
    first: Option<(DateTime<Utc>, Granularity)>,
    services: BTreeMap<String, ServiceUsage>,
}

impl ReportBuilder {
    /// Adds a page. Answers at once when the job is not completed.
    pub fn add_page(
        &mut self,
        operation: &'static str,
        page: &GetServiceLastAccessedDetailsOutput,
    ) -> Result<Option<LastAccessedJob>, AwsError> {
        match page.job_status() {
            JobStatusType::Completed => {}
            JobStatusType::InProgress => return Ok(Some(LastAccessedJob::InProgress)),
            JobStatusType::Failed => {
                let reason = page
                    .error()
                    .map(|e| format!("{}: {}", e.code(), e.message()))
                    .unwrap_or_else(|| "no reason given".to_string());
                return Ok(Some(LastAccessedJob::Failed(reason)));
            }
            other => {
                return Err(bad_answer(
                    operation,
                    &format!(
                        "JobStatus {:?} is not one of IN_PROGRESS, COMPLETED, FAILED",
                        other.as_str()
                    ),
                ));
            }
        }
        if self.first.is_none() {
            // The SDK fills a missing required date with the epoch.
            let completed = page.job_completion_date();
            if completed.secs() == 0 && completed.subsec_nanos() == 0 {
                return Err(missing(
                    operation,
                    "JobCompletionDate (JobStatus is COMPLETED)",
                ));
            }
            let observed_at = time(operation, "JobCompletionDate", completed)?;
            let granularity = match page.job_type() {
                Some(AccessAdvisorUsageGranularityType::ActionLevel) => Granularity::Action,
                Some(AccessAdvisorUsageGranularityType::ServiceLevel) | None => {
                    Granularity::Service
                }
                Some(other) => {
                    return Err(bad_answer(
                        operation,
                        &format!(
                            "JobType {:?} is not ACTION_LEVEL or SERVICE_LEVEL",
                            other.as_str()
                        ),
                    ));
                }
            };
            self.first = Some((observed_at, granularity));
        }
        for service in page.services_last_accessed() {
            self.add_service(operation, service)?;
        }
        Ok(None)
    }

    fn add_service(
        &mut self,
        operation: &'static str,
        s: &ServiceLastAccessed,
    ) -> Result<(), AwsError> {
        let namespace = s.service_namespace().to_ascii_lowercase();
        let field = format!("ServicesLastAccessed ({namespace})");
        let last = opt_time(
            operation,
            &format!("{field}.LastAuthenticated"),
            s.last_authenticated(),
        )?;
        let entry = self.services.entry(namespace).or_default();
        entry.last_authenticated = entry.last_authenticated.max(last);
        for action in s.tracked_actions_last_accessed() {
            let Some(name) = action.action_name() else {
                return Err(missing(
                    operation,
                    &format!("{field}.TrackedActionsLastAccessed.ActionName"),
                ));
            };
            let when = opt_time(
                operation,
                &format!("{field}.TrackedActionsLastAccessed ({name}).LastAccessedTime"),
                action.last_accessed_time(),
            )?;
            let slot = entry
                .actions
                .entry(name.to_ascii_lowercase())
                .or_insert(None);
            *slot = (*slot).max(when);
        }
        Ok(())
    }

    /// The merged report, after the last page.
    pub fn finish(self, operation: &'static str) -> Result<LastAccessedJob, AwsError> {
        let (observed_at, granularity) =
            self.first.ok_or_else(|| missing(operation, "JobStatus"))?;
        Ok(LastAccessedJob::Completed(Usage {
            observed_at,
            granularity,
            services: self.services,
        }))
    }
}

//! Plans rendered for people and machines: the JSON the `plan` command prints
//! and the sentences that explain each decision.

use std::collections::BTreeSet;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;
use serde_json::Value;

use crate::catalogue::Catalogue;
use crate::decision::{Reason, UnknownKind};
use crate::plan::{ActionRef, ManagedOutcome, PolicyKind, RolePlan};
use crate::settings::Settings;

/// One role in the `plan` output.
#[derive(Debug, Clone, Serialize)]
pub struct RoleReport {
    pub arn: String,
    pub role_name: String,
    pub role_id: String,
    pub skipped: Option<String>,
    pub removable: Vec<DecisionReport>,
    pub kept: Vec<DecisionReport>,
    /// Changed inline policies: the new document, or `null` when deleted.
    pub new_inline_policies: serde_json::Map<String, Value>,
    pub managed_policies: Vec<ManagedReport>,
    pub diagnostics: Vec<String>,
    pub fingerprint: String,
    pub catalogue_version: String,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct DecisionReport {
    /// `service:Action` in the catalogue's case, or the name as written.
    pub action: String,
    /// Inline policy name, or managed policy ARN.
    pub policy: String,
    pub reason: String,
    pub code: &'static str,
}

#[derive(Debug, Clone, Serialize)]
pub struct ManagedReport {
    pub arn: String,
    /// `left_alone`, `trim`, `replace_with_copy`, `detach` or `not_in_inventory`.
    pub outcome: &'static str,
    pub new_document: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub copy_arn: Option<String>,
}

impl RoleReport {
    /// The actions the plan removes, sorted, each once: what an approval announces.
    pub fn removed_actions(&self) -> Vec<String> {
        let mut actions: Vec<String> = self.removable.iter().map(|d| d.action.clone()).collect();
        actions.sort();
        actions.dedup();
        actions
    }
}

/// The actions of `removals` that `announced` does not name, compared without case (as IAM
/// compares action names), in the order of `removals`.
pub fn unannounced<'a>(removals: &'a [String], announced: &[String]) -> Vec<&'a str> {
    let announced: BTreeSet<String> = announced.iter().map(|a| a.to_ascii_lowercase()).collect();
    removals
        .iter()
        .filter(|r| !announced.contains(&r.to_ascii_lowercase()))
        .map(String::as_str)
        .collect()
}

impl RolePlan {
    /// The plan as the `plan` command reports it.
    pub fn report(&self, catalogue: &Catalogue, settings: &Settings) -> RoleReport {
        let mut removable = BTreeSet::new();
        let mut kept = BTreeSet::new();
        for d in &self.decisions {
            let source = &self.policies[d.policy as usize];
            let policy = match source.kind {
                PolicyKind::Inline => source.name.clone(),
                PolicyKind::Managed => source.arn.clone().unwrap_or_else(|| source.name.clone()),
            };
            let (action, service) = match d.action {
                ActionRef::Known(id) => (
                    catalogue.full_name(id),
                    catalogue.service_of(id).prefix.clone(),
                ),
                ActionRef::Named(i) => {
                    let name = self.names.get(i as usize).cloned().unwrap_or_default();
                    let svc = name.split(':').next().unwrap_or_default().to_string();
                    (name, svc)
                }
            };
            let entry = DecisionReport {
                action,
                policy,
                reason: self.explain(d.reason, &service, settings),
                code: d.reason.code(),
            };
            if d.reason.is_removable() {
                removable.insert(entry);
            } else {
                kept.insert(entry);
            }
        }
        RoleReport {
            arn: self.role_arn.clone(),
            role_name: self.role_name.clone(),
            role_id: self.role_id.clone(),
            skipped: self.skipped.clone(),
            removable: removable.into_iter().collect(),
            kept: kept.into_iter().collect(),
            new_inline_policies: self
                .new_inline_policies
                .iter()
                .map(|(k, v)| (k.clone(), v.as_deref().map(as_json).unwrap_or(Value::Null)))
                .collect(),
            managed_policies: self
                .managed
                .iter()
                .map(|m| {
                    let (new_document, copy_arn) = match &m.outcome {
                        ManagedOutcome::Trim { document } => (Some(as_json(document)), None),
                        ManagedOutcome::ReplaceWithCopy {
                            copy_arn, document, ..
                        } => (Some(as_json(document)), Some(copy_arn.clone())),
                        _ => (None, None),
                    };
                    ManagedReport {
                        arn: m.arn.clone(),
                        outcome: m.outcome.label(),
                        new_document,
                        copy_arn,
                    }
                })
                .collect(),
            diagnostics: self.diagnostics.clone(),
            fingerprint: self.fingerprint.clone(),
            catalogue_version: self.catalogue_version.clone(),
        }
    }

    /// One sentence on why an action is removable or kept.
    pub fn explain(&self, reason: Reason, service: &str, s: &Settings) -> String {
        let days = |t: DateTime<Utc>| (self.planned_at - t).num_days();
        match reason {
            Reason::ServiceNeverUsed => format!("service {service} not used in the tracking period"),
            Reason::ServiceUnused { last } => format!(
                "service {service} last used {}, {} days ago (unused for more than {} days)",
                date(last), days(last), s.unused_days
            ),
            Reason::ActionNeverUsed => {
                format!("not used in the tracking period (tracked at action level), though {service} was used")
            }
            Reason::ActionUnused { last } => format!(
                "last used {}, {} days ago (unused for more than {} days)",
                date(last), days(last), s.unused_days
            ),
            Reason::ActionUsed { last } => format!("used {}, {} days ago", date(last), days(last)),
            Reason::ServiceUsedNotTracked { last } => format!(
                "service {service} used {}; access advisor does not track this action, so its own use cannot be told",
                date(last)
            ),
            Reason::NeverRemove { pattern } => format!(
                "matches never-remove pattern {}",
                s.never_remove.get(pattern as usize).map(String::as_str).unwrap_or("?")
            ),
            Reason::Excluded { pattern } => format!(
                "matches exclusion {}",
                s.exclusions.get(pattern as usize).map(String::as_str).unwrap_or("?")
            ),
            Reason::Norepo => format!("in a statement whose Sid starts with {}", s.norepo_sid_prefix),
            Reason::RoleTooYoung => format!(
                "role created {}, less than {} days ago",
                date(self.role_created), s.min_role_age_days
            ),
            Reason::UsageStale => match self.usage_observed_at {
                Some(t) if t > self.planned_at => format!("usage data observed {}, after the planning time", date(t)),
                Some(t) => format!(
                    "usage data observed {}, more than {} days before the planning time",
                    date(t), s.max_usage_age_days
                ),
                None => "usage data is stale".to_string(),
            },
            Reason::NoUsageData => "no usage data for the role".to_string(),
            Reason::ServiceNotInReport => format!("service {service} is not in the usage report"),
            Reason::NotInCatalogue(kind) => match kind {
                UnknownKind::Retired => "retired by AWS (listed only by older catalogues); kept as written",
                UnknownKind::UnknownAction => "not in the action catalogue (a typo, or newer than the catalogue); kept as written",
                UnknownKind::UnknownService => "unknown service prefix; kept as written",
                UnknownKind::Malformed => "not of the form service:action; kept as written",
            }
            .to_string(),
            Reason::PlanRefused => "unused, but the role's plan was refused (see skipped)".to_string(),
        }
    }
}

fn date(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn as_json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.to_string()))
}

//! Plans rendered for the terminal and as JSON.

use std::collections::BTreeMap;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;

use whittle_policy::report::{DecisionReport, RoleReport};
use whittle_policy::{Catalogue, RolePlan, Settings};

/// What `plan --output json` prints.
#[derive(Debug, Clone, Serialize)]
pub struct PlanOutput {
    pub roles: Vec<RoleReport>,
    pub summary: Summary,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Summary {
    pub now: String,
    pub catalogue_version: String,
    pub unused_days: u32,
    pub min_role_age_days: u32,
    pub max_usage_age_days: u32,
    pub roles: usize,
    pub roles_skipped: usize,
    pub roles_with_changes: usize,
    /// Removable (action, policy) pairs over all roles.
    pub removable: usize,
    /// Kept (action, policy) pairs over all roles.
    pub kept: usize,
    pub inline_policies_rewritten: usize,
    pub inline_policies_deleted: usize,
    pub managed_policies_trimmed: usize,
    pub managed_policies_replaced_with_copy: usize,
    pub managed_policies_detached: usize,
}

impl PlanOutput {
    pub fn new(
        plans: &[RolePlan],
        catalogue: &Catalogue,
        settings: &Settings,
        now: DateTime<Utc>,
    ) -> Self {
        let roles: Vec<RoleReport> = plans
            .iter()
            .map(|p| p.report(catalogue, settings))
            .collect();
        let mut s = Summary {
            now: now.to_rfc3339_opts(SecondsFormat::Secs, true),
            catalogue_version: catalogue.version().to_string(),
            unused_days: settings.unused_days,
            min_role_age_days: settings.min_role_age_days,
            max_usage_age_days: settings.max_usage_age_days,
            roles: roles.len(),
            ..Summary::default()
        };
        for (plan, r) in plans.iter().zip(&roles) {
            s.roles_skipped += usize::from(r.skipped.is_some());
            s.roles_with_changes += usize::from(plan.has_changes());
            s.removable += r.removable.len();
            s.kept += r.kept.len();
            for doc in r.new_inline_policies.values() {
                if doc.is_null() {
                    s.inline_policies_deleted += 1;
                } else {
                    s.inline_policies_rewritten += 1;
                }
            }
            for m in &r.managed_policies {
                match m.outcome {
                    "trim" => s.managed_policies_trimmed += 1,
                    "replace_with_copy" => s.managed_policies_replaced_with_copy += 1,
                    "detach" => s.managed_policies_detached += 1,
                    _ => {}
                }
            }
        }
        PlanOutput { roles, summary: s }
    }
}

/// Prints the plan as a readable per-role summary.
pub fn print_plan_table(out: &PlanOutput) {
    let s = &out.summary;
    crate::say!(
        "Plan at {} (unused after {} days; roles younger than {} days and usage data older than {} days are left alone)",
        s.now,
        s.unused_days,
        s.min_role_age_days,
        s.max_usage_age_days
    );
    crate::say!("Action catalogue: {}", s.catalogue_version);
    crate::say!();
    let width = out
        .roles
        .iter()
        .map(|r| r.role_name.len())
        .max()
        .unwrap_or(4)
        .max(4);
    crate::say!(
        "{:<width$}  {:>9}  {:>6}  OUTCOME",
        "ROLE",
        "REMOVABLE",
        "KEPT"
    );
    for r in &out.roles {
        crate::say!(
            "{:<width$}  {:>9}  {:>6}  {}",
            r.role_name,
            r.removable.len(),
            r.kept.len(),
            outcome(r)
        );
    }
    for r in &out.roles {
        print_role(r);
    }
    crate::say!();
    crate::say!(
        "Total: {} roles, {} with changes, {} skipped; {} removable and {} kept (action, policy) pairs",
        s.roles,
        s.roles_with_changes,
        s.roles_skipped,
        s.removable,
        s.kept
    );
    crate::say!(
        "Inline policies: {} rewritten, {} deleted. Managed policies: {} trimmed, {} replaced by a trimmed copy, {} detached.",
        s.inline_policies_rewritten,
        s.inline_policies_deleted,
        s.managed_policies_trimmed,
        s.managed_policies_replaced_with_copy,
        s.managed_policies_detached
    );
    crate::say!("Nothing was changed: this is a plan.");
}

fn outcome(r: &RoleReport) -> String {
    if let Some(why) = &r.skipped {
        return format!("skipped: {why}");
    }
    let mut parts = Vec::new();
    for (name, doc) in &r.new_inline_policies {
        parts.push(if doc.is_null() {
            format!("delete inline {name}")
        } else {
            format!("rewrite inline {name}")
        });
    }
    for m in &r.managed_policies {
        let name = m.arn.rsplit('/').next().unwrap_or(&m.arn);
        match m.outcome {
            "trim" => parts.push(format!("trim {name}")),
            "replace_with_copy" => parts.push(format!("replace {name} with a trimmed copy")),
            "detach" => parts.push(format!("detach {name}")),
            _ => {}
        }
    }
    if parts.is_empty() {
        "no change".to_string()
    } else {
        parts.join(", ")
    }
}

fn print_role(r: &RoleReport) {
    if r.removable.is_empty()
        && r.kept.is_empty()
        && r.diagnostics.is_empty()
        && r.skipped.is_none()
    {
        return;
    }
    crate::say!();
    crate::say!("{}  ({})", r.role_name, r.arn);
    if let Some(why) = &r.skipped {
        crate::say!("  skipped: {why}");
    }
    for g in group(&r.removable) {
        crate::say!(
            "  remove {} from {}: {}",
            g.what,
            g.policy,
            sample(&g.names)
        );
        crate::say!("      because {}", g.reason);
    }
    let mut kept_by_code: BTreeMap<&str, usize> = BTreeMap::new();
    for k in &r.kept {
        *kept_by_code.entry(k.code).or_default() += 1;
    }
    if !kept_by_code.is_empty() {
        let list: Vec<String> = kept_by_code
            .iter()
            .map(|(c, n)| format!("{n} {}", c.replace('_', " ")))
            .collect();
        crate::say!("  keep: {}", list.join("; "));
    }
    for d in &r.diagnostics {
        crate::say!("  note: {d}");
    }
}

/// Removable actions of one policy that share a reason.
struct Group {
    policy: String,
    /// How many of what, e.g. `41 s3 action(s)`.
    what: String,
    reason: String,
    names: Vec<String>,
}

/// Removable actions grouped by policy, reason and service. Services never used
/// at all are grouped together, so a `*` role stays readable.
fn group(list: &[DecisionReport]) -> Vec<Group> {
    let mut by_service: BTreeMap<(String, String, String), Vec<String>> = BTreeMap::new();
    let mut never_used: BTreeMap<String, BTreeMap<String, usize>> = BTreeMap::new();
    for d in list {
        let (service, name) = d.action.split_once(':').unwrap_or(("?", &d.action));
        let reason = match d.code {
            "service_never_used" => {
                let services = never_used.entry(d.policy.clone()).or_default();
                *services.entry(service.to_string()).or_default() += 1;
                continue;
            }
            "action_unused" => "each was last used before the unused window".to_string(),
            "action_never_used" => {
                format!("{service} was used, but none of these actions (tracked at action level)")
            }
            _ => d.reason.clone(),
        };
        let key = (d.policy.clone(), service.to_string(), reason);
        by_service.entry(key).or_default().push(name.to_string());
    }
    let mut out: Vec<Group> = by_service
        .into_iter()
        .map(|((policy, service, reason), names)| Group {
            what: format!("{} {service} action(s)", names.len()),
            policy,
            reason,
            names,
        })
        .collect();
    for (policy, services) in never_used {
        let total: usize = services.values().sum();
        out.push(Group {
            what: format!("{total} action(s) of {} service(s)", services.len()),
            policy,
            reason: "these services were not used in the tracking period".to_string(),
            names: services.iter().map(|(s, n)| format!("{s} ({n})")).collect(),
        });
    }
    out.sort_by(|a, b| (&a.policy, &a.what).cmp(&(&b.policy, &b.what)));
    out
}

fn sample(actions: &[String]) -> String {
    const SHOW: usize = 6;
    let mut s = actions
        .iter()
        .take(SHOW)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if actions.len() > SHOW {
        s.push_str(&format!(", ... (+{} more)", actions.len() - SHOW));
    }
    s
}

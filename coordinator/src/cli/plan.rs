//! `whittle plan show`: a role's latest plan made readable. Removable actions grouped by
//! service with their reasons, then each changed policy as a diff of before and after.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};
use whittle_proto::admin::v1 as pb;
use whittle_proto::convert::PlanSummary;

use super::diff::{DiffLine, line_diff};
use super::error::CliError;
use super::render::Rendered;

/// One action the plan removes, as the agent's report lists it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Removal {
    action: String,
    policy: String,
    reason: String,
}

/// The rendered plan of a `GetPlan` answer.
pub fn show(response: pb::GetPlanResponse) -> Result<Rendered, CliError> {
    let unreadable = |problem: String| CliError::Refused {
        what: "read plans".into(),
        code: tonic::Code::DataLoss,
        message: format!("unreadable plan: {problem}"),
    };
    let announcements = response.announcements;
    let plan = response
        .plan
        .ok_or_else(|| unreadable("the answer has no plan".into()))?;
    let plan = PlanSummary::try_from(plan).map_err(|e| unreadable(e.to_string()))?;
    let report: Value = serde_json::from_str(&plan.report_json)
        .map_err(|e| unreadable(format!("report_json is not json: {e}")))?;
    let groups = by_service(&removals(&report));
    let diffs = policy_diffs(&plan);
    let mut json = plan_json(&plan, &groups, &diffs, report);
    json["announcements"] = Value::Array(announcements.iter().map(announcement_json).collect());
    let mut table = announcements_text(&announcements);
    table.push_str(&plan_text(&plan, &groups, &diffs));
    Ok(Rendered {
        csv: None,
        json,
        table,
    })
}

fn announcement_json(a: &pb::Announcement) -> Value {
    json!({
        "decision_id": a.decision_id,
        "campaign_id": a.campaign_id,
        "wave": a.wave,
        "not_before": a.not_before,
        "removals": a.removals,
        "status": a.status,
    })
}

/// What is announced for the role, first: what will be removed and when.
fn announcements_text(list: &[pb::Announcement]) -> String {
    let mut out = String::new();
    for a in list {
        out.push_str(&format!(
            "ANNOUNCED: {} action(s) will be removed no earlier than {} ({})\n",
            a.removals.len(),
            a.not_before,
            a.status
        ));
        for action in &a.removals {
            out.push_str(&format!("  - {action}\n"));
        }
    }
    if !out.is_empty() {
        out.push('\n');
    }
    out
}

fn removals(report: &Value) -> Vec<Removal> {
    let text = |v: &Value, key: &str| v[key].as_str().unwrap_or_default().to_string();
    let mut out: Vec<Removal> = report["removable"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|d| Removal {
            action: text(d, "action"),
            policy: text(d, "policy"),
            reason: text(d, "reason"),
        })
        .collect();
    out.sort();
    out
}

/// Removals by service, the part of the action before the colon.
fn by_service(removals: &[Removal]) -> BTreeMap<String, Vec<Removal>> {
    let mut groups: BTreeMap<String, Vec<Removal>> = BTreeMap::new();
    for r in removals {
        let service = r.action.split_once(':').map_or("(other)", |(s, _)| s);
        groups
            .entry(service.to_lowercase())
            .or_default()
            .push(r.clone());
    }
    groups
}

/// One policy's before and after, as lines of a diff; empty when unchanged.
#[derive(Debug, Clone)]
struct PolicyDiff {
    policy: String,
    lines: Vec<DiffLine>,
}

fn policy_diffs(plan: &PlanSummary) -> Vec<PolicyDiff> {
    let before = &plan.before;
    let after = &plan.after;
    let mut out = Vec::new();
    let names: BTreeSet<&String> = before.inline.keys().chain(after.inline.keys()).collect();
    for name in names {
        let old = before.inline.get(name);
        let new = after.inline.get(name);
        if old != new {
            let policy = format!("inline policy {name}");
            out.push(diff_of(policy, old, new));
        }
    }
    let arns: BTreeSet<&String> = (before.managed_documents.keys())
        .chain(after.managed_documents.keys())
        .collect();
    for arn in arns {
        let old = before.managed_documents.get(arn);
        let new = after.managed_documents.get(arn);
        if old != new {
            out.push(diff_of(format!("managed policy {arn}"), old, new));
        }
    }
    for arn in before.attached.difference(&after.attached) {
        out.push(PolicyDiff {
            policy: format!("managed policy {arn}"),
            lines: vec![DiffLine::Removed("(detached)".into())],
        });
    }
    for arn in after.attached.difference(&before.attached) {
        out.push(PolicyDiff {
            policy: format!("managed policy {arn}"),
            lines: vec![DiffLine::Added("(attached)".into())],
        });
    }
    out
}

fn diff_of(policy: String, old: Option<&String>, new: Option<&String>) -> PolicyDiff {
    let old = old.map(|d| pretty(d)).unwrap_or_default();
    let new = new.map(|d| pretty(d)).unwrap_or_default();
    let old: Vec<&str> = old.lines().collect();
    let new: Vec<&str> = new.lines().collect();
    PolicyDiff {
        policy,
        lines: line_diff(&old, &new),
    }
}

/// A policy document pretty-printed, or as given when it is not JSON.
fn pretty(document: &str) -> String {
    serde_json::from_str::<Value>(document)
        .ok()
        .and_then(|v| serde_json::to_string_pretty(&v).ok())
        .unwrap_or_else(|| document.to_string())
}

fn plan_json(
    plan: &PlanSummary,
    groups: &BTreeMap<String, Vec<Removal>>,
    diffs: &[PolicyDiff],
    report: Value,
) -> Value {
    let groups: BTreeMap<&String, Vec<Value>> = groups
        .iter()
        .map(|(service, rs)| {
            let rs = rs
                .iter()
                .map(|r| json!({ "action": r.action, "policy": r.policy, "reason": r.reason }))
                .collect();
            (service, rs)
        })
        .collect();
    let diffs: Vec<Value> = diffs
        .iter()
        .map(|d| {
            let lines: Vec<String> = d.lines.iter().map(DiffLine::to_string).collect();
            json!({ "policy": d.policy, "diff": lines })
        })
        .collect();
    json!({
        "role_name": plan.role_name,
        "role_arn": plan.role_arn,
        "fingerprint": plan.fingerprint,
        "planned_at": plan.planned_at.to_rfc3339(),
        "skipped": plan.skipped,
        "removable": plan.removable,
        "kept": plan.kept,
        "removable_by_service": groups,
        "diffs": diffs,
        "report": report,
    })
}

fn plan_text(
    plan: &PlanSummary,
    groups: &BTreeMap<String, Vec<Removal>>,
    diffs: &[PolicyDiff],
) -> String {
    let mut out = vec![
        format!("role {} ({})", plan.role_name, plan.role_arn),
        format!(
            "plan {} made {}",
            plan.fingerprint,
            plan.planned_at.to_rfc3339()
        ),
        format!("removes {}, keeps {}", plan.removable, plan.kept),
    ];
    if let Some(why) = &plan.skipped {
        out.push(format!("skipped: {why}"));
    }
    if !groups.is_empty() {
        out.push(String::new());
        out.push("removable actions:".into());
    }
    for (service, removals) in groups {
        out.push(format!("  {service} ({})", removals.len()));
        for r in removals {
            out.push(format!("    {} in {}: {}", r.action, r.policy, r.reason));
        }
    }
    for d in diffs {
        out.push(String::new());
        out.push(format!("--- {} (before)", d.policy));
        out.push(format!("+++ {} (after)", d.policy));
        out.extend(d.lines.iter().map(DiffLine::to_string));
    }
    out.join("\n")
}

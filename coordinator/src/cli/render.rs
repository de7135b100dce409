//! What a command prints: the same result as a table for people or as JSON for scripts.

use serde_json::{Value, json};
use whittle_proto::admin::v1 as pb;
use whittle_proto::types::v1 as types;

/// A command's result in both forms.
#[derive(Debug, Clone, PartialEq)]
pub struct Rendered {
    pub json: Value,
    pub table: String,
    /// The result as CSV, for the commands that have one (`whittle report`).
    pub csv: Option<String>,
}

/// Columns aligned to their widest cell; the header first.
pub fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            if let Some(w) = widths.get_mut(i) {
                *w = (*w).max(cell.chars().count());
            }
        }
    }
    let line = |cells: Vec<&str>| {
        let padded: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        padded.join("  ").trim_end().to_string()
    };
    let mut out = vec![line(header.to_vec())];
    out.extend(
        rows.iter()
            .map(|r| line(r.iter().map(String::as_str).collect())),
    );
    out.join("\n")
}

/// "-" for an unset value.
pub fn or_dash(value: Option<&str>) -> String {
    value.unwrap_or("-").to_string()
}

pub fn account(a: &pb::AccountSummary) -> Value {
    let pb::AccountSummary {
        account_id,
        agent_version,
        connected,
        last_seen,
        last_report,
        roles,
        actions_granted,
        removable,
    } = a;
    json!({
        "account_id": account_id,
        "agent_version": agent_version,
        "connected": connected,
        "last_seen": last_seen,
        "last_report": last_report,
        "roles": roles,
        "actions_granted": actions_granted,
        "removable": removable,
    })
}

pub fn role(r: &pb::RoleSummary) -> Value {
    let pb::RoleSummary {
        role_name,
        role_arn,
        role_id,
        fingerprint,
        planned_at,
        skipped,
        removable,
        kept,
    } = r;
    json!({
        "role_name": role_name,
        "role_arn": role_arn,
        "role_id": role_id,
        "fingerprint": fingerprint,
        "planned_at": planned_at,
        "skipped": skipped,
        "removable": removable,
        "kept": kept,
    })
}

pub fn decision(d: &pb::Decision) -> Value {
    let pb::Decision {
        decision_id,
        account_id,
        role_name,
        plan_fingerprint,
        state: _,
        created_at,
        author,
        detail,
        not_before,
        campaign_id,
        announced_removals,
        change_id,
    } = d;
    json!({
        "decision_id": decision_id,
        "account_id": account_id,
        "role_name": role_name,
        "plan_fingerprint": plan_fingerprint,
        "state": decision_state(d),
        "created_at": created_at,
        "author": author,
        "detail": detail,
        "not_before": not_before,
        "campaign_id": campaign_id,
        "announced_removals": announced_removals,
        "change_id": change_id,
    })
}

pub fn decision_state(d: &pb::Decision) -> &'static str {
    match d.state() {
        pb::DecisionState::Unspecified => "unspecified",
        pb::DecisionState::Scheduled => "scheduled",
        pb::DecisionState::Pending => "pending",
        pb::DecisionState::Sent => "sent",
        pb::DecisionState::Applied => "applied",
        pb::DecisionState::Failed => "failed",
        pb::DecisionState::Cancelled => "cancelled",
    }
}

pub fn rule(r: &types::ExclusionRule) -> Value {
    let types::ExclusionRule {
        id,
        selector,
        reason,
        author,
        expires_at,
        created_at,
    } = r;
    json!({
        "id": id,
        "selector": selector.as_ref().map(selector_json),
        "reason": reason,
        "author": author,
        "expires_at": expires_at,
        "created_at": created_at,
    })
}

fn selector_json(s: &types::Selector) -> Value {
    let types::Selector {
        accounts,
        role_name_glob,
        path_prefix,
        tags,
        action_patterns,
        sid_prefix,
    } = s;
    json!({
        "accounts": accounts,
        "role_name_glob": role_name_glob,
        "path_prefix": path_prefix,
        "tags": tags,
        "action_patterns": action_patterns,
        "sid_prefix": sid_prefix,
    })
}

/// A selector in one line, e.g. "accounts=111122223333 actions=s3:*".
pub fn selector_text(s: Option<&types::Selector>) -> String {
    let Some(s) = s else {
        return "-".to_string();
    };
    let mut parts = Vec::new();
    if !s.accounts.is_empty() {
        parts.push(format!("accounts={}", s.accounts.join(",")));
    }
    if let Some(g) = &s.role_name_glob {
        parts.push(format!("role={g}"));
    }
    if let Some(p) = &s.path_prefix {
        parts.push(format!("path={p}"));
    }
    for (k, v) in &s.tags {
        parts.push(format!("tag:{k}={v}"));
    }
    if !s.action_patterns.is_empty() {
        parts.push(format!("actions={}", s.action_patterns.join(",")));
    }
    if let Some(p) = &s.sid_prefix {
        parts.push(format!("sid={p}"));
    }
    if parts.is_empty() {
        "everything".to_string()
    } else {
        parts.join(" ")
    }
}

pub fn audit_entry(e: &pb::AuditEntry) -> Value {
    let pb::AuditEntry {
        at,
        who,
        action,
        target,
        result,
    } = e;
    json!({ "at": at, "who": who, "action": action, "target": target, "result": result })
}

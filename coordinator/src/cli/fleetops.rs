//! The org-wide commands of `whittle` besides campaigns: opt-outs, decisions, the report,
//! and waiting for a rollback to finish.

use std::time::Duration;

use serde_json::{Value, json};
use tonic::transport::Channel;
use whittle_proto::admin::v1 as pb;
use whittle_proto::admin::v1::admin_service_client::AdminServiceClient;

use super::args::OptoutCommand;
use super::commands::time_arg;
use super::error::{CallContext, CliError};
use super::render::{self, Rendered, or_dash, table};

type Client = AdminServiceClient<Channel>;

/// Checks the arguments of `optout add` that need no coordinator.
pub fn check_optout(command: &OptoutCommand) -> Result<(), CliError> {
    if let OptoutCommand::Add { until, .. } = command {
        time_arg("--until", Some(until.as_str()))?;
    }
    Ok(())
}

pub async fn optout(
    client: &mut Client,
    ctx: &CallContext,
    command: OptoutCommand,
) -> Result<Rendered, CliError> {
    match command {
        OptoutCommand::Add {
            account,
            role,
            reason,
            until,
            owner,
        } => {
            let request = pb::AddOptOutRequest {
                account_id: account,
                role_name: role,
                reason,
                until,
                owner,
            };
            let response = client.add_opt_out(request).await;
            let o = response
                .map_err(|s| ctx.error("add opt-outs", s))?
                .into_inner()
                .opt_out
                .unwrap_or_default();
            Ok(Rendered {
                table: format!(
                    "role {} of account {} is opted out of campaigns until {}",
                    o.role_name, o.account_id, o.until
                ),
                json: opt_out_json(&o),
                csv: None,
            })
        }
        OptoutCommand::List { all } => {
            let request = pb::ListOptOutsRequest {
                include_expired: all,
            };
            let response = client.list_opt_outs(request).await;
            let list = response
                .map_err(|s| ctx.error("list opt-outs", s))?
                .into_inner()
                .opt_outs;
            let rows: Vec<Vec<String>> = list
                .iter()
                .map(|o| {
                    vec![
                        o.account_id.clone(),
                        o.role_name.clone(),
                        o.until.clone(),
                        if o.active { "yes" } else { "expired" }.to_string(),
                        o.owner.clone(),
                        o.reason.clone(),
                        o.created_by.clone(),
                    ]
                })
                .collect();
            let header = [
                "ACCOUNT", "ROLE", "UNTIL", "ACTIVE", "OWNER", "REASON", "ADDED BY",
            ];
            Ok(Rendered {
                table: if list.is_empty() {
                    "no opt-outs".into()
                } else {
                    table(&header, &rows)
                },
                json: Value::Array(list.iter().map(opt_out_json).collect()),
                csv: None,
            })
        }
        OptoutCommand::Remove { account, role } => {
            let request = pb::RemoveOptOutRequest {
                account_id: account.clone(),
                role_name: role.clone(),
            };
            let response = client.remove_opt_out(request).await;
            response.map_err(|s| ctx.error("remove opt-outs", s))?;
            Ok(Rendered {
                table: format!("opt-out of role {role} in account {account} removed"),
                json: json!({ "removed": { "account_id": account, "role_name": role } }),
                csv: None,
            })
        }
    }
}

fn opt_out_json(o: &pb::OptOut) -> Value {
    json!({
        "account_id": o.account_id,
        "role_name": o.role_name,
        "reason": o.reason,
        "until": o.until,
        "owner": o.owner,
        "created_by": o.created_by,
        "created_at": o.created_at,
        "active": o.active,
    })
}

pub async fn decisions(
    client: &mut Client,
    ctx: &CallContext,
    request: pb::ListDecisionsRequest,
) -> Result<Rendered, CliError> {
    let response = client.list_decisions(request).await;
    let list = response
        .map_err(|s| ctx.error("list decisions", s))?
        .into_inner()
        .decisions;
    let rows: Vec<Vec<String>> = list
        .iter()
        .map(|d| {
            vec![
                d.decision_id.clone(),
                d.account_id.clone(),
                d.role_name.clone(),
                render::decision_state(d).to_string(),
                d.announced_removals.len().to_string(),
                or_dash(d.not_before.as_deref()),
                or_dash(d.campaign_id.as_deref()),
                d.detail.clone(),
            ]
        })
        .collect();
    let header = [
        "DECISION",
        "ACCOUNT",
        "ROLE",
        "STATE",
        "REMOVES",
        "NOT BEFORE",
        "CAMPAIGN",
        "DETAIL",
    ];
    Ok(Rendered {
        table: if list.is_empty() {
            "no decisions".into()
        } else {
            table(&header, &rows)
        },
        json: Value::Array(list.iter().map(render::decision).collect()),
        csv: None,
    })
}

/// The decision states `whittle decisions --state` names.
pub fn decision_states(names: &[String]) -> Result<Vec<i32>, CliError> {
    names
        .iter()
        .map(|n| {
            let state = match n.as_str() {
                "scheduled" => pb::DecisionState::Scheduled,
                "pending" => pb::DecisionState::Pending,
                "sent" => pb::DecisionState::Sent,
                "applied" => pb::DecisionState::Applied,
                "failed" => pb::DecisionState::Failed,
                "cancelled" => pb::DecisionState::Cancelled,
                other => {
                    return Err(CliError::Usage(format!(
                        "--state {other:?} is not one of scheduled, pending, sent, applied, \
                         failed, cancelled"
                    )));
                }
            };
            Ok(state.into())
        })
        .collect()
}

pub async fn report(
    client: &mut Client,
    ctx: &CallContext,
    top: u32,
) -> Result<Rendered, CliError> {
    let response = client.report(pb::ReportRequest { top }).await;
    let r = response
        .map_err(|s| ctx.error("read the report", s))?
        .into_inner();
    let totals = r.totals.clone().unwrap_or_default();
    let header = [
        "ACCOUNT",
        "CONNECTED",
        "ROLES",
        "GRANTED",
        "REMOVABLE NOW",
        "REMOVED",
        "ROLLED BACK",
        "EXCLUDED",
    ];
    let row = |a: &pb::AccountReport, total: bool| {
        vec![
            a.account_id.clone(),
            if total {
                String::new()
            } else if a.connected {
                "yes".into()
            } else {
                "no".into()
            },
            a.roles.to_string(),
            a.actions_granted.to_string(),
            a.removable_now.to_string(),
            a.removed.to_string(),
            a.rolled_back.to_string(),
            a.excluded.to_string(),
        ]
    };
    let mut rows: Vec<Vec<String>> = r.accounts.iter().map(|a| row(a, false)).collect();
    rows.push(row(&totals, true));
    let top_rows: Vec<Vec<String>> = r
        .top_roles
        .iter()
        .map(|t| {
            vec![
                t.account_id.clone(),
                t.role_name.clone(),
                t.removable.to_string(),
                t.kept.to_string(),
            ]
        })
        .collect();
    let table_text = format!(
        "org report at {}\n{}\n\nroles with the most unused permissions\n{}",
        r.generated_at,
        table(&header, &rows),
        if top_rows.is_empty() {
            "none".to_string()
        } else {
            table(&["ACCOUNT", "ROLE", "UNUSED", "KEPT"], &top_rows)
        }
    );
    let mut csv = String::from(
        "account_id,connected,roles,actions_granted,removable_now,removed,rolled_back,excluded\n",
    );
    for a in r.accounts.iter().chain(std::iter::once(&totals)) {
        csv.push_str(&format!(
            "{},{},{},{},{},{},{},{}\n",
            csv_field(&a.account_id),
            a.connected,
            a.roles,
            a.actions_granted,
            a.removable_now,
            a.removed,
            a.rolled_back,
            a.excluded
        ));
    }
    let account_json = |a: &pb::AccountReport| {
        json!({
            "account_id": a.account_id,
            "connected": a.connected,
            "roles": a.roles,
            "actions_granted": a.actions_granted,
            "removable_now": a.removable_now,
            "removed": a.removed,
            "rolled_back": a.rolled_back,
            "excluded": a.excluded,
        })
    };
    Ok(Rendered {
        json: json!({
            "generated_at": r.generated_at,
            "accounts": r.accounts.iter().map(account_json).collect::<Vec<_>>(),
            "totals": account_json(&totals),
            "top_roles": r.top_roles.iter().map(|t| json!({
                "account_id": t.account_id,
                "role_name": t.role_name,
                "removable": t.removable,
                "kept": t.kept,
            })).collect::<Vec<_>>(),
        }),
        table: table_text,
        csv: Some(csv),
    })
}

/// A CSV field, quoted when it needs to be.
fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// Polls a rollback request until it is done or failed, or `wait` passes; renders per role
/// what was restored.
pub async fn wait_rollback(
    client: &mut Client,
    ctx: &CallContext,
    request_id: String,
    delivery: &str,
    wait: Duration,
) -> Result<Rendered, CliError> {
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        let request = pb::GetRollbackRequest {
            request_id: request_id.clone(),
        };
        let response = client.get_rollback(request).await;
        let r = response
            .map_err(|s| ctx.error("read rollback requests", s))?
            .into_inner();
        let finished = r.state == "done" || r.state == "failed";
        if finished || tokio::time::Instant::now() >= deadline {
            return Ok(rollback_result_rendered(&r, delivery, finished));
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

fn rollback_result_rendered(
    r: &pb::GetRollbackResponse,
    delivery: &str,
    finished: bool,
) -> Rendered {
    let mut out = vec![format!(
        "rollback request {} of account {} ({}): {}{}",
        r.request_id,
        r.account_id,
        r.target,
        r.state,
        if finished {
            String::new()
        } else {
            format!(
                " (not finished yet; the request was {delivery}, it runs when the agent is connected)"
            )
        }
    )];
    if !r.detail.is_empty() {
        out.push(r.detail.clone());
    }
    if !r.restored.is_empty() {
        let rows: Vec<Vec<String>> = r
            .restored
            .iter()
            .map(|x| {
                vec![
                    x.role_name.clone(),
                    x.change_id.clone(),
                    x.undid.clone(),
                    x.state.clone(),
                ]
            })
            .collect();
        out.push(table(&["ROLE", "RESTORED BY", "UNDID", "STATE"], &rows));
    }
    Rendered {
        json: json!({
            "request_id": r.request_id,
            "account_id": r.account_id,
            "target": r.target,
            "state": r.state,
            "delivery": delivery,
            "requested_at": r.requested_at,
            "requested_by": r.requested_by,
            "detail": r.detail,
            "restored": r.restored.iter().map(|x| json!({
                "role_name": x.role_name,
                "change_id": x.change_id,
                "undid": x.undid,
                "state": x.state,
            })).collect::<Vec<_>>(),
        }),
        table: out.join("\n"),
        csv: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields_are_quoted_when_needed() {
        assert_eq!(csv_field("a"), "a");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"x\""), "\"say \"\"x\"\"\"");
    }
}

//! The org-wide commands of `whittle`: campaigns, opt-outs, decisions, the report, and
//! waiting for a rollback to finish.

use std::time::Duration;

use serde_json::{Value, json};
use tonic::transport::Channel;
use whittle_proto::admin::v1 as pb;
use whittle_proto::admin::v1::admin_service_client::AdminServiceClient;

use super::args::{CampaignCommand, OptoutCommand};
use super::error::{CallContext, CliError};
use super::render::{self, Rendered, or_dash, table};

type Client = AdminServiceClient<Channel>;

/// Checks the arguments of these commands that need no coordinator.
pub fn check_campaign(command: &CampaignCommand) -> Result<(), CliError> {
    if let CampaignCommand::Create {
        accounts,
        waves,
        soak,
        not_before,
        ..
    } = command
    {
        parse_accounts(accounts)?;
        parse_waves(waves)?;
        if let Some(s) = soak {
            parse_duration(s)?;
        }
        if let Some(t) = not_before {
            time("--not-before", t)?;
        }
    }
    Ok(())
}

pub fn check_optout(command: &OptoutCommand) -> Result<(), CliError> {
    if let OptoutCommand::Add { until, .. } = command {
        time("--until", until)?;
    }
    Ok(())
}

fn time(flag: &str, value: &str) -> Result<(), CliError> {
    chrono::DateTime::parse_from_rfc3339(value)
        .map(|_| ())
        .map_err(|e| CliError::Usage(format!("{flag} {value:?} is not an RFC 3339 time: {e}")))
}

/// `all` (every account: an empty list) or ids separated by commas.
pub fn parse_accounts(text: &str) -> Result<Vec<String>, CliError> {
    if text.trim() == "all" {
        return Ok(Vec::new());
    }
    let ids: Vec<String> = text.split(',').map(|a| a.trim().to_string()).collect();
    for id in &ids {
        if whittle_proto::identity::validate_account_id(id).is_err() {
            return Err(CliError::Usage(format!(
                "--accounts: {id:?} is not a 12-digit account id (or say `all`)"
            )));
        }
    }
    Ok(ids)
}

/// `2,25%,100%`: account counts or cumulative percentages.
pub fn parse_waves(text: &str) -> Result<Vec<pb::WaveSize>, CliError> {
    use pb::wave_size::Size;
    text.split(',')
        .map(|part| {
            let part = part.trim();
            let bad = |why: &str| CliError::Usage(format!("--waves: {part:?} {why}"));
            let size = if let Some(p) = part.strip_suffix('%') {
                let p: u32 = p.parse().map_err(|_| bad("is not a percentage"))?;
                if p == 0 || p > 100 {
                    return Err(bad("must be 1% to 100%"));
                }
                Size::Percent(p)
            } else {
                let n: u32 = part
                    .parse()
                    .map_err(|_| bad("is not a number of accounts or a percentage"))?;
                if n == 0 {
                    return Err(bad("must be at least 1 account"));
                }
                Size::Accounts(n)
            };
            Ok(pb::WaveSize { size: Some(size) })
        })
        .collect()
}

/// `90s`, `15m`, `2h`, `1d` or a number of seconds.
pub fn parse_duration(text: &str) -> Result<u64, CliError> {
    let t = text.trim();
    let (number, unit) = match t.char_indices().find(|(_, c)| !c.is_ascii_digit()) {
        Some((i, _)) => t.split_at(i),
        None => (t, "s"),
    };
    let n: u64 = number.parse().map_err(|_| {
        CliError::Usage(format!(
            "--soak {text:?} is not a duration (e.g. 30s, 15m, 2h, 1d)"
        ))
    })?;
    let factor = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => {
            return Err(CliError::Usage(format!(
                "--soak {text:?}: unit {unit:?} is not s, m, h or d"
            )));
        }
    };
    Ok(n.saturating_mul(factor))
}

pub async fn campaign(
    client: &mut Client,
    ctx: &CallContext,
    command: CampaignCommand,
) -> Result<Rendered, CliError> {
    let control = |id: String, control: pb::CampaignControl| pb::ControlCampaignRequest {
        campaign_id: id,
        control: control.into(),
    };
    let campaign = match command {
        CampaignCommand::Create {
            accounts,
            unused_days,
            waves,
            max_roles_per_wave,
            not_before,
            soak,
            description,
        } => {
            let request = pb::CreateCampaignRequest {
                accounts: parse_accounts(&accounts)?,
                unused_days,
                waves: parse_waves(&waves)?,
                max_roles_per_wave,
                not_before,
                soak_seconds: soak.as_deref().map(parse_duration).transpose()?,
                description,
            };
            let response = client.create_campaign(request).await;
            response
                .map_err(|s| ctx.error("create campaigns", s))?
                .into_inner()
                .campaign
        }
        CampaignCommand::List => {
            let response = client.list_campaigns(pb::ListCampaignsRequest {}).await;
            let list = response
                .map_err(|s| ctx.error("list campaigns", s))?
                .into_inner()
                .campaigns;
            return Ok(campaigns_rendered(&list));
        }
        CampaignCommand::Show { id } => {
            let request = pb::GetCampaignRequest { campaign_id: id };
            let response = client.get_campaign(request).await;
            response
                .map_err(|s| ctx.error("read campaigns", s))?
                .into_inner()
                .campaign
        }
        CampaignCommand::Pause { id } => {
            let response = client
                .control_campaign(control(id, pb::CampaignControl::Pause))
                .await;
            response
                .map_err(|s| ctx.error("pause campaigns", s))?
                .into_inner()
                .campaign
        }
        CampaignCommand::Resume { id } => {
            let response = client
                .control_campaign(control(id, pb::CampaignControl::Resume))
                .await;
            response
                .map_err(|s| ctx.error("resume campaigns", s))?
                .into_inner()
                .campaign
        }
        CampaignCommand::Cancel { id } => {
            let response = client
                .control_campaign(control(id, pb::CampaignControl::Cancel))
                .await;
            response
                .map_err(|s| ctx.error("cancel campaigns", s))?
                .into_inner()
                .campaign
        }
    };
    Ok(campaign_rendered(&campaign.unwrap_or_default()))
}

fn counts(c: &pb::Campaign) -> String {
    let mut by_state: std::collections::BTreeMap<&str, usize> = Default::default();
    for w in &c.waves {
        for r in &w.roles {
            *by_state.entry(r.state.as_str()).or_default() += 1;
        }
    }
    by_state
        .iter()
        .map(|(s, n)| format!("{n} {s}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn campaigns_rendered(list: &[pb::Campaign]) -> Rendered {
    let rows: Vec<Vec<String>> = list
        .iter()
        .map(|c| {
            let wave = c
                .waves
                .iter()
                .find(|w| w.state == "running" || w.state == "waiting")
                .map_or("-".to_string(), |w| {
                    format!("{}/{}", w.number, c.waves.len())
                });
            vec![
                c.campaign_id.clone(),
                c.state.clone(),
                wave,
                c.not_before.clone(),
                counts(c),
                c.description.clone(),
            ]
        })
        .collect();
    let header = [
        "CAMPAIGN",
        "STATE",
        "WAVE",
        "NOT BEFORE",
        "ROLES",
        "DESCRIPTION",
    ];
    Rendered {
        json: Value::Array(list.iter().map(campaign_json).collect()),
        table: if list.is_empty() {
            "no campaigns".into()
        } else {
            table(&header, &rows)
        },
        csv: None,
    }
}

fn campaign_rendered(c: &pb::Campaign) -> Rendered {
    let mut out = vec![format!(
        "campaign {}  {}{}",
        c.campaign_id,
        c.state,
        if c.description.is_empty() {
            String::new()
        } else {
            format!("  ({})", c.description)
        }
    )];
    out.push(format!(
        "created by {} at {}; first wave not before {}; soak {}s{}{}",
        c.created_by,
        c.created_at,
        c.not_before,
        c.soak_seconds,
        c.unused_days
            .map_or(String::new(), |d| format!("; unused after {d} days")),
        c.max_roles_per_wave
            .map_or(String::new(), |m| format!("; at most {m} roles per wave"))
    ));
    if !c.detail.is_empty() {
        out.push(format!("detail: {}", c.detail));
    }
    out.push(format!("roles: {}", counts(c)));
    for w in &c.waves {
        out.push(String::new());
        out.push(format!(
            "wave {} ({}): {} account(s) {}{}{}",
            w.number,
            w.state,
            w.accounts.len(),
            w.accounts.join(","),
            w.started_at
                .as_ref()
                .map_or(String::new(), |t| format!("; started {t}")),
            w.finished_at
                .as_ref()
                .map_or(String::new(), |t| format!("; finished {t}")),
        ));
        let rows: Vec<Vec<String>> = w
            .roles
            .iter()
            .map(|r| {
                vec![
                    r.account_id.clone(),
                    r.role_name.clone(),
                    r.state.clone(),
                    r.announced.to_string(),
                    r.due.clone(),
                    r.detail.clone(),
                ]
            })
            .collect();
        out.push(table(
            &["ACCOUNT", "ROLE", "STATE", "ANNOUNCED", "DUE", "DETAIL"],
            &rows,
        ));
    }
    Rendered {
        json: campaign_json(c),
        table: out.join("\n"),
        csv: None,
    }
}

fn campaign_json(c: &pb::Campaign) -> Value {
    json!({
        "campaign_id": c.campaign_id,
        "state": c.state,
        "description": c.description,
        "created_by": c.created_by,
        "created_at": c.created_at,
        "not_before": c.not_before,
        "unused_days": c.unused_days,
        "soak_seconds": c.soak_seconds,
        "max_roles_per_wave": c.max_roles_per_wave,
        "detail": c.detail,
        "waves": c.waves.iter().map(|w| json!({
            "number": w.number,
            "state": w.state,
            "accounts": w.accounts,
            "started_at": w.started_at,
            "finished_at": w.finished_at,
            "roles": w.roles.iter().map(|r| json!({
                "account_id": r.account_id,
                "role_name": r.role_name,
                "state": r.state,
                "announced": r.announced,
                "announced_at": r.announced_at,
                "due": r.due,
                "decision_id": r.decision_id,
                "detail": r.detail,
            })).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
    })
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
    fn waves_parse_counts_and_percentages() {
        use pb::wave_size::Size;
        let w = parse_waves("2,25%,100%").unwrap();
        assert_eq!(w[0].size, Some(Size::Accounts(2)));
        assert_eq!(w[1].size, Some(Size::Percent(25)));
        assert_eq!(w[2].size, Some(Size::Percent(100)));
        let e = parse_waves("2,0%").unwrap_err().to_string();
        assert!(e.contains("\"0%\""), "{e}");
        let e = parse_waves("two").unwrap_err().to_string();
        assert!(e.contains("\"two\""), "{e}");
    }

    #[test]
    fn durations_have_units() {
        assert_eq!(parse_duration("90").unwrap(), 90);
        assert_eq!(parse_duration("15m").unwrap(), 900);
        assert_eq!(parse_duration("2h").unwrap(), 7200);
        assert_eq!(parse_duration("1d").unwrap(), 86_400);
        assert!(
            parse_duration("5w")
                .unwrap_err()
                .to_string()
                .contains("\"w\"")
        );
    }

    #[test]
    fn accounts_are_all_or_ids() {
        assert!(parse_accounts("all").unwrap().is_empty());
        assert_eq!(
            parse_accounts("111122223333,444455556666").unwrap().len(),
            2
        );
        let e = parse_accounts("1111").unwrap_err().to_string();
        assert!(e.contains("\"1111\""), "{e}");
    }

    #[test]
    fn csv_fields_are_quoted_when_needed() {
        assert_eq!(csv_field("a"), "a");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"x\""), "\"say \"\"x\"\"\"");
    }
}

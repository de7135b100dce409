//! Each command of `whittle` as one AdminService call, and its result rendered.

use std::collections::BTreeMap;

use serde_json::{Value, json};
use tonic::transport::Channel;
use whittle_policy::change::ChangeRecord;
use whittle_proto::admin::v1 as pb;
use whittle_proto::admin::v1::admin_service_client::AdminServiceClient;
use whittle_proto::types::v1 as types;

use super::args::{Command, ExclusionsCommand, PlanCommand, RollbackTargetArgs};
use super::error::{CallContext, CliError};
use super::render::{self, Rendered, or_dash, table};
use super::{campaign, fleetops, plan};

/// A connected client and how to explain its failures.
#[derive(Debug)]
pub struct Session {
    pub client: AdminServiceClient<Channel>,
    pub context: CallContext,
}

/// Checks the arguments that need no coordinator: a usage error before connecting.
pub fn check(command: &Command) -> Result<(), CliError> {
    match command {
        Command::History { since, .. } | Command::Audit { since, .. } => {
            time_arg("--since", since.as_deref())
        }
        Command::Rollback { target, .. } => time_arg("--since", target.since.as_deref()),
        Command::Approve { at, .. } => time_arg("--at", at.as_deref()),
        Command::Campaign(c) => campaign::check_campaign(c),
        Command::Optout(o) => fleetops::check_optout(o),
        Command::Decisions { states, .. } => fleetops::decision_states(states).map(drop),
        Command::Exclusions(ExclusionsCommand::Add { tags, expires, .. }) => {
            time_arg("--expires", expires.as_deref())?;
            parse_tags(tags).map(|_| ())
        }
        _ => Ok(()),
    }
}

pub(super) fn time_arg(flag: &str, value: Option<&str>) -> Result<(), CliError> {
    match value {
        Some(v) => chrono::DateTime::parse_from_rfc3339(v)
            .map(|_| ())
            .map_err(|e| CliError::Usage(format!("{flag} {v:?} is not an RFC 3339 time: {e}"))),
        None => Ok(()),
    }
}

fn parse_tags(tags: &[String]) -> Result<BTreeMap<String, String>, CliError> {
    tags.iter()
        .map(|t| match t.split_once('=') {
            Some((k, v)) if !k.is_empty() => Ok((k.to_string(), v.to_string())),
            _ => Err(CliError::Usage(format!("--tag {t:?} is not KEY=VALUE"))),
        })
        .collect()
}

/// Runs `command` against the coordinator.
pub async fn run(session: &mut Session, command: Command) -> Result<Rendered, CliError> {
    let ctx = session.context.clone();
    let client = &mut session.client;
    match command {
        Command::Accounts => {
            let response = client.list_accounts(pb::ListAccountsRequest {}).await;
            let accounts = response.map_err(|s| ctx.error("list accounts", s))?;
            Ok(accounts_rendered(&accounts.into_inner().accounts))
        }
        Command::Roles { account } => {
            let request = pb::ListRolesRequest {
                account_id: account,
            };
            let response = client.list_roles(request).await;
            let roles = response.map_err(|s| ctx.error("list roles", s))?;
            Ok(roles_rendered(&roles.into_inner().roles))
        }
        Command::Plan(PlanCommand::Show { account, role }) => {
            let request = pb::GetPlanRequest {
                account_id: account,
                role_name: role,
            };
            let response = client.get_plan(request).await;
            let plan = response
                .map_err(|s| ctx.error("read plans", s))?
                .into_inner();
            plan::show(plan)
        }
        Command::Approve {
            account,
            roles,
            all,
            at,
        } => {
            let request = pb::ApproveRequest {
                account_id: account,
                role_names: roles,
                all_removable: all,
                not_before: at,
            };
            let response = client.approve(request).await;
            let decisions = response.map_err(|s| ctx.error("approve", s))?;
            Ok(decisions_rendered(&decisions.into_inner().decisions))
        }
        Command::Exclusions(command) => exclusions(client, &ctx, command).await,
        Command::History {
            account,
            role,
            since,
            limit,
        } => {
            let request = pb::HistoryRequest {
                account_id: account,
                role_name: role,
                since,
                limit,
            };
            let response = client.history(request).await;
            let changes = response.map_err(|s| ctx.error("read history", s))?;
            history_rendered(changes.into_inner().changes)
        }
        Command::Rollback {
            account,
            target,
            force,
            wait,
        } => {
            let request = pb::RollbackRequest {
                account_id: account,
                target: Some(rollback_target(target)),
                force,
            };
            let response = client.rollback(request).await;
            let response = response
                .map_err(|s| ctx.error("roll back", s))?
                .into_inner();
            match wait {
                None => Ok(rollback_rendered(&response)),
                Some(seconds) => {
                    let delivery = rollback_rendered(&response).json["delivery"]
                        .as_str()
                        .unwrap_or("sent")
                        .to_string();
                    let wait = std::time::Duration::from_secs(seconds);
                    fleetops::wait_rollback(client, &ctx, response.request_id, &delivery, wait)
                        .await
                }
            }
        }
        Command::Decisions {
            account,
            role,
            campaign,
            states,
            limit,
        } => {
            let request = pb::ListDecisionsRequest {
                account_id: account,
                role_name: role,
                campaign_id: campaign,
                states: fleetops::decision_states(&states)?,
                limit,
            };
            fleetops::decisions(client, &ctx, request).await
        }
        Command::Campaign(command) => campaign::campaign(client, &ctx, command).await,
        Command::Optout(command) => fleetops::optout(client, &ctx, command).await,
        Command::Report { top } => fleetops::report(client, &ctx, top).await,
        Command::Audit { since, limit } => {
            let response = client.audit(pb::AuditRequest { since, limit }).await;
            let entries = response.map_err(|s| ctx.error("read the audit log", s))?;
            Ok(audit_rendered(&entries.into_inner().entries))
        }
    }
}

async fn exclusions(
    client: &mut AdminServiceClient<Channel>,
    ctx: &CallContext,
    command: ExclusionsCommand,
) -> Result<Rendered, CliError> {
    match command {
        ExclusionsCommand::Add {
            accounts,
            role_glob,
            path_prefix,
            tags,
            actions,
            sid_prefix,
            reason,
            expires,
        } => {
            let selector = types::Selector {
                accounts,
                role_name_glob: role_glob,
                path_prefix,
                tags: parse_tags(&tags)?,
                action_patterns: actions,
                sid_prefix,
            };
            let request = pb::AddExclusionRequest {
                selector: Some(selector),
                reason,
                expires_at: expires,
            };
            let response = client.add_exclusion(request).await;
            let added = response.map_err(|s| ctx.error("add exclusion rules", s))?;
            let pb::AddExclusionResponse { rule, version } = added.into_inner();
            let rule = rule.unwrap_or_default();
            Ok(Rendered {
                csv: None,
                json: json!({ "rule": render::rule(&rule), "version": version }),
                table: format!("added rule {} (rule set version {version})", rule.id),
            })
        }
        ExclusionsCommand::List => {
            let response = client.list_exclusions(pb::ListExclusionsRequest {}).await;
            let listed = response.map_err(|s| ctx.error("list exclusions", s))?;
            let rules = listed.into_inner().rules.unwrap_or_default();
            Ok(rules_rendered(&rules))
        }
        ExclusionsCommand::Remove { id } => {
            let request = pb::RemoveExclusionRequest { id: id.clone() };
            let response = client.remove_exclusion(request).await;
            let removed = response.map_err(|s| ctx.error("remove exclusion rules", s))?;
            let version = removed.into_inner().version;
            Ok(Rendered {
                csv: None,
                json: json!({ "removed": id, "version": version }),
                table: format!("removed rule {id} (rule set version {version})"),
            })
        }
    }
}

fn rollback_target(target: RollbackTargetArgs) -> pb::rollback_request::Target {
    use pb::rollback_request::Target;
    let RollbackTargetArgs {
        role,
        change,
        since,
    } = target;
    match (role, change, since) {
        (Some(role), _, _) => Target::RoleName(role),
        (None, Some(change), _) => Target::ChangeId(change),
        // clap requires exactly one of the three; an empty time is refused by the coordinator.
        (None, None, since) => Target::Since(since.unwrap_or_default()),
    }
}

fn accounts_rendered(accounts: &[pb::AccountSummary]) -> Rendered {
    let rows: Vec<Vec<String>> = accounts
        .iter()
        .map(|a| {
            vec![
                a.account_id.clone(),
                if a.connected { "yes" } else { "no" }.to_string(),
                a.agent_version.clone(),
                or_dash(a.last_seen.as_deref()),
                a.roles.to_string(),
                a.actions_granted.to_string(),
                a.removable.to_string(),
            ]
        })
        .collect();
    let header = [
        "ACCOUNT",
        "CONNECTED",
        "AGENT",
        "LAST SEEN",
        "ROLES",
        "GRANTED",
        "REMOVABLE",
    ];
    Rendered {
        csv: None,
        json: Value::Array(accounts.iter().map(render::account).collect()),
        table: empty_or(accounts.is_empty(), "no accounts", || table(&header, &rows)),
    }
}

fn roles_rendered(roles: &[pb::RoleSummary]) -> Rendered {
    let rows: Vec<Vec<String>> = roles
        .iter()
        .map(|r| {
            vec![
                r.role_name.clone(),
                r.removable.to_string(),
                r.kept.to_string(),
                r.planned_at.clone(),
                or_dash(r.skipped.as_deref()),
            ]
        })
        .collect();
    let header = ["ROLE", "REMOVABLE", "KEPT", "PLANNED AT", "SKIPPED"];
    Rendered {
        csv: None,
        json: Value::Array(roles.iter().map(render::role).collect()),
        table: empty_or(roles.is_empty(), "no roles", || table(&header, &rows)),
    }
}

fn decisions_rendered(decisions: &[pb::Decision]) -> Rendered {
    let rows: Vec<Vec<String>> = decisions
        .iter()
        .map(|d| {
            vec![
                d.role_name.clone(),
                render::decision_state(d).to_string(),
                d.decision_id.clone(),
                d.detail.clone(),
            ]
        })
        .collect();
    let header = ["ROLE", "STATE", "DECISION", "DETAIL"];
    Rendered {
        csv: None,
        json: Value::Array(decisions.iter().map(render::decision).collect()),
        table: empty_or(decisions.is_empty(), "nothing approved", || {
            table(&header, &rows)
        }),
    }
}

fn rules_rendered(rules: &types::ExclusionRules) -> Rendered {
    let rows: Vec<Vec<String>> = rules
        .rules
        .iter()
        .map(|r| {
            vec![
                r.id.clone(),
                render::selector_text(r.selector.as_ref()),
                r.reason.clone(),
                r.author.clone(),
                or_dash(r.expires_at.as_deref()),
            ]
        })
        .collect();
    let header = ["ID", "COVERS", "REASON", "AUTHOR", "EXPIRES"];
    let body = empty_or(rules.rules.is_empty(), "no rules", || table(&header, &rows));
    Rendered {
        csv: None,
        json: json!({
            "version": rules.version,
            "rules": rules.rules.iter().map(render::rule).collect::<Vec<_>>(),
        }),
        table: format!("rule set version {}\n{body}", rules.version),
    }
}

fn history_rendered(changes: Vec<types::ChangeRecord>) -> Result<Rendered, CliError> {
    let records = changes
        .into_iter()
        .map(ChangeRecord::try_from)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| CliError::Refused {
            what: "read history".into(),
            code: tonic::Code::DataLoss,
            message: format!("unreadable change record: {e}"),
        })?;
    let json = serde_json::to_value(&records).map_err(|e| CliError::Usage(e.to_string()))?;
    let rows: Vec<Vec<String>> = records
        .iter()
        .zip(json.as_array().into_iter().flatten())
        .map(|(r, j)| {
            let kind = j["kind"]["type"].as_str().unwrap_or("-").to_string();
            vec![
                r.id.to_string(),
                r.created_at.to_rfc3339(),
                r.account_id.clone(),
                r.role_name.clone(),
                kind,
                r.state.to_string(),
            ]
        })
        .collect();
    let header = ["CHANGE", "CREATED", "ACCOUNT", "ROLE", "KIND", "STATE"];
    Ok(Rendered {
        csv: None,
        table: empty_or(records.is_empty(), "no changes", || table(&header, &rows)),
        json,
    })
}

fn rollback_rendered(response: &pb::RollbackResponse) -> Rendered {
    let delivery = match response.delivery() {
        pb::Delivery::Queued => "queued",
        pb::Delivery::Sent => "sent",
        pb::Delivery::Unspecified => "unspecified",
    };
    Rendered {
        csv: None,
        json: json!({ "request_id": response.request_id, "delivery": delivery }),
        table: format!("rollback request {} {delivery}", response.request_id),
    }
}

fn audit_rendered(entries: &[pb::AuditEntry]) -> Rendered {
    let rows: Vec<Vec<String>> = entries
        .iter()
        .map(|e| {
            vec![
                e.at.clone(),
                e.who.clone(),
                e.action.clone(),
                e.target.clone(),
                e.result.clone(),
            ]
        })
        .collect();
    let header = ["AT", "WHO", "ACTION", "TARGET", "RESULT"];
    Rendered {
        csv: None,
        json: Value::Array(entries.iter().map(render::audit_entry).collect()),
        table: empty_or(entries.is_empty(), "no entries", || table(&header, &rows)),
    }
}

fn empty_or(empty: bool, nothing: &str, table: impl FnOnce() -> String) -> String {
    if empty { nothing.to_string() } else { table() }
}

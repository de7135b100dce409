//! `whittle campaign`: org-wide removals in waves, their arguments and how they print.

use serde_json::{Value, json};
use tonic::transport::Channel;
use whittle_proto::admin::v1 as pb;
use whittle_proto::admin::v1::admin_service_client::AdminServiceClient;

use super::args::CampaignCommand;
use super::commands::time_arg;
use super::error::{CallContext, CliError};
use super::render::{Rendered, table};

type Client = AdminServiceClient<Channel>;

/// Checks the arguments of `campaign create` that need no coordinator.
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
        time_arg("--not-before", not_before.as_deref())?;
    }
    Ok(())
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
}

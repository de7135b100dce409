//! Operators' control of a campaign (pause, resume, cancel) and what they read: the
//! announcements of a role and a campaign on the wire.

use super::*;

/// Pauses, resumes or cancels a campaign.
pub(crate) async fn control(
    shared: &Shared,
    campaign_id: String,
    control: pb::CampaignControl,
    author: &str,
) -> Result<(Campaign, String), ServerError> {
    let now = Utc::now();
    let _guard = shared.campaigns.lock().await;
    let id = campaign_id.clone();
    let mut c = shared
        .blocking(move |s| s.get_campaign(&id))
        .await?
        .ok_or_else(|| ServerError::NotFound(format!("no campaign {campaign_id}")))?;
    let refuse = |c: &Campaign, what: &str| {
        Err(ServerError::Protocol(format!(
            "campaign {} is {}: it cannot be {what}",
            c.campaign_id, c.state
        )))
    };
    match control {
        pb::CampaignControl::Unspecified => {
            return Err(ServerError::Protocol("say pause, resume or cancel".into()));
        }
        pb::CampaignControl::Pause => match c.state {
            CampaignState::Scheduled | CampaignState::Running => {
                c.state = CampaignState::Paused;
            }
            _ => return refuse(&c, "paused"),
        },
        pb::CampaignControl::Resume => match c.state {
            CampaignState::Paused => {
                c.state = if now < c.not_before {
                    CampaignState::Scheduled
                } else {
                    CampaignState::Running
                };
            }
            CampaignState::Halted => {
                for wave in &mut c.waves {
                    if wave.state != WaveState::Failed {
                        continue;
                    }
                    wave.state = WaveState::Running;
                    wave.finished_at = None;
                    for role in &mut wave.roles {
                        // Decisions that failed while the campaign was halted are passed too.
                        if role.state == CampaignRoleState::Approved
                            && let Some(id) = role.decision_id.clone()
                        {
                            let d = shared.blocking(move |s| s.get_decision(&id)).await?;
                            if let Some(d) = d.filter(|d| d.state == DecisionState::Failed) {
                                role.state = CampaignRoleState::Failed;
                                role.detail = d.detail;
                            }
                        }
                        if role.state == CampaignRoleState::Failed {
                            role.state = CampaignRoleState::Skipped;
                            role.detail = Some(format!(
                                "failed ({}); resumed past by {author}",
                                role.detail.as_deref().unwrap_or("no detail")
                            ));
                        }
                    }
                }
                c.state = CampaignState::Running;
                c.detail = None;
            }
            _ => return refuse(&c, "resumed"),
        },
        pb::CampaignControl::Cancel => {
            if !c.state.is_live() {
                return refuse(&c, "cancelled");
            }
            cancel_unsent(shared, &c.campaign_id, "the campaign was cancelled").await?;
            for wave in &mut c.waves {
                for role in &mut wave.roles {
                    if role.state == CampaignRoleState::Announced {
                        role.state = CampaignRoleState::Cancelled;
                        role.detail = Some(format!("campaign cancelled by {author}"));
                    }
                }
            }
            c.state = CampaignState::Cancelled;
            c.detail = Some(format!("cancelled by {author}"));
        }
    }
    c.updated_at = now;
    let stored = c.clone();
    shared.blocking(move |s| s.update_campaign(&stored)).await?;
    let summary = format!("ok: campaign {} {}", c.campaign_id, c.state);
    Ok((c, summary))
}

/// What is announced for one role, and when: scheduled approvals and live campaigns.
pub(crate) async fn announcements(
    shared: &Shared,
    account_id: &str,
    role_name: &str,
    now: DateTime<Utc>,
) -> Result<Vec<pb::Announcement>, ServerError> {
    let filter = DecisionFilter {
        account_id: Some(account_id.to_string()),
        role_name: Some(role_name.to_string()),
        states: vec![
            DecisionState::Scheduled,
            DecisionState::Pending,
            DecisionState::Sent,
        ],
        ..DecisionFilter::default()
    };
    let open = shared.blocking(move |s| s.list_decisions(&filter)).await?;
    let mut out: Vec<pb::Announcement> = open
        .into_iter()
        .filter(|d| d.campaign_id.is_none())
        .map(|d| pb::Announcement {
            decision_id: Some(d.decision_id.clone()),
            campaign_id: None,
            wave: None,
            not_before: wire::time_text(d.not_before.unwrap_or(d.created_at).max(now)),
            removals: d.announced.clone(),
            status: match d.state {
                DecisionState::Scheduled => "scheduled approval".into(),
                other => format!("approved ({other})"),
            },
        })
        .collect();
    let campaigns = shared.blocking(|s| s.list_campaigns()).await?;
    for c in campaigns.iter().filter(|c| c.state.is_live()) {
        for (i, wave) in c.waves.iter().enumerate() {
            for role in &wave.roles {
                if role.account_id != account_id
                    || role.role_name != role_name
                    || !matches!(
                        role.state,
                        CampaignRoleState::Announced | CampaignRoleState::Approved
                    )
                {
                    continue;
                }
                let at = c.earliest_start(i, now).max(role.due);
                out.push(pb::Announcement {
                    decision_id: role.decision_id.clone(),
                    campaign_id: Some(c.campaign_id.clone()),
                    wave: Some(wave.number),
                    not_before: wire::time_text(at),
                    removals: role.announced.clone(),
                    status: format!(
                        "campaign {} ({}), wave {} ({}): {}",
                        c.campaign_id,
                        c.state,
                        wave.number,
                        wave.state.name(),
                        role.state.name()
                    ),
                });
            }
        }
    }
    Ok(out)
}

/// A campaign on the wire.
pub(crate) fn to_wire(c: Campaign) -> pb::Campaign {
    pb::Campaign {
        campaign_id: c.campaign_id,
        state: c.state.name().to_string(),
        description: c.description,
        created_by: c.created_by,
        created_at: wire::time_text(c.created_at),
        not_before: wire::time_text(c.not_before),
        unused_days: c.unused_days,
        soak_seconds: c.soak_seconds,
        max_roles_per_wave: c.max_roles_per_wave,
        detail: c.detail.unwrap_or_default(),
        waves: c
            .waves
            .into_iter()
            .map(|w| pb::CampaignWave {
                number: w.number,
                state: w.state.name().to_string(),
                accounts: w.accounts,
                started_at: w.started_at.map(wire::time_text),
                finished_at: w.finished_at.map(wire::time_text),
                roles: w
                    .roles
                    .into_iter()
                    .map(|r| pb::CampaignRole {
                        account_id: r.account_id,
                        role_name: r.role_name,
                        state: r.state.name().to_string(),
                        announced: u32::try_from(r.announced.len()).unwrap_or(u32::MAX),
                        announced_at: wire::time_text(r.announced_at),
                        due: wire::time_text(r.due),
                        decision_id: r.decision_id,
                        detail: r.detail.unwrap_or_default(),
                    })
                    .collect(),
            })
            .collect(),
    }
}

//! Campaigns and scheduled approvals: removals announced ahead of time, then applied.
//!
//! A campaign is created with every role's announcement (the actions its plan removes),
//! split into waves of accounts. The driver ([`drive`]) wakes every tick and moves each
//! live campaign one step: it starts the first wave at `not_before`, makes a decision for
//! each role of the running wave whose announcement still holds, follows the decisions to
//! their end, starts the next wave once the previous one applied cleanly and the soak time
//! passed, and halts the campaign on any failed apply. It also hands scheduled approvals to
//! their agents when they fall due.
//!
//! Architecture Invariant: only what was announced is removed. A role whose plan now
//! removes an action that was not announced is announced again (with a notice), never
//! applied wider; the agent checks the same bound when it applies. The driver keeps no
//! state of its own: every step reads the store and writes the outcome, so a coordinator
//! that restarts mid-campaign goes on where it stopped, and a decision made just before a
//! crash is adopted, not made twice.

use std::time::Duration;

use chrono::{DateTime, Utc};
use whittle_proto::admin::v1 as pb;
use whittle_proto::convert::coverage::coverage;

use super::announce::{announcement, unannounced};
use super::auth::ServerError;
use super::{Shared, deliver, wire};
use crate::store::{
    Campaign, CampaignRole, CampaignRoleState, CampaignState, Decision, DecisionFilter,
    DecisionState, NewCampaign, NewDecision, StoreError, Wave, WaveState,
};

/// How the driver runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CampaignSettings {
    /// How often the driver looks at campaigns and scheduled approvals.
    pub tick: Duration,
    /// The soak time of a campaign created without one.
    pub default_soak: Duration,
}

impl Default for CampaignSettings {
    fn default() -> Self {
        CampaignSettings {
            tick: Duration::from_secs(1),
            default_soak: Duration::from_secs(3600),
        }
    }
}

/// Runs the driver until `shutdown` resolves. A failed step is logged; the next tick tries
/// again (the store is the only state).
pub async fn drive(shared: Shared, tick: Duration, shutdown: tokio::sync::watch::Receiver<bool>) {
    let mut shutdown = shutdown;
    let mut ticker = tokio::time::interval(tick);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            _ = shutdown.changed() => return,
        }
        if *shutdown.borrow() {
            return;
        }
        if let Err(e) = step(&shared, Utc::now()).await {
            tracing::warn!(error = %e, "campaign step failed; retrying at the next tick");
        }
    }
}

/// One pass: scheduled approvals that fell due, then every live campaign.
pub async fn step(shared: &Shared, now: DateTime<Utc>) -> Result<(), ServerError> {
    let _guard = shared.campaigns.lock().await;
    due_approvals(shared, now).await?;
    let campaigns = shared.blocking(|s| s.list_campaigns()).await?;
    for campaign in campaigns {
        if matches!(
            campaign.state,
            CampaignState::Scheduled | CampaignState::Running
        ) {
            let id = campaign.campaign_id.clone();
            if let Err(e) = advance(shared, campaign, now).await {
                tracing::warn!(campaign_id = %id, error = %e, "campaign not advanced");
            }
        }
    }
    Ok(())
}

/// The notice a role announced again gets.
fn notice(campaign: &Campaign) -> chrono::Duration {
    seconds(campaign.notice_seconds)
}

fn seconds(s: u64) -> chrono::Duration {
    chrono::Duration::seconds(i64::try_from(s).unwrap_or(i64::MAX / 1000))
}

/// Moves one campaign forward and stores it if anything changed.
async fn advance(shared: &Shared, mut c: Campaign, now: DateTime<Utc>) -> Result<(), ServerError> {
    let before = c.clone();
    if c.state == CampaignState::Scheduled {
        if now < c.not_before {
            return Ok(());
        }
        c.state = CampaignState::Running;
        tracing::info!(campaign_id = %c.campaign_id, "campaign started");
    }
    if let Some(i) = c.current_wave() {
        if c.waves[i].state == WaveState::Waiting {
            let start = match i {
                0 => c.not_before,
                _ => c.waves[i - 1].finished_at.unwrap_or(now) + seconds(c.soak_seconds),
            };
            if now >= start {
                c.waves[i].state = WaveState::Running;
                c.waves[i].started_at = Some(now);
                tracing::info!(campaign_id = %c.campaign_id, wave = c.waves[i].number, "wave started");
            }
        }
        if c.waves[i].state == WaveState::Running {
            run_wave(shared, &mut c, i, now).await?;
        }
    }
    if c.state == CampaignState::Running && c.current_wave().is_none() {
        c.state = CampaignState::Completed;
        tracing::info!(campaign_id = %c.campaign_id, "campaign completed");
    }
    if c != before {
        c.updated_at = now;
        shared.blocking(move |s| s.update_campaign(&c)).await?;
    }
    Ok(())
}

/// Moves the roles of the running wave `i`; ends the wave when every role is final, and
/// halts the campaign when one failed.
async fn run_wave(
    shared: &Shared,
    c: &mut Campaign,
    i: usize,
    now: DateTime<Utc>,
) -> Result<(), ServerError> {
    let rules = shared.blocking(|s| s.rules()).await?;
    let rules = wire::rules_to_wire(0, rules);
    let notice = notice(c);
    for j in 0..c.waves[i].roles.len() {
        let role = c.waves[i].roles[j].clone();
        let updated = match role.state {
            CampaignRoleState::Announced if role.due <= now => {
                start_role(shared, c, role, &rules, notice, now).await?
            }
            CampaignRoleState::Approved => follow_role(shared, c, role, notice, now).await?,
            _ => continue,
        };
        c.waves[i].roles[j] = updated;
    }
    let wave = &mut c.waves[i];
    if let Some(failed) = wave
        .roles
        .iter()
        .find(|r| r.state == CampaignRoleState::Failed)
    {
        let detail = format!(
            "wave {}: role {} in account {} failed: {}",
            wave.number,
            failed.role_name,
            failed.account_id,
            failed.detail.as_deref().unwrap_or("no detail")
        );
        wave.state = WaveState::Failed;
        wave.finished_at = Some(now);
        c.state = CampaignState::Halted;
        tracing::warn!(campaign_id = %c.campaign_id, %detail, "campaign halted");
        c.detail = Some(detail);
        cancel_unsent(shared, &c.campaign_id, "the campaign halted").await?;
    } else if wave.roles.iter().all(|r| r.state.is_final()) {
        wave.state = WaveState::Done;
        wave.finished_at = Some(now);
        tracing::info!(campaign_id = %c.campaign_id, wave = wave.number, "wave done");
    }
    Ok(())
}

/// A role whose time came: skip it, announce it again, or make its decision.
async fn start_role(
    shared: &Shared,
    c: &Campaign,
    mut role: CampaignRole,
    rules: &whittle_proto::convert::ExclusionRules,
    notice: chrono::Duration,
    now: DateTime<Utc>,
) -> Result<CampaignRole, ServerError> {
    let (account, name) = (role.account_id.clone(), role.role_name.clone());
    let opt_out = shared
        .blocking(move |s| s.get_opt_out(&account, &name))
        .await?;
    if let Some(o) = opt_out.filter(|o| o.is_active(now)) {
        role.state = CampaignRoleState::OptedOut;
        role.detail = Some(format!(
            "opted out by {} until {}: {}",
            o.owner,
            wire::time_text(o.until),
            o.reason
        ));
        return Ok(role);
    }
    let (account, name) = (role.account_id.clone(), role.role_name.clone());
    let Some(plan) = shared
        .blocking(move |s| s.get_plan(&account, &name))
        .await?
    else {
        role.state = CampaignRoleState::Skipped;
        role.detail = Some("the coordinator has no plan for the role any more".into());
        return Ok(role);
    };
    let a = match announcement(&plan, c.unused_days) {
        Ok(a) => a,
        Err(e) => {
            role.state = CampaignRoleState::Skipped;
            role.detail = Some(e.to_string());
            return Ok(role);
        }
    };
    if let Some(reason) = a.skipped {
        role.state = CampaignRoleState::Skipped;
        role.detail = Some(format!("the role is left alone: {reason}"));
        return Ok(role);
    }
    if let Some(reason) = coverage(rules, &role.account_id, &a.role, now).whole_role {
        role.state = CampaignRoleState::Excluded;
        role.detail = Some(reason);
        return Ok(role);
    }
    if a.removals.is_empty() {
        role.state = CampaignRoleState::NothingToRemove;
        role.detail = Some("the plan removes nothing now".into());
        return Ok(role);
    }
    let extra = unannounced(&a.removals, &role.announced);
    if !extra.is_empty() {
        return Ok(reannounced(
            role,
            plan.fingerprint,
            a.removals.clone(),
            &extra,
            notice,
            now,
        ));
    }
    let new = NewDecision {
        account_id: role.account_id.clone(),
        role_name: role.role_name.clone(),
        plan_fingerprint: plan.fingerprint.clone(),
        author: format!("campaign {}", c.campaign_id),
        detail: None,
        not_before: None,
        campaign_id: Some(c.campaign_id.clone()),
        announced: role.announced.clone(),
        unused_days: c.unused_days,
    };
    match shared.blocking(move |s| s.create_decision(new, now)).await {
        Ok(d) => {
            role.state = CampaignRoleState::Approved;
            role.decision_id = Some(d.decision_id.clone());
            role.detail = None;
            deliver::send_decision(shared, &d).await?;
        }
        Err(ServerError::Store(StoreError::DecisionOpen { decision_id, .. })) => {
            // Made by this campaign before a restart: adopt it. Otherwise an operator's
            // own decision is open for the role: leave the role to it.
            let id = decision_id.clone();
            let open = shared.blocking(move |s| s.get_decision(&id)).await?;
            if open.is_some_and(|d| d.campaign_id.as_deref() == Some(&c.campaign_id)) {
                role.state = CampaignRoleState::Approved;
                role.decision_id = Some(decision_id);
            } else {
                role.state = CampaignRoleState::Skipped;
                role.detail = Some(format!("decision {decision_id} is already open for it"));
            }
        }
        Err(ServerError::Store(e)) if !e.is_retryable() => {
            role.state = CampaignRoleState::Skipped;
            role.detail = Some(e.to_string());
        }
        Err(e) => return Err(e),
    }
    Ok(role)
}

/// A role whose plan grew: announced again with the new removals, due after the notice.
fn reannounced(
    mut role: CampaignRole,
    fingerprint: String,
    removals: Vec<String>,
    extra: &[&str],
    notice: chrono::Duration,
    now: DateTime<Utc>,
) -> CampaignRole {
    let due = now + notice;
    let examples: Vec<&str> = extra.iter().take(3).copied().collect();
    role.detail = Some(format!(
        "the plan grew by {} action(s) ({}{}): announced again, due {}",
        extra.len(),
        examples.join(", "),
        if extra.len() > 3 { ", ..." } else { "" },
        wire::time_text(due)
    ));
    tracing::info!(account_id = %role.account_id, role_name = %role.role_name, added = extra.len(), "role announced again");
    role.plan_fingerprint = fingerprint;
    role.announced = removals;
    role.announced_at = now;
    role.due = due;
    role.state = CampaignRoleState::Announced;
    role.decision_id = None;
    role
}

/// An approved role: follow its decision to its end.
async fn follow_role(
    shared: &Shared,
    c: &Campaign,
    mut role: CampaignRole,
    notice: chrono::Duration,
    now: DateTime<Utc>,
) -> Result<CampaignRole, ServerError> {
    let Some(id) = role.decision_id.clone() else {
        role.state = CampaignRoleState::Announced;
        return Ok(role);
    };
    let Some(d) = shared.blocking(move |s| s.get_decision(&id)).await? else {
        role.state = CampaignRoleState::Failed;
        role.detail = Some("its decision is missing from the store".into());
        return Ok(role);
    };
    match d.state {
        DecisionState::Applied => {
            role.state = CampaignRoleState::Applied;
            role.detail = d.detail;
        }
        DecisionState::Failed => {
            role.state = CampaignRoleState::Failed;
            role.detail = d.detail;
        }
        DecisionState::Cancelled if d.plan_grew => {
            let (account, name) = (role.account_id.clone(), role.role_name.clone());
            let plan = shared
                .blocking(move |s| s.get_plan(&account, &name))
                .await?;
            let Some(plan) = plan else {
                role.state = CampaignRoleState::Skipped;
                role.detail = Some("the coordinator has no plan for the role any more".into());
                return Ok(role);
            };
            let removals = announcement(&plan, c.unused_days)
                .map(|a| a.removals)
                .unwrap_or_default();
            let extra = unannounced(&removals, &role.announced);
            let extra: Vec<&str> = if extra.is_empty() {
                vec!["actions the agent saw"]
            } else {
                extra
            };
            return Ok(reannounced(
                role,
                plan.fingerprint.clone(),
                removals.clone(),
                &extra,
                notice,
                now,
            ));
        }
        DecisionState::Cancelled => {
            role.state = CampaignRoleState::Cancelled;
            role.detail = d.detail;
        }
        DecisionState::Scheduled | DecisionState::Pending | DecisionState::Sent => {}
    }
    Ok(role)
}

/// Cancels the campaign's decisions that no agent has yet (Scheduled or Pending).
async fn cancel_unsent(shared: &Shared, campaign_id: &str, why: &str) -> Result<(), ServerError> {
    let filter = DecisionFilter {
        campaign_id: Some(campaign_id.to_string()),
        states: vec![DecisionState::Scheduled, DecisionState::Pending],
        ..DecisionFilter::default()
    };
    let open = shared.blocking(move |s| s.list_decisions(&filter)).await?;
    for d in open {
        let why = why.to_string();
        shared
            .blocking(move |s| {
                s.transition_decision(
                    &d.decision_id,
                    DecisionState::Cancelled,
                    Some(why),
                    None,
                    Utc::now(),
                )
            })
            .await?;
    }
    Ok(())
}

/// Scheduled approvals (not of a campaign) that fell due: handed to the agent when their
/// announcement still holds, announced again when the plan grew.
async fn due_approvals(shared: &Shared, now: DateTime<Utc>) -> Result<(), ServerError> {
    let filter = DecisionFilter {
        states: vec![DecisionState::Scheduled],
        ..DecisionFilter::default()
    };
    let scheduled = shared.blocking(move |s| s.list_decisions(&filter)).await?;
    for d in scheduled {
        if d.campaign_id.is_some() || d.not_before.is_some_and(|t| t > now) {
            continue;
        }
        let (account, name) = (d.account_id.clone(), d.role_name.clone());
        let plan = shared
            .blocking(move |s| s.get_plan(&account, &name))
            .await?;
        let removals = plan
            .as_ref()
            .and_then(|p| announcement(p, d.unused_days).ok())
            .filter(|a| a.skipped.is_none())
            .map(|a| a.removals)
            .unwrap_or_default();
        let id = d.decision_id.clone();
        if removals.is_empty() {
            let why = "the plan removes nothing now".to_string();
            shared
                .blocking(move |s| {
                    s.transition_decision(&id, DecisionState::Cancelled, Some(why), None, now)
                })
                .await?;
            continue;
        }
        let extra = unannounced(&removals, &d.announced);
        if let (false, Some(plan)) = (extra.is_empty(), plan) {
            let notice = scheduled_notice(&d);
            let due = now + notice;
            let detail = format!(
                "the plan grew by {} action(s): announced again, due {}",
                extra.len(),
                wire::time_text(due)
            );
            shared
                .blocking(move |s| s.reannounce(&id, plan.fingerprint, removals, due, detail, now))
                .await?;
            continue;
        }
        let pending = shared
            .blocking(move |s| s.transition_decision(&id, DecisionState::Pending, None, None, now))
            .await?;
        deliver::send_decision(shared, &pending).await?;
    }
    Ok(())
}

/// The notice of a scheduled approval: the time between its approval and its due time.
fn scheduled_notice(d: &Decision) -> chrono::Duration {
    d.not_before
        .map(|t| t - d.created_at)
        .filter(|n| *n > chrono::Duration::zero())
        .unwrap_or_else(chrono::Duration::zero)
}

/// After the agent refused a scheduled approval because its plan grew: a new scheduled
/// decision announcing the newest plan, due after the same notice.
pub(super) async fn reannounce_refused(
    shared: &Shared,
    refused: &Decision,
    now: DateTime<Utc>,
) -> Result<(), ServerError> {
    if refused.campaign_id.is_some() || refused.not_before.is_none() {
        return Ok(());
    }
    let (account, name) = (refused.account_id.clone(), refused.role_name.clone());
    let Some(plan) = shared
        .blocking(move |s| s.get_plan(&account, &name))
        .await?
    else {
        return Ok(());
    };
    let Ok(a) = announcement(&plan, refused.unused_days) else {
        return Ok(());
    };
    if a.removals.is_empty() {
        return Ok(());
    }
    let due = now + scheduled_notice(refused);
    let new = NewDecision {
        account_id: refused.account_id.clone(),
        role_name: refused.role_name.clone(),
        plan_fingerprint: plan.fingerprint,
        author: refused.author.clone(),
        detail: Some(format!(
            "announced again after decision {} found the plan grew",
            refused.decision_id
        )),
        // Never Pending at once: a grown plan waits its notice.
        not_before: Some(due.max(now + chrono::Duration::seconds(1))),
        campaign_id: None,
        announced: a.removals,
        unused_days: refused.unused_days,
    };
    shared
        .blocking(move |s| s.create_decision(new, now))
        .await?;
    Ok(())
}

/// Creates a campaign: its accounts, waves and every role's announcement.
pub(super) async fn create(
    shared: &Shared,
    req: pb::CreateCampaignRequest,
    author: String,
    settings: CampaignSettings,
) -> Result<(Campaign, String), ServerError> {
    let now = Utc::now();
    let pb::CreateCampaignRequest {
        accounts,
        unused_days,
        waves,
        max_roles_per_wave,
        not_before,
        soak_seconds,
        description,
    } = req;
    let not_before = match not_before {
        Some(t) => wire::parse_time("not_before", &t)?,
        None => now,
    };
    if unused_days == Some(0) {
        return Err(ServerError::Protocol(
            "unused_days must be at least 1".into(),
        ));
    }
    if max_roles_per_wave == Some(0) {
        return Err(ServerError::Protocol(
            "max_roles_per_wave must be at least 1".into(),
        ));
    }
    let soak_seconds = soak_seconds.unwrap_or(settings.default_soak.as_secs());
    let accounts = campaign_accounts(shared, accounts).await?;
    let groups = wave_groups(&accounts, &waves)?;
    let rules = shared.blocking(|s| s.rules()).await?;
    let rules = wire::rules_to_wire(0, rules);
    let opt_outs = shared.blocking(|s| s.list_opt_outs()).await?;
    let mut waves = Vec::new();
    for group in groups {
        let mut roles = Vec::new();
        for account in &group {
            let id = account.clone();
            let plans = shared.blocking(move |s| s.list_plans(&id)).await?;
            for plan in plans {
                if plan.skipped.is_some() {
                    continue;
                }
                let a = announcement(&plan, unused_days)?;
                if a.removals.is_empty() {
                    continue;
                }
                let mut role = CampaignRole {
                    account_id: plan.account_id.clone(),
                    role_name: plan.role_name.clone(),
                    plan_fingerprint: plan.fingerprint.clone(),
                    announced: a.removals,
                    announced_at: now,
                    due: not_before,
                    state: CampaignRoleState::Announced,
                    decision_id: None,
                    detail: None,
                };
                if let Some(o) = opt_outs.iter().find(|o| {
                    o.account_id == role.account_id
                        && o.role_name == role.role_name
                        && o.is_active(now)
                }) {
                    role.state = CampaignRoleState::OptedOut;
                    role.detail = Some(format!(
                        "opted out by {} until {}: {}",
                        o.owner,
                        wire::time_text(o.until),
                        o.reason
                    ));
                } else if let Some(reason) =
                    coverage(&rules, &role.account_id, &a.role, now).whole_role
                {
                    role.state = CampaignRoleState::Excluded;
                    role.detail = Some(reason);
                }
                roles.push(role);
            }
        }
        for chunk in split_roles(roles, max_roles_per_wave) {
            let mut accounts: Vec<String> = chunk.iter().map(|r| r.account_id.clone()).collect();
            accounts.dedup();
            waves.push(Wave {
                number: u32::try_from(waves.len() + 1).unwrap_or(u32::MAX),
                accounts,
                state: WaveState::Waiting,
                started_at: None,
                finished_at: None,
                roles: chunk,
            });
        }
    }
    let announced: usize = waves.iter().map(|w| w.roles.len()).sum();
    if announced == 0 {
        return Err(ServerError::Protocol(format!(
            "no role of account(s) {} has anything to remove: no campaign made",
            accounts.join(",")
        )));
    }
    let lead = (not_before - now).max(chrono::Duration::zero());
    let notice_seconds = u64::try_from(lead.num_seconds())
        .unwrap_or(0)
        .max(soak_seconds);
    let new = NewCampaign {
        description,
        created_by: author,
        not_before,
        notice_seconds,
        unused_days,
        soak_seconds,
        max_roles_per_wave,
        waves,
    };
    let _guard = shared.campaigns.lock().await;
    let campaign = shared
        .blocking(move |s| s.create_campaign(new, now))
        .await?;
    let summary = format!(
        "ok: campaign {}, {} waves, {announced} roles",
        campaign.campaign_id,
        campaign.waves.len()
    );
    Ok((campaign, summary))
}

/// The campaign's accounts: those named (each must be known), or every known account.
async fn campaign_accounts(
    shared: &Shared,
    named: Vec<String>,
) -> Result<Vec<String>, ServerError> {
    let known: Vec<String> = shared
        .blocking(|s| s.list_accounts())
        .await?
        .into_iter()
        .map(|a| a.account_id)
        .collect();
    if named.is_empty() {
        if known.is_empty() {
            return Err(ServerError::Protocol(
                "the coordinator knows no account yet: no campaign made".into(),
            ));
        }
        return Ok(known);
    }
    let mut out = Vec::new();
    for a in named {
        super::admin::account(&a)?;
        if !known.contains(&a) {
            return Err(ServerError::NotFound(format!(
                "account {a} is not known to the coordinator (no agent has reported it)"
            )));
        }
        if !out.contains(&a) {
            out.push(a);
        }
    }
    Ok(out)
}

/// Splits `accounts` into waves: each size is a count of accounts, or a cumulative share
/// of them; accounts left after the last size make one more wave.
pub fn wave_groups(
    accounts: &[String],
    sizes: &[pb::WaveSize],
) -> Result<Vec<Vec<String>>, ServerError> {
    use pb::wave_size::Size;
    let total = accounts.len();
    let mut groups = Vec::new();
    let mut taken = 0usize;
    for (i, size) in sizes.iter().enumerate() {
        let target = match size.size {
            Some(Size::Accounts(0)) | None => {
                return Err(ServerError::Protocol(format!(
                    "wave {} has no size: give a number of accounts (at least 1) or a \
                     percentage",
                    i + 1
                )));
            }
            Some(Size::Accounts(n)) => taken + n as usize,
            Some(Size::Percent(p)) if p == 0 || p > 100 => {
                return Err(ServerError::Protocol(format!(
                    "wave {} is {p}%: a percentage must be 1 to 100",
                    i + 1
                )));
            }
            Some(Size::Percent(p)) => (total * p as usize).div_ceil(100),
        };
        let target = target.min(total);
        if target > taken {
            groups.push(accounts[taken..target].to_vec());
            taken = target;
        }
    }
    if taken < total {
        groups.push(accounts[taken..].to_vec());
    }
    Ok(groups)
}

/// Splits a wave's roles so that no wave applies more than `max` roles (roles that will
/// not be applied, opted out or excluded, go with the first part).
fn split_roles(roles: Vec<CampaignRole>, max: Option<u32>) -> Vec<Vec<CampaignRole>> {
    if roles.is_empty() {
        return Vec::new();
    }
    let Some(max) = max.map(|m| m.max(1) as usize) else {
        return vec![roles];
    };
    let (active, idle): (Vec<_>, Vec<_>) = roles
        .into_iter()
        .partition(|r| r.state == CampaignRoleState::Announced);
    let mut parts: Vec<Vec<CampaignRole>> = active.chunks(max).map(<[_]>::to_vec).collect();
    if parts.is_empty() {
        parts.push(Vec::new());
    }
    parts[0].extend(idle);
    parts
}

/// Pauses, resumes or cancels a campaign.
pub(super) async fn control(
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
pub(super) async fn announcements(
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
pub(super) fn to_wire(c: Campaign) -> pb::Campaign {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn accounts(n: usize) -> Vec<String> {
        (0..n)
            .map(|i| format!("{:012}", 100_000_000_000 + i))
            .collect()
    }

    fn sizes(spec: &[(bool, u32)]) -> Vec<pb::WaveSize> {
        use pb::wave_size::Size;
        spec.iter()
            .map(|&(pct, n)| pb::WaveSize {
                size: Some(if pct {
                    Size::Percent(n)
                } else {
                    Size::Accounts(n)
                }),
            })
            .collect()
    }

    #[test]
    fn waves_are_a_canary_then_shares_of_the_rest() {
        let a = accounts(8);
        let g = wave_groups(&a, &sizes(&[(false, 2), (true, 50), (true, 100)])).unwrap();
        let lens: Vec<usize> = g.iter().map(Vec::len).collect();
        assert_eq!(lens, vec![2, 2, 4]);
        assert_eq!(g.concat(), a);
    }

    #[test]
    fn accounts_left_after_the_last_size_make_one_more_wave() {
        let a = accounts(5);
        let g = wave_groups(&a, &sizes(&[(false, 1), (true, 40)])).unwrap();
        let lens: Vec<usize> = g.iter().map(Vec::len).collect();
        assert_eq!(lens, vec![1, 1, 3]);
    }

    #[test]
    fn a_share_already_reached_makes_no_empty_wave() {
        let a = accounts(3);
        let g = wave_groups(&a, &sizes(&[(false, 2), (true, 25), (true, 100)])).unwrap();
        let lens: Vec<usize> = g.iter().map(Vec::len).collect();
        assert_eq!(lens, vec![2, 1]);
    }

    #[test]
    fn bad_sizes_are_refused_with_the_wave_named() {
        let a = accounts(3);
        let e = wave_groups(&a, &sizes(&[(false, 0)])).unwrap_err();
        assert!(e.to_string().contains("wave 1"), "{e}");
        let e = wave_groups(&a, &sizes(&[(false, 1), (true, 101)])).unwrap_err();
        assert!(e.to_string().contains("wave 2 is 101%"), "{e}");
    }

    fn role(n: usize, state: CampaignRoleState) -> CampaignRole {
        CampaignRole {
            account_id: "111122223333".into(),
            role_name: format!("r{n}"),
            plan_fingerprint: "f".into(),
            announced: vec!["s3:GetObject".into()],
            announced_at: DateTime::<Utc>::MIN_UTC,
            due: DateTime::<Utc>::MIN_UTC,
            state,
            decision_id: None,
            detail: None,
        }
    }

    #[test]
    fn a_wave_with_too_many_roles_is_split() {
        let roles: Vec<CampaignRole> = (0..5)
            .map(|i| role(i, CampaignRoleState::Announced))
            .chain([role(9, CampaignRoleState::OptedOut)])
            .collect();
        let parts = split_roles(roles, Some(2));
        let lens: Vec<usize> = parts.iter().map(Vec::len).collect();
        assert_eq!(lens, vec![3, 2, 1]);
        assert_eq!(parts[0][2].state, CampaignRoleState::OptedOut);
    }
}

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

mod approvals;
mod control;
mod create;
mod roles;

use super::announce::announcement;
use super::auth::ServerError;
use super::{Shared, deliver, wire};
use crate::store::{
    Campaign, CampaignRole, CampaignRoleState, CampaignState, Decision, DecisionFilter,
    DecisionState, NewCampaign, NewDecision, StoreError, Wave, WaveState,
};
use approvals::due_approvals;
pub(super) use approvals::reannounce_refused;
pub(super) use control::{announcements, control, to_wire};
pub(super) use create::create;
use roles::{cancel_unsent, follow_role, start_role};
use whittle_policy::report::unannounced;

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

/// Marks `role` opted out by `o`, saying by whom, until when and why.
fn opt_out(role: &mut CampaignRole, o: &crate::store::OptOut) {
    role.state = CampaignRoleState::OptedOut;
    role.detail = Some(format!(
        "opted out by {} until {}: {}",
        o.owner,
        wire::time_text(o.until),
        o.reason
    ));
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

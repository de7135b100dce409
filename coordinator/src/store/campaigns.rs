//! Campaigns: org-wide removals announced ahead of time and applied in waves. The store
//! keeps each campaign as one record (its waves and every role's announcement and state);
//! the coordinator's campaign driver moves them forward, one transaction per step.

use std::fmt;
use std::path::Path;

use chrono::{DateTime, Utc};
use redb::ReadableTable;
use serde::{Deserialize, Serialize};

use super::Store;
use super::db::{CAMPAIGNS, OrStorage, decode, encode, next_id};
use super::error::StoreError;

/// Where a campaign is.
///
/// ```text
/// Scheduled --> Running --> Completed
///     |           |  ^ \--> Halted (a failed apply) --resume--> Running
///     |           v  |
///     |         Paused
///     +--> Cancelled (from any state but Completed)
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CampaignState {
    /// Announced; the first wave starts at `not_before`.
    Scheduled,
    Running,
    Paused,
    /// A role of the running wave failed to apply; no new work until resumed.
    Halted,
    Cancelled,
    Completed,
}

impl CampaignState {
    /// Whether the campaign may still change roles (it is not cancelled or completed).
    pub fn is_live(self) -> bool {
        !matches!(self, CampaignState::Cancelled | CampaignState::Completed)
    }

    pub fn name(self) -> &'static str {
        match self {
            CampaignState::Scheduled => "scheduled",
            CampaignState::Running => "running",
            CampaignState::Paused => "paused",
            CampaignState::Halted => "halted",
            CampaignState::Cancelled => "cancelled",
            CampaignState::Completed => "completed",
        }
    }
}

impl fmt::Display for CampaignState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Where a wave is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WaveState {
    /// Not started: the previous wave is not done, or its soak time has not passed.
    Waiting,
    Running,
    /// Every role finished and none failed.
    Done,
    /// A role failed; the campaign halted.
    Failed,
}

impl WaveState {
    pub fn name(self) -> &'static str {
        match self {
            WaveState::Waiting => "waiting",
            WaveState::Running => "running",
            WaveState::Done => "done",
            WaveState::Failed => "failed",
        }
    }
}

/// Where one role of a campaign is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CampaignRoleState {
    /// Its removals are announced; it waits for its wave and its due time.
    Announced,
    /// A decision was made; it waits for the agent.
    Approved,
    Applied,
    Failed,
    /// Its decision was cancelled (an exclusion rule covers it now, or the campaign was
    /// cancelled).
    Cancelled,
    /// An opt-out in force keeps it out.
    OptedOut,
    /// An exclusion rule keeps the whole role out.
    Excluded,
    /// Its plan removes nothing now.
    NothingToRemove,
    /// Left out for another reason (see the detail), e.g. an operator's own decision is
    /// open for it, or it failed and the campaign was resumed past it.
    Skipped,
}

impl CampaignRoleState {
    /// Whether the role is finished with, for this campaign.
    pub fn is_final(self) -> bool {
        !matches!(
            self,
            CampaignRoleState::Announced | CampaignRoleState::Approved
        )
    }

    pub fn name(self) -> &'static str {
        match self {
            CampaignRoleState::Announced => "announced",
            CampaignRoleState::Approved => "approved",
            CampaignRoleState::Applied => "applied",
            CampaignRoleState::Failed => "failed",
            CampaignRoleState::Cancelled => "cancelled",
            CampaignRoleState::OptedOut => "opted out",
            CampaignRoleState::Excluded => "excluded",
            CampaignRoleState::NothingToRemove => "nothing to remove",
            CampaignRoleState::Skipped => "skipped",
        }
    }
}

/// One role of a campaign: what was announced for it and where it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CampaignRole {
    pub account_id: String,
    pub role_name: String,
    /// The plan the announcement was made from.
    pub plan_fingerprint: String,
    /// The actions announced for removal (`service:Action`); nothing else is removed.
    pub announced: Vec<String>,
    /// When it was (last) announced.
    pub announced_at: DateTime<Utc>,
    /// The earliest time it may be applied (a role announced again waits its notice).
    pub due: DateTime<Utc>,
    pub state: CampaignRoleState,
    pub decision_id: Option<String>,
    pub detail: Option<String>,
}

/// A group of accounts whose roles are applied together.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Wave {
    /// 1, 2, ...
    pub number: u32,
    pub accounts: Vec<String>,
    pub state: WaveState,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub roles: Vec<CampaignRole>,
}

/// An org-wide removal in waves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Campaign {
    /// A ULID.
    pub campaign_id: String,
    pub description: String,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    /// The first wave starts no earlier.
    pub not_before: DateTime<Utc>,
    /// The notice a role announced again gets: `not_before - created_at`, at least the soak.
    pub notice_seconds: u64,
    pub unused_days: Option<u32>,
    pub soak_seconds: u64,
    pub max_roles_per_wave: Option<u32>,
    pub state: CampaignState,
    /// Why it halted or was cancelled.
    pub detail: Option<String>,
    pub updated_at: DateTime<Utc>,
    pub waves: Vec<Wave>,
}

impl Campaign {
    /// The wave that is running or next to run, if any is left.
    pub fn current_wave(&self) -> Option<usize> {
        self.waves
            .iter()
            .position(|w| matches!(w.state, WaveState::Waiting | WaveState::Running))
    }

    /// The earliest time wave `index` may start, as far as is known now: for a wave after
    /// a running one, the soak after the earliest end (now); for later ones, one soak more
    /// per wave.
    pub fn earliest_start(&self, index: usize, now: DateTime<Utc>) -> DateTime<Utc> {
        let soak = chrono::Duration::seconds(i64::try_from(self.soak_seconds).unwrap_or(i64::MAX));
        let mut t = self.not_before.max(now);
        for (i, wave) in self.waves.iter().enumerate().take(index + 1) {
            if let Some(started) = wave.started_at {
                t = started;
            }
            if let Some(finished) = wave.finished_at {
                t = finished + soak;
            } else if i < index {
                t += soak;
            }
        }
        t.max(self.not_before)
    }
}

/// What [`Store::create_campaign`] needs; the store adds the id and times.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewCampaign {
    pub description: String,
    pub created_by: String,
    pub not_before: DateTime<Utc>,
    pub notice_seconds: u64,
    pub unused_days: Option<u32>,
    pub soak_seconds: u64,
    pub max_roles_per_wave: Option<u32>,
    pub waves: Vec<Wave>,
}

impl Store {
    /// Stores a new campaign: Scheduled, or Running when `not_before` has come.
    pub fn create_campaign(
        &self,
        new: NewCampaign,
        now: DateTime<Utc>,
    ) -> Result<Campaign, StoreError> {
        if new.waves.is_empty() {
            return Err(StoreError::Refused {
                what: "new campaign".into(),
                problem: "it has no roles to remove anything from".into(),
            });
        }
        let path = self.path();
        let campaign = self.db.write(|txn| {
            let NewCampaign {
                description,
                created_by,
                not_before,
                notice_seconds,
                unused_days,
                soak_seconds,
                max_roles_per_wave,
                waves,
            } = new;
            let campaign = Campaign {
                campaign_id: next_id(txn, path, CAMPAIGNS, "campaign", now)?,
                description,
                created_by,
                created_at: now,
                not_before,
                notice_seconds,
                unused_days,
                soak_seconds,
                max_roles_per_wave,
                state: CampaignState::Scheduled,
                detail: None,
                updated_at: now,
                waves,
            };
            put(txn, path, &campaign)?;
            Ok(campaign)
        })?;
        tracing::info!(campaign_id = %campaign.campaign_id, waves = campaign.waves.len(), "campaign created");
        Ok(campaign)
    }

    /// Replaces a stored campaign with `campaign` (same id), unless the stored one is
    /// finished (cancelled or completed).
    pub fn update_campaign(&self, campaign: &Campaign) -> Result<(), StoreError> {
        let path = self.path();
        self.db.write(|txn| {
            let table = txn.open_table(CAMPAIGNS).or_storage(path)?;
            let stored = get(&table, path, &campaign.campaign_id)?;
            drop(table);
            match stored {
                None => Err(StoreError::NotFound {
                    what: "campaign",
                    key: campaign.campaign_id.clone(),
                }),
                Some(s) if !s.state.is_live() => Err(StoreError::Refused {
                    what: format!("campaign {}", s.campaign_id),
                    problem: format!("it is {}", s.state),
                }),
                Some(_) => put(txn, path, campaign),
            }
        })
    }

    pub fn get_campaign(&self, campaign_id: &str) -> Result<Option<Campaign>, StoreError> {
        let path = self.path();
        self.db.read(|txn| {
            let table = txn.open_table(CAMPAIGNS).or_storage(path)?;
            get(&table, path, campaign_id)
        })
    }

    /// Every campaign, oldest first.
    pub fn list_campaigns(&self) -> Result<Vec<Campaign>, StoreError> {
        let path = self.path();
        self.db.read(|txn| {
            let table = txn.open_table(CAMPAIGNS).or_storage(path)?;
            let mut out = Vec::new();
            for entry in table.iter().or_storage(path)? {
                let (k, v) = entry.or_storage(path)?;
                out.push(decode(path, &CAMPAIGNS, k.value(), v.value())?);
            }
            Ok(out)
        })
    }
}

fn put(txn: &redb::WriteTransaction, path: &Path, c: &Campaign) -> Result<(), StoreError> {
    let json = encode(c, format_args!("campaign {}", c.campaign_id))?;
    let mut table = txn.open_table(CAMPAIGNS).or_storage(path)?;
    table
        .insert(c.campaign_id.as_str(), json.as_str())
        .or_storage(path)?;
    Ok(())
}

fn get(
    table: &impl ReadableTable<&'static str, &'static str>,
    path: &Path,
    campaign_id: &str,
) -> Result<Option<Campaign>, StoreError> {
    let json = table.get(campaign_id).or_storage(path)?;
    json.map(|j| decode(path, &CAMPAIGNS, campaign_id, j.value()))
        .transpose()
}

//! The records the coordinator keeps: accounts, plans, decisions, exclusion rules, audit
//! entries and rollback requests, with the inputs that create them and the filters that list
//! them. Plain serde data; the state machines of decisions and rollback requests live here
//! too, so that the rules can be read in one place.

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use whittle_policy::change::{ChangeFilter, ChangeId};

/// One account of the fleet, as its agent last showed it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountRecord {
    pub account_id: String,
    /// The version the agent announced when it last connected; empty until then.
    pub agent_version: String,
    /// Whether the agent's stream is open now. After a restart of the coordinator, see
    /// [`super::Store::disconnect_all`].
    pub connected: bool,
    /// When the agent connected, disconnected or reported last.
    pub last_seen: Option<DateTime<Utc>>,
    pub last_report: Option<DateTime<Utc>>,
    pub roles: u32,
    pub actions_granted: u64,
    pub removable: u64,
}

/// The counts an agent's report gives for its whole account.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountSummary {
    pub roles: u32,
    pub actions_granted: u64,
    pub removable: u64,
}

/// The newest plan an agent reported for one role, keyed by account and role name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredPlan {
    pub account_id: String,
    pub role_name: String,
    pub role_arn: String,
    pub role_id: String,
    /// The fingerprint of the plan's inputs; a decision names the plan by it.
    pub fingerprint: String,
    /// The fingerprint of the live role state the plan was made on (for drift checks).
    pub state_fingerprint: String,
    pub catalogue_version: String,
    pub planned_at: DateTime<Utc>,
    /// Why the role was not planned, if it was skipped.
    pub skipped: Option<String>,
    pub removable: u32,
    pub kept: u32,
    /// The plan's report (reasons per action, new documents) as the agent sent it.
    pub report_json: String,
    /// The plan's inputs, so that the coordinator can recompute it.
    pub inputs_json: String,
    pub received_at: DateTime<Utc>,
}

/// Where a decision is in its life.
///
/// ```text
/// Scheduled --> Pending --> Sent --> Applied
///     |            |         |  \--> Failed
///     +--> Cancelled         +-----> Cancelled
///                  +--> Cancelled, Applied, Failed (the agent may report before the
///                       send is recorded)
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DecisionState {
    /// Announced for later (`not_before`); not yet due.
    Scheduled,
    /// Approved, not yet handed to the agent.
    Pending,
    /// Handed to the agent over its stream.
    Sent,
    Applied,
    Failed,
    Cancelled,
}

impl DecisionState {
    /// Whether the state machine allows going from `self` to `to`.
    pub fn can_become(self, to: DecisionState) -> bool {
        use DecisionState::*;
        matches!(
            (self, to),
            (Scheduled, Pending | Cancelled)
                | (Pending, Sent | Cancelled | Applied | Failed)
                | (Sent, Applied | Failed | Cancelled)
        )
    }

    /// Scheduled, Pending or Sent: the decision may still be applied.
    pub fn is_open(self) -> bool {
        matches!(
            self,
            DecisionState::Scheduled | DecisionState::Pending | DecisionState::Sent
        )
    }

    fn name(self) -> &'static str {
        match self {
            DecisionState::Scheduled => "scheduled",
            DecisionState::Pending => "pending",
            DecisionState::Sent => "sent",
            DecisionState::Applied => "applied",
            DecisionState::Failed => "failed",
            DecisionState::Cancelled => "cancelled",
        }
    }
}

impl fmt::Display for DecisionState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// An approval to apply one role's plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    /// A ULID, so decisions sort by the time they were made.
    pub decision_id: String,
    pub account_id: String,
    pub role_name: String,
    pub plan_fingerprint: String,
    pub state: DecisionState,
    pub author: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Why it failed or was cancelled, or any note.
    pub detail: Option<String>,
    /// The agent's change that carried the decision out.
    pub change_id: Option<ChangeId>,
    /// Not applied before this time (a scheduled approval, announced until then).
    #[serde(default)]
    pub not_before: Option<DateTime<Utc>>,
    /// The campaign that made it.
    #[serde(default)]
    pub campaign_id: Option<String>,
    /// The actions announced for removal (`service:Action`); the agent removes no other.
    #[serde(default)]
    pub announced: Vec<String>,
    /// The campaign's setting of days without use, if it has one.
    #[serde(default)]
    pub unused_days: Option<u32>,
    /// Set when the agent refused because its plan would remove more than announced.
    #[serde(default)]
    pub plan_grew: bool,
}

/// What [`super::Store::create_decision`] needs; the store adds the id, state and times.
/// A decision whose `not_before` is after `now` starts Scheduled, any other Pending.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewDecision {
    pub account_id: String,
    pub role_name: String,
    pub plan_fingerprint: String,
    pub author: String,
    pub detail: Option<String>,
    pub not_before: Option<DateTime<Utc>>,
    pub campaign_id: Option<String>,
    pub announced: Vec<String>,
    pub unused_days: Option<u32>,
}

/// Which decisions [`super::Store::list_decisions`] returns. Empty fields match everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DecisionFilter {
    pub account_id: Option<String>,
    pub role_name: Option<String>,
    pub campaign_id: Option<String>,
    /// Only decisions in one of these states; empty means any state.
    pub states: Vec<DecisionState>,
    pub limit: Option<usize>,
    /// Newest first instead of oldest first (the limit then keeps the newest).
    pub newest_first: bool,
}

impl DecisionFilter {
    pub fn matches(&self, d: &Decision) -> bool {
        self.account_id.as_ref().is_none_or(|a| *a == d.account_id)
            && self.role_name.as_ref().is_none_or(|n| *n == d.role_name)
            && self
                .campaign_id
                .as_ref()
                .is_none_or(|c| d.campaign_id.as_ref() == Some(c))
            && (self.states.is_empty() || self.states.contains(&d.state))
    }
}

/// Which roles and actions an exclusion rule covers. Every field narrows the rule; empty
/// fields match everything.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Selector {
    /// Account ids; empty means every account.
    #[serde(default)]
    pub accounts: Vec<String>,
    #[serde(default)]
    pub role_name_glob: Option<String>,
    #[serde(default)]
    pub path_prefix: Option<String>,
    /// Tags the role must carry, with these values.
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    /// Action patterns (`s3:Get*`); empty means every action of the matched roles.
    #[serde(default)]
    pub action_patterns: Vec<String>,
    /// Statements whose `Sid` starts with this are covered.
    #[serde(default)]
    pub sid_prefix: Option<String>,
}

/// An operator's rule that keeps Whittle away from some roles or actions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExclusionRule {
    /// A ULID.
    pub id: String,
    pub selector: Selector,
    pub reason: String,
    pub author: String,
    pub expires_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

impl ExclusionRule {
    /// Whether the rule is in force at `now`: it has no expiry, or expires later.
    pub fn is_active(&self, now: DateTime<Utc>) -> bool {
        self.expires_at.is_none_or(|t| t > now)
    }
}

/// What [`super::Store::add_rule`] needs; the store adds the id and time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRule {
    pub selector: Selector,
    pub reason: String,
    pub author: String,
    pub expires_at: Option<DateTime<Utc>>,
}

/// Which changes [`super::Store::history`] returns.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HistoryFilter {
    /// One account's changes; `None` means the whole fleet.
    pub account_id: Option<String>,
    /// Role, time (`since` compares `created_at`) and states, as in the agent's journal.
    pub changes: ChangeFilter,
    pub limit: Option<usize>,
    /// Newest first instead of oldest first (the limit then keeps the newest).
    pub newest_first: bool,
}

/// One line of the audit log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// 1, 2, 3...: the order of appending, never reused.
    pub seq: u64,
    pub at: DateTime<Utc>,
    /// The operator or agent identity that acted.
    pub who: String,
    pub action: String,
    pub target: String,
    pub result: String,
}

/// What [`super::Store::append_audit`] needs; the store adds `seq` and `at`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAuditEntry {
    pub who: String,
    pub action: String,
    pub target: String,
    pub result: String,
}

/// Which audit entries [`super::Store::audit`] returns, always in `seq` order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    /// Only entries whose `at` is at or after this instant.
    pub since: Option<DateTime<Utc>>,
    /// Only entries after this one (a cursor for paging).
    pub after_seq: Option<u64>,
    pub limit: Option<usize>,
    /// Newest first instead of oldest first (the limit then keeps the newest).
    pub newest_first: bool,
}

/// What a rollback request undoes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RollbackTarget {
    /// One change.
    Change(ChangeId),
    /// Every applied change of one role, by name.
    Role(String),
    /// Every change in the account since this instant.
    Since(DateTime<Utc>),
}

/// Where a rollback request is in its life: Queued -> Sent -> Done | Failed. A Sent request
/// goes back to Queued when its agent disconnects before answering.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RollbackState {
    Queued,
    Sent,
    Done,
    Failed,
}

impl RollbackState {
    /// Done or Failed.
    pub fn is_finished(self) -> bool {
        matches!(self, RollbackState::Done | RollbackState::Failed)
    }

    fn name(self) -> &'static str {
        match self {
            RollbackState::Queued => "queued",
            RollbackState::Sent => "sent",
            RollbackState::Done => "done",
            RollbackState::Failed => "failed",
        }
    }
}

impl fmt::Display for RollbackState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// An operator's rollback request, waiting for (or handled by) its account's agent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingRollback {
    /// A ULID, so an account's requests sort in the order they were made.
    pub request_id: String,
    pub account_id: String,
    pub target: RollbackTarget,
    /// Roll back even if the role changed since (the agent's own check is skipped).
    pub force: bool,
    pub requested_by: String,
    pub requested_at: DateTime<Utc>,
    pub state: RollbackState,
    /// The agent's answer, once finished.
    pub detail: Option<String>,
    /// The rollback (or restore) changes the agent made for it.
    #[serde(default)]
    pub change_ids: Vec<ChangeId>,
}

/// What [`super::Store::queue_rollback`] needs; the store adds the id, state and time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRollback {
    pub account_id: String,
    pub target: RollbackTarget,
    pub force: bool,
    pub requested_by: String,
}

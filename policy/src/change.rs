//! A change to a role as the agent's journal and the coordinator's history keep it: one
//! [`ChangeRecord`] per change, its id, its kind and the state machine its [`ChangeState`]
//! follows. Pure data: the id's time comes from the caller.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use crate::diff::{Diff, RoleState};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use ulid::Ulid;

/// The id of a change: a ULID, so ids sort by the time the change began.
///
/// Shown and stored in the canonical 26-character upper-case Crockford base32 form, whose
/// string order is its time order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ChangeId(Ulid);

impl ChangeId {
    pub fn from_ulid(ulid: Ulid) -> ChangeId {
        ChangeId(ulid)
    }

    /// The millisecond the id was generated for.
    pub fn timestamp_ms(self) -> u64 {
        self.0.timestamp_ms()
    }
}

impl fmt::Display for ChangeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

/// A string that is not a change id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("change id {input:?} is not a valid ulid: {reason}")]
pub struct ParseChangeIdError {
    pub input: String,
    pub reason: String,
}

impl FromStr for ChangeId {
    type Err = ParseChangeIdError;

    fn from_str(s: &str) -> Result<ChangeId, ParseChangeIdError> {
        let error = |reason: String| ParseChangeIdError {
            input: s.to_string(),
            reason,
        };
        let ulid = Ulid::from_string(s).map_err(|e| {
            error(match e {
                ulid::DecodeError::InvalidLength => {
                    format!("it has {} characters, a ulid has 26", s.chars().count())
                }
                other => other.to_string(),
            })
        })?;
        // The decoder accepts values past 2^128 (a first character above 7) by dropping bits,
        // and aliases; only the canonical form round-trips.
        if ulid.to_string() != s.to_ascii_uppercase() {
            return Err(error(
                "it is out of range or not in canonical form".to_string(),
            ));
        }
        Ok(ChangeId(ulid))
    }
}

impl TryFrom<String> for ChangeId {
    type Error = ParseChangeIdError;

    fn try_from(s: String) -> Result<ChangeId, ParseChangeIdError> {
        s.parse()
    }
}

impl From<ChangeId> for String {
    fn from(id: ChangeId) -> String {
        id.to_string()
    }
}

/// Why a change was made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ChangeKind {
    /// An approved plan removing unused permissions.
    Apply,
    /// The undoing of an earlier change, restoring its before-image.
    Rollback { of: ChangeId },
    /// A restore driven by reconcile after a crash.
    Restore,
}

/// Where a change is in its life.
///
/// ```text
/// Intended --> Applying --> Applied --> RolledBack
///     |            |                        ^
///     +------------+--> Failed -------------+
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeState {
    /// The before-image is durable; IAM has not been touched.
    Intended,
    /// IAM writes may have happened; `steps_done` says how many.
    Applying,
    /// Every step was written and verified.
    Applied,
    /// The change stopped; `error` says why. IAM may hold part of it.
    Failed,
    /// A later change restored this one's before-image.
    RolledBack,
}

impl ChangeState {
    /// Whether the state machine allows going from `self` to `to`.
    pub fn can_become(self, to: ChangeState) -> bool {
        use ChangeState::*;
        matches!(
            (self, to),
            (Intended, Applying)
                | (Intended, Failed)
                | (Applying, Applied)
                | (Applying, Failed)
                | (Applied, RolledBack)
                | (Failed, RolledBack)
        )
    }

    /// Intended or Applying: a change reconcile must look at after a crash.
    pub fn is_unfinished(self) -> bool {
        matches!(self, ChangeState::Intended | ChangeState::Applying)
    }

    fn name(self) -> &'static str {
        match self {
            ChangeState::Intended => "intended",
            ChangeState::Applying => "applying",
            ChangeState::Applied => "applied",
            ChangeState::Failed => "failed",
            ChangeState::RolledBack => "rolled_back",
        }
    }
}

impl fmt::Display for ChangeState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What a caller knows when it begins a change; [`super::Journal::begin`] adds the rest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewChange {
    pub kind: ChangeKind,
    pub account_id: String,
    pub role_arn: String,
    pub role_id: String,
    pub role_name: String,
    pub plan_fingerprint: Option<String>,
    /// The full before-image, read from IAM right before the change.
    pub before: RoleState,
    /// The intended after-image: `diff` applied to `before`.
    pub after: RoleState,
    pub diff: Diff,
    /// Policy ARN to its default version id before the change.
    pub managed_versions_before: BTreeMap<String, String>,
}

/// One change to one role, as the journal holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeRecord {
    pub id: ChangeId,
    pub kind: ChangeKind,
    pub account_id: String,
    pub role_arn: String,
    pub role_id: String,
    pub role_name: String,
    pub plan_fingerprint: Option<String>,
    pub before: RoleState,
    pub after: RoleState,
    pub diff: Diff,
    /// Policy ARN to its default version id before the change, so a rollback can set it back.
    pub managed_versions_before: BTreeMap<String, String>,
    /// Policy ARN to the version id this change created, filled in as the apply proceeds.
    #[serde(default)]
    pub created_versions: BTreeMap<String, String>,
    pub state: ChangeState,
    /// How many of `diff.changes` were written to IAM.
    #[serde(default)]
    pub steps_done: u32,
    #[serde(default)]
    pub error: Option<String>,
    /// The change that restored this one's before-image, once it is RolledBack.
    #[serde(default)]
    pub rolled_back_by: Option<ChangeId>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Whether the coordinator acknowledged the record as it is now. Any later update of the
    /// record clears it, so the new state is reported again.
    #[serde(default)]
    pub reported: bool,
}

impl ChangeRecord {
    pub fn new(id: ChangeId, new: NewChange, now: DateTime<Utc>) -> ChangeRecord {
        let NewChange {
            kind,
            account_id,
            role_arn,
            role_id,
            role_name,
            plan_fingerprint,
            before,
            after,
            diff,
            managed_versions_before,
        } = new;
        ChangeRecord {
            id,
            kind,
            account_id,
            role_arn,
            role_id,
            role_name,
            plan_fingerprint,
            before,
            after,
            diff,
            managed_versions_before,
            created_versions: BTreeMap::new(),
            state: ChangeState::Intended,
            steps_done: 0,
            error: None,
            rolled_back_by: None,
            created_at: now,
            updated_at: now,
            reported: false,
        }
    }
}

/// Which records [`super::Journal::list`] returns. Empty fields match everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChangeFilter {
    pub role_name: Option<String>,
    pub role_arn: Option<String>,
    /// Only changes created at or after this instant.
    pub since: Option<DateTime<Utc>>,
    /// Only changes in one of these states; empty means any state.
    pub states: Vec<ChangeState>,
}

impl ChangeFilter {
    pub fn matches(&self, r: &ChangeRecord) -> bool {
        self.role_name.as_ref().is_none_or(|n| *n == r.role_name)
            && self.role_arn.as_ref().is_none_or(|a| *a == r.role_arn)
            && self.since.is_none_or(|t| r.created_at >= t)
            && (self.states.is_empty() || self.states.contains(&r.state))
    }
}

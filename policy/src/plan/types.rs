//! What a plan holds: decisions, managed-policy outcomes, the before- and
//! after-state, fingerprints.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::catalogue::ActionId;
use crate::decision::Reason;
use crate::diff::{Diff, RoleState};

/// Where a decision's action is granted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PolicySource {
    /// `inline` or `managed`.
    pub kind: PolicyKind,
    /// Inline policy name, or the managed policy's name.
    pub name: String,
    /// The managed policy's ARN.
    pub arn: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PolicyKind {
    Inline,
    Managed,
}

/// The action a decision is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActionRef {
    Known(ActionId),
    /// A name not in the catalogue: index into [`RolePlan::names`].
    Named(u32),
}

/// One action granted by one statement, and what to do with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ActionDecision {
    pub action: ActionRef,
    /// Index into [`RolePlan::policies`].
    pub policy: u16,
    /// Index of the statement in its document.
    pub statement: u16,
    pub reason: Reason,
}

/// What happens to one attached managed policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ManagedOutcome {
    /// Nothing to remove.
    LeftAlone,
    /// A new default version (the role is the policy's only user).
    Trim { document: String },
    /// A role-specific trimmed copy is attached, then the original detached.
    ReplaceWithCopy {
        copy_arn: String,
        copy_name: String,
        document: String,
    },
    /// Nothing in it is used: detached.
    Detach,
    /// Attached but absent from the inventory: left alone.
    NotInInventory,
}

impl ManagedOutcome {
    pub fn label(&self) -> &'static str {
        match self {
            ManagedOutcome::LeftAlone => "left_alone",
            ManagedOutcome::Trim { .. } => "trim",
            ManagedOutcome::ReplaceWithCopy { .. } => "replace_with_copy",
            ManagedOutcome::Detach => "detach",
            ManagedOutcome::NotInInventory => "not_in_inventory",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManagedPlan {
    pub arn: String,
    pub outcome: ManagedOutcome,
}

/// One role's plan.
#[derive(Debug, Clone)]
pub struct RolePlan {
    pub role_arn: String,
    pub role_id: String,
    pub role_name: String,
    pub role_created: DateTime<Utc>,
    pub usage_observed_at: Option<DateTime<Utc>>,
    /// The `now` the plan was made for.
    pub planned_at: DateTime<Utc>,
    /// Why the role is left alone as a whole.
    pub skipped: Option<String>,
    pub policies: Vec<PolicySource>,
    pub decisions: Vec<ActionDecision>,
    pub names: Vec<String>,
    /// Changed inline policies: new document, or `None` when deleted.
    pub new_inline_policies: BTreeMap<String, Option<String>>,
    pub managed: Vec<ManagedPlan>,
    pub before: RoleState,
    pub after: RoleState,
    pub diagnostics: Vec<String>,
    /// Hash of every input: live state, usage, catalogue, settings, `now`.
    pub fingerprint: String,
    /// Hash of the live state alone, for drift checks before an apply.
    pub state_fingerprint: String,
    pub catalogue_version: String,
}

impl RolePlan {
    /// The change an apply makes.
    pub fn diff(&self) -> Diff {
        Diff::between(&self.before, &self.after)
    }

    pub fn has_changes(&self) -> bool {
        self.before != self.after
    }

    pub fn removable(&self) -> impl Iterator<Item = &ActionDecision> {
        self.decisions.iter().filter(|d| d.reason.is_removable())
    }
}

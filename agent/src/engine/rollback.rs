//! Roll back: restore a change's before-image, journaled like any change.
//!
//! A rollback is the inverse of the change it undoes. It refuses when the role
//! changed since that change (someone else's edit would be lost) unless forced,
//! and always refuses when the role was deleted and re-created. A rollback can
//! itself be rolled back.

use chrono::{DateTime, Utc};
use whittle_policy::diff::Diff;

use super::{Engine, EngineError};
use crate::journal::failpoint;
use crate::journal::{ChangeFilter, ChangeId, ChangeKind, ChangeRecord, ChangeState, NewChange};

/// One change undone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RolledBack {
    pub role: String,
    /// The change that was undone.
    pub change: ChangeId,
    /// The rollback change.
    pub by: ChangeId,
}

impl Engine {
    /// Restores the before-image of change `id`.
    pub async fn rollback_change(
        &self,
        id: ChangeId,
        force: bool,
    ) -> Result<RolledBack, EngineError> {
        let target = self.journal.get(id)?;
        if target.state != ChangeState::Applied {
            return Err(EngineError::NotApplied {
                id,
                state: target.state,
            });
        }
        let role = target.role_name.clone();
        let (live, state) = self.observe(&role).await?;
        if live.role_id != target.role_id {
            return Err(EngineError::RoleReplaced {
                role,
                id,
                then: target.role_id.clone(),
                now: live.role_id,
            });
        }
        // Unchanged since: the exact inverse. Edited since (and forced): put back
        // what the change touched, leave the later edits alone.
        let (before, after, diff) = if state.same_as(&target.after) {
            (
                target.after.clone(),
                target.before.clone(),
                target.diff.inverse(),
            )
        } else if force {
            let after = target.diff.revert_onto(&state);
            let diff = Diff::between(&state, &after);
            (state, after, diff)
        } else {
            let difference = format!(
                "since change {id}: {}; --force restores what the change touched anyway",
                target.after.difference(&state)
            );
            return Err(EngineError::Drift { role, difference });
        };
        let record = self.journal.begin(
            NewChange {
                kind: ChangeKind::Rollback { of: id },
                account_id: target.account_id.clone(),
                role_arn: target.role_arn.clone(),
                role_id: target.role_id.clone(),
                role_name: role.clone(),
                plan_fingerprint: None,
                before,
                after,
                diff,
                managed_versions_before: target.created_versions.clone(),
            },
            self.now(),
        )?;
        failpoint::hit("after_journal_intent")?;
        self.carry_out(&record).await?;
        Ok(RolledBack {
            role,
            change: id,
            by: record.id,
        })
    }

    /// Restores the before-image of a change this agent's journal does not
    /// hold (a re-deployed agent whose journal was lost): the coordinator's
    /// copy of the change, from its history. Refused when the role is not as
    /// the change left it, or was re-created since.
    pub async fn restore_from_history(
        &self,
        change: &ChangeRecord,
    ) -> Result<ChangeId, EngineError> {
        let role = change.role_name.clone();
        let (live, state) = self.observe(&role).await?;
        if live.role_id != change.role_id {
            return Err(EngineError::RoleReplaced {
                role,
                id: change.id,
                then: change.role_id.clone(),
                now: live.role_id,
            });
        }
        if !state.same_as(&change.after) {
            let difference = format!(
                "since change {}: {}",
                change.id,
                change.after.difference(&state)
            );
            return Err(EngineError::Drift { role, difference });
        }
        let record = self.journal.begin(
            NewChange {
                kind: ChangeKind::Restore,
                account_id: self.account_id.clone(),
                role_arn: change.role_arn.clone(),
                role_id: change.role_id.clone(),
                role_name: role,
                plan_fingerprint: None,
                before: change.after.clone(),
                after: change.before.clone(),
                diff: change.diff.inverse(),
                managed_versions_before: change.created_versions.clone(),
            },
            self.now(),
        )?;
        self.carry_out(&record).await?;
        Ok(record.id)
    }

    /// Rolls back the newest applied change of a role.
    pub async fn rollback_role(&self, role: &str, force: bool) -> Result<RolledBack, EngineError> {
        let filter = ChangeFilter {
            role_name: Some(role.to_string()),
            states: vec![ChangeState::Applied],
            ..ChangeFilter::default()
        };
        let newest = self
            .journal
            .list(&filter)?
            .into_iter()
            .rev()
            .find(|r| !matches!(r.kind, ChangeKind::Restore))
            .ok_or_else(|| EngineError::NothingToRollBack {
                role: role.to_string(),
            })?;
        self.rollback_change(newest.id, force).await
    }

    /// Rolls back every change made since `since`, newest first, so every role
    /// ends as it was at `since`. One result per change.
    pub async fn rollback_since(
        &self,
        since: DateTime<Utc>,
        force: bool,
    ) -> Result<Vec<Result<RolledBack, EngineError>>, EngineError> {
        let changes = self.changes_to_undo(since)?;
        let mut out = Vec::with_capacity(changes.len());
        for c in changes.into_iter().rev() {
            out.push(self.rollback_change(c.id, force).await);
        }
        Ok(out)
    }

    /// Applied changes since `since` whose undoing brings their role back to
    /// its state at `since`: applies, and rollbacks of changes made before
    /// `since` (a rollback of a change made after it cancels out).
    fn changes_to_undo(&self, since: DateTime<Utc>) -> Result<Vec<ChangeRecord>, EngineError> {
        let filter = ChangeFilter {
            since: Some(since),
            states: vec![ChangeState::Applied],
            ..ChangeFilter::default()
        };
        let mut out = Vec::new();
        for r in self.journal.list(&filter)? {
            let keep = match &r.kind {
                ChangeKind::Apply => true,
                ChangeKind::Restore => false,
                ChangeKind::Rollback { of } => self.journal.get(*of)?.created_at < since,
            };
            if keep {
                out.push(r);
            }
        }
        Ok(out)
    }
}

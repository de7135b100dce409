//! Apply one role's plan: drift check, journal, IAM writes, verify.

use std::collections::BTreeMap;

use whittle_policy::RolePlan;
use whittle_policy::diff::{Change, Diff};

use super::execute::execute;
use super::{Engine, EngineError};
use crate::journal::failpoint;
use crate::journal::{ChangeId, ChangeKind, ChangeRecord, NewChange};

/// The result of applying one plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Applied {
    /// The change was made and verified.
    Changed(ChangeId),
    /// The plan changes nothing.
    NoChange,
}

impl Engine {
    /// Applies `plan` to its role. `protected` names roles that must never be
    /// changed (the agent's own role), with the reason.
    pub async fn apply_plan(
        &self,
        plan: &RolePlan,
        protected: &BTreeMap<String, String>,
    ) -> Result<Applied, EngineError> {
        let role = &plan.role_name;
        if let Some(reason) = protected.get(role) {
            return Err(EngineError::Protected {
                role: role.clone(),
                reason: reason.clone(),
            });
        }
        if !plan.has_changes() {
            return Ok(Applied::NoChange);
        }
        let (live, state) = self.observe(role).await?;
        if live.is_service_linked() {
            return Err(EngineError::Protected {
                role: role.clone(),
                reason: "it is a service-linked role".to_string(),
            });
        }
        if live.role_id != plan.role_id || !state.same_as(&plan.before) {
            let difference = if live.role_id != plan.role_id {
                format!("role id is now {}, was {}", live.role_id, plan.role_id)
            } else {
                plan.before.difference(&state)
            };
            return Err(EngineError::Drift {
                role: role.clone(),
                difference,
            });
        }
        let versions = self.default_versions(role, &plan.diff()).await?;
        let record = self.journal.begin(
            NewChange {
                kind: ChangeKind::Apply,
                account_id: self.account_id.clone(),
                role_arn: plan.role_arn.clone(),
                role_id: plan.role_id.clone(),
                role_name: role.clone(),
                plan_fingerprint: Some(plan.fingerprint.clone()),
                before: plan.before.clone(),
                after: plan.after.clone(),
                diff: plan.diff(),
                managed_versions_before: versions,
            },
            self.now(),
        )?;
        tracing::info!(change_id = %record.id, role_name = %role, "change journaled");
        failpoint::hit("after_journal_intent")?;
        self.carry_out(&record).await?;
        Ok(Applied::Changed(record.id))
    }

    /// The default version ids of the managed policies whose documents the diff
    /// changes in place, so a rollback can name them.
    async fn default_versions(
        &self,
        role: &str,
        diff: &Diff,
    ) -> Result<BTreeMap<String, String>, EngineError> {
        let mut out = BTreeMap::new();
        for c in &diff.changes {
            if let Change::ManagedDocument {
                arn,
                before: Some(_),
                ..
            } = c
            {
                let info = self
                    .iam
                    .get_policy(arn)
                    .await
                    .map_err(EngineError::aws(role))?;
                out.insert(arn.clone(), info.default_version_id);
            }
        }
        Ok(out)
    }

    /// Runs a journaled change from `Intended` to `Applied`, restoring the
    /// before-image when IAM fails or the result does not verify.
    pub(super) async fn carry_out(&self, record: &ChangeRecord) -> Result<(), EngineError> {
        let role = &record.role_name;
        self.journal.mark_applying(record.id, self.now())?;
        failpoint::hit("after_mark_applying")?;
        if let Err(e) = self.run_steps(record, 0).await {
            return Err(self.fail_and_restore(record, e).await);
        }
        failpoint::hit("before_mark_applied")?;
        let (_, live) = self.observe(role).await?;
        if !live.same_as(&record.after) {
            let difference = record.after.difference(&live);
            let err = EngineError::VerifyFailed {
                role: role.clone(),
                difference,
            };
            return Err(self.fail_and_restore(record, err).await);
        }
        self.journal.mark_applied(record.id, self.now())?;
        if let ChangeKind::Rollback { of } = &record.kind {
            self.journal.mark_rolled_back(*of, record.id, self.now())?;
        }
        tracing::info!(change_id = %record.id, role_name = %role, "change applied and verified");
        Ok(())
    }

    /// Carries out the diff's steps from `from` on, recording each one.
    pub(super) async fn run_steps(
        &self,
        record: &ChangeRecord,
        from: usize,
    ) -> Result<(), EngineError> {
        for (i, change) in record.diff.changes.iter().enumerate().skip(from) {
            let created = execute(self.iam.as_ref(), &record.role_name, change)
                .await
                .map_err(EngineError::aws(&record.role_name))?;
            let step = u32::try_from(i + 1).unwrap_or(u32::MAX);
            self.journal
                .record_step(record.id, step, created, self.now())?;
            failpoint::hit_after_step(step)?;
        }
        Ok(())
    }

    /// Marks `record` failed and puts the role back to its before-image.
    /// Answers the error to report: the original one, with what was restored.
    pub(super) async fn fail_and_restore(
        &self,
        record: &ChangeRecord,
        error: EngineError,
    ) -> EngineError {
        if matches!(error, EngineError::Crash(_)) {
            return error;
        }
        let role = record.role_name.clone();
        tracing::warn!(change_id = %record.id, role_name = %role, error = %error, "change failed, restoring");
        if let Err(e) = self
            .journal
            .mark_failed(record.id, error.to_string(), self.now())
        {
            return e.into();
        }
        match self.restore(record).await {
            Ok(restored_by) => match error {
                EngineError::VerifyFailed { .. } => error,
                other => EngineError::FailedAndRestored {
                    role,
                    error: other.to_string(),
                    restored_by,
                },
            },
            Err(e) => e,
        }
    }

    /// Journals and carries out a `Restore` that puts the role of `record` back
    /// to its before-image, then marks `record` rolled back by it. Every step is
    /// idempotent, so the full inverse is safe however far `record` got.
    pub(super) async fn restore(&self, record: &ChangeRecord) -> Result<ChangeId, EngineError> {
        let restore = self.journal.begin(
            NewChange {
                kind: ChangeKind::Restore,
                account_id: record.account_id.clone(),
                role_arn: record.role_arn.clone(),
                role_id: record.role_id.clone(),
                role_name: record.role_name.clone(),
                plan_fingerprint: None,
                before: record.after.clone(),
                after: record.before.clone(),
                diff: record.diff.inverse(),
                managed_versions_before: BTreeMap::new(),
            },
            self.now(),
        )?;
        self.journal.mark_applying(restore.id, self.now())?;
        self.run_steps(&restore, 0).await?;
        let (_, live) = self.observe(&record.role_name).await?;
        if !live.same_as(&record.before) {
            let difference = record.before.difference(&live);
            self.journal.mark_failed(
                restore.id,
                format!("restore did not verify: {difference}"),
                self.now(),
            )?;
            return Err(EngineError::RestoreIncomplete {
                role: record.role_name.clone(),
                difference,
            });
        }
        self.journal.mark_applied(restore.id, self.now())?;
        self.journal
            .mark_rolled_back(record.id, restore.id, self.now())?;
        tracing::info!(change_id = %record.id, restore_id = %restore.id, "before-image restored");
        Ok(restore.id)
    }
}

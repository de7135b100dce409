//! Reconcile after a crash: no change is left half-done.
//!
//! On start, every change the journal holds as `intended` or `applying` is
//! compared with live IAM. One whose after-image is fully in place is finished
//! (marked applied); any other is marked failed and its before-image restored.
//! Failed changes whose restore did not complete are restored again.

use super::{Engine, EngineError};
use crate::journal::{ChangeFilter, ChangeId, ChangeKind, ChangeState};

/// What reconcile did with one change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reconciled {
    pub change: ChangeId,
    pub role: String,
    /// `finished` (the after-image was in place) or `restored`.
    pub outcome: &'static str,
}

impl Engine {
    /// Finishes or undoes every interrupted change.
    pub async fn reconcile(&self) -> Result<Vec<Reconciled>, EngineError> {
        let mut out = Vec::new();
        for record in self.journal.unfinished()? {
            let role = record.role_name.clone();
            if record.state == ChangeState::Applying {
                let (_, live) = self.observe(&role).await?;
                if live.same_as(&record.after) {
                    let steps = u32::try_from(record.diff.changes.len()).unwrap_or(u32::MAX);
                    self.journal
                        .record_step(record.id, steps, None, self.now())?;
                    self.journal.mark_applied(record.id, self.now())?;
                    if let ChangeKind::Rollback { of } = &record.kind {
                        self.journal.mark_rolled_back(*of, record.id, self.now())?;
                    }
                    tracing::info!(change_id = %record.id, role_name = %role, "interrupted change was complete");
                    out.push(Reconciled {
                        change: record.id,
                        role,
                        outcome: "finished",
                    });
                    continue;
                }
            }
            let why = format!(
                "interrupted after {} of {} steps; the before-image is restored",
                record.steps_done,
                record.diff.changes.len()
            );
            self.journal.mark_failed(record.id, why, self.now())?;
        }
        let failed = ChangeFilter {
            states: vec![ChangeState::Failed],
            ..ChangeFilter::default()
        };
        for record in self.journal.list(&failed)? {
            if record.rolled_back_by.is_some() || matches!(record.kind, ChangeKind::Restore) {
                continue;
            }
            self.restore(&record).await?;
            tracing::info!(change_id = %record.id, role_name = %record.role_name, "interrupted change undone");
            out.push(Reconciled {
                change: record.id,
                role: record.role_name.clone(),
                outcome: "restored",
            });
        }
        Ok(out)
    }
}

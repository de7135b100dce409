//! The agent's engine: apply a plan, roll a change back, and reconcile after a
//! crash, all behind the write-ahead journal.
//!
//! The order of every change is: re-read the role live and refuse on drift;
//! write the full before-image and the intended after-image to the journal
//! (durably); mark it applying; carry out each step of the diff in IAM,
//! recording each step; re-read and verify; mark it applied. An IAM failure on
//! the way restores the before-image (a `Restore` change, journaled like any
//! other). Every step is idempotent (see [`execute`]), so reconcile can finish or
//! undo a change interrupted anywhere.

mod apply;
mod execute;
mod reconcile;
mod rollback;

use std::sync::Arc;

use chrono::{DateTime, Utc};
use whittle_aws::{AwsError, Iam, inventory};
use whittle_policy::diff::RoleState;
use whittle_policy::plan::role_state;

use crate::journal::{ChangeId, ChangeState, Journal, JournalError};

pub use apply::Applied;
pub use reconcile::Reconciled;
pub use rollback::RolledBack;

/// Where the time comes from: the system clock in the binary, a test clock in tests.
pub trait Clock: Send + Sync + std::fmt::Debug {
    fn now(&self) -> DateTime<Utc>;
}

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// What went wrong with an apply, a rollback or a reconcile.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("role {role}: {source}")]
    Aws { role: String, source: AwsError },
    #[error(transparent)]
    Journal(#[from] JournalError),
    #[error("role {role} changed since it was planned ({difference}); plan again")]
    Drift { role: String, difference: String },
    #[error("role {role} is not changed by Whittle: {reason}")]
    Protected { role: String, reason: String },
    #[error("role {role}: after the change, {difference}; the before-image was restored")]
    VerifyFailed { role: String, difference: String },
    #[error("role {role}: {error}; the before-image was restored (change {restored_by})")]
    FailedAndRestored {
        role: String,
        error: String,
        restored_by: ChangeId,
    },
    #[error(
        "role {role}: restoring the before-image did not complete ({difference}); the journal keeps it, run rollback again"
    )]
    RestoreIncomplete { role: String, difference: String },
    #[error("change {id} is {state}: only an applied change can be rolled back")]
    NotApplied { id: ChangeId, state: ChangeState },
    #[error("role {role} has no applied change to roll back")]
    NothingToRollBack { role: String },
    #[error(
        "role {role} was deleted and re-created since change {id} (role id {then}, now {now}); \
         its before-image belongs to the old role"
    )]
    RoleReplaced {
        role: String,
        id: ChangeId,
        then: String,
        now: String,
    },
    #[error("simulated crash at failpoint {0}")]
    Crash(String),
}

impl EngineError {
    fn aws(role: &str) -> impl FnOnce(AwsError) -> EngineError + '_ {
        move |source| EngineError::Aws {
            role: role.to_string(),
            source,
        }
    }
}

impl From<crate::journal::failpoint::Crash> for EngineError {
    fn from(c: crate::journal::failpoint::Crash) -> Self {
        EngineError::Crash(c.point)
    }
}

/// Applies, rolls back and reconciles changes in one account.
#[derive(Clone)]
pub struct Engine {
    iam: Arc<dyn Iam>,
    journal: Arc<Journal>,
    account_id: String,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("account_id", &self.account_id)
            .field("journal", &self.journal)
            .finish_non_exhaustive()
    }
}

impl Engine {
    pub fn new(
        iam: Arc<dyn Iam>,
        journal: Arc<Journal>,
        account_id: &str,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Engine {
            iam,
            journal,
            account_id: account_id.to_string(),
            clock,
        }
    }

    pub fn journal(&self) -> &Journal {
        &self.journal
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// The role as it is in IAM now, with the state an apply may touch.
    async fn observe(
        &self,
        role_name: &str,
    ) -> Result<(whittle_policy::Role, RoleState), EngineError> {
        let (role, managed) = inventory::read_role(self.iam.as_ref(), role_name)
            .await
            .map_err(EngineError::aws(role_name))?;
        let state = role_state(&role, &managed);
        Ok((role, state))
    }
}

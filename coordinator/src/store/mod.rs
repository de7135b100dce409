//! The coordinator's store: the org-wide picture the coordinator keeps across restarts.
//! Accounts and their agents, the newest plan of every role, operators' decisions, the
//! versioned exclusion rules, the history of every change (the coordinator's copy of every
//! agent's journal), the audit log, the rollback queue, campaigns and opt-outs, and the ids
//! of reports already processed.
//!
//! Architecture Invariant: nothing is lost. Every write is one redb transaction, committed
//! with immediate durability before the call returns, so a coordinator that restarts at any
//! point finds everything it acknowledged. A change reported twice is stored once, and a
//! record in the history only moves forward in its state machine.
//!
//! The API is synchronous; async callers use `spawn_blocking`, so no redb transaction is ever
//! held across an `.await`. [`Store`] is `Send + Sync`, cheap to share in an `Arc`; redb
//! serialises the writers.
//!
//! The store never reads the clock: every time comes in as `now`. New ids (decisions, rules,
//! rollback requests) are ULIDs made from `now`, strictly increasing per kind.
//!
//! The file is `<dir>/coordinator.redb`, with a schema version that an older coordinator
//! refuses to touch; the `db` module lists its tables.

mod audit;
mod campaigns;
mod db;
mod decisions;
mod error;
mod fleet;
mod history;
mod model;
mod optouts;
mod report;
mod rollbacks;
mod rules;
mod validate;

#[cfg(test)]
mod tests;

use std::path::Path;

pub use campaigns::{
    Campaign, CampaignRole, CampaignRoleState, CampaignState, NewCampaign, Wave, WaveState,
};
use db::Db;
pub use error::StoreError;
pub use history::Upsert;
pub use model::{
    AccountRecord, AccountSummary, AuditEntry, AuditFilter, Decision, DecisionFilter,
    DecisionState, ExclusionRule, HistoryFilter, NewAuditEntry, NewDecision, NewRollback, NewRule,
    PendingRollback, RollbackState, RollbackTarget, Selector, StoredPlan,
};
pub use optouts::OptOut;
pub use report::{Ingested, Report};
pub use whittle_policy::change::{ChangeFilter, ChangeId, ChangeRecord, ChangeState};

/// The store's file name inside its directory.
pub const FILE_NAME: &str = "coordinator.redb";

/// The coordinator's durable store.
#[derive(Debug)]
pub struct Store {
    db: Db,
}

impl Store {
    /// Opens `<dir>/coordinator.redb`, creating the directory and the file if missing.
    ///
    /// Refuses a file written by a newer schema, a corrupt file or one that is not a
    /// coordinator store, and a file another process (or another `Store` in this one) has
    /// open.
    pub fn open(dir: &Path) -> Result<Store, StoreError> {
        std::fs::create_dir_all(dir).map_err(|source| StoreError::CreateDir {
            path: dir.to_path_buf(),
            source,
        })?;
        let db = Db::open(&dir.join(FILE_NAME))?;
        Ok(Store { db })
    }

    /// The store's file.
    pub fn path(&self) -> &Path {
        self.db.path()
    }
}

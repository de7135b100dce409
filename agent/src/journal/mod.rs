//! The agent's write-ahead journal: every change to a role, recorded durably before IAM is
//! touched, so that after a crash at any point the journal tells exactly what to restore.
//!
//! Architecture Invariant: no IAM write happens before its before-image is durable here.
//! [`Journal::begin`] commits the full before-image, the intended after-image and the diff
//! with immediate durability, and returns only then. The apply then moves the record through
//! [`ChangeState`]: `mark_applying`, one `record_step` after each IAM write, and `mark_applied`
//! or `mark_failed`. A later rollback is a change of its own, and `mark_rolled_back` links the
//! original to it. Reconcile, finding an Intended or Applying change after a restart, marks
//! it Failed and, once a Restore change has put the before-image back, RolledBack. Records
//! are never deleted.
//!
//! The API is synchronous and every call commits before it returns; async callers use
//! `spawn_blocking`, so no redb transaction is ever held across an `.await`. [`Journal`] is
//! `Send + Sync`, cheap to share in an `Arc`; redb serialises the writers.
//!
//! The journal never reads the clock: every time comes in as `now`. Ids are ULIDs made from
//! `now`, kept strictly increasing in the order changes begin, even if two begin in the same
//! millisecond or the clock steps back (the id then carries the previous id's time).
//!
//! The file is `<dir>/journal.redb`, with a schema version that an older agent refuses to
//! touch; the `store` module lists its tables.

mod error;
pub mod failpoint;
mod rules;
mod store;

#[cfg(test)]
mod tests;

use std::path::Path;
use std::time::SystemTime;

use chrono::{DateTime, Utc};
use ulid::Ulid;

pub use error::JournalError;
use rules::{check_step, rollback_mismatch, validate_new};
use store::{IdSet, Store};
pub use whittle_policy::change::{
    ChangeFilter, ChangeId, ChangeKind, ChangeRecord, ChangeState, NewChange, ParseChangeIdError,
};

/// The journal's file name inside its directory.
pub const FILE_NAME: &str = "journal.redb";

/// The last millisecond a ULID can hold (year 10889).
const MAX_ULID_MS: i64 = (1 << 48) - 1;

/// The agent's write-ahead journal of role changes.
#[derive(Debug)]
pub struct Journal {
    store: Store,
}

impl Journal {
    /// Opens `<dir>/journal.redb`, creating the directory and the file if missing.
    ///
    /// Refuses a file written by a newer schema, a corrupt file, and a file another process
    /// (or another `Journal` in this one) has open.
    pub fn open(dir: &Path) -> Result<Journal, JournalError> {
        std::fs::create_dir_all(dir).map_err(|source| JournalError::CreateDir {
            path: dir.to_path_buf(),
            source,
        })?;
        let store = Store::open(&dir.join(FILE_NAME))?;
        Ok(Journal { store })
    }

    /// The journal's file.
    pub fn path(&self) -> &Path {
        self.store.path()
    }

    /// Durably records a new change in state Intended, and returns it with its new id.
    pub fn begin(&self, new: NewChange, now: DateTime<Utc>) -> Result<ChangeRecord, JournalError> {
        validate_new(&new, now)?;
        let path = self.path();
        self.store.write(|txn| {
            let candidate = Ulid::from_datetime(SystemTime::from(now));
            let id = match store::last_id(txn, path)? {
                Some(last) => next_id(candidate, &last, path)?,
                None => ChangeId::from_ulid(candidate),
            };
            let record = ChangeRecord::new(id, new, now);
            store::put(txn, path, &record)?;
            tracing::info!(change_id = %id, role_arn = %record.role_arn, "change intended");
            Ok(record)
        })
    }

    /// Intended -> Applying: IAM writes are about to start.
    pub fn mark_applying(
        &self,
        id: ChangeId,
        now: DateTime<Utc>,
    ) -> Result<ChangeRecord, JournalError> {
        self.transition(id, ChangeState::Applying, now, |_, _| Ok(()))
    }

    /// Records that the first `steps_done` changes of the diff are written to IAM, and the
    /// policy version the last one created, if any. Only in state Applying; `steps_done`
    /// never goes down and never exceeds the diff's length.
    pub fn record_step(
        &self,
        id: ChangeId,
        steps_done: u32,
        created_version: Option<(String, String)>,
        now: DateTime<Utc>,
    ) -> Result<ChangeRecord, JournalError> {
        self.update(id, |_, r| {
            check_step(r, steps_done, created_version.as_ref())?;
            r.steps_done = steps_done;
            if let Some((arn, version)) = created_version {
                r.created_versions.insert(arn, version);
            }
            r.updated_at = now;
            r.reported = false;
            Ok(())
        })
    }

    /// Applying -> Applied, once every step of the diff is recorded.
    pub fn mark_applied(
        &self,
        id: ChangeId,
        now: DateTime<Utc>,
    ) -> Result<ChangeRecord, JournalError> {
        self.transition(id, ChangeState::Applied, now, |_, r| {
            let total = r.diff.changes.len();
            if r.steps_done as usize != total {
                return Err(JournalError::Incomplete {
                    id: r.id,
                    steps_done: r.steps_done,
                    total,
                });
            }
            Ok(())
        })
    }

    /// Intended or Applying -> Failed, with the reason.
    pub fn mark_failed(
        &self,
        id: ChangeId,
        error: impl Into<String>,
        now: DateTime<Utc>,
    ) -> Result<ChangeRecord, JournalError> {
        let error = error.into();
        self.transition(id, ChangeState::Failed, now, |_, r| {
            r.error = Some(error);
            Ok(())
        })
    }

    /// Applied or Failed -> RolledBack: `by`, an Applied change that is a rollback of `id`
    /// (or a reconcile restore), has restored `id`'s before-image.
    pub fn mark_rolled_back(
        &self,
        id: ChangeId,
        by: ChangeId,
        now: DateTime<Utc>,
    ) -> Result<ChangeRecord, JournalError> {
        self.transition(id, ChangeState::RolledBack, now, |txn, r| {
            let path = self.path();
            let undo = store::get_for_update(txn, path, by)?;
            let reason = match undo {
                _ if by == id => Some("a change cannot undo itself".to_string()),
                None => Some("it is not in the journal".to_string()),
                Some(u) => rollback_mismatch(&u, r),
            };
            if let Some(reason) = reason {
                return Err(JournalError::InvalidRollback { id, by, reason });
            }
            r.rolled_back_by = Some(by);
            Ok(())
        })
    }

    /// Notes that the coordinator acknowledged the record as it is now. Any later update
    /// clears the mark again.
    pub fn mark_reported(&self, id: ChangeId) -> Result<ChangeRecord, JournalError> {
        self.update(id, |_, r| {
            r.reported = true;
            Ok(())
        })
    }

    /// The change with this id.
    pub fn get(&self, id: ChangeId) -> Result<ChangeRecord, JournalError> {
        let path = self.path();
        self.store
            .read(|txn| store::get(txn, path, &id.to_string()))?
            .ok_or(JournalError::NotFound { id })
    }

    /// The changes that match `filter`, oldest first.
    pub fn list(&self, filter: &ChangeFilter) -> Result<Vec<ChangeRecord>, JournalError> {
        let path = self.path();
        let from = filter.since.map(lowest_id_at).unwrap_or_default();
        self.store.read(|txn| match &filter.role_arn {
            Some(arn) => {
                let ids = store::ids_of_role(txn, path, arn, &from)?;
                let records = load(txn, path, &ids)?;
                Ok(records.into_iter().filter(|r| filter.matches(r)).collect())
            }
            None => store::scan(txn, path, &from, |r| filter.matches(r)),
        })
    }

    /// The changes in Intended or Applying, oldest first: what reconcile must look at after
    /// a restart.
    pub fn unfinished(&self) -> Result<Vec<ChangeRecord>, JournalError> {
        self.in_set(IdSet::Unfinished)
    }

    /// The changes the coordinator has not acknowledged in their current form, oldest first.
    pub fn unreported(&self) -> Result<Vec<ChangeRecord>, JournalError> {
        self.in_set(IdSet::Unreported)
    }

    fn in_set(&self, set: IdSet) -> Result<Vec<ChangeRecord>, JournalError> {
        let path = self.path();
        self.store.read(|txn| {
            let ids = store::ids_in(txn, path, set)?;
            load(txn, path, &ids)
        })
    }

    /// Moves `id` to state `to` if the state machine allows it and `check` agrees.
    fn transition(
        &self,
        id: ChangeId,
        to: ChangeState,
        now: DateTime<Utc>,
        check: impl FnOnce(&redb::WriteTransaction, &mut ChangeRecord) -> Result<(), JournalError>,
    ) -> Result<ChangeRecord, JournalError> {
        let record = self.update(id, |txn, r| {
            if !r.state.can_become(to) {
                return Err(JournalError::InvalidTransition {
                    id,
                    from: r.state,
                    to,
                });
            }
            check(txn, r)?;
            r.state = to;
            r.updated_at = now;
            r.reported = false;
            Ok(())
        })?;
        tracing::info!(change_id = %id, role_arn = %record.role_arn, state = %to, "change state");
        Ok(record)
    }

    /// Reads `id`, lets `edit` change it, and writes it back, all in one transaction.
    fn update(
        &self,
        id: ChangeId,
        edit: impl FnOnce(&redb::WriteTransaction, &mut ChangeRecord) -> Result<(), JournalError>,
    ) -> Result<ChangeRecord, JournalError> {
        let path = self.path();
        self.store.write(|txn| {
            let mut record =
                store::get_for_update(txn, path, id)?.ok_or(JournalError::NotFound { id })?;
            edit(txn, &mut record)?;
            store::put(txn, path, &record)?;
            Ok(record)
        })
    }
}

/// The id after `last` if `candidate` would not sort after it.
fn next_id(candidate: Ulid, last: &str, path: &Path) -> Result<ChangeId, JournalError> {
    let last = Ulid::from_string(last).map_err(|e| JournalError::Corrupt {
        path: path.to_path_buf(),
        detail: format!("newest change id {last:?} is not a ulid: {e}"),
    })?;
    if candidate > last {
        return Ok(ChangeId::from_ulid(candidate));
    }
    last.increment()
        .map(ChangeId::from_ulid)
        .ok_or(JournalError::IdExhausted {
            last: ChangeId::from_ulid(last),
        })
}

/// The smallest id a change created at `t` or later can have, as a key.
fn lowest_id_at(t: DateTime<Utc>) -> String {
    let ms = t.timestamp_millis().clamp(0, MAX_ULID_MS);
    // Within 0..=MAX_ULID_MS, so the conversion cannot fail.
    ChangeId::from_ulid(Ulid::from_parts(u64::try_from(ms).unwrap_or(0), 0)).to_string()
}

fn load(
    txn: &redb::ReadTransaction,
    path: &Path,
    ids: &[String],
) -> Result<Vec<ChangeRecord>, JournalError> {
    ids.iter()
        .map(|id| {
            store::get(txn, path, id)?.ok_or_else(|| JournalError::Corrupt {
                path: path.to_path_buf(),
                detail: format!("an index names change {id}, which has no record"),
            })
        })
        .collect()
}

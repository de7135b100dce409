//! History: the coordinator's copy of every agent's journal, one `ChangeRecord` per
//! (account, change id).
//!
//! Architecture Invariant: a record only moves forward. Agents resend records after a
//! reconnect, and reports may arrive out of order; [`Store::upsert_change`] stores a report
//! received twice once, and never lets an older state overwrite a newer one. The parts of a
//! change fixed when it began (its before-image above all) never change once stored: a
//! report that differs there is refused.

use std::path::Path;

use redb::{ReadableTable, WriteTransaction};
use whittle_policy::change::{ChangeId, ChangeRecord, ChangeState};

use super::db::{HISTORY, HISTORY_BY_ID, OrStorage, cap, decode, encode, lowest_id_at, ordered};
use super::error::StoreError;
use super::model::HistoryFilter;
use super::{Store, validate};

/// A key above every change id (ULIDs are upper-case base32), closing a range.
const ABOVE_ALL_IDS: &str = "~";

/// What [`Store::upsert_change`] did with a reported record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Upsert {
    /// The change was new.
    Inserted,
    /// The record went further than the stored copy, which it replaced.
    Advanced,
    /// The record is as far as the stored copy; nothing was written.
    Unchanged,
    /// The stored copy is further along (or in the other final state); nothing was written.
    Stale,
}

impl Store {
    /// Stores a change reported by the agent of `account_id`, if it is new or further along
    /// than the stored copy.
    ///
    /// Progress is the state (intended < applying < applied or failed < rolled back), then
    /// the steps done, then `updated_at`. Applied and Failed are both final: whichever
    /// arrived first is kept.
    pub fn upsert_change(
        &self,
        account_id: &str,
        record: &ChangeRecord,
    ) -> Result<Upsert, StoreError> {
        check_change(account_id, record)?;
        let outcome = self.db.write(|txn| upsert(txn, self.path(), record))?;
        match outcome {
            Upsert::Inserted | Upsert::Advanced => tracing::info!(
                account_id,
                change_id = %record.id,
                state = %record.state,
                "change recorded"
            ),
            Upsert::Stale => tracing::warn!(
                account_id,
                change_id = %record.id,
                state = %record.state,
                "stale change report ignored"
            ),
            Upsert::Unchanged => {}
        }
        Ok(outcome)
    }

    /// One change of one account.
    pub fn get_change(
        &self,
        account_id: &str,
        change_id: ChangeId,
    ) -> Result<Option<ChangeRecord>, StoreError> {
        let path = self.path();
        self.db.read(|txn| {
            let history = txn.open_table(HISTORY).or_storage(path)?;
            get(&history, path, account_id, &change_id.to_string())
        })
    }

    /// The changes that match `filter`, in change id order (the order they began in; across
    /// accounts, ties go by account id).
    pub fn history(&self, filter: &HistoryFilter) -> Result<Vec<ChangeRecord>, StoreError> {
        let path = self.path();
        let from = filter.changes.since.map(lowest_id_at).unwrap_or_default();
        let keep = |r: &Result<ChangeRecord, StoreError>| {
            r.as_ref().map_or(true, |r| filter.changes.matches(r))
        };
        self.db.read(|txn| {
            let history = txn.open_table(HISTORY).or_storage(path)?;
            if let Some(account_id) = &filter.account_id {
                let account_id = account_id.as_str();
                let range = history
                    .range((account_id, from.as_str())..(account_id, ABOVE_ALL_IDS))
                    .or_storage(path)?;
                return ordered(range, filter.newest_first)
                    .map(|entry| {
                        let (k, v) = entry.or_storage(path)?;
                        decode(path, &HISTORY, key_text(k.value()), v.value())
                    })
                    .filter(keep)
                    .take(cap(filter.limit))
                    .collect();
            }
            let by_id = txn.open_table(HISTORY_BY_ID).or_storage(path)?;
            let range = by_id.range((from.as_str(), "")..).or_storage(path)?;
            ordered(range, filter.newest_first)
                .map(|entry| {
                    let (k, _) = entry.or_storage(path)?;
                    let (id, account_id) = k.value();
                    get(&history, path, account_id, id)?.ok_or_else(|| StoreError::Corrupt {
                        path: path.to_path_buf(),
                        detail: format!(
                            "an index names change {id} of account {account_id}, which has no \
                             record"
                        ),
                    })
                })
                .filter(keep)
                .take(cap(filter.limit))
                .collect()
        })
    }
}

/// The record's account must be the reporter's, and its ids well formed.
pub(super) fn check_change(account_id: &str, record: &ChangeRecord) -> Result<(), StoreError> {
    validate::account_id(account_id)?;
    if record.account_id != account_id {
        return Err(StoreError::AccountMismatch {
            record: format!("change {}", record.id),
            reporter: account_id.to_string(),
            found: record.account_id.clone(),
        });
    }
    validate::non_empty("role arn", &record.role_arn)
}

/// Stores `record` if it is new or further along than the stored copy.
pub(super) fn upsert(
    txn: &WriteTransaction,
    path: &Path,
    record: &ChangeRecord,
) -> Result<Upsert, StoreError> {
    let account_id = record.account_id.as_str();
    let id = record.id.to_string();
    let mut history = txn.open_table(HISTORY).or_storage(path)?;
    let outcome = match get(&history, path, account_id, &id)? {
        None => Upsert::Inserted,
        Some(stored) => {
            if let Some(field) = fixed_difference(&stored, record) {
                return Err(StoreError::ChangeConflict {
                    account_id: account_id.to_string(),
                    change_id: id,
                    field,
                });
            }
            compare(&stored, record)
        }
    };
    if matches!(outcome, Upsert::Inserted | Upsert::Advanced) {
        let json = encode(record, format_args!("change {id} of account {account_id}"))?;
        history
            .insert((account_id, id.as_str()), json.as_str())
            .or_storage(path)?;
        let mut by_id = txn.open_table(HISTORY_BY_ID).or_storage(path)?;
        by_id
            .insert((id.as_str(), account_id), ())
            .or_storage(path)?;
    }
    Ok(outcome)
}

/// How far along a change is, as one rank per step of its state machine.
fn rank(state: ChangeState) -> u8 {
    match state {
        ChangeState::Intended => 0,
        ChangeState::Applying => 1,
        ChangeState::Applied | ChangeState::Failed => 2,
        ChangeState::RolledBack => 3,
    }
}

fn compare(stored: &ChangeRecord, incoming: &ChangeRecord) -> Upsert {
    let progress = |r: &ChangeRecord| (rank(r.state), r.steps_done, r.updated_at);
    if rank(stored.state) == rank(incoming.state) && stored.state != incoming.state {
        return Upsert::Stale;
    }
    match progress(incoming).cmp(&progress(stored)) {
        std::cmp::Ordering::Greater => Upsert::Advanced,
        std::cmp::Ordering::Equal => Upsert::Unchanged,
        std::cmp::Ordering::Less => Upsert::Stale,
    }
}

/// The first part fixed when the change began that differs between the two copies.
fn fixed_difference(stored: &ChangeRecord, incoming: &ChangeRecord) -> Option<&'static str> {
    let fields = [
        ("kind", stored.kind == incoming.kind),
        ("role arn", stored.role_arn == incoming.role_arn),
        ("role id", stored.role_id == incoming.role_id),
        ("role name", stored.role_name == incoming.role_name),
        (
            "plan fingerprint",
            stored.plan_fingerprint == incoming.plan_fingerprint,
        ),
        ("before-image", stored.before == incoming.before),
        ("after-image", stored.after == incoming.after),
        ("diff", stored.diff == incoming.diff),
        (
            "managed versions before",
            stored.managed_versions_before == incoming.managed_versions_before,
        ),
        ("creation time", stored.created_at == incoming.created_at),
    ];
    fields.into_iter().find(|(_, same)| !same).map(|(f, _)| f)
}

fn get(
    history: &impl ReadableTable<(&'static str, &'static str), &'static str>,
    path: &Path,
    account_id: &str,
    change_id: &str,
) -> Result<Option<ChangeRecord>, StoreError> {
    let json = history.get((account_id, change_id)).or_storage(path)?;
    json.map(|j| decode(path, &HISTORY, key_text((account_id, change_id)), j.value()))
        .transpose()
}

fn key_text((account_id, change_id): (&str, &str)) -> String {
    format!("{account_id}/{change_id}")
}

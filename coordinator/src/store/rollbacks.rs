//! The rollback queue: operators' rollback requests waiting for their account's agent, first
//! in, first out, and what became of them.

use std::path::Path;

use chrono::{DateTime, Utc};
use redb::{ReadableTable, WriteTransaction};

use super::db::{OrStorage, ROLLBACKS, ROLLBACKS_BY_ACCOUNT, decode, encode, next_id};
use super::error::StoreError;
use super::model::{NewRollback, PendingRollback, RollbackState, RollbackTarget};
use super::{Store, validate};
use whittle_policy::change::ChangeId;

impl Store {
    /// Queues a rollback request for its account's agent.
    pub fn queue_rollback(
        &self,
        new: NewRollback,
        now: DateTime<Utc>,
    ) -> Result<PendingRollback, StoreError> {
        validate::account_id(&new.account_id)?;
        validate::non_empty("rollback requester", &new.requested_by)?;
        if let RollbackTarget::Role(role_name) = &new.target {
            validate::non_empty("role name", role_name)?;
        }
        let path = self.path();
        let request = self.db.write(|txn| {
            let NewRollback {
                account_id,
                target,
                force,
                requested_by,
            } = new;
            let request = PendingRollback {
                request_id: next_id(txn, path, ROLLBACKS, "rollback request", now)?,
                account_id,
                target,
                force,
                requested_by,
                requested_at: now,
                state: RollbackState::Queued,
                detail: None,
                change_ids: Vec::new(),
            };
            let mut by_account = txn.open_table(ROLLBACKS_BY_ACCOUNT).or_storage(path)?;
            by_account
                .insert(
                    (request.account_id.as_str(), request.request_id.as_str()),
                    (),
                )
                .or_storage(path)?;
            put(txn, path, &request)?;
            Ok(request)
        })?;
        tracing::info!(
            request_id = %request.request_id,
            account_id = %request.account_id,
            "rollback queued"
        );
        Ok(request)
    }

    /// The account's Queued requests, oldest first, now marked Sent: the caller hands them
    /// to the agent. If the agent goes away before answering, [`Store::requeue_sent`] puts
    /// them back.
    pub fn take_queued(&self, account_id: &str) -> Result<Vec<PendingRollback>, StoreError> {
        self.move_all(account_id, RollbackState::Queued, RollbackState::Sent)
    }

    /// Puts the account's Sent requests back in the queue, for when its agent disconnected
    /// before answering them. Returns how many.
    pub fn requeue_sent(&self, account_id: &str) -> Result<usize, StoreError> {
        Ok(self
            .move_all(account_id, RollbackState::Sent, RollbackState::Queued)?
            .len())
    }

    /// Records the agent's answer to a request of `account_id`: Done if `ok`, else Failed.
    ///
    /// The same answer given twice changes nothing; a request cannot change its answer.
    pub fn finish_rollback(
        &self,
        account_id: &str,
        request_id: &str,
        ok: bool,
        detail: Option<String>,
        change_ids: Vec<ChangeId>,
    ) -> Result<PendingRollback, StoreError> {
        let to = if ok {
            RollbackState::Done
        } else {
            RollbackState::Failed
        };
        let path = self.path();
        let request = self.db.write(|txn| {
            let rollbacks = txn.open_table(ROLLBACKS).or_storage(path)?;
            let mut request = get(&rollbacks, path, request_id)?
                .filter(|r| r.account_id == account_id)
                .ok_or_else(|| StoreError::NotFound {
                    what: "rollback request",
                    key: format!("{request_id} of account {account_id}"),
                })?;
            drop(rollbacks);
            if request.state == to {
                return Ok(request);
            }
            if request.state.is_finished() {
                return Err(StoreError::RollbackFinished {
                    request_id: request_id.to_string(),
                    state: request.state,
                    to,
                });
            }
            request.state = to;
            request.detail = detail;
            request.change_ids = change_ids;
            put(txn, path, &request)?;
            Ok(request)
        })?;
        tracing::info!(request_id, account_id, state = %request.state, "rollback finished");
        Ok(request)
    }

    /// Every request of one account, oldest first.
    pub fn list_rollbacks(&self, account_id: &str) -> Result<Vec<PendingRollback>, StoreError> {
        let path = self.path();
        self.db.read(|txn| {
            let ids = ids_of(
                &txn.open_table(ROLLBACKS_BY_ACCOUNT).or_storage(path)?,
                path,
                account_id,
            )?;
            let rollbacks = txn.open_table(ROLLBACKS).or_storage(path)?;
            ids.iter().map(|id| load(&rollbacks, path, id)).collect()
        })
    }

    /// The request with this id.
    pub fn get_rollback(&self, request_id: &str) -> Result<Option<PendingRollback>, StoreError> {
        let path = self.path();
        self.db.read(|txn| {
            get(
                &txn.open_table(ROLLBACKS).or_storage(path)?,
                path,
                request_id,
            )
        })
    }

    /// Moves every request of the account in state `from` to state `to`, oldest first.
    fn move_all(
        &self,
        account_id: &str,
        from: RollbackState,
        to: RollbackState,
    ) -> Result<Vec<PendingRollback>, StoreError> {
        let path = self.path();
        self.db.write(|txn| {
            let by_account = txn.open_table(ROLLBACKS_BY_ACCOUNT).or_storage(path)?;
            let ids = ids_of(&by_account, path, account_id)?;
            let rollbacks = txn.open_table(ROLLBACKS).or_storage(path)?;
            let mut moved = Vec::new();
            for id in &ids {
                let request = load(&rollbacks, path, id)?;
                if request.state == from {
                    moved.push(PendingRollback {
                        state: to,
                        ..request
                    });
                }
            }
            drop(rollbacks);
            for request in &moved {
                put(txn, path, request)?;
            }
            Ok(moved)
        })
    }
}

fn ids_of(
    by_account: &impl ReadableTable<(&'static str, &'static str), ()>,
    path: &Path,
    account_id: &str,
) -> Result<Vec<String>, StoreError> {
    let mut ids = Vec::new();
    for entry in by_account.range((account_id, "")..).or_storage(path)? {
        let (k, _) = entry.or_storage(path)?;
        let (account, id) = k.value();
        if account != account_id {
            break;
        }
        ids.push(id.to_string());
    }
    Ok(ids)
}

fn put(txn: &WriteTransaction, path: &Path, r: &PendingRollback) -> Result<(), StoreError> {
    let json = encode(r, format_args!("rollback request {}", r.request_id))?;
    let mut rollbacks = txn.open_table(ROLLBACKS).or_storage(path)?;
    rollbacks
        .insert(r.request_id.as_str(), json.as_str())
        .or_storage(path)?;
    Ok(())
}

fn get(
    rollbacks: &impl ReadableTable<&'static str, &'static str>,
    path: &Path,
    request_id: &str,
) -> Result<Option<PendingRollback>, StoreError> {
    let json = rollbacks.get(request_id).or_storage(path)?;
    json.map(|j| decode(path, &ROLLBACKS, request_id, j.value()))
        .transpose()
}

/// A request an index names; its absence means the file is damaged.
fn load(
    rollbacks: &impl ReadableTable<&'static str, &'static str>,
    path: &Path,
    request_id: &str,
) -> Result<PendingRollback, StoreError> {
    get(rollbacks, path, request_id)?.ok_or_else(|| StoreError::Corrupt {
        path: path.to_path_buf(),
        detail: format!("an index names rollback request {request_id}, which has no record"),
    })
}

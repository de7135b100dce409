//! The redb file under the journal: opening it, its tables, the schema check, and reading
//! and writing one record together with its index entries.
//!
//! Tables:
//! - `meta`: `schema_version` and nothing else yet.
//! - `changes`: change id (canonical ULID string, so key order is time order) to the record as
//!   one JSON value; unknown fields are ignored on read, so a newer agent may add fields
//!   without a schema bump.
//! - `changes_by_role_arn`: `(role_arn, change id)`, for a role's history.
//! - `unfinished`: ids of changes in Intended or Applying, for reconcile.
//! - `unreported`: ids of changes the coordinator has not acknowledged.
//!
//! The three index tables are rewritten with the record in the same transaction, by [`put`].

use std::path::{Path, PathBuf};

use redb::{
    Builder, Database, DatabaseError, Durability, ReadTransaction, ReadableDatabase, ReadableTable,
    StorageError, TableDefinition, TableError, TableHandle, WriteTransaction,
};

use super::error::JournalError;
use whittle_policy::change::{ChangeId, ChangeRecord};

/// The schema this code writes. Bump it when a stored layout changes incompatibly.
pub(super) const SCHEMA_VERSION: u64 = 1;
const SCHEMA_KEY: &str = "schema_version";

const META: TableDefinition<&str, u64> = TableDefinition::new("meta");
const CHANGES: TableDefinition<&str, &str> = TableDefinition::new("changes");
const BY_ROLE: TableDefinition<(&str, &str), ()> = TableDefinition::new("changes_by_role_arn");
const UNFINISHED: TableDefinition<&str, ()> = TableDefinition::new("unfinished");
const UNREPORTED: TableDefinition<&str, ()> = TableDefinition::new("unreported");

/// A modest page cache: the journal is small and read rarely (redb's default is 1 GiB).
const CACHE_BYTES: usize = 16 * 1024 * 1024;

/// The open redb database and the file it lives in.
#[derive(Debug)]
pub(super) struct Store {
    db: Database,
    path: PathBuf,
}

impl Store {
    /// Opens or creates the file, and checks or writes its schema version.
    pub(super) fn open(path: &Path) -> Result<Store, JournalError> {
        let mut builder = Builder::new();
        builder.set_cache_size(CACHE_BYTES);
        // A plain open trusts the file and may panic on bytes redb did not write; with the
        // check, such a file is reported as corrupt instead. The journal is small, so reading
        // it whole on open is cheap.
        builder.set_check_integrity_on_open(true);
        let db = builder.create(path).map_err(|e| open_error(path, e))?;
        let store = Store {
            db,
            path: path.to_path_buf(),
        };
        store.write(|txn| init_schema(txn, path))?;
        Ok(store)
    }

    pub(super) fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `f` in a write transaction and commits it durably before returning. If `f`
    /// fails, the transaction is dropped, which aborts it.
    pub(super) fn write<T>(
        &self,
        f: impl FnOnce(&WriteTransaction) -> Result<T, JournalError>,
    ) -> Result<T, JournalError> {
        let mut txn = self.db.begin_write().map_err(|e| storage(&self.path, e))?;
        txn.set_durability(Durability::Immediate)
            .map_err(|e| storage(&self.path, e))?;
        let out = f(&txn)?;
        txn.commit().map_err(|e| storage(&self.path, e))?;
        Ok(out)
    }

    pub(super) fn read<T>(
        &self,
        f: impl FnOnce(&ReadTransaction) -> Result<T, JournalError>,
    ) -> Result<T, JournalError> {
        let txn = self.db.begin_read().map_err(|e| storage(&self.path, e))?;
        f(&txn)
    }
}

/// Maps a failed open to the errors a caller can act on.
fn open_error(path: &Path, e: DatabaseError) -> JournalError {
    let path = path.to_path_buf();
    match e {
        DatabaseError::DatabaseAlreadyOpen | DatabaseError::LockProtocolMismatch => {
            JournalError::Locked { path }
        }
        DatabaseError::Storage(StorageError::Corrupted(detail)) => {
            JournalError::Corrupt { path, detail }
        }
        DatabaseError::Storage(StorageError::Io(io))
            if matches!(
                io.kind(),
                std::io::ErrorKind::UnexpectedEof | std::io::ErrorKind::InvalidData
            ) =>
        {
            JournalError::Corrupt {
                path,
                detail: io.to_string(),
            }
        }
        DatabaseError::UpgradeRequired(v) => JournalError::Corrupt {
            path,
            detail: format!("it is in redb file format {v}, which this agent cannot read"),
        },
        other => storage(&path, other),
    }
}

/// Reads the schema version, or writes it into a new file.
fn init_schema(txn: &WriteTransaction, path: &Path) -> Result<(), JournalError> {
    let not_journal = |e: TableError| match e {
        TableError::TableTypeMismatch { .. }
        | TableError::TypeDefinitionChanged { .. }
        | TableError::TableIsMultimap(_) => JournalError::Corrupt {
            path: path.to_path_buf(),
            detail: e.to_string(),
        },
        other => storage(path, other),
    };
    let mut meta = txn.open_table(META).map_err(not_journal)?;
    let found = meta
        .get(SCHEMA_KEY)
        .map_err(|e| storage(path, e))?
        .map(|v| v.value());
    match found {
        Some(SCHEMA_VERSION) => {}
        Some(found) if found > SCHEMA_VERSION => {
            return Err(JournalError::NewerSchema {
                path: path.to_path_buf(),
                found,
                supported: SCHEMA_VERSION,
            });
        }
        Some(found) => {
            return Err(JournalError::UnknownSchema {
                path: path.to_path_buf(),
                found,
                supported: SCHEMA_VERSION,
            });
        }
        None => {
            let others: Vec<String> = txn
                .list_tables()
                .map_err(|e| storage(path, e))?
                .map(|t| t.name().to_string())
                .filter(|n| n != META.name())
                .collect();
            if !others.is_empty() {
                let detail = format!("it has tables {} but no schema version", others.join(", "));
                return Err(JournalError::Corrupt {
                    path: path.to_path_buf(),
                    detail,
                });
            }
            meta.insert(SCHEMA_KEY, SCHEMA_VERSION)
                .map_err(|e| storage(path, e))?;
        }
    }
    drop(meta);
    txn.open_table(CHANGES).map_err(not_journal)?;
    txn.open_table(BY_ROLE).map_err(not_journal)?;
    txn.open_table(UNFINISHED).map_err(not_journal)?;
    txn.open_table(UNREPORTED).map_err(not_journal)?;
    Ok(())
}

pub(super) fn storage(path: &Path, e: impl Into<redb::Error>) -> JournalError {
    JournalError::Storage {
        path: path.to_path_buf(),
        source: Box::new(e.into()),
    }
}

fn decode(path: &Path, key: &str, json: &str) -> Result<ChangeRecord, JournalError> {
    serde_json::from_str(json).map_err(|source| JournalError::Decode {
        path: path.to_path_buf(),
        key: key.to_string(),
        source,
    })
}

/// Writes `record` and its index entries.
pub(super) fn put(
    txn: &WriteTransaction,
    path: &Path,
    record: &ChangeRecord,
) -> Result<(), JournalError> {
    let st = |e: redb::Error| storage(path, e);
    let id = record.id.to_string();
    let json = serde_json::to_string(record).map_err(|source| JournalError::Encode {
        id: record.id,
        source,
    })?;
    let mut changes = txn.open_table(CHANGES).map_err(|e| st(e.into()))?;
    changes
        .insert(id.as_str(), json.as_str())
        .map_err(|e| st(e.into()))?;
    let mut by_role = txn.open_table(BY_ROLE).map_err(|e| st(e.into()))?;
    by_role
        .insert((record.role_arn.as_str(), id.as_str()), ())
        .map_err(|e| st(e.into()))?;
    let mut unfinished = txn.open_table(UNFINISHED).map_err(|e| st(e.into()))?;
    if record.state.is_unfinished() {
        unfinished
            .insert(id.as_str(), ())
            .map_err(|e| st(e.into()))?;
    } else {
        unfinished.remove(id.as_str()).map_err(|e| st(e.into()))?;
    }
    let mut unreported = txn.open_table(UNREPORTED).map_err(|e| st(e.into()))?;
    if record.reported {
        unreported.remove(id.as_str()).map_err(|e| st(e.into()))?;
    } else {
        unreported
            .insert(id.as_str(), ())
            .map_err(|e| st(e.into()))?;
    }
    Ok(())
}

/// The record with this id, read inside a write transaction.
pub(super) fn get_for_update(
    txn: &WriteTransaction,
    path: &Path,
    id: ChangeId,
) -> Result<Option<ChangeRecord>, JournalError> {
    let key = id.to_string();
    let changes = txn.open_table(CHANGES).map_err(|e| storage(path, e))?;
    let json = changes.get(key.as_str()).map_err(|e| storage(path, e))?;
    json.map(|j| decode(path, &key, j.value())).transpose()
}

/// The newest id in the journal.
pub(super) fn last_id(txn: &WriteTransaction, path: &Path) -> Result<Option<String>, JournalError> {
    let changes = txn.open_table(CHANGES).map_err(|e| storage(path, e))?;
    let last = changes.last().map_err(|e| storage(path, e))?;
    Ok(last.map(|(k, _)| k.value().to_string()))
}

/// The record with this id.
pub(super) fn get(
    txn: &ReadTransaction,
    path: &Path,
    id: &str,
) -> Result<Option<ChangeRecord>, JournalError> {
    let changes = txn.open_table(CHANGES).map_err(|e| storage(path, e))?;
    let json = changes.get(id).map_err(|e| storage(path, e))?;
    json.map(|j| decode(path, id, j.value())).transpose()
}

/// Every record whose id is at least `from`, in id order.
pub(super) fn scan(
    txn: &ReadTransaction,
    path: &Path,
    from: &str,
    mut keep: impl FnMut(&ChangeRecord) -> bool,
) -> Result<Vec<ChangeRecord>, JournalError> {
    let changes = txn.open_table(CHANGES).map_err(|e| storage(path, e))?;
    let mut out = Vec::new();
    for entry in changes.range(from..).map_err(|e| storage(path, e))? {
        let (k, v) = entry.map_err(|e| storage(path, e))?;
        let record = decode(path, k.value(), v.value())?;
        if keep(&record) {
            out.push(record);
        }
    }
    Ok(out)
}

/// The ids of one role's changes from `from` on, in id order.
pub(super) fn ids_of_role(
    txn: &ReadTransaction,
    path: &Path,
    role_arn: &str,
    from: &str,
) -> Result<Vec<String>, JournalError> {
    let by_role = txn.open_table(BY_ROLE).map_err(|e| storage(path, e))?;
    let mut out = Vec::new();
    for entry in by_role
        .range((role_arn, from)..)
        .map_err(|e| storage(path, e))?
    {
        let (k, _) = entry.map_err(|e| storage(path, e))?;
        let (arn, id) = k.value();
        if arn != role_arn {
            break;
        }
        out.push(id.to_string());
    }
    Ok(out)
}

/// Which of the two set tables [`ids_in`] reads.
#[derive(Debug, Clone, Copy)]
pub(super) enum IdSet {
    Unfinished,
    Unreported,
}

/// The ids in an index set, in id order.
pub(super) fn ids_in(
    txn: &ReadTransaction,
    path: &Path,
    set: IdSet,
) -> Result<Vec<String>, JournalError> {
    let def = match set {
        IdSet::Unfinished => UNFINISHED,
        IdSet::Unreported => UNREPORTED,
    };
    let table = txn.open_table(def).map_err(|e| storage(path, e))?;
    let mut out = Vec::new();
    for entry in table.iter().map_err(|e| storage(path, e))? {
        let (k, _) = entry.map_err(|e| storage(path, e))?;
        out.push(k.value().to_string());
    }
    Ok(out)
}

//! The redb file under the store: opening it, its tables, the schema check, transactions
//! that commit durably, and the small helpers every area of the store shares.
//!
//! Values are JSON text, so a newer coordinator may add fields without a schema bump (unknown
//! fields are ignored on read). Ids are canonical ULID strings, whose order is time order.
//!
//! Tables (`->` separates key and value):
//! - `meta`: `schema_version`, `exclusion_version` -> u64.
//! - `accounts`: account id -> [`super::AccountRecord`].
//! - `plans`: (account id, role name) -> [`super::StoredPlan`].
//! - `decisions`: decision id -> [`super::Decision`]; `decisions_by_account`: (account id,
//!   decision id); `open_decisions`: (account id, role name) -> the id of the role's Pending
//!   or Sent decision.
//! - `rules`: rule id -> [`super::ExclusionRule`].
//! - `history`: (account id, change id) -> `ChangeRecord`; `history_by_id`: (change id,
//!   account id), for fleet-wide queries in time order.
//! - `audit`: seq -> [`super::AuditEntry`]; `audit_by_time`: (unix microseconds, seq).
//! - `rollbacks`: request id -> [`super::PendingRollback`]; `rollbacks_by_account`: (account
//!   id, request id).
//! - `seen_reports`: (account id, report id) -> unix microseconds of first receipt.
//!
//! Index tables are written in the same transaction as the records they point to.

use std::fmt::Display;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use chrono::{DateTime, Utc};
use redb::{
    Builder, Database, DatabaseError, Durability, ReadTransaction, ReadableDatabase, ReadableTable,
    StorageError, TableDefinition, TableError, TableHandle, WriteTransaction,
};
use serde::Serialize;
use serde::de::DeserializeOwned;
use ulid::Ulid;

use super::error::StoreError;

/// The schema this code writes. Bump it when a stored layout changes incompatibly.
pub(super) const SCHEMA_VERSION: u64 = 1;
const SCHEMA_KEY: &str = "schema_version";
pub(super) const EXCLUSION_VERSION_KEY: &str = "exclusion_version";

type Pair<'a> = (&'a str, &'a str);

pub(super) const META: TableDefinition<&str, u64> = TableDefinition::new("meta");
pub(super) const ACCOUNTS: TableDefinition<&str, &str> = TableDefinition::new("accounts");
pub(super) const PLANS: TableDefinition<Pair, &str> = TableDefinition::new("plans");
pub(super) const DECISIONS: TableDefinition<&str, &str> = TableDefinition::new("decisions");
pub(super) const DECISIONS_BY_ACCOUNT: TableDefinition<Pair, ()> =
    TableDefinition::new("decisions_by_account");
pub(super) const OPEN_DECISIONS: TableDefinition<Pair, &str> =
    TableDefinition::new("open_decisions");
pub(super) const RULES: TableDefinition<&str, &str> = TableDefinition::new("rules");
pub(super) const HISTORY: TableDefinition<Pair, &str> = TableDefinition::new("history");
pub(super) const HISTORY_BY_ID: TableDefinition<Pair, ()> = TableDefinition::new("history_by_id");
pub(super) const AUDIT: TableDefinition<u64, &str> = TableDefinition::new("audit");
pub(super) const AUDIT_BY_TIME: TableDefinition<(i64, u64), ()> =
    TableDefinition::new("audit_by_time");
pub(super) const ROLLBACKS: TableDefinition<&str, &str> = TableDefinition::new("rollbacks");
pub(super) const ROLLBACKS_BY_ACCOUNT: TableDefinition<Pair, ()> =
    TableDefinition::new("rollbacks_by_account");
pub(super) const CAMPAIGNS: TableDefinition<&str, &str> = TableDefinition::new("campaigns");
pub(super) const OPT_OUTS: TableDefinition<Pair, &str> = TableDefinition::new("opt_outs");
pub(super) const SEEN_REPORTS: TableDefinition<Pair, i64> = TableDefinition::new("seen_reports");

/// A modest page cache: the store is read often but is not large (redb's default is 1 GiB).
const CACHE_BYTES: usize = 64 * 1024 * 1024;

/// The open redb database and the file it lives in.
#[derive(Debug)]
pub(super) struct Db {
    db: Database,
    path: PathBuf,
}

impl Db {
    /// Opens or creates the file, and checks or writes its schema version.
    pub(super) fn open(path: &Path) -> Result<Db, StoreError> {
        let mut builder = Builder::new();
        builder.set_cache_size(CACHE_BYTES);
        // A plain open trusts the file and may panic on bytes redb did not write; with the
        // check, such a file is reported as corrupt instead.
        builder.set_check_integrity_on_open(true);
        let db = builder.create(path).map_err(|e| open_error(path, e))?;
        let db = Db {
            db,
            path: path.to_path_buf(),
        };
        db.write(|txn| init_schema(txn, path))?;
        Ok(db)
    }

    pub(super) fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `f` in a write transaction and commits it with immediate durability before
    /// returning. If `f` fails, the transaction is dropped, which aborts it.
    pub(super) fn write<T>(
        &self,
        f: impl FnOnce(&WriteTransaction) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut txn = self.db.begin_write().or_storage(&self.path)?;
        txn.set_durability(Durability::Immediate)
            .or_storage(&self.path)?;
        let out = f(&txn)?;
        txn.commit().or_storage(&self.path)?;
        Ok(out)
    }

    /// Runs `f` in a read transaction: a consistent snapshot.
    pub(super) fn read<T>(
        &self,
        f: impl FnOnce(&ReadTransaction) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let txn = self.db.begin_read().or_storage(&self.path)?;
        f(&txn)
    }
}

/// Maps a failed open to the errors a caller can act on.
fn open_error(path: &Path, e: DatabaseError) -> StoreError {
    let path = path.to_path_buf();
    match e {
        DatabaseError::DatabaseAlreadyOpen | DatabaseError::LockProtocolMismatch => {
            StoreError::Locked { path }
        }
        DatabaseError::Storage(StorageError::Corrupted(detail)) => {
            StoreError::Corrupt { path, detail }
        }
        DatabaseError::Storage(StorageError::Io(io))
            if matches!(
                io.kind(),
                std::io::ErrorKind::UnexpectedEof | std::io::ErrorKind::InvalidData
            ) =>
        {
            StoreError::Corrupt {
                path,
                detail: io.to_string(),
            }
        }
        DatabaseError::UpgradeRequired(v) => StoreError::Corrupt {
            path,
            detail: format!("it is in redb file format {v}, which this coordinator cannot read"),
        },
        other => storage(&path, other),
    }
}

/// Reads the schema version, or writes it into a new file, and opens every table so that a
/// file with tables of other types is refused now rather than on first use.
fn init_schema(txn: &WriteTransaction, path: &Path) -> Result<(), StoreError> {
    let not_ours = |e: TableError| match e {
        TableError::TableTypeMismatch { .. }
        | TableError::TypeDefinitionChanged { .. }
        | TableError::TableIsMultimap(_) => StoreError::Corrupt {
            path: path.to_path_buf(),
            detail: e.to_string(),
        },
        other => storage(path, other),
    };
    let mut meta = txn.open_table(META).map_err(not_ours)?;
    let found = meta.get(SCHEMA_KEY).or_storage(path)?.map(|v| v.value());
    match found {
        Some(SCHEMA_VERSION) => {}
        Some(found) if found > SCHEMA_VERSION => {
            return Err(StoreError::NewerSchema {
                path: path.to_path_buf(),
                found,
                supported: SCHEMA_VERSION,
            });
        }
        Some(found) => {
            return Err(StoreError::UnknownSchema {
                path: path.to_path_buf(),
                found,
                supported: SCHEMA_VERSION,
            });
        }
        None => {
            let others: Vec<String> = txn
                .list_tables()
                .or_storage(path)?
                .map(|t| t.name().to_string())
                .filter(|n| n != META.name())
                .collect();
            if !others.is_empty() {
                let detail = format!("it has tables {} but no schema version", others.join(", "));
                return Err(StoreError::Corrupt {
                    path: path.to_path_buf(),
                    detail,
                });
            }
            meta.insert(SCHEMA_KEY, SCHEMA_VERSION).or_storage(path)?;
            meta.insert(EXCLUSION_VERSION_KEY, 0).or_storage(path)?;
        }
    }
    drop(meta);
    txn.open_table(ACCOUNTS).map_err(not_ours)?;
    txn.open_table(PLANS).map_err(not_ours)?;
    txn.open_table(DECISIONS).map_err(not_ours)?;
    txn.open_table(DECISIONS_BY_ACCOUNT).map_err(not_ours)?;
    txn.open_table(OPEN_DECISIONS).map_err(not_ours)?;
    txn.open_table(RULES).map_err(not_ours)?;
    txn.open_table(HISTORY).map_err(not_ours)?;
    txn.open_table(HISTORY_BY_ID).map_err(not_ours)?;
    txn.open_table(AUDIT).map_err(not_ours)?;
    txn.open_table(AUDIT_BY_TIME).map_err(not_ours)?;
    txn.open_table(ROLLBACKS).map_err(not_ours)?;
    txn.open_table(ROLLBACKS_BY_ACCOUNT).map_err(not_ours)?;
    txn.open_table(SEEN_REPORTS).map_err(not_ours)?;
    txn.open_table(CAMPAIGNS).map_err(not_ours)?;
    txn.open_table(OPT_OUTS).map_err(not_ours)?;
    Ok(())
}

pub(super) fn storage(path: &Path, e: impl Into<redb::Error>) -> StoreError {
    StoreError::Storage {
        path: path.to_path_buf(),
        source: Box::new(e.into()),
    }
}

/// Turns any redb error into [`StoreError::Storage`] naming the file.
pub(super) trait OrStorage<T> {
    fn or_storage(self, path: &Path) -> Result<T, StoreError>;
}

impl<T, E: Into<redb::Error>> OrStorage<T> for Result<T, E> {
    fn or_storage(self, path: &Path) -> Result<T, StoreError> {
        self.map_err(|e| storage(path, e))
    }
}

/// `value` as JSON; `what` names it in the error.
pub(super) fn encode<T: Serialize>(value: &T, what: impl Display) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|source| StoreError::Encode {
        what: what.to_string(),
        source,
    })
}

/// A record read back from `table` under `key`.
pub(super) fn decode<T: DeserializeOwned>(
    path: &Path,
    table: &TableDefinition<impl redb::Key, impl redb::Value>,
    key: impl Display,
    json: &str,
) -> Result<T, StoreError> {
    serde_json::from_str(json).map_err(|source| StoreError::Decode {
        path: path.to_path_buf(),
        table: table.name().to_string(),
        key: key.to_string(),
        source,
    })
}

/// The last millisecond a ULID can hold (year 10889).
const MAX_ULID_MS: i64 = (1 << 48) - 1;

/// A new ULID for a record of `table` made at `now`, sorting after every id already in it,
/// even if two are made in the same millisecond or the clock steps back (the id then carries
/// the newest id's time).
pub(super) fn next_id(
    txn: &WriteTransaction,
    path: &Path,
    table: TableDefinition<&str, &str>,
    what: &'static str,
    now: DateTime<Utc>,
) -> Result<String, StoreError> {
    let candidate = Ulid::from_datetime(SystemTime::from(now));
    let records = txn.open_table(table).or_storage(path)?;
    let last = records.last().or_storage(path)?;
    let Some((last, _)) = last else {
        return Ok(candidate.to_string());
    };
    let last_text = last.value();
    let last = Ulid::from_string(last_text).map_err(|e| StoreError::Corrupt {
        path: path.to_path_buf(),
        detail: format!("newest {what} id {last_text:?} is not a ulid: {e}"),
    })?;
    if candidate > last {
        return Ok(candidate.to_string());
    }
    last.increment()
        .map(|id| id.to_string())
        .ok_or(StoreError::IdExhausted {
            what,
            last: last.to_string(),
        })
}

/// The smallest ULID made at `t` or later, as a key.
pub(super) fn lowest_id_at(t: DateTime<Utc>) -> String {
    let ms = t.timestamp_millis().clamp(0, MAX_ULID_MS);
    // Within 0..=MAX_ULID_MS, so the conversion cannot fail.
    Ulid::from_parts(u64::try_from(ms).unwrap_or(0), 0).to_string()
}

/// How many items a filter's `limit` keeps.
pub(super) fn cap(limit: Option<usize>) -> usize {
    limit.unwrap_or(usize::MAX)
}

/// `items` in their order, or reversed when `newest_first`.
pub(super) fn ordered<'a, T: 'a>(
    items: impl DoubleEndedIterator<Item = T> + 'a,
    newest_first: bool,
) -> Box<dyn Iterator<Item = T> + 'a> {
    if newest_first {
        Box::new(items.rev())
    } else {
        Box::new(items)
    }
}

//! The audit log: who did what to what, and with which result. Append-only; each entry gets
//! the next `seq`, which is never reused.

use std::path::Path;

use chrono::{DateTime, Utc};
use redb::ReadableTable;

use super::db::{AUDIT, AUDIT_BY_TIME, OrStorage, cap, decode, encode, ordered};
use super::error::StoreError;
use super::model::{AuditEntry, AuditFilter, NewAuditEntry};
use super::{Store, validate};

impl Store {
    /// Appends an entry made at `now` and returns it with its `seq`.
    pub fn append_audit(
        &self,
        entry: NewAuditEntry,
        now: DateTime<Utc>,
    ) -> Result<AuditEntry, StoreError> {
        validate::non_empty("audit actor", &entry.who)?;
        validate::non_empty("audit action", &entry.action)?;
        let path = self.path();
        self.db.write(|txn| {
            let mut audit = txn.open_table(AUDIT).or_storage(path)?;
            let last = audit.last().or_storage(path)?.map_or(0, |(k, _)| k.value());
            let seq = last.checked_add(1).ok_or(StoreError::IdExhausted {
                what: "audit entry",
                last: last.to_string(),
            })?;
            let NewAuditEntry {
                who,
                action,
                target,
                result,
            } = entry;
            let entry = AuditEntry {
                seq,
                at: now,
                who,
                action,
                target,
                result,
            };
            let json = encode(&entry, format_args!("audit entry {seq}"))?;
            audit.insert(seq, json.as_str()).or_storage(path)?;
            let mut by_time = txn.open_table(AUDIT_BY_TIME).or_storage(path)?;
            by_time
                .insert((now.timestamp_micros(), seq), ())
                .or_storage(path)?;
            Ok(entry)
        })
    }

    /// The entries that match `filter`, in `seq` order.
    pub fn audit(&self, filter: &AuditFilter) -> Result<Vec<AuditEntry>, StoreError> {
        let path = self.path();
        // Entries after `after_seq`; none if nothing can come after it.
        let Some(first) = filter.after_seq.map_or(Some(0), |s| s.checked_add(1)) else {
            return Ok(Vec::new());
        };
        self.db.read(|txn| {
            let audit = txn.open_table(AUDIT).or_storage(path)?;
            let Some(since) = filter.since else {
                let range = audit.range(first..).or_storage(path)?;
                return ordered(range, filter.newest_first)
                    .map(|entry| {
                        let (k, v) = entry.or_storage(path)?;
                        decode(path, &AUDIT, k.value(), v.value())
                    })
                    .take(cap(filter.limit))
                    .collect();
            };
            // `at` comes from the caller's clock, which may step back, so time order and
            // seq order can differ: find the entries by time, then sort them by seq.
            let by_time = txn.open_table(AUDIT_BY_TIME).or_storage(path)?;
            let mut seqs = Vec::new();
            for entry in by_time
                .range((since.timestamp_micros(), 0)..)
                .or_storage(path)?
            {
                let (_, seq) = entry.or_storage(path)?.0.value();
                if seq >= first {
                    seqs.push(seq);
                }
            }
            seqs.sort_unstable();
            ordered(seqs.into_iter(), filter.newest_first)
                .take(cap(filter.limit))
                .map(|seq| get(&audit, path, seq))
                .collect()
        })
    }
}

fn get(
    audit: &impl ReadableTable<u64, &'static str>,
    path: &Path,
    seq: u64,
) -> Result<AuditEntry, StoreError> {
    let json = audit.get(seq).or_storage(path)?;
    match json {
        Some(j) => decode(path, &AUDIT, seq, j.value()),
        None => Err(StoreError::Corrupt {
            path: path.to_path_buf(),
            detail: format!("the time index names audit entry {seq}, which has no record"),
        }),
    }
}

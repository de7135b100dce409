//! Opening the file: newer schemas, corrupt or foreign files, locks, directories.

use super::*;

fn set_schema_version(file: &Path, version: u64) {
    const META: redb::TableDefinition<&str, u64> = redb::TableDefinition::new("meta");
    let db = redb::Database::create(file).unwrap();
    let txn = db.begin_write().unwrap();
    txn.open_table(META)
        .unwrap()
        .insert("schema_version", version)
        .unwrap();
    txn.commit().unwrap();
}

#[test]
fn a_store_from_a_newer_coordinator_is_refused_and_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    open(dir.path())
        .append_audit(new_audit("start"), t(0))
        .unwrap();
    let file = dir.path().join(FILE_NAME);
    set_schema_version(&file, 2);
    let err = Store::open(dir.path()).unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::NewerSchema {
                found: 2,
                supported: 1,
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(
        err.to_string(),
        format!(
            "store {} has schema version 2, newer than version 1 that this coordinator \
             supports: upgrade the coordinator",
            file.display()
        )
    );
    assert!(!err.is_retryable());
    set_schema_version(&file, 1);
    let audit = open(dir.path()).audit(&AuditFilter::default()).unwrap();
    assert_eq!(audit.len(), 1);
}

#[test]
fn an_older_unknown_schema_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    drop(open(dir.path()));
    set_schema_version(&dir.path().join(FILE_NAME), 0);
    let err = Store::open(dir.path()).unwrap_err();
    assert!(
        matches!(err, StoreError::UnknownSchema { found: 0, .. }),
        "{err}"
    );
}

#[test]
fn a_file_of_garbage_is_refused_as_corrupt() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join(FILE_NAME);
    let garbage: Vec<u8> = (0..20_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    for bytes in [&garbage[..], &garbage[..100], b"not a database".as_slice()] {
        std::fs::write(&file, bytes).unwrap();
        let err = Store::open(dir.path()).unwrap_err();
        assert!(matches!(err, StoreError::Corrupt { .. }), "{err}");
        assert!(
            err.to_string()
                .starts_with(&format!("store {} is corrupt", file.display())),
            "{err}"
        );
    }
}

#[test]
fn a_store_with_damaged_pages_is_refused_without_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    {
        let s = open(dir.path());
        for i in 0..50 {
            s.upsert_change(A, &change(A, &format!("role{i}"), i, 1))
                .unwrap();
        }
    }
    let file = dir.path().join(FILE_NAME);
    let mut bytes = std::fs::read(&file).unwrap();
    let len = bytes.len();
    for b in &mut bytes[len / 4..len * 3 / 4] {
        *b ^= 0x5a;
    }
    std::fs::write(&file, bytes).unwrap();
    let err = Store::open(dir.path()).unwrap_err();
    assert!(matches!(err, StoreError::Corrupt { .. }), "{err}");
}

#[test]
fn a_redb_file_of_something_else_is_not_taken_for_a_store() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join(FILE_NAME);
    {
        const OTHER: redb::TableDefinition<u64, u64> = redb::TableDefinition::new("other");
        let db = redb::Database::create(&file).unwrap();
        let txn = db.begin_write().unwrap();
        txn.open_table(OTHER).unwrap().insert(1, 2).unwrap();
        txn.commit().unwrap();
    }
    let err = Store::open(dir.path()).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "store {} is corrupt or not a coordinator store: it has tables other but no \
             schema version",
            file.display()
        )
    );
}

#[test]
fn a_table_of_the_wrong_type_is_refused_as_corrupt() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join(FILE_NAME);
    drop(open(dir.path()));
    {
        const ACCOUNTS: redb::TableDefinition<u64, u64> = redb::TableDefinition::new("accounts");
        let db = redb::Database::create(&file).unwrap();
        let txn = db.begin_write().unwrap();
        txn.delete_table(ACCOUNTS).unwrap();
        txn.open_table(ACCOUNTS).unwrap().insert(1, 2).unwrap();
        txn.commit().unwrap();
    }
    let err = Store::open(dir.path()).unwrap_err();
    assert!(matches!(err, StoreError::Corrupt { .. }), "{err}");
    assert!(err.to_string().contains("accounts"), "{err}");
}

#[test]
fn a_store_held_open_elsewhere_is_refused_until_released() {
    let dir = tempfile::tempdir().unwrap();
    let first = open(dir.path());
    first.set_connected(A, true, Some("1.0.0"), t(0)).unwrap();
    let err = Store::open(dir.path()).unwrap_err();
    assert!(matches!(err, StoreError::Locked { .. }), "{err}");
    assert!(err.is_retryable());
    assert_eq!(
        err.to_string(),
        format!(
            "store {} is already open by another process or handle",
            first.path().display()
        )
    );
    drop(first);
    let again = open(dir.path());
    assert_eq!(again.list_accounts().unwrap().len(), 1);
}

#[test]
fn open_creates_missing_directories_and_reports_ones_it_cannot() {
    let dir = tempfile::tempdir().unwrap();
    let nested = dir.path().join("a/b/c");
    let store = open(&nested);
    assert_eq!(store.path(), nested.join(FILE_NAME));
    assert!(nested.join(FILE_NAME).is_file());
    let blocker = dir.path().join("file");
    std::fs::write(&blocker, "x").unwrap();
    let err = Store::open(&blocker.join("sub")).unwrap_err();
    assert!(matches!(err, StoreError::CreateDir { .. }), "{err}");
    assert!(err.to_string().starts_with(&format!(
        "cannot create store directory {}",
        blocker.join("sub").display()
    )));
}

#[test]
fn the_store_can_be_shared_between_threads() {
    fn shareable<T: Send + Sync>() {}
    shareable::<Store>();
    let dir = tempfile::tempdir().unwrap();
    let store = std::sync::Arc::new(open(dir.path()));
    let handles: Vec<_> = (0..4)
        .map(|i| {
            let store = store.clone();
            std::thread::spawn(move || {
                for j in 0..10 {
                    store
                        .append_audit(new_audit(&format!("{i}-{j}")), t(j))
                        .unwrap();
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    let seqs: Vec<u64> = store
        .audit(&AuditFilter::default())
        .unwrap()
        .iter()
        .map(|e| e.seq)
        .collect();
    assert_eq!(seqs, (1..=40).collect::<Vec<_>>());
}

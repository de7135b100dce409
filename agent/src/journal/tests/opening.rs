//! Opening the file: newer schemas, corrupt or foreign files, and locks.

use super::*;

#[test]
fn a_journal_from_a_newer_agent_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let id = open(dir.path()).begin(change("a"), t(0)).unwrap().id;
    let file = dir.path().join(FILE_NAME);
    set_schema_version(&file, 7);
    let err = Journal::open(dir.path()).unwrap_err();
    assert!(
        matches!(
            err,
            JournalError::NewerSchema {
                found: 7,
                supported: 1,
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(
        err.to_string(),
        format!(
            "journal {} has schema version 7, newer than version 1 that this agent supports: \
             upgrade the agent",
            file.display()
        )
    );
    // The refusal left the file alone.
    set_schema_version(&file, 1);
    assert_eq!(
        open(dir.path()).get(id).unwrap().state,
        ChangeState::Intended
    );
}

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
fn a_file_of_garbage_is_refused_as_corrupt() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join(FILE_NAME);
    let garbage: Vec<u8> = (0..20_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    for bytes in [&garbage[..], &garbage[..100], b"not a database".as_slice()] {
        std::fs::write(&file, bytes).unwrap();
        let err = Journal::open(dir.path()).unwrap_err();
        assert!(matches!(err, JournalError::Corrupt { .. }), "{err}");
        assert!(
            err.to_string()
                .starts_with(&format!("journal {} is corrupt", file.display())),
            "{err}"
        );
    }
}

#[test]
fn a_journal_with_damaged_pages_is_refused_without_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    {
        let j = open(dir.path());
        for i in 0..20 {
            j.begin(change(&format!("role{i}")), t(i)).unwrap();
        }
    }
    let file = dir.path().join(FILE_NAME);
    let mut bytes = std::fs::read(&file).unwrap();
    let len = bytes.len();
    for b in &mut bytes[len / 4..len * 3 / 4] {
        *b ^= 0x5a;
    }
    std::fs::write(&file, bytes).unwrap();
    let err = Journal::open(dir.path()).unwrap_err();
    assert!(matches!(err, JournalError::Corrupt { .. }), "{err}");
    assert!(
        err.to_string().contains(&file.display().to_string()),
        "{err}"
    );
}

#[test]
fn a_redb_file_of_something_else_is_not_taken_for_a_journal() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join(FILE_NAME);
    {
        const OTHER: redb::TableDefinition<u64, u64> = redb::TableDefinition::new("other");
        let db = redb::Database::create(&file).unwrap();
        let txn = db.begin_write().unwrap();
        txn.open_table(OTHER).unwrap().insert(1, 2).unwrap();
        txn.commit().unwrap();
    }
    let err = Journal::open(dir.path()).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "journal {} is corrupt or not a journal: it has tables other but no schema version",
            file.display()
        )
    );
}

#[test]
fn a_journal_held_open_elsewhere_is_refused_until_released() {
    let dir = tempfile::tempdir().unwrap();
    let first = open(dir.path());
    let id = first.begin(change("a"), t(0)).unwrap().id;
    let err = Journal::open(dir.path()).unwrap_err();
    assert!(matches!(err, JournalError::Locked { .. }), "{err}");
    assert!(err.is_retryable());
    assert_eq!(
        err.to_string(),
        format!(
            "journal {} is already open by another process or handle",
            first.path().display()
        )
    );
    drop(first);
    assert_eq!(open(dir.path()).get(id).unwrap().id, id);
}

#[test]
fn open_creates_missing_directories_and_reports_ones_it_cannot() {
    let dir = tempfile::tempdir().unwrap();
    let nested = dir.path().join("a/b/c");
    open(&nested);
    assert!(nested.join(FILE_NAME).is_file());
    let blocker = dir.path().join("file");
    std::fs::write(&blocker, "x").unwrap();
    let err = Journal::open(&blocker.join("sub")).unwrap_err();
    assert!(matches!(err, JournalError::CreateDir { .. }), "{err}");
    assert!(err.to_string().starts_with(&format!(
        "cannot create journal directory {}",
        blocker.join("sub").display()
    )));
}

//! The store's error type: every way opening, writing or reading the coordinator's store can
//! fail, each naming the file, record or input it is about.

use std::path::PathBuf;

use super::model::{DecisionState, RollbackState};

/// An error from the coordinator's store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The store's directory could not be created.
    #[error("cannot create store directory {path}: {source}")]
    CreateDir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// Another process (or another handle in this one) holds the store open.
    #[error("store {path} is already open by another process or handle")]
    Locked { path: PathBuf },

    /// The file is not a readable redb database, or not a coordinator store.
    #[error("store {path} is corrupt or not a coordinator store: {detail}")]
    Corrupt { path: PathBuf, detail: String },

    /// The store was written by a newer coordinator with a newer schema.
    #[error(
        "store {path} has schema version {found}, newer than version {supported} that this \
         coordinator supports: upgrade the coordinator"
    )]
    NewerSchema {
        path: PathBuf,
        found: u64,
        supported: u64,
    },

    /// The store holds a schema version this coordinator never wrote.
    #[error(
        "store {path} has unknown schema version {found} (this coordinator writes {supported})"
    )]
    UnknownSchema {
        path: PathBuf,
        found: u64,
        supported: u64,
    },

    /// The file could not be opened, read or written.
    #[error("store {path}: storage error: {source}")]
    Storage {
        path: PathBuf,
        #[source]
        source: Box<redb::Error>,
    },

    /// A stored record could not be read back.
    #[error("store {path}: record {key} in table {table} is unreadable: {source}")]
    Decode {
        path: PathBuf,
        table: String,
        key: String,
        #[source]
        source: serde_json::Error,
    },

    /// A record could not be encoded.
    #[error("cannot encode {what}: {source}")]
    Encode {
        what: String,
        #[source]
        source: serde_json::Error,
    },

    /// An argument that the store refuses to record.
    #[error("invalid {what} {value:?}: {reason}")]
    InvalidInput {
        what: &'static str,
        value: String,
        reason: String,
    },

    /// A request the record's state does not allow, in words.
    #[error("{what}: {problem}")]
    Refused { what: String, problem: String },

    /// No record with this key is in the store.
    #[error("{what} {key} is not in the store")]
    NotFound { what: &'static str, key: String },

    /// A decision names a plan that is not the one stored for its role.
    #[error(
        "decision for role {role_name} in account {account_id} names plan {fingerprint}, but \
         {stored}"
    )]
    PlanMismatch {
        account_id: String,
        role_name: String,
        fingerprint: String,
        /// What is stored instead, in words.
        stored: String,
    },

    /// A role already has a decision that is neither finished nor cancelled.
    #[error(
        "role {role_name} in account {account_id} already has open decision {decision_id} \
         (state {state})"
    )]
    DecisionOpen {
        account_id: String,
        role_name: String,
        decision_id: String,
        state: DecisionState,
    },

    /// The decision state machine does not allow this transition.
    #[error("decision {decision_id} cannot go from state {from} to state {to}")]
    InvalidDecisionTransition {
        decision_id: String,
        from: DecisionState,
        to: DecisionState,
    },

    /// A change or plan reported by one account that names another.
    #[error("{record} names account {found}, but was reported by account {reporter}")]
    AccountMismatch {
        /// The record, in words: `change <id>`, `plan of role <name>`.
        record: String,
        reporter: String,
        found: String,
    },

    /// A reported change whose fixed parts differ from the copy already stored.
    #[error(
        "change {change_id} of account {account_id} conflicts with the stored copy: its {field} \
         differs"
    )]
    ChangeConflict {
        account_id: String,
        change_id: String,
        field: &'static str,
    },

    /// A rollback request that already has a different outcome.
    #[error("rollback request {request_id} is already {state} and cannot become {to}")]
    RollbackFinished {
        request_id: String,
        state: RollbackState,
        to: RollbackState,
    },

    /// No further id can be generated after the newest one in this millisecond.
    #[error("no {what} id is left after {last}")]
    IdExhausted { what: &'static str, last: String },
}

impl StoreError {
    /// Whether trying the same call again later may succeed: the file is locked by someone
    /// else, or an I/O error happened. Invalid requests and corrupt or newer stores are final.
    pub fn is_retryable(&self) -> bool {
        match self {
            StoreError::Locked { .. } => true,
            StoreError::Storage { source, .. } => {
                matches!(**source, redb::Error::Io(_) | redb::Error::PreviousIo)
            }
            _ => false,
        }
    }
}

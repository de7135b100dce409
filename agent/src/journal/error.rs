//! The journal's error type: every way opening, writing or reading the journal can fail.

use std::path::PathBuf;

use whittle_policy::change::{ChangeId, ChangeState};

/// An error from the journal. Every message names the file or the change it is about.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    /// The journal's directory could not be created.
    #[error("cannot create journal directory {path}: {source}")]
    CreateDir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// Another process (or another handle in this one) holds the journal open.
    #[error("journal {path} is already open by another process or handle")]
    Locked { path: PathBuf },

    /// The file is not a readable redb database.
    #[error("journal {path} is corrupt or not a journal: {detail}")]
    Corrupt { path: PathBuf, detail: String },

    /// The journal was written by a newer agent with a newer schema.
    #[error(
        "journal {path} has schema version {found}, newer than version {supported} that this \
         agent supports: upgrade the agent"
    )]
    NewerSchema {
        path: PathBuf,
        found: u64,
        supported: u64,
    },

    /// The journal holds a schema version this agent never wrote.
    #[error("journal {path} has unknown schema version {found} (this agent writes {supported})")]
    UnknownSchema {
        path: PathBuf,
        found: u64,
        supported: u64,
    },

    /// The file could not be opened, read or written.
    #[error("journal {path}: storage error: {source}")]
    Storage {
        path: PathBuf,
        #[source]
        source: Box<redb::Error>,
    },

    /// A stored record could not be read back.
    #[error("journal {path}: record {key} is unreadable: {source}")]
    Decode {
        path: PathBuf,
        key: String,
        #[source]
        source: serde_json::Error,
    },

    /// A record could not be encoded.
    #[error("cannot encode change {id}: {source}")]
    Encode {
        id: ChangeId,
        #[source]
        source: serde_json::Error,
    },

    /// No change with this id is in the journal.
    #[error("change {id} is not in the journal")]
    NotFound { id: ChangeId },

    /// The state machine does not allow this transition.
    #[error("change {id} cannot go from state {from} to state {to}")]
    InvalidTransition {
        id: ChangeId,
        from: ChangeState,
        to: ChangeState,
    },

    /// A step count or created version that does not fit the change.
    #[error("change {id} cannot record step {steps_done}: {reason}")]
    InvalidStep {
        id: ChangeId,
        steps_done: u32,
        reason: String,
    },

    /// `mark_applied` before every step of the diff is recorded.
    #[error(
        "change {id} cannot be marked applied: only {steps_done} of its {total} steps are done"
    )]
    Incomplete {
        id: ChangeId,
        steps_done: u32,
        total: usize,
    },

    /// `mark_rolled_back` named a change that does not undo this one.
    #[error("change {id} cannot be marked rolled back by change {by}: {reason}")]
    InvalidRollback {
        id: ChangeId,
        by: ChangeId,
        reason: String,
    },

    /// A new change that is inconsistent with itself.
    #[error("new change for role {role_arn:?} is invalid: {reason}")]
    InvalidChange { role_arn: String, reason: String },

    /// No further id can be generated after the newest one in this millisecond.
    #[error("no change id is left after {last}")]
    IdExhausted { last: ChangeId },
}

impl JournalError {
    /// Whether trying the same call again later may succeed: the file is locked by someone
    /// else, or an I/O error happened. Invalid requests and corrupt or newer stores are final.
    pub fn is_retryable(&self) -> bool {
        match self {
            JournalError::Locked { .. } => true,
            JournalError::Storage { source, .. } => {
                matches!(**source, redb::Error::Io(_) | redb::Error::PreviousIo)
            }
            _ => false,
        }
    }
}

//! Role states and the diffs between them: `RoleState`, `Change`, `Diff`.

use std::collections::BTreeSet;

use whittle_policy::diff::{Change, Diff, RoleState};

use super::error::{ConvertError, Problem, each, key};
use crate::types::v1 as pb;
use pb::change::Kind;

impl From<RoleState> for pb::RoleState {
    fn from(state: RoleState) -> Self {
        let RoleState {
            inline,
            attached,
            managed_documents,
        } = state;
        pb::RoleState {
            inline,
            attached: attached.into_iter().collect(),
            managed_documents,
        }
    }
}

impl TryFrom<pb::RoleState> for RoleState {
    type Error = ConvertError;

    fn try_from(state: pb::RoleState) -> Result<Self, ConvertError> {
        let pb::RoleState {
            inline,
            attached,
            managed_documents,
        } = state;
        Ok(RoleState {
            inline,
            attached: unique("RoleState", "attached", attached)?,
            managed_documents,
        })
    }
}

/// A repeated string that stands for a set: each value once.
pub(crate) fn unique(
    message: &'static str,
    field: &str,
    values: Vec<String>,
) -> Result<BTreeSet<String>, ConvertError> {
    let mut set = BTreeSet::new();
    for (i, value) in values.into_iter().enumerate() {
        if set.contains(&value) {
            let problem = Problem::Duplicate { key: value };
            return Err(ConvertError::new(message, &key(field, i), problem));
        }
        set.insert(value);
    }
    Ok(set)
}

impl From<Change> for pb::Change {
    fn from(change: Change) -> Self {
        let kind = match change {
            Change::Inline {
                name,
                before,
                after,
            } => Kind::Inline(pb::change::Inline {
                name,
                before,
                after,
            }),
            Change::Attachment { arn, before, after } => {
                Kind::Attachment(pb::change::Attachment { arn, before, after })
            }
            Change::ManagedDocument { arn, before, after } => {
                Kind::ManagedDocument(pb::change::ManagedDocument { arn, before, after })
            }
        };
        pb::Change { kind: Some(kind) }
    }
}

impl TryFrom<pb::Change> for Change {
    type Error = ConvertError;

    fn try_from(change: pb::Change) -> Result<Self, ConvertError> {
        let pb::Change { kind } = change;
        match kind {
            None => Err(ConvertError::new("Change", "kind", Problem::Missing)),
            Some(Kind::Inline(pb::change::Inline {
                name,
                before,
                after,
            })) => Ok(Change::Inline {
                name,
                before,
                after,
            }),
            Some(Kind::Attachment(pb::change::Attachment { arn, before, after })) => {
                Ok(Change::Attachment { arn, before, after })
            }
            Some(Kind::ManagedDocument(pb::change::ManagedDocument { arn, before, after })) => {
                Ok(Change::ManagedDocument { arn, before, after })
            }
        }
    }
}

impl From<Diff> for pb::Diff {
    fn from(diff: Diff) -> Self {
        let Diff { changes } = diff;
        pb::Diff {
            changes: changes.into_iter().map(Into::into).collect(),
        }
    }
}

impl TryFrom<pb::Diff> for Diff {
    type Error = ConvertError;

    fn try_from(diff: pb::Diff) -> Result<Self, ConvertError> {
        let pb::Diff { changes } = diff;
        Ok(Diff {
            changes: each("Diff", "changes", changes)?,
        })
    }
}

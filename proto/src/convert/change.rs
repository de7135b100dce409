//! Change records as the journal and the history keep them: `ChangeRecord`,
//! `ChangeKind`, `ChangeState`.

use whittle_policy::change::{ChangeKind, ChangeRecord, ChangeState};

use super::error::{
    ConvertError, Problem, account_id, change_id, enumeration, non_empty, required, time, time_text,
};
use crate::types::v1 as pb;
use pb::change_kind::Kind;

impl From<ChangeKind> for pb::ChangeKind {
    fn from(kind: ChangeKind) -> Self {
        let kind = match kind {
            ChangeKind::Apply => Kind::Apply(pb::change_kind::Apply {}),
            ChangeKind::Rollback { of } => {
                Kind::Rollback(pb::change_kind::Rollback { of: of.to_string() })
            }
            ChangeKind::Restore => Kind::Restore(pb::change_kind::Restore {}),
        };
        pb::ChangeKind { kind: Some(kind) }
    }
}

impl TryFrom<pb::ChangeKind> for ChangeKind {
    type Error = ConvertError;

    fn try_from(kind: pb::ChangeKind) -> Result<Self, ConvertError> {
        let pb::ChangeKind { kind } = kind;
        match kind {
            None => Err(ConvertError::new("ChangeKind", "kind", Problem::Missing)),
            Some(Kind::Apply(pb::change_kind::Apply {})) => Ok(ChangeKind::Apply),
            Some(Kind::Rollback(pb::change_kind::Rollback { of })) => Ok(ChangeKind::Rollback {
                of: change_id("ChangeKind", "rollback.of", &of)?,
            }),
            Some(Kind::Restore(pb::change_kind::Restore {})) => Ok(ChangeKind::Restore),
        }
    }
}

impl From<ChangeState> for pb::ChangeState {
    fn from(state: ChangeState) -> Self {
        match state {
            ChangeState::Intended => pb::ChangeState::Intended,
            ChangeState::Applying => pb::ChangeState::Applying,
            ChangeState::Applied => pb::ChangeState::Applied,
            ChangeState::Failed => pb::ChangeState::Failed,
            ChangeState::RolledBack => pb::ChangeState::RolledBack,
        }
    }
}

impl TryFrom<pb::ChangeState> for ChangeState {
    type Error = ConvertError;

    fn try_from(state: pb::ChangeState) -> Result<Self, ConvertError> {
        match state {
            pb::ChangeState::Unspecified => {
                Err(ConvertError::new("ChangeState", "", Problem::Missing))
            }
            pb::ChangeState::Intended => Ok(ChangeState::Intended),
            pb::ChangeState::Applying => Ok(ChangeState::Applying),
            pb::ChangeState::Applied => Ok(ChangeState::Applied),
            pb::ChangeState::Failed => Ok(ChangeState::Failed),
            pb::ChangeState::RolledBack => Ok(ChangeState::RolledBack),
        }
    }
}

impl From<ChangeRecord> for pb::ChangeRecord {
    fn from(record: ChangeRecord) -> Self {
        let ChangeRecord {
            id,
            kind,
            account_id,
            role_arn,
            role_id,
            role_name,
            plan_fingerprint,
            before,
            after,
            diff,
            managed_versions_before,
            created_versions,
            state,
            steps_done,
            error,
            rolled_back_by,
            created_at,
            updated_at,
            reported,
        } = record;
        pb::ChangeRecord {
            id: id.to_string(),
            kind: Some(kind.into()),
            account_id,
            role_arn,
            role_id,
            role_name,
            plan_fingerprint,
            before: Some(before.into()),
            after: Some(after.into()),
            diff: Some(diff.into()),
            managed_versions_before,
            created_versions,
            state: pb::ChangeState::from(state).into(),
            steps_done,
            error,
            rolled_back_by: rolled_back_by.map(|id| id.to_string()),
            created_at: time_text(created_at),
            updated_at: time_text(updated_at),
            reported,
        }
    }
}

const RECORD: &str = "ChangeRecord";

impl TryFrom<pb::ChangeRecord> for ChangeRecord {
    type Error = ConvertError;

    fn try_from(record: pb::ChangeRecord) -> Result<Self, ConvertError> {
        let pb::ChangeRecord {
            id,
            kind,
            account_id: account,
            role_arn,
            role_id,
            role_name,
            plan_fingerprint,
            before,
            after,
            diff,
            managed_versions_before,
            created_versions,
            state,
            steps_done,
            error,
            rolled_back_by,
            created_at,
            updated_at,
            reported,
        } = record;
        let state: pb::ChangeState = enumeration(RECORD, "state", "ChangeState", state)?;
        Ok(ChangeRecord {
            id: change_id(RECORD, "id", &id)?,
            kind: required(RECORD, "kind", kind)?,
            account_id: account_id(RECORD, "account_id", account)?,
            role_arn: non_empty(RECORD, "role_arn", role_arn)?,
            role_id: non_empty(RECORD, "role_id", role_id)?,
            role_name: non_empty(RECORD, "role_name", role_name)?,
            plan_fingerprint,
            before: required(RECORD, "before", before)?,
            after: required(RECORD, "after", after)?,
            diff: required(RECORD, "diff", diff)?,
            managed_versions_before,
            created_versions,
            state: ChangeState::try_from(state).map_err(|e| e.within(RECORD, "state"))?,
            steps_done,
            error,
            rolled_back_by: rolled_back_by
                .map(|id| change_id(RECORD, "rolled_back_by", &id))
                .transpose()?,
            created_at: time(RECORD, "created_at", &created_at)?,
            updated_at: time(RECORD, "updated_at", &updated_at)?,
            reported,
        })
    }
}

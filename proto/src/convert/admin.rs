//! Operator requests that carry more than names: [`AccountRollback`], [`HistoryQuery`]
//! and [`AuditQuery`]. (A new exclusion rule is in [`super::exclusion`].)

use chrono::{DateTime, Utc};

use super::directive::{RollbackTarget, WireTarget, rollback_target};
use super::error::{ConvertError, Problem, account_id, non_empty, opt_time, time_text};
use crate::admin::v1 as pb;

/// An operator's rollback of a role, a change or a whole account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountRollback {
    pub account_id: String,
    pub target: RollbackTarget,
    pub force: bool,
}

/// Which changes the history returns; `None` matches everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HistoryQuery {
    pub account_id: Option<String>,
    pub role_name: Option<String>,
    /// Changes created at or after this time.
    pub since: Option<DateTime<Utc>>,
    pub limit: Option<u32>,
}

/// Which audit entries to return; `None` matches everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditQuery {
    /// Entries at or after this time.
    pub since: Option<DateTime<Utc>>,
    pub limit: Option<u32>,
}

impl From<AccountRollback> for pb::RollbackRequest {
    fn from(rollback: AccountRollback) -> Self {
        use pb::rollback_request::Target;
        let AccountRollback {
            account_id,
            target,
            force,
        } = rollback;
        let target = match target {
            RollbackTarget::Change(id) => Target::ChangeId(id.to_string()),
            RollbackTarget::Role(name) => Target::RoleName(name),
            RollbackTarget::Since(t) => Target::Since(time_text(t)),
        };
        pb::RollbackRequest {
            account_id,
            target: Some(target),
            force,
        }
    }
}

impl TryFrom<pb::RollbackRequest> for AccountRollback {
    type Error = ConvertError;

    fn try_from(request: pb::RollbackRequest) -> Result<Self, ConvertError> {
        use pb::rollback_request::Target;
        const MESSAGE: &str = "RollbackRequest";
        let pb::RollbackRequest {
            account_id: account,
            target,
            force,
        } = request;
        let target = match target {
            None => return Err(ConvertError::new(MESSAGE, "target", Problem::Missing)),
            Some(Target::ChangeId(id)) => WireTarget::Change(id),
            Some(Target::RoleName(name)) => WireTarget::Role(name),
            Some(Target::Since(since)) => WireTarget::Since(since),
        };
        Ok(AccountRollback {
            account_id: account_id(MESSAGE, "account_id", account)?,
            target: rollback_target(MESSAGE, target)?,
            force,
        })
    }
}

impl From<HistoryQuery> for pb::HistoryRequest {
    fn from(query: HistoryQuery) -> Self {
        let HistoryQuery {
            account_id,
            role_name,
            since,
            limit,
        } = query;
        pb::HistoryRequest {
            account_id,
            role_name,
            since: since.map(time_text),
            limit,
        }
    }
}

impl TryFrom<pb::HistoryRequest> for HistoryQuery {
    type Error = ConvertError;

    fn try_from(request: pb::HistoryRequest) -> Result<Self, ConvertError> {
        const MESSAGE: &str = "HistoryRequest";
        let pb::HistoryRequest {
            account_id: account,
            role_name,
            since,
            limit,
        } = request;
        Ok(HistoryQuery {
            account_id: account
                .map(|a| account_id(MESSAGE, "account_id", a))
                .transpose()?,
            role_name: role_name
                .map(|n| non_empty(MESSAGE, "role_name", n))
                .transpose()?,
            since: opt_time(MESSAGE, "since", since)?,
            limit: positive(MESSAGE, limit)?,
        })
    }
}

impl From<AuditQuery> for pb::AuditRequest {
    fn from(query: AuditQuery) -> Self {
        let AuditQuery { since, limit } = query;
        pb::AuditRequest {
            since: since.map(time_text),
            limit,
        }
    }
}

impl TryFrom<pb::AuditRequest> for AuditQuery {
    type Error = ConvertError;

    fn try_from(request: pb::AuditRequest) -> Result<Self, ConvertError> {
        const MESSAGE: &str = "AuditRequest";
        let pb::AuditRequest { since, limit } = request;
        Ok(AuditQuery {
            since: opt_time(MESSAGE, "since", since)?,
            limit: positive(MESSAGE, limit)?,
        })
    }
}

/// A limit of 0 would return nothing: leave it unset for no limit.
fn positive(message: &'static str, limit: Option<u32>) -> Result<Option<u32>, ConvertError> {
    match limit {
        Some(0) => {
            let problem = Problem::Invalid("0 returns nothing; leave it unset for no limit".into());
            Err(ConvertError::new(message, "limit", problem))
        }
        other => Ok(other),
    }
}

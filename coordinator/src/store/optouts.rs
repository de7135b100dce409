//! Opt-outs: an application team's request to keep one role out of every campaign until
//! a time, with the reason and the owner. Keyed by account and role name; adding one for a
//! role that has one replaces it.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::db::{OPT_OUTS, OrStorage, decode, encode};
use super::error::StoreError;
use super::{Store, validate};

/// One role kept out of campaigns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OptOut {
    pub account_id: String,
    pub role_name: String,
    pub reason: String,
    /// It ends at this time.
    pub until: DateTime<Utc>,
    /// The team or person who owns the role.
    pub owner: String,
    /// The operator who added it.
    pub created_by: String,
    pub created_at: DateTime<Utc>,
}

impl OptOut {
    /// Whether it is in force at `now`.
    pub fn is_active(&self, now: DateTime<Utc>) -> bool {
        self.until > now
    }

    /// Whether it keeps this role out at `now`.
    pub fn keeps_out(&self, account_id: &str, role_name: &str, now: DateTime<Utc>) -> bool {
        self.account_id == account_id && self.role_name == role_name && self.is_active(now)
    }
}

impl Store {
    /// Adds (or replaces) the opt-out of one role. Refused when a field is empty or
    /// `until` is not after `now`.
    pub fn add_opt_out(&self, opt_out: OptOut, now: DateTime<Utc>) -> Result<OptOut, StoreError> {
        validate::account_id(&opt_out.account_id)?;
        validate::non_empty("role name", &opt_out.role_name)?;
        validate::non_empty("opt-out reason", &opt_out.reason)?;
        validate::non_empty("opt-out owner", &opt_out.owner)?;
        validate::non_empty("opt-out author", &opt_out.created_by)?;
        if opt_out.until <= now {
            return Err(StoreError::InvalidInput {
                what: "opt-out end",
                value: opt_out.until.to_rfc3339(),
                reason: format!("it is not after now ({})", now.to_rfc3339()),
            });
        }
        let path = self.path();
        self.db.write(|txn| {
            let json = encode(
                &opt_out,
                format_args!("opt-out {}/{}", opt_out.account_id, opt_out.role_name),
            )?;
            let mut table = txn.open_table(OPT_OUTS).or_storage(path)?;
            table
                .insert(
                    (opt_out.account_id.as_str(), opt_out.role_name.as_str()),
                    json.as_str(),
                )
                .or_storage(path)?;
            Ok(())
        })?;
        tracing::info!(account_id = %opt_out.account_id, role_name = %opt_out.role_name, until = %opt_out.until, "opt-out added");
        Ok(opt_out)
    }

    /// Removes the opt-out of one role; returns it.
    pub fn remove_opt_out(&self, account_id: &str, role_name: &str) -> Result<OptOut, StoreError> {
        let path = self.path();
        self.db.write(|txn| {
            let mut table = txn.open_table(OPT_OUTS).or_storage(path)?;
            let removed = table.remove((account_id, role_name)).or_storage(path)?;
            let Some(json) = removed else {
                return Err(StoreError::NotFound {
                    what: "opt-out",
                    key: format!("{account_id}/{role_name}"),
                });
            };
            decode(
                path,
                &OPT_OUTS,
                format!("{account_id}/{role_name}"),
                json.value(),
            )
        })
    }

    /// The opt-out of one role, if any (in force or not).
    pub fn get_opt_out(
        &self,
        account_id: &str,
        role_name: &str,
    ) -> Result<Option<OptOut>, StoreError> {
        let path = self.path();
        self.db.read(|txn| {
            let table = txn.open_table(OPT_OUTS).or_storage(path)?;
            let json = table.get((account_id, role_name)).or_storage(path)?;
            json.map(|j| {
                decode(
                    path,
                    &OPT_OUTS,
                    format!("{account_id}/{role_name}"),
                    j.value(),
                )
            })
            .transpose()
        })
    }

    /// Every opt-out, by account and role.
    pub fn list_opt_outs(&self) -> Result<Vec<OptOut>, StoreError> {
        let path = self.path();
        self.db.read(|txn| {
            let table = txn.open_table(OPT_OUTS).or_storage(path)?;
            let mut out = Vec::new();
            for entry in redb::ReadableTable::iter(&table).or_storage(path)? {
                let (k, v) = entry.or_storage(path)?;
                let (a, r) = k.value();
                out.push(decode(path, &OPT_OUTS, format!("{a}/{r}"), v.value())?);
            }
            Ok(out)
        })
    }
}

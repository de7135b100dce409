//! The fleet: one record per account, the newest plan of every role, and the ids of the
//! reports already processed.

use std::path::Path;

use chrono::{DateTime, Utc};
use redb::{ReadableTable, ReadableTableMetadata, WriteTransaction};

use super::db::{ACCOUNTS, OrStorage, PLANS, SEEN_REPORTS, decode, encode};
use super::error::StoreError;
use super::model::{AccountRecord, AccountSummary, StoredPlan};
use super::{Store, validate};

impl Store {
    /// Records that the agent of `account_id` connected or disconnected, creating the
    /// account if it is new. `agent_version`, when given, replaces the stored one.
    pub fn set_connected(
        &self,
        account_id: &str,
        connected: bool,
        agent_version: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<AccountRecord, StoreError> {
        validate::account_id(account_id)?;
        let record = self.db.write(|txn| {
            update_account(txn, self.path(), account_id, |a| {
                a.connected = connected;
                if let Some(v) = agent_version {
                    a.agent_version = v.to_string();
                }
                a.last_seen = Some(now);
            })
        })?;
        tracing::info!(account_id, connected, "account connection");
        Ok(record)
    }

    /// Records the counts of an agent's report, creating the account if it is new.
    pub fn upsert_account(
        &self,
        account_id: &str,
        summary: AccountSummary,
        now: DateTime<Utc>,
    ) -> Result<AccountRecord, StoreError> {
        validate::account_id(account_id)?;
        self.db
            .write(|txn| summarise(txn, self.path(), account_id, summary, now))
    }

    /// Marks every account disconnected: what a coordinator does when it starts, since no
    /// stream survives a restart. Returns how many accounts were marked connected.
    pub fn disconnect_all(&self) -> Result<usize, StoreError> {
        let path = self.path();
        self.db.write(|txn| {
            let mut connected = Vec::new();
            for record in scan_accounts(&txn.open_table(ACCOUNTS).or_storage(path)?, path)? {
                if record.connected {
                    connected.push(record);
                }
            }
            for record in &connected {
                update_account(txn, path, &record.account_id, |a| a.connected = false)?;
            }
            Ok(connected.len())
        })
    }

    /// The account with this id.
    pub fn get_account(&self, account_id: &str) -> Result<Option<AccountRecord>, StoreError> {
        let path = self.path();
        self.db.read(|txn| {
            let table = txn.open_table(ACCOUNTS).or_storage(path)?;
            let json = table.get(account_id).or_storage(path)?;
            json.map(|j| decode(path, &ACCOUNTS, account_id, j.value()))
                .transpose()
        })
    }

    /// Every account, in account id order.
    pub fn list_accounts(&self) -> Result<Vec<AccountRecord>, StoreError> {
        let path = self.path();
        self.db
            .read(|txn| scan_accounts(&txn.open_table(ACCOUNTS).or_storage(path)?, path))
    }

    /// Stores `plan` as its role's plan, unless the stored one was planned later. Returns
    /// whether `plan` was stored.
    pub fn put_plan(&self, plan: &StoredPlan) -> Result<bool, StoreError> {
        check_plan(plan)?;
        self.db.write(|txn| put_plan(txn, self.path(), plan))
    }

    /// The newest plan of one role.
    pub fn get_plan(
        &self,
        account_id: &str,
        role_name: &str,
    ) -> Result<Option<StoredPlan>, StoreError> {
        let path = self.path();
        self.db.read(|txn| {
            get_plan(
                &txn.open_table(PLANS).or_storage(path)?,
                path,
                account_id,
                role_name,
            )
        })
    }

    /// The plans of one account, in role name order.
    pub fn list_plans(&self, account_id: &str) -> Result<Vec<StoredPlan>, StoreError> {
        let path = self.path();
        self.db.read(|txn| {
            let plans = txn.open_table(PLANS).or_storage(path)?;
            let mut out = Vec::new();
            for entry in plans.range((account_id, "")..).or_storage(path)? {
                let (k, v) = entry.or_storage(path)?;
                let (account, role) = k.value();
                if account != account_id {
                    break;
                }
                out.push(decode(
                    path,
                    &PLANS,
                    format!("{account}/{role}"),
                    v.value(),
                )?);
            }
            Ok(out)
        })
    }

    /// Whether the report `report_id` of `account_id` was seen before; records it if not.
    /// Agents resend reports after a reconnect, so a report may arrive twice.
    ///
    /// A report marked seen here is never processed again: to mark it only once its
    /// contents are stored, use [`Store::ingest_report`], which does both in one transaction.
    pub fn seen_report(
        &self,
        account_id: &str,
        report_id: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        validate::account_id(account_id)?;
        validate::non_empty("report id", report_id)?;
        self.db
            .write(|txn| mark_seen(txn, self.path(), account_id, report_id, now))
    }

    /// Forgets the ids of reports first seen before `before`, so that the table does not
    /// grow forever. Returns how many were forgotten.
    pub fn forget_reports_before(&self, before: DateTime<Utc>) -> Result<u64, StoreError> {
        let path = self.path();
        let cutoff = before.timestamp_micros();
        self.db.write(|txn| {
            let mut seen = txn.open_table(SEEN_REPORTS).or_storage(path)?;
            let len = seen.len().or_storage(path)?;
            seen.retain(|_, first| first >= cutoff).or_storage(path)?;
            Ok(len - seen.len().or_storage(path)?)
        })
    }
}

/// Reads, edits and writes one account, creating it if missing.
fn update_account(
    txn: &WriteTransaction,
    path: &Path,
    account_id: &str,
    edit: impl FnOnce(&mut AccountRecord),
) -> Result<AccountRecord, StoreError> {
    let mut accounts = txn.open_table(ACCOUNTS).or_storage(path)?;
    let stored = accounts
        .get(account_id)
        .or_storage(path)?
        .map(|json| decode(path, &ACCOUNTS, account_id, json.value()))
        .transpose()?;
    let mut record = match stored {
        Some(record) => record,
        None => AccountRecord {
            account_id: account_id.to_string(),
            agent_version: String::new(),
            connected: false,
            last_seen: None,
            last_report: None,
            roles: 0,
            actions_granted: 0,
            removable: 0,
        },
    };
    edit(&mut record);
    let json = encode(&record, format_args!("account {account_id}"))?;
    accounts
        .insert(account_id, json.as_str())
        .or_storage(path)?;
    Ok(record)
}

/// Records a report's counts for `account_id`.
pub(super) fn summarise(
    txn: &WriteTransaction,
    path: &Path,
    account_id: &str,
    summary: AccountSummary,
    now: DateTime<Utc>,
) -> Result<AccountRecord, StoreError> {
    update_account(txn, path, account_id, |a| {
        let AccountSummary {
            roles,
            actions_granted,
            removable,
        } = summary;
        a.roles = roles;
        a.actions_granted = actions_granted;
        a.removable = removable;
        a.last_report = Some(now);
        a.last_seen = Some(now);
    })
}

fn scan_accounts(
    accounts: &impl ReadableTable<&'static str, &'static str>,
    path: &Path,
) -> Result<Vec<AccountRecord>, StoreError> {
    let mut out = Vec::new();
    for entry in accounts.iter().or_storage(path)? {
        let (k, v) = entry.or_storage(path)?;
        out.push(decode(path, &ACCOUNTS, k.value(), v.value())?);
    }
    Ok(out)
}

pub(super) fn check_plan(plan: &StoredPlan) -> Result<(), StoreError> {
    validate::account_id(&plan.account_id)?;
    validate::non_empty("role name", &plan.role_name)?;
    validate::non_empty("plan fingerprint", &plan.fingerprint)
}

/// Stores `plan` unless a plan planned later is stored; returns whether it was stored.
pub(super) fn put_plan(
    txn: &WriteTransaction,
    path: &Path,
    plan: &StoredPlan,
) -> Result<bool, StoreError> {
    let mut plans = txn.open_table(PLANS).or_storage(path)?;
    let key = (plan.account_id.as_str(), plan.role_name.as_str());
    if let Some(stored) = get_plan(&plans, path, key.0, key.1)?
        && stored.planned_at > plan.planned_at
    {
        return Ok(false);
    }
    let json = encode(plan, format_args!("plan of {}/{}", key.0, key.1))?;
    plans.insert(key, json.as_str()).or_storage(path)?;
    Ok(true)
}

pub(super) fn get_plan(
    plans: &impl ReadableTable<(&'static str, &'static str), &'static str>,
    path: &Path,
    account_id: &str,
    role_name: &str,
) -> Result<Option<StoredPlan>, StoreError> {
    let json = plans.get((account_id, role_name)).or_storage(path)?;
    json.map(|j| decode(path, &PLANS, format!("{account_id}/{role_name}"), j.value()))
        .transpose()
}

/// Records the report id; returns whether it was already recorded.
pub(super) fn mark_seen(
    txn: &WriteTransaction,
    path: &Path,
    account_id: &str,
    report_id: &str,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let mut seen = txn.open_table(SEEN_REPORTS).or_storage(path)?;
    if seen
        .get((account_id, report_id))
        .or_storage(path)?
        .is_some()
    {
        return Ok(true);
    }
    seen.insert((account_id, report_id), now.timestamp_micros())
        .or_storage(path)?;
    Ok(false)
}

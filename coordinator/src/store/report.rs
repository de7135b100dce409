//! A whole agent report recorded at once: its counts, plans and changes, and its id among
//! the reports seen, in one transaction.
//!
//! Marking a report seen in a transaction of its own leaves a window: a coordinator that
//! stops after the mark and before the contents are stored would drop the resent report as a
//! duplicate, and lose it. [`Store::ingest_report`] closes the window.

use chrono::{DateTime, Utc};
use whittle_policy::change::{ChangeId, ChangeRecord};

use super::error::StoreError;
use super::fleet::{check_plan, mark_seen, put_plan, summarise};
use super::history::{Upsert, check_change, upsert};
use super::model::{AccountSummary, StoredPlan};
use super::{Store, validate};

/// What one report of an agent carries, in the store's terms.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    /// The account's counts, if the report has them.
    pub summary: Option<AccountSummary>,
    pub plans: Vec<StoredPlan>,
    pub changes: Vec<ChangeRecord>,
}

/// What [`Store::ingest_report`] did with a report it had not seen.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ingested {
    /// How many plans were newer than the stored ones, and replaced them.
    pub plans_stored: usize,
    /// What happened to each change, in the report's order.
    pub changes: Vec<(ChangeId, Upsert)>,
}

impl Store {
    /// Records report `report_id` of `account_id` and everything in it, in one transaction,
    /// unless it was seen before: then nothing is written and the answer is `None`.
    ///
    /// The whole report is checked first; one bad record refuses the whole report, and
    /// nothing of it is written.
    pub fn ingest_report(
        &self,
        account_id: &str,
        report_id: &str,
        report: &Report,
        now: DateTime<Utc>,
    ) -> Result<Option<Ingested>, StoreError> {
        validate::account_id(account_id)?;
        validate::non_empty("report id", report_id)?;
        for plan in &report.plans {
            check_plan(plan)?;
            if plan.account_id != account_id {
                return Err(StoreError::AccountMismatch {
                    record: format!("plan of role {}", plan.role_name),
                    reporter: account_id.to_string(),
                    found: plan.account_id.clone(),
                });
            }
        }
        for change in &report.changes {
            check_change(account_id, change)?;
        }
        let path = self.path();
        let ingested = self.db.write(|txn| {
            if mark_seen(txn, path, account_id, report_id, now)? {
                return Ok(None);
            }
            if let Some(summary) = report.summary {
                summarise(txn, path, account_id, summary, now)?;
            }
            let mut out = Ingested::default();
            for plan in &report.plans {
                if put_plan(txn, path, plan)? {
                    out.plans_stored += 1;
                }
            }
            for change in &report.changes {
                out.changes.push((change.id, upsert(txn, path, change)?));
            }
            Ok(Some(out))
        })?;
        match &ingested {
            Some(i) => tracing::info!(
                account_id,
                report_id,
                plans = i.plans_stored,
                changes = i.changes.len(),
                "report recorded"
            ),
            None => tracing::info!(account_id, report_id, "duplicate report ignored"),
        }
        Ok(ingested)
    }
}

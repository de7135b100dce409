//! Decisions: operators' approvals to apply one role's plan, and the state machine they go
//! through as the coordinator hands them to the agent and the agent answers.
//!
//! A role has at most one open (Pending or Sent) decision at a time, and a decision can only
//! be made for the plan stored for its role now.

use std::path::Path;

use chrono::{DateTime, Utc};
use redb::{ReadableTable, WriteTransaction};

use super::db::{
    DECISIONS, DECISIONS_BY_ACCOUNT, OPEN_DECISIONS, OrStorage, PLANS, cap, decode, encode,
    next_id, ordered,
};
use super::error::StoreError;
use super::fleet::get_plan;
use super::model::{Decision, DecisionFilter, DecisionState, NewDecision};
use super::{Store, validate};
use whittle_policy::change::ChangeId;

impl Store {
    /// Records a new Pending decision to apply the plan `new.plan_fingerprint` of one role.
    ///
    /// Refused if that is not the role's stored plan, if the stored plan skipped the role,
    /// or if the role already has an open decision.
    pub fn create_decision(
        &self,
        new: NewDecision,
        now: DateTime<Utc>,
    ) -> Result<Decision, StoreError> {
        validate::account_id(&new.account_id)?;
        validate::non_empty("role name", &new.role_name)?;
        validate::non_empty("plan fingerprint", &new.plan_fingerprint)?;
        validate::non_empty("decision author", &new.author)?;
        let path = self.path();
        let decision = self.db.write(|txn| {
            check_plan(txn, path, &new)?;
            check_no_open(txn, path, &new)?;
            let NewDecision {
                account_id,
                role_name,
                plan_fingerprint,
                author,
                detail,
                not_before,
                campaign_id,
                announced,
                unused_days,
            } = new;
            let state = if not_before.is_some_and(|t| t > now) {
                DecisionState::Scheduled
            } else {
                DecisionState::Pending
            };
            let decision = Decision {
                decision_id: next_id(txn, path, DECISIONS, "decision", now)?,
                account_id,
                role_name,
                plan_fingerprint,
                state,
                author,
                created_at: now,
                updated_at: now,
                detail,
                change_id: None,
                not_before,
                campaign_id,
                announced,
                unused_days,
                plan_grew: false,
            };
            let id = decision.decision_id.as_str();
            let key = (decision.account_id.as_str(), decision.role_name.as_str());
            let mut by_account = txn.open_table(DECISIONS_BY_ACCOUNT).or_storage(path)?;
            by_account.insert((key.0, id), ()).or_storage(path)?;
            let mut open = txn.open_table(OPEN_DECISIONS).or_storage(path)?;
            open.insert(key, id).or_storage(path)?;
            put(txn, path, &decision)?;
            Ok(decision)
        })?;
        tracing::info!(
            decision_id = %decision.decision_id,
            account_id = %decision.account_id,
            role_name = %decision.role_name,
            "decision created"
        );
        Ok(decision)
    }

    /// Moves a decision to state `to`, if the state machine allows it. `detail` and
    /// `change_id`, when given, replace the stored ones.
    ///
    /// Moving a decision to the state it is in changes nothing and is not an error, so that
    /// an answer delivered twice is harmless.
    pub fn transition_decision(
        &self,
        decision_id: &str,
        to: DecisionState,
        detail: Option<String>,
        change_id: Option<ChangeId>,
        now: DateTime<Utc>,
    ) -> Result<Decision, StoreError> {
        let path = self.path();
        let decision = self.db.write(|txn| {
            let decisions = txn.open_table(DECISIONS).or_storage(path)?;
            let stored = get(&decisions, path, decision_id)?;
            drop(decisions);
            let mut d = stored.ok_or_else(|| StoreError::NotFound {
                what: "decision",
                key: decision_id.to_string(),
            })?;
            if d.state == to {
                return Ok(d);
            }
            if !d.state.can_become(to) {
                return Err(StoreError::InvalidDecisionTransition {
                    decision_id: decision_id.to_string(),
                    from: d.state,
                    to,
                });
            }
            d.state = to;
            d.updated_at = now;
            if detail.is_some() {
                d.detail = detail;
            }
            if change_id.is_some() {
                d.change_id = change_id;
            }
            if !to.is_open() {
                let mut open = txn.open_table(OPEN_DECISIONS).or_storage(path)?;
                open.remove((d.account_id.as_str(), d.role_name.as_str()))
                    .or_storage(path)?;
            }
            put(txn, path, &d)?;
            Ok(d)
        })?;
        tracing::info!(decision_id, state = %decision.state, "decision state");
        Ok(decision)
    }

    /// Records that the agent refused the decision because its plan would remove more than
    /// was announced: the decision is Cancelled, marked `plan_grew`, so that whoever made it
    /// (a campaign, a scheduled approval) can announce the new plan.
    pub fn cancel_plan_grew(
        &self,
        decision_id: &str,
        detail: String,
        now: DateTime<Utc>,
    ) -> Result<Decision, StoreError> {
        let d = self.transition_decision(
            decision_id,
            DecisionState::Cancelled,
            Some(detail),
            None,
            now,
        )?;
        if d.plan_grew {
            return Ok(d);
        }
        let path = self.path();
        self.db.write(|txn| {
            let mut d = d;
            d.plan_grew = true;
            put(txn, path, &d)?;
            Ok(d)
        })
    }

    /// Announces a Scheduled decision again: a newer plan (`plan_fingerprint`) with its
    /// removals, no earlier than `not_before`. Refused unless the decision is Scheduled and
    /// the plan is the role's stored one.
    pub fn reannounce(
        &self,
        decision_id: &str,
        plan_fingerprint: String,
        announced: Vec<String>,
        not_before: DateTime<Utc>,
        detail: String,
        now: DateTime<Utc>,
    ) -> Result<Decision, StoreError> {
        let path = self.path();
        self.db.write(|txn| {
            let decisions = txn.open_table(DECISIONS).or_storage(path)?;
            let stored = get(&decisions, path, decision_id)?;
            drop(decisions);
            let mut d = stored.ok_or_else(|| StoreError::NotFound {
                what: "decision",
                key: decision_id.to_string(),
            })?;
            if d.state != DecisionState::Scheduled {
                return Err(StoreError::InvalidDecisionTransition {
                    decision_id: decision_id.to_string(),
                    from: d.state,
                    to: DecisionState::Scheduled,
                });
            }
            let new = NewDecision {
                account_id: d.account_id.clone(),
                role_name: d.role_name.clone(),
                plan_fingerprint: plan_fingerprint.clone(),
                ..NewDecision::default()
            };
            check_plan(txn, path, &new)?;
            d.plan_fingerprint = plan_fingerprint;
            d.announced = announced;
            d.not_before = Some(not_before);
            d.detail = Some(detail);
            d.updated_at = now;
            put(txn, path, &d)?;
            Ok(d)
        })
    }

    /// The decision with this id.
    pub fn get_decision(&self, decision_id: &str) -> Result<Option<Decision>, StoreError> {
        let path = self.path();
        self.db.read(|txn| {
            let decisions = txn.open_table(DECISIONS).or_storage(path)?;
            get(&decisions, path, decision_id)
        })
    }

    /// The decisions that match `filter`, in the order they were made.
    pub fn list_decisions(&self, filter: &DecisionFilter) -> Result<Vec<Decision>, StoreError> {
        let path = self.path();
        self.db.read(|txn| {
            let decisions = txn.open_table(DECISIONS).or_storage(path)?;
            let Some(account_id) = &filter.account_id else {
                let all = decisions.iter().or_storage(path)?;
                let matching = ordered(all, filter.newest_first)
                    .map(|entry| {
                        let (k, v) = entry.or_storage(path)?;
                        decode::<Decision>(path, &DECISIONS, k.value(), v.value())
                    })
                    .filter(|d| d.as_ref().map_or(true, |d| filter.matches(d)));
                return matching.take(cap(filter.limit)).collect();
            };
            let by_account = txn.open_table(DECISIONS_BY_ACCOUNT).or_storage(path)?;
            let mut ids = Vec::new();
            for entry in by_account
                .range((account_id.as_str(), "")..)
                .or_storage(path)?
            {
                let (k, _) = entry.or_storage(path)?;
                let (account, id) = k.value();
                if account != account_id {
                    break;
                }
                ids.push(id.to_string());
            }
            let matching = ordered(ids.into_iter(), filter.newest_first)
                .map(|id| get(&decisions, path, &id)?.ok_or_else(|| dangling(path, &id)))
                .filter(|d| d.as_ref().map_or(true, |d| filter.matches(d)));
            matching.take(cap(filter.limit)).collect()
        })
    }
}

/// The role's stored plan must be the one the decision names, and must not be skipped.
fn check_plan(txn: &WriteTransaction, path: &Path, new: &NewDecision) -> Result<(), StoreError> {
    let plans = txn.open_table(PLANS).or_storage(path)?;
    let plan = get_plan(&plans, path, &new.account_id, &new.role_name)?;
    let stored = match plan {
        None => "no plan is stored for the role".to_string(),
        Some(p) if p.fingerprint != new.plan_fingerprint => {
            format!("the stored plan is {}", p.fingerprint)
        }
        Some(p) => match p.skipped {
            Some(reason) => format!("the stored plan skipped the role: {reason}"),
            None => return Ok(()),
        },
    };
    Err(StoreError::PlanMismatch {
        account_id: new.account_id.clone(),
        role_name: new.role_name.clone(),
        fingerprint: new.plan_fingerprint.clone(),
        stored,
    })
}

/// The role must not have a Pending or Sent decision.
fn check_no_open(txn: &WriteTransaction, path: &Path, new: &NewDecision) -> Result<(), StoreError> {
    let open = txn.open_table(OPEN_DECISIONS).or_storage(path)?;
    let Some(id) = open
        .get((new.account_id.as_str(), new.role_name.as_str()))
        .or_storage(path)?
    else {
        return Ok(());
    };
    let id = id.value().to_string();
    let decisions = txn.open_table(DECISIONS).or_storage(path)?;
    let existing = get(&decisions, path, &id)?.ok_or_else(|| dangling(path, &id))?;
    Err(StoreError::DecisionOpen {
        account_id: new.account_id.clone(),
        role_name: new.role_name.clone(),
        decision_id: id,
        state: existing.state,
    })
}

fn put(txn: &WriteTransaction, path: &Path, d: &Decision) -> Result<(), StoreError> {
    let json = encode(d, format_args!("decision {}", d.decision_id))?;
    let mut decisions = txn.open_table(DECISIONS).or_storage(path)?;
    decisions
        .insert(d.decision_id.as_str(), json.as_str())
        .or_storage(path)?;
    Ok(())
}

fn get(
    decisions: &impl ReadableTable<&'static str, &'static str>,
    path: &Path,
    decision_id: &str,
) -> Result<Option<Decision>, StoreError> {
    let json = decisions.get(decision_id).or_storage(path)?;
    json.map(|j| decode(path, &DECISIONS, decision_id, j.value()))
        .transpose()
}

fn dangling(path: &Path, id: &str) -> StoreError {
    StoreError::Corrupt {
        path: path.to_path_buf(),
        detail: format!("an index names decision {id}, which has no record"),
    }
}

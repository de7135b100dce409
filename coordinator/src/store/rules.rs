//! Exclusion rules and their version: one number for the whole rule set, raised in the same
//! transaction as every addition or removal, so that a version always names one rule set and
//! an agent that holds version N holds exactly the rules the store had at N.

use std::path::Path;

use chrono::{DateTime, Utc};
use redb::{ReadTransaction, ReadableTable, WriteTransaction};

use super::db::{EXCLUSION_VERSION_KEY, META, OrStorage, RULES, decode, encode, next_id};
use super::error::StoreError;
use super::model::{ExclusionRule, NewRule};
use super::{Store, validate};

impl Store {
    /// Adds a rule and returns it with the new exclusion version.
    pub fn add_rule(
        &self,
        new: NewRule,
        now: DateTime<Utc>,
    ) -> Result<(ExclusionRule, u64), StoreError> {
        validate::rule(&new, now)?;
        let path = self.path();
        let (rule, version) = self.db.write(|txn| {
            let NewRule {
                selector,
                reason,
                author,
                expires_at,
            } = new;
            let rule = ExclusionRule {
                id: next_id(txn, path, RULES, "rule", now)?,
                selector,
                reason,
                author,
                expires_at,
                created_at: now,
            };
            let json = encode(&rule, format_args!("rule {}", rule.id))?;
            let mut rules = txn.open_table(RULES).or_storage(path)?;
            rules
                .insert(rule.id.as_str(), json.as_str())
                .or_storage(path)?;
            let version = bump_version(txn, path)?;
            Ok((rule, version))
        })?;
        tracing::info!(rule_id = %rule.id, exclusion_version = version, "exclusion rule added");
        Ok((rule, version))
    }

    /// Removes a rule and returns it with the new exclusion version.
    pub fn remove_rule(&self, rule_id: &str) -> Result<(ExclusionRule, u64), StoreError> {
        let path = self.path();
        let (rule, version) = self.db.write(|txn| {
            let mut rules = txn.open_table(RULES).or_storage(path)?;
            let removed = rules
                .remove(rule_id)
                .or_storage(path)?
                .map(|json| decode::<ExclusionRule>(path, &RULES, rule_id, json.value()))
                .transpose()?;
            drop(rules);
            let rule = removed.ok_or_else(|| StoreError::NotFound {
                what: "exclusion rule",
                key: rule_id.to_string(),
            })?;
            let version = bump_version(txn, path)?;
            Ok((rule, version))
        })?;
        tracing::info!(
            rule_id,
            exclusion_version = version,
            "exclusion rule removed"
        );
        Ok((rule, version))
    }

    /// Every rule, oldest first, expired ones included (see [`ExclusionRule::is_active`]).
    pub fn rules(&self) -> Result<Vec<ExclusionRule>, StoreError> {
        Ok(self.rules_at_version()?.1)
    }

    /// The exclusion version and the rules it names, read together.
    pub fn rules_at_version(&self) -> Result<(u64, Vec<ExclusionRule>), StoreError> {
        let path = self.path();
        self.db.read(|txn| {
            let version = read_version(txn, path)?;
            let rules = txn.open_table(RULES).or_storage(path)?;
            let mut out = Vec::new();
            for entry in rules.iter().or_storage(path)? {
                let (k, v) = entry.or_storage(path)?;
                out.push(decode(path, &RULES, k.value(), v.value())?);
            }
            Ok((version, out))
        })
    }

    /// The exclusion version alone: 0 before the first rule, raised by every change.
    pub fn exclusion_version(&self) -> Result<u64, StoreError> {
        let path = self.path();
        self.db.read(|txn| read_version(txn, path))
    }
}

fn read_version(txn: &ReadTransaction, path: &Path) -> Result<u64, StoreError> {
    let meta = txn.open_table(META).or_storage(path)?;
    let version = meta.get(EXCLUSION_VERSION_KEY).or_storage(path)?;
    Ok(version.map_or(0, |v| v.value()))
}

fn bump_version(txn: &WriteTransaction, path: &Path) -> Result<u64, StoreError> {
    let mut meta = txn.open_table(META).or_storage(path)?;
    let current = meta
        .get(EXCLUSION_VERSION_KEY)
        .or_storage(path)?
        .map_or(0, |v| v.value());
    let next = current.checked_add(1).ok_or(StoreError::IdExhausted {
        what: "exclusion version",
        last: current.to_string(),
    })?;
    meta.insert(EXCLUSION_VERSION_KEY, next).or_storage(path)?;
    Ok(next)
}

//! Exclusion rules as plain data: [`Selector`], [`ExclusionRule`], the versioned
//! [`ExclusionRules`], and a [`NewExclusion`] before the coordinator names it.
//!
//! What a rule matches is decided elsewhere (the coordinator and the agent); here a
//! rule is only checked to be well formed.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};

use super::error::{
    ConvertError, Problem, each, is_account_id, key, non_empty, opt_time, required, time, time_text,
};
use super::state::unique;
use crate::types::v1 as pb;

/// Which roles and actions a rule covers. Every field narrows the match; an empty
/// field matches everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Selector {
    /// 12-digit account ids; empty: every account.
    pub accounts: BTreeSet<String>,
    /// Glob on the role name; `None`: every role.
    pub role_name_glob: Option<String>,
    /// Prefix of the role path; `None`: every path.
    pub path_prefix: Option<String>,
    /// Tags the role must carry with these values.
    pub tags: BTreeMap<String, String>,
    /// Action patterns; empty: every action of the matched roles.
    pub action_patterns: Vec<String>,
    /// Prefix of statement Sids; `None`: every statement.
    pub sid_prefix: Option<String>,
}

/// An operator's rule: never remove what the selector covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExclusionRule {
    pub id: String,
    pub selector: Selector,
    pub reason: String,
    pub author: String,
    /// `None`: never expires.
    pub expires_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

/// The whole set of rules at one version.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExclusionRules {
    pub version: u64,
    pub rules: Vec<ExclusionRule>,
}

/// A rule as an operator asks for it; the coordinator adds id, author and time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewExclusion {
    pub selector: Selector,
    pub reason: String,
    pub expires_at: Option<DateTime<Utc>>,
}

impl From<Selector> for pb::Selector {
    fn from(selector: Selector) -> Self {
        let Selector {
            accounts,
            role_name_glob,
            path_prefix,
            tags,
            action_patterns,
            sid_prefix,
        } = selector;
        pb::Selector {
            accounts: accounts.into_iter().collect(),
            role_name_glob,
            path_prefix,
            tags,
            action_patterns,
            sid_prefix,
        }
    }
}

const SELECTOR: &str = "Selector";

impl TryFrom<pb::Selector> for Selector {
    type Error = ConvertError;

    fn try_from(selector: pb::Selector) -> Result<Self, ConvertError> {
        let pb::Selector {
            accounts,
            role_name_glob,
            path_prefix,
            tags,
            action_patterns,
            sid_prefix,
        } = selector;
        for (i, account) in accounts.iter().enumerate() {
            if !is_account_id(account) {
                let problem = Problem::AccountId {
                    value: account.clone(),
                };
                return Err(ConvertError::new(SELECTOR, &key("accounts", i), problem));
            }
        }
        let accounts = unique(SELECTOR, "accounts", accounts)?;
        for (i, pattern) in action_patterns.iter().enumerate() {
            action_pattern(&key("action_patterns", i), pattern)?;
        }
        Ok(Selector {
            accounts,
            role_name_glob: set_or_unset("role_name_glob", role_name_glob)?,
            path_prefix: set_or_unset("path_prefix", path_prefix)?,
            tags,
            action_patterns,
            sid_prefix: set_or_unset("sid_prefix", sid_prefix)?,
        })
    }
}

/// An optional field is unset to match everything; set, it must say something.
fn set_or_unset(field: &str, value: Option<String>) -> Result<Option<String>, ConvertError> {
    value.map(|v| non_empty(SELECTOR, field, v)).transpose()
}

/// `service:action` (wildcards allowed) or `*`, as the planner's settings take them.
fn action_pattern(field: &str, pattern: &str) -> Result<(), ConvertError> {
    let p = pattern.trim();
    if p.is_empty() {
        return Err(ConvertError::new(SELECTOR, field, Problem::Empty));
    }
    if p != "*" && !p.contains(':') {
        let problem = Problem::Invalid(format!(
            "{pattern:?} is not an action pattern (`service:action`, wildcards allowed, or `*`)"
        ));
        return Err(ConvertError::new(SELECTOR, field, problem));
    }
    Ok(())
}

impl From<ExclusionRule> for pb::ExclusionRule {
    fn from(rule: ExclusionRule) -> Self {
        let ExclusionRule {
            id,
            selector,
            reason,
            author,
            expires_at,
            created_at,
        } = rule;
        pb::ExclusionRule {
            id,
            selector: Some(selector.into()),
            reason,
            author,
            expires_at: expires_at.map(time_text),
            created_at: time_text(created_at),
        }
    }
}

impl TryFrom<pb::ExclusionRule> for ExclusionRule {
    type Error = ConvertError;

    fn try_from(rule: pb::ExclusionRule) -> Result<Self, ConvertError> {
        const MESSAGE: &str = "ExclusionRule";
        let pb::ExclusionRule {
            id,
            selector,
            reason,
            author,
            expires_at,
            created_at,
        } = rule;
        Ok(ExclusionRule {
            id: non_empty(MESSAGE, "id", id)?,
            selector: required(MESSAGE, "selector", selector)?,
            reason: non_empty(MESSAGE, "reason", reason)?,
            author: non_empty(MESSAGE, "author", author)?,
            expires_at: opt_time(MESSAGE, "expires_at", expires_at)?,
            created_at: time(MESSAGE, "created_at", &created_at)?,
        })
    }
}

impl From<ExclusionRules> for pb::ExclusionRules {
    fn from(rules: ExclusionRules) -> Self {
        let ExclusionRules { version, rules } = rules;
        pb::ExclusionRules {
            version,
            rules: rules.into_iter().map(Into::into).collect(),
        }
    }
}

impl TryFrom<pb::ExclusionRules> for ExclusionRules {
    type Error = ConvertError;

    fn try_from(rules: pb::ExclusionRules) -> Result<Self, ConvertError> {
        const MESSAGE: &str = "ExclusionRules";
        let pb::ExclusionRules { version, rules } = rules;
        let rules: Vec<ExclusionRule> = each(MESSAGE, "rules", rules)?;
        let mut ids = BTreeSet::new();
        for (i, rule) in rules.iter().enumerate() {
            if !ids.insert(rule.id.as_str()) {
                let problem = Problem::Duplicate {
                    key: rule.id.clone(),
                };
                return Err(ConvertError::new(
                    MESSAGE,
                    &format!("rules[{i}].id"),
                    problem,
                ));
            }
        }
        Ok(ExclusionRules { version, rules })
    }
}

impl From<NewExclusion> for crate::admin::v1::AddExclusionRequest {
    fn from(new: NewExclusion) -> Self {
        let NewExclusion {
            selector,
            reason,
            expires_at,
        } = new;
        crate::admin::v1::AddExclusionRequest {
            selector: Some(selector.into()),
            reason,
            expires_at: expires_at.map(time_text),
        }
    }
}

impl TryFrom<crate::admin::v1::AddExclusionRequest> for NewExclusion {
    type Error = ConvertError;

    fn try_from(request: crate::admin::v1::AddExclusionRequest) -> Result<Self, ConvertError> {
        const MESSAGE: &str = "AddExclusionRequest";
        let crate::admin::v1::AddExclusionRequest {
            selector,
            reason,
            expires_at,
        } = request;
        Ok(NewExclusion {
            selector: required(MESSAGE, "selector", selector)?,
            reason: non_empty(MESSAGE, "reason", reason)?,
            expires_at: opt_time(MESSAGE, "expires_at", expires_at)?,
        })
    }
}

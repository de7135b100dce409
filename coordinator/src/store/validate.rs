//! Checks on what callers ask the store to record, so that a bad input is a clear error and
//! never a key that breaks an index.

use super::error::StoreError;
use super::model::{NewRule, Selector};
use chrono::{DateTime, Utc};

/// An AWS account id: exactly 12 ASCII digits.
pub(super) fn account_id(value: &str) -> Result<(), StoreError> {
    if whittle_proto::identity::validate_account_id(value).is_ok() {
        return Ok(());
    }
    Err(invalid("account id", value, "expected 12 digits"))
}

/// A name, author or id that must not be empty or only whitespace.
pub(super) fn non_empty(what: &'static str, value: &str) -> Result<(), StoreError> {
    if value.trim().is_empty() {
        return Err(invalid(what, value, "it is empty"));
    }
    Ok(())
}

/// A new exclusion rule: who and why are given, the expiry is in the future, and every
/// selector field is well formed.
pub(super) fn rule(new: &NewRule, now: DateTime<Utc>) -> Result<(), StoreError> {
    non_empty("rule reason", &new.reason)?;
    non_empty("rule author", &new.author)?;
    if let Some(t) = new.expires_at
        && t <= now
    {
        return Err(invalid(
            "rule expiry",
            &t.to_rfc3339(),
            &format!("it is not after now ({})", now.to_rfc3339()),
        ));
    }
    selector(&new.selector)
}

fn selector(s: &Selector) -> Result<(), StoreError> {
    for a in &s.accounts {
        account_id(a)?;
    }
    if let Some(glob) = &s.role_name_glob {
        non_empty("role name glob", glob)?;
    }
    if let Some(prefix) = &s.path_prefix
        && !prefix.starts_with('/')
    {
        return Err(invalid("path prefix", prefix, "it must start with '/'"));
    }
    for key in s.tags.keys() {
        non_empty("tag key", key)?;
    }
    for p in &s.action_patterns {
        action_pattern(p)?;
    }
    if let Some(prefix) = &s.sid_prefix {
        non_empty("sid prefix", prefix)?;
    }
    Ok(())
}

/// `*` or `service:action`, where either part may hold wildcards.
fn action_pattern(p: &str) -> Result<(), StoreError> {
    if p == "*" {
        return Ok(());
    }
    match p.split_once(':') {
        Some((service, action))
            if !service.is_empty()
                && !action.is_empty()
                && !action.contains(':')
                && !p.chars().any(char::is_whitespace) =>
        {
            Ok(())
        }
        _ => Err(invalid(
            "action pattern",
            p,
            "expected \"service:action\" (wildcards allowed) or \"*\"",
        )),
    }
}

pub(super) fn invalid(what: &'static str, value: &str, reason: &str) -> StoreError {
    StoreError::InvalidInput {
        what,
        value: value.to_string(),
        reason: reason.to_string(),
    }
}

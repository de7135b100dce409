//! The checks each write makes before it touches the store: pure functions of the records.

use chrono::{DateTime, Utc};
use whittle_policy::diff::Change;

use super::{ChangeKind, ChangeRecord, ChangeState, JournalError, MAX_ULID_MS, NewChange};

/// Refuses a new change that is incomplete or inconsistent with itself: its diff applied to
/// its before-image must give its after-image, or the journal could not say what to restore.
pub(super) fn validate_new(new: &NewChange, now: DateTime<Utc>) -> Result<(), JournalError> {
    let invalid = |reason: String| JournalError::InvalidChange {
        role_arn: new.role_arn.clone(),
        reason,
    };
    for (field, value) in [
        ("account_id", &new.account_id),
        ("role_arn", &new.role_arn),
        ("role_id", &new.role_id),
        ("role_name", &new.role_name),
    ] {
        if value.is_empty() {
            return Err(invalid(format!("{field} is empty")));
        }
    }
    if !(0..=MAX_ULID_MS).contains(&now.timestamp_millis()) {
        return Err(invalid(format!(
            "time {now} is outside what a change id can hold"
        )));
    }
    match new.diff.apply(&new.before) {
        Ok(after) if after == new.after => Ok(()),
        Ok(_) => Err(invalid(
            "the diff applied to the before-image is not the after-image".into(),
        )),
        Err(e) => Err(invalid(format!(
            "the diff does not fit the before-image: {e}"
        ))),
    }
}

/// Refuses a step outside state Applying, past the end of the diff or below the count
/// already recorded, and a created version for a policy the diff does not change or that
/// differs from the version already recorded for it.
pub(super) fn check_step(
    r: &ChangeRecord,
    steps_done: u32,
    created: Option<&(String, String)>,
) -> Result<(), JournalError> {
    let invalid = |reason: String| JournalError::InvalidStep {
        id: r.id,
        steps_done,
        reason,
    };
    let total = r.diff.changes.len();
    if r.state != ChangeState::Applying {
        return Err(invalid(format!("it is in state {}, not applying", r.state)));
    }
    if steps_done as usize > total {
        return Err(invalid(format!("its diff has only {total} changes")));
    }
    if steps_done < r.steps_done {
        return Err(invalid(format!(
            "{} steps are already recorded",
            r.steps_done
        )));
    }
    let Some((arn, version)) = created else {
        return Ok(());
    };
    let in_diff = r
        .diff
        .changes
        .iter()
        .any(|c| matches!(c, Change::ManagedDocument { arn: a, .. } if a == arn));
    if !in_diff {
        return Err(invalid(format!("managed policy {arn} is not in its diff")));
    }
    match r.created_versions.get(arn) {
        Some(v) if v != version => Err(invalid(format!(
            "version {v} of {arn} is already recorded, not {version}"
        ))),
        _ => Ok(()),
    }
}

/// Why `undo` is not a change that restores `r`, if it is not.
pub(super) fn rollback_mismatch(undo: &ChangeRecord, r: &ChangeRecord) -> Option<String> {
    match &undo.kind {
        ChangeKind::Apply => return Some("it is an apply, not a rollback".to_string()),
        ChangeKind::Rollback { of } if *of != r.id => {
            return Some(format!("it rolls back change {of}"));
        }
        ChangeKind::Rollback { .. } | ChangeKind::Restore => {}
    }
    if undo.role_arn != r.role_arn {
        return Some(format!("it changed role {}", undo.role_arn));
    }
    if undo.state != ChangeState::Applied {
        return Some(format!("it is in state {}, not applied", undo.state));
    }
    None
}

//! Planning settings: how long is "unused", what is never removed.

use serde::{Deserialize, Serialize};

/// The knobs of the unused-permission decision. Part of every plan's fingerprint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    /// An action or service not used for this many days is removable.
    pub unused_days: u32,
    /// Roles younger than this are left alone.
    pub min_role_age_days: u32,
    /// Usage data older than this (relative to `now`) is too stale to act on.
    pub max_usage_age_days: u32,
    /// Statements whose `Sid` starts with this are never changed.
    pub norepo_sid_prefix: String,
    /// Action patterns that are never removed (access advisor cannot see them).
    pub never_remove: Vec<String>,
    /// Action patterns excluded by the operator (exclusion rules).
    pub exclusions: Vec<String>,
    /// Version of the exclusion rules `exclusions` came from.
    pub exclusion_version: u64,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            unused_days: 90,
            min_role_age_days: 90,
            max_usage_age_days: 5,
            norepo_sid_prefix: "NOREPO".to_string(),
            never_remove: vec!["iam:PassRole".to_string()],
            exclusions: Vec::new(),
            exclusion_version: 0,
        }
    }
}

/// A setting that makes no sense.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SettingsError {
    #[error("setting {key} is {value}: it must be at least {min}")]
    TooSmall {
        key: &'static str,
        value: u32,
        min: u32,
    },
    #[error("setting {key} is {value}: it must be at most {max}")]
    TooLarge {
        key: &'static str,
        value: u32,
        max: u32,
    },
    #[error("setting {key} holds {pattern:?}: {problem}")]
    BadPattern {
        key: &'static str,
        pattern: String,
        problem: &'static str,
    },
}

const MAX_DAYS: u32 = 36_500;

impl Settings {
    /// Checks every setting; the error names the key.
    pub fn validate(&self) -> Result<(), SettingsError> {
        for (key, value, min) in [
            ("unused_days", self.unused_days, 1),
            ("min_role_age_days", self.min_role_age_days, 0),
            ("max_usage_age_days", self.max_usage_age_days, 1),
        ] {
            if value < min {
                return Err(SettingsError::TooSmall { key, value, min });
            }
            if value > MAX_DAYS {
                return Err(SettingsError::TooLarge {
                    key,
                    value,
                    max: MAX_DAYS,
                });
            }
        }
        check_patterns("never_remove", &self.never_remove)?;
        check_patterns("exclusions", &self.exclusions)
    }
}

fn check_patterns(key: &'static str, patterns: &[String]) -> Result<(), SettingsError> {
    patterns.iter().try_for_each(|p| {
        let t = p.trim();
        if t.is_empty() {
            Err(SettingsError::BadPattern {
                key,
                pattern: p.clone(),
                problem: "an action pattern cannot be empty",
            })
        } else if t != "*" && !t.contains(':') {
            Err(SettingsError::BadPattern {
                key,
                pattern: p.clone(),
                problem: "an action pattern is `service:action` (wildcards allowed) or `*`",
            })
        } else {
            Ok(())
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_match_the_documented_ones() {
        let s = Settings::default();
        assert_eq!(
            (s.unused_days, s.min_role_age_days, s.max_usage_age_days),
            (90, 90, 5)
        );
        assert_eq!(s.never_remove, vec!["iam:PassRole"]);
        assert!(s.validate().is_ok());
    }

    #[test]
    fn bad_settings_name_the_key() {
        let s = Settings {
            unused_days: 0,
            ..Settings::default()
        };
        assert_eq!(
            s.validate().unwrap_err().to_string(),
            "setting unused_days is 0: it must be at least 1"
        );
        let s = Settings {
            exclusions: vec!["s3GetObject".into()],
            ..Settings::default()
        };
        assert!(s.validate().unwrap_err().to_string().contains("exclusions"));
    }
}

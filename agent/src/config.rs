//! The agent's configuration file (TOML), validated into a typed config.
//!
//! ```toml
//! account_id = "111122223333"
//! data_dir = "/var/lib/whittle"
//! iam_writes_per_second = 3
//!
//! [planning]
//! unused_days = 90
//! min_role_age_days = 90
//! max_usage_age_days = 5
//! never_remove = ["iam:PassRole"]
//! ```
//!
//! Unknown keys are refused; every error names the file and the key.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use whittle_aws::WriteRate;
use whittle_aws::rate::WriteRateError;
use whittle_policy::Settings;

/// A problem with the configuration.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: {message}", path.display())]
    Parse { path: PathBuf, message: String },
    #[error("{}: account_id {value:?} is not a 12-digit AWS account id", path.display())]
    AccountId { path: PathBuf, value: String },
    #[error("{}: iam_writes_per_second: {source}", path.display())]
    WriteRate {
        path: PathBuf,
        source: WriteRateError,
    },
    #[error("{}: [planning] {source}", path.display())]
    Planning {
        path: PathBuf,
        source: whittle_policy::settings::SettingsError,
    },
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    account_id: Option<String>,
    data_dir: Option<PathBuf>,
    iam_writes_per_second: Option<f64>,
    #[serde(default)]
    planning: Settings,
}

/// The validated configuration.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Config {
    /// The account this agent acts on; its AWS credentials must belong to it.
    pub account_id: Option<String>,
    /// Where the journal (and a simulated account) live.
    pub data_dir: Option<PathBuf>,
    /// How many IAM writes may start per second in this account (default 3).
    pub iam_writes_per_second: WriteRate,
    pub planning: Settings,
}

impl Config {
    /// Reads and validates a configuration file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Config::parse(&text, path)
    }

    /// Validates configuration text; `path` is for the error messages.
    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        let raw: RawConfig = toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: path.to_path_buf(),
            message: e.to_string().trim_end().replace('\n', " "),
        })?;
        if let Some(a) = &raw.account_id
            && !is_account_id(a)
        {
            return Err(ConfigError::AccountId {
                path: path.to_path_buf(),
                value: a.clone(),
            });
        }
        let iam_writes_per_second = match raw.iam_writes_per_second {
            Some(v) => WriteRate::new(v).map_err(|source| ConfigError::WriteRate {
                path: path.to_path_buf(),
                source,
            })?,
            None => WriteRate::default(),
        };
        raw.planning
            .validate()
            .map_err(|source| ConfigError::Planning {
                path: path.to_path_buf(),
                source,
            })?;
        Ok(Config {
            account_id: raw.account_id,
            data_dir: raw.data_dir,
            iam_writes_per_second,
            planning: raw.planning,
        })
    }
}

pub use whittle_proto::convert::is_account_id;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_example_config_parses() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/agent.example.toml");
        let c = Config::load(&path).unwrap();
        assert_eq!(c.account_id.as_deref(), Some("111122223333"));
        assert_eq!(c.planning.unused_days, 90);
        assert_eq!(c.iam_writes_per_second.per_second(), 3.0);
    }

    #[test]
    fn the_iam_write_rate_defaults_to_three_and_is_validated() {
        let p = Path::new("agent.toml");
        let c = Config::parse("", p).unwrap();
        assert_eq!(c.iam_writes_per_second, WriteRate::DEFAULT);
        assert_eq!(Config::default().iam_writes_per_second.per_second(), 3.0);
        let c = Config::parse("iam_writes_per_second = 10", p).unwrap();
        assert_eq!(c.iam_writes_per_second.per_second(), 10.0);
        let c = Config::parse("iam_writes_per_second = 0.5", p).unwrap();
        assert_eq!(c.iam_writes_per_second.per_second(), 0.5);
        for bad in ["0", "-2", "250", "nan"] {
            let e = Config::parse(&format!("iam_writes_per_second = {bad}"), p)
                .unwrap_err()
                .to_string();
            assert!(
                e.contains("agent.toml")
                    && e.contains("iam_writes_per_second")
                    && e.to_lowercase().contains(bad),
                "{e}"
            );
        }
        let e = Config::parse("iam_writes_per_second = \"fast\"", p)
            .unwrap_err()
            .to_string();
        assert!(e.contains("iam_writes_per_second"), "{e}");
    }

    /// The agent's own IAM policy grants every action the agent calls.
    #[test]
    fn the_agent_iam_policy_names_real_actions() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/agent-iam-policy.json");
        let text = std::fs::read_to_string(path).unwrap();
        let doc = whittle_policy::PolicyDocument::parse(&text);
        assert!(doc.opaque_reason.is_none());
        let cat = whittle_policy::Catalogue::embedded();
        let mut granted = Vec::new();
        for st in &doc.statements {
            let Some((_, whittle_policy::document::Grant::Action(actions))) = &st.meaning else {
                panic!("statement {:?} is not an Action statement", st.sid)
            };
            for a in actions {
                assert!(cat.lookup(a).is_some(), "{a} is not an IAM action");
                granted.push(a.to_ascii_lowercase());
            }
        }
        for op in whittle_aws::ops::ALL {
            let service = if *op == "GetCallerIdentity" {
                "sts"
            } else {
                "iam"
            };
            let action = format!("{service}:{op}").to_ascii_lowercase();
            assert!(
                granted.contains(&action),
                "the agent calls {op} but its policy does not grant it"
            );
        }
    }

    #[test]
    fn errors_name_the_file_and_key() {
        let p = Path::new("agent.toml");
        let e = Config::parse("acount_id = \"1\"", p)
            .unwrap_err()
            .to_string();
        assert!(e.contains("agent.toml") && e.contains("acount_id"), "{e}");
        let e = Config::parse("account_id = \"12\"", p)
            .unwrap_err()
            .to_string();
        assert!(e.contains("12-digit"), "{e}");
        let e = Config::parse("[planning]\nunused_days = 0", p)
            .unwrap_err()
            .to_string();
        assert!(e.contains("unused_days"), "{e}");
        let e = Config::parse("[planning]\nunused_dayz = 3", p)
            .unwrap_err()
            .to_string();
        assert!(e.contains("unused_dayz"), "{e}");
    }
}

//! [`SimAccount::load`]: an account from AWS CLI export files in a folder.
//!
//! The folder holds `authorization-details.json` (`aws iam
//! get-account-authorization-details`) and, optionally,
//! `last-accessed/<RoleName>.json` (`aws iam get-service-last-accessed-details`
//! for an `ACTION_LEVEL` job), like `deploy/examples/account-111122223333/`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use whittle_policy::exports::{ExportError, parse_authorization_details, parse_last_accessed};
use whittle_policy::model::account_of_arn;

use super::SimAccount;

/// Why a folder could not be loaded as an account.
#[derive(Debug, thiserror::Error)]
pub enum SimLoadError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {source}")]
    Export { path: PathBuf, source: ExportError },
    #[error("{path}: no role ARN names the account")]
    NoAccount { path: PathBuf },
    #[error("{path}: roles of several accounts ({accounts})")]
    MixedAccounts { path: PathBuf, accounts: String },
    #[error("{path}: no role named {role} in authorization-details.json")]
    UnknownRole { path: PathBuf, role: String },
}

fn read(path: &Path) -> Result<String, SimLoadError> {
    std::fs::read_to_string(path).map_err(|source| SimLoadError::Io {
        path: path.to_path_buf(),
        source,
    })
}

impl SimAccount {
    /// Loads an account from export files; the account id comes from the role ARNs.
    pub fn load(dir: &Path) -> Result<SimAccount, SimLoadError> {
        let details = dir.join("authorization-details.json");
        let export = parse_authorization_details(&read(&details)?).map_err(|source| {
            SimLoadError::Export {
                path: details.clone(),
                source,
            }
        })?;
        let accounts: BTreeSet<&str> = export
            .roles
            .iter()
            .filter_map(|r| account_of_arn(&r.arn))
            .collect();
        let account_id = match accounts.len() {
            0 => return Err(SimLoadError::NoAccount { path: details }),
            1 => accounts
                .iter()
                .next()
                .map(|a| a.to_string())
                .unwrap_or_default(),
            _ => {
                let accounts = accounts.into_iter().collect::<Vec<_>>().join(", ");
                return Err(SimLoadError::MixedAccounts {
                    path: details,
                    accounts,
                });
            }
        };
        let roles: BTreeSet<&str> = export.roles.iter().map(|r| r.name.as_str()).collect();
        let mut usage = BTreeMap::new();
        let usage_dir = dir.join("last-accessed");
        if usage_dir.is_dir() {
            let entries = std::fs::read_dir(&usage_dir).map_err(|source| SimLoadError::Io {
                path: usage_dir.clone(),
                source,
            })?;
            let mut files = Vec::new();
            for entry in entries {
                let entry = entry.map_err(|source| SimLoadError::Io {
                    path: usage_dir.clone(),
                    source,
                })?;
                files.push(entry.path());
            }
            files.sort();
            for path in files {
                if path.extension().and_then(|e| e.to_str()) != Some("json") {
                    continue;
                }
                let role = path
                    .file_stem()
                    .and_then(|s| s.to_str())
                    .unwrap_or_default();
                if !roles.contains(role) {
                    return Err(SimLoadError::UnknownRole {
                        role: role.to_string(),
                        path,
                    });
                }
                let parsed =
                    parse_last_accessed(&read(&path)?).map_err(|source| SimLoadError::Export {
                        path: path.clone(),
                        source,
                    })?;
                usage.insert(role.to_string(), parsed);
            }
        }
        Ok(SimAccount::from_export(&account_id, export, usage))
    }
}

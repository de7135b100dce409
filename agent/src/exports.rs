//! Reads an account from AWS export files (no AWS access needed).
//!
//! The files are those the AWS CLI prints: `get-account-authorization-details`
//! and one `get-service-last-accessed-details` per role. Every error names the
//! file and what is wrong with it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use whittle_policy::Usage;
use whittle_policy::exports::{
    AccountExport, ExportError, parse_authorization_details, parse_last_accessed,
};

/// A problem with the export files.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("cannot read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: {source}", path.display())]
    Parse { path: PathBuf, source: ExportError },
    #[error("{} is not a folder of last-accessed files", path.display())]
    NotADirectory { path: PathBuf },
    #[error("no last-accessed file for role {role}: expected {}", path.display())]
    MissingUsage { role: String, path: PathBuf },
    #[error("role {role} is not in {}", path.display())]
    UnknownRole { role: String, path: PathBuf },
}

/// An account read from exports: inventory plus usage per role name.
#[derive(Debug, Clone)]
pub struct ExportedAccount {
    pub export: AccountExport,
    pub usage: BTreeMap<String, Usage>,
}

/// Reads the authorization details and the usage of the selected roles
/// (every role when `roles` is empty).
pub fn load(
    details: &Path,
    last_accessed: &Path,
    roles: &[String],
) -> Result<ExportedAccount, LoadError> {
    let text = read(details)?;
    let mut export = parse_authorization_details(&text).map_err(|source| LoadError::Parse {
        path: details.to_path_buf(),
        source,
    })?;
    if !roles.is_empty() {
        if let Some(missing) = roles
            .iter()
            .find(|r| !export.roles.iter().any(|x| &x.name == *r))
        {
            return Err(LoadError::UnknownRole {
                role: missing.clone(),
                path: details.to_path_buf(),
            });
        }
        export.roles.retain(|r| roles.contains(&r.name));
    }
    if !last_accessed.is_dir() {
        return Err(LoadError::NotADirectory {
            path: last_accessed.to_path_buf(),
        });
    }
    let mut usage = BTreeMap::new();
    for role in &export.roles {
        let path = last_accessed.join(format!("{}.json", role.name));
        if !path.is_file() {
            return Err(LoadError::MissingUsage {
                role: role.name.clone(),
                path,
            });
        }
        let text = read(&path)?;
        let parsed =
            parse_last_accessed(&text).map_err(|source| LoadError::Parse { path, source })?;
        usage.insert(role.name.clone(), parsed);
    }
    Ok(ExportedAccount { export, usage })
}

fn read(path: &Path) -> Result<String, LoadError> {
    std::fs::read_to_string(path).map_err(|source| LoadError::Read {
        path: path.to_path_buf(),
        source,
    })
}

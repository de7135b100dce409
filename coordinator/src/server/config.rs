//! The coordinator's configuration file (TOML): where it listens, where its store lives and
//! its TLS files. Unknown keys are refused.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use whittle_proto::tls::TlsFiles;

/// The coordinator's configuration.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The address to listen on, e.g. `0.0.0.0:7443`.
    pub listen: SocketAddr,
    /// The store's directory.
    pub data_dir: PathBuf,
    /// The fleet CA certificate, the coordinator's server certificate and its key.
    pub tls: TlsFiles,
}

/// A configuration file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("config {path} is invalid: {source}")]
    Parse {
        path: PathBuf,
        #[source]
        source: toml::de::Error,
    },
}

impl Config {
    /// Parses TOML text; `path` names it in errors.
    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        toml::from_str(text).map_err(|source| ConfigError::Parse {
            path: path.to_path_buf(),
            source,
        })
    }

    /// Reads and parses a configuration file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Config::parse(&text, path)
    }
}

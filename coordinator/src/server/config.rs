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
    /// How campaigns run; optional.
    #[serde(default)]
    pub campaigns: CampaignConfig,
}

/// `[campaigns]`: how often the campaign driver looks at campaigns, and the soak time of a
/// campaign created without one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CampaignConfig {
    /// Milliseconds between two looks at campaigns and scheduled approvals (100 to 60000).
    #[serde(default = "default_tick_ms")]
    pub tick_ms: u64,
    /// Seconds between a wave applied cleanly and the next one, when a campaign gives none.
    #[serde(default = "default_soak_seconds")]
    pub default_soak_seconds: u64,
}

fn default_tick_ms() -> u64 {
    1000
}

fn default_soak_seconds() -> u64 {
    3600
}

impl Default for CampaignConfig {
    fn default() -> Self {
        CampaignConfig {
            tick_ms: default_tick_ms(),
            default_soak_seconds: default_soak_seconds(),
        }
    }
}

impl CampaignConfig {
    /// The driver's settings.
    pub fn settings(&self) -> super::CampaignSettings {
        super::CampaignSettings {
            tick: std::time::Duration::from_millis(self.tick_ms),
            default_soak: std::time::Duration::from_secs(self.default_soak_seconds),
        }
    }
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
    #[error("config {path} is invalid: {message}")]
    Invalid { path: PathBuf, message: String },
}

impl Config {
    /// Parses TOML text; `path` names it in errors.
    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        let config: Config = toml::from_str(text).map_err(|source| ConfigError::Parse {
            path: path.to_path_buf(),
            source,
        })?;
        let tick = config.campaigns.tick_ms;
        if !(100..=60_000).contains(&tick) {
            return Err(ConfigError::Invalid {
                path: path.to_path_buf(),
                message: format!("[campaigns] tick_ms = {tick}: it must be 100 to 60000"),
            });
        }
        Ok(config)
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

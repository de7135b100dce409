//! Connection settings from flags, environment and config file, and the mutual-TLS
//! channel to the coordinator.

use std::path::{Path, PathBuf};
use std::time::Duration;

use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;
use serde::Deserialize;
use tonic::transport::{Channel, Endpoint};
use whittle_proto::identity::Identity;

use super::args::ConnectionArgs;
use super::error::{CallContext, CliError};

/// How long connecting and each call may take.
const TIMEOUT: Duration = Duration::from_secs(15);

/// The config file as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    coordinator: Option<String>,
    ca: Option<PathBuf>,
    cert: Option<PathBuf>,
    key: Option<PathBuf>,
}

/// Every setting needed to connect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    pub url: String,
    pub ca: PathBuf,
    pub cert: PathBuf,
    pub key: PathBuf,
}

impl Settings {
    /// Flags and environment (clap merged them) first, then the config file.
    pub fn resolve(args: &ConnectionArgs) -> Result<Settings, CliError> {
        let file = match &args.config {
            Some(path) => read_config(path)?,
            None => RawConfig::default(),
        };
        let missing = |what, flag, env| CliError::Missing { what, flag, env };
        let url = args.coordinator.clone().or(file.coordinator);
        let url =
            url.ok_or_else(|| missing("coordinator url", "coordinator", "WHITTLE_COORDINATOR"))?;
        let ca = args.ca.clone().or(file.ca);
        let ca = ca.ok_or_else(|| missing("ca certificate", "ca", "WHITTLE_CA"))?;
        let cert = args.cert.clone().or(file.cert);
        let cert = cert.ok_or_else(|| missing("certificate", "cert", "WHITTLE_CERT"))?;
        let key = args.key.clone().or(file.key);
        let key = key.ok_or_else(|| missing("private key", "key", "WHITTLE_KEY"))?;
        Ok(Settings { url, ca, cert, key })
    }
}

fn read_config(path: &Path) -> Result<RawConfig, CliError> {
    let config_error = |problem: String| CliError::Config {
        path: path.to_path_buf(),
        problem,
    };
    let text = std::fs::read_to_string(path).map_err(|e| config_error(e.to_string()))?;
    toml::from_str(&text).map_err(|e| config_error(e.to_string().trim_end().to_string()))
}

fn read_file(what: &'static str, path: &Path) -> Result<Vec<u8>, CliError> {
    std::fs::read(path).map_err(|e| CliError::CertFile {
        what,
        path: path.to_path_buf(),
        problem: e.to_string(),
    })
}

/// How the operator's certificate names its holder, e.g. "operator alice, viewer".
fn certificate_holder(cert_pem: &[u8], path: &Path) -> Result<String, CliError> {
    let problem = |problem: String| CliError::CertFile {
        what: "certificate",
        path: path.to_path_buf(),
        problem,
    };
    let der = CertificateDer::from_pem_slice(cert_pem)
        .map_err(|e| problem(format!("no pem certificate: {e}")))?;
    match Identity::from_certificate(der.as_ref()) {
        Ok(Identity::Operator { name, role }) => Ok(format!("operator {name}, {role}")),
        Ok(Identity::Agent { account_id }) => Ok(format!("agent of account {account_id}")),
        Ok(Identity::Coordinator) => Ok("coordinator".to_string()),
        Err(e) => Err(problem(format!("not a whittle identity: {e}"))),
    }
}

/// Opens a mutual-TLS channel to the coordinator.
pub async fn connect(settings: &Settings) -> Result<(Channel, CallContext), CliError> {
    let ca = read_file("ca certificate", &settings.ca)?;
    let cert = read_file("certificate", &settings.cert)?;
    let key = read_file("private key", &settings.key)?;
    let who = certificate_holder(&cert, &settings.cert)?;
    let tls =
        whittle_proto::tls::tonic_client_tls(&ca, &cert, &key).map_err(|e| CliError::Tls {
            ca: settings.ca.clone(),
            cert: settings.cert.clone(),
            key: settings.key.clone(),
            problem: e.to_string(),
        })?;
    let url = settings.url.clone();
    let unreachable = |problem: String| CliError::Unreachable {
        url: url.clone(),
        problem,
    };
    let endpoint = Endpoint::from_shared(url.clone())
        .map_err(|e| CliError::Usage(format!("coordinator url {url:?} is not a url: {e}")))?
        .connect_timeout(TIMEOUT)
        .timeout(TIMEOUT)
        .tls_config(tls)
        .map_err(|e| unreachable(error_chain(&e)))?;
    let channel = endpoint
        .connect()
        .await
        .map_err(|e| unreachable(error_chain(&e)))?;
    Ok((channel, CallContext { url, who }))
}

/// An error with its sources, "a: b: c", skipping repeats.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut parts: Vec<String> = vec![error.to_string()];
    let mut source = error.source();
    while let Some(e) = source {
        let text = e.to_string();
        if parts.last().is_none_or(|last| !last.contains(&text)) {
            parts.push(text);
        }
        source = e.source();
    }
    parts.join(": ")
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // test code

    use super::*;

    fn config_file(text: &str) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("whittle.toml");
        std::fs::write(&path, text).unwrap();
        (dir, path)
    }

    #[test]
    fn flags_win_over_the_config_file() {
        let text = concat!(
            "coordinator = \"https://file:1\"\n",
            "ca = \"ca.pem\"\ncert = \"c.pem\"\nkey = \"k.pem\"\n",
        );
        let (_dir, path) = config_file(text);
        let args = ConnectionArgs {
            coordinator: Some("https://flag:2".into()),
            key: Some("flag-key.pem".into()),
            config: Some(path),
            ..ConnectionArgs::default()
        };
        let settings = Settings::resolve(&args).unwrap();
        assert_eq!(
            settings,
            Settings {
                url: "https://flag:2".into(),
                ca: "ca.pem".into(),
                cert: "c.pem".into(),
                key: "flag-key.pem".into(),
            }
        );
    }

    #[test]
    fn an_unknown_key_names_the_file_and_the_key() {
        let (_dir, path) = config_file("certificate = \"c.pem\"\n");
        let args = ConnectionArgs {
            config: Some(path.clone()),
            ..ConnectionArgs::default()
        };
        let err = Settings::resolve(&args).unwrap_err().to_string();
        assert!(
            err.starts_with(&format!("config file {}: ", path.display())),
            "{err}"
        );
        assert!(err.contains("certificate"), "{err}");
    }

    #[test]
    fn a_missing_setting_says_where_to_give_it() {
        let args = ConnectionArgs {
            coordinator: Some("https://c:1".into()),
            ..ConnectionArgs::default()
        };
        let err = Settings::resolve(&args).unwrap_err();
        assert_eq!(err.exit_code(), 2);
        assert_eq!(
            err.to_string(),
            concat!(
                "no ca certificate given: pass --ca, set WHITTLE_CA, ",
                "or set ca in the config file (--config)"
            )
        );
    }
}

//! What can go wrong in `whittle`, and the exit code of each: 1 when the coordinator
//! refused, 2 for usage and connection errors.

use std::path::PathBuf;

/// An error of `whittle`.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// A command line, option or config file that does not make sense.
    #[error("{0}")]
    Usage(String),

    /// A connection setting given nowhere.
    #[error(
        "no {what} given: pass --{flag}, set {env}, or set {flag} in the config file (--config)"
    )]
    Missing {
        what: &'static str,
        flag: &'static str,
        env: &'static str,
    },

    /// The config file cannot be read or parsed.
    #[error("config file {path}: {problem}")]
    Config { path: PathBuf, problem: String },

    /// A certificate or key file that is missing or unusable.
    #[error("{what} file {path}: {problem}")]
    CertFile {
        what: &'static str,
        path: PathBuf,
        problem: String,
    },

    /// The certificate files do not make a usable TLS identity.
    #[error("certificate files (ca {ca}, cert {cert}, key {key}) are unusable: {problem}")]
    Tls {
        ca: PathBuf,
        cert: PathBuf,
        key: PathBuf,
        problem: String,
    },

    /// No connection to the coordinator.
    #[error("cannot reach the coordinator at {url}: {problem}")]
    Unreachable { url: String, problem: String },

    /// The caller's certificate does not allow the call.
    #[error("your certificate ({who}) may not {what}: {message}")]
    Denied {
        who: String,
        what: String,
        message: String,
    },

    /// The coordinator does not know what the call names.
    #[error("not found: {0}")]
    NotFound(String),

    /// Any other refusal of the coordinator.
    #[error("the coordinator refused to {what}: {message} ({code:?})")]
    Refused {
        what: String,
        code: tonic::Code,
        message: String,
    },
}

impl CliError {
    /// The process's exit code for this error.
    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::Denied { .. } | CliError::NotFound(_) | CliError::Refused { .. } => 1,
            CliError::Usage(_)
            | CliError::Missing { .. }
            | CliError::Config { .. }
            | CliError::CertFile { .. }
            | CliError::Tls { .. }
            | CliError::Unreachable { .. } => 2,
        }
    }
}

/// Who a call was made as, and where to, for turning statuses into errors.
#[derive(Debug, Clone)]
pub struct CallContext {
    pub url: String,
    /// The identity of the operator's certificate, e.g. "operator alice, viewer".
    pub who: String,
}

impl CallContext {
    /// The error for a failed call that tried to `what` (e.g. "approve").
    pub fn error(&self, what: &str, status: tonic::Status) -> CliError {
        use tonic::Code;
        let message = status.message().to_string();
        match status.code() {
            Code::PermissionDenied => CliError::Denied {
                who: self.who.clone(),
                what: what.to_string(),
                message,
            },
            Code::NotFound => CliError::NotFound(message),
            Code::Unavailable if is_transport(&status) => CliError::Unreachable {
                url: self.url.clone(),
                problem: message,
            },
            code => CliError::Refused {
                what: what.to_string(),
                code,
                message,
            },
        }
    }
}

/// Whether a status came from the connection rather than from the coordinator.
fn is_transport(status: &tonic::Status) -> bool {
    use std::error::Error as _;
    status
        .source()
        .is_some_and(|s| s.downcast_ref::<tonic::transport::Error>().is_some())
}

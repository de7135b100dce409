//! The errors of the certificate authority, each naming the input or file at fault.

use std::path::PathBuf;

use chrono::{DateTime, Utc};
use whittle_proto::identity::{Identity, IdentityError};

/// Why the CA cannot be created, loaded, or issue a certificate.
#[derive(Debug, thiserror::Error)]
pub enum CaError {
    /// The CA directory does not exist.
    #[error("ca directory {dir} does not exist (create a ca with `ca init --dir {dir}`)")]
    NoCaDir {
        /// The directory as given.
        dir: PathBuf,
    },
    /// `ca init` on a directory that already has a CA.
    #[error("a ca already exists: {path} is present; refusing to overwrite it")]
    AlreadyExists {
        /// The file found.
        path: PathBuf,
    },
    /// A file cannot be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A file or directory cannot be written.
    #[error("cannot write {path}: {source}")]
    Write {
        /// The file or directory.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// `ca.pem` is not a CA certificate.
    #[error("{path} is not a usable ca certificate: {problem}")]
    BadCaCert {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        problem: String,
    },
    /// `ca.key` is not a private key rcgen can sign with.
    #[error("{path} is not a usable private key: {problem}")]
    BadCaKey {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        problem: String,
    },
    /// `ca.key` is not the key of `ca.pem`.
    #[error("ca key {key} does not match ca certificate {cert}")]
    KeyMismatch {
        /// The key file.
        key: PathBuf,
        /// The certificate file.
        cert: PathBuf,
    },
    /// The CA certificate is no longer valid at `now`.
    #[error("the ca certificate expired at {not_after}; create a new ca")]
    CaExpired {
        /// When it expired.
        not_after: DateTime<Utc>,
    },
    /// An invalid account id or operator name.
    #[error(transparent)]
    Identity(#[from] IdentityError),
    /// A server certificate without a name to reach the server at.
    #[error("a server certificate needs at least one dns name or ip address")]
    NoDnsName,
    /// DNS names asked for a client certificate.
    #[error("dns names are only for server certificates, not for {identity}")]
    DnsNameOnClient {
        /// The client identity.
        identity: Identity,
    },
    /// Not a DNS name or an IP address.
    #[error("invalid dns name {name:?}")]
    BadDnsName {
        /// The name as given.
        name: String,
    },
    /// A validity that is zero, or that outlasts the CA.
    #[error("invalid validity of {days} days: {problem}")]
    BadValidity {
        /// The validity asked for.
        days: u32,
        /// What is wrong.
        problem: String,
    },
    /// A `now` that a certificate cannot hold.
    #[error("time {now} is out of the range of certificate dates")]
    BadTime {
        /// The time given.
        now: DateTime<Utc>,
    },
    /// rcgen failed to make a key or a certificate.
    #[error("cannot generate the {what}: {source}")]
    Generate {
        /// What was being made.
        what: &'static str,
        /// What rcgen said.
        source: rcgen::Error,
    },
}

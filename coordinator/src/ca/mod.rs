//! The fleet's built-in certificate authority, behind `whittle-coordinator ca ...`.
//!
//! One directory holds the CA: `ca.pem` (its certificate, given to every agent, operator and
//! the coordinator as the one trust anchor) and `ca.key` (its private key, mode 0600). Issued
//! certificates go to `<name>.pem` and `<name>.key` (0600) in an output directory, by default
//! `issued/` inside the CA directory; `<name>` is `coordinator`, `agent-<account>` or
//! `operator-<name>` ([`IssueRequest::file_stem`]).
//!
//! Keys never leave the machine: this module only reads and writes files. Time comes from the
//! caller (`now`); nothing here reads the clock. Identities are checked with
//! [`Identity::validate`], the same rules the coordinator applies to the certificates.

mod error;
mod files;
mod params;

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use rcgen::{Issuer, KeyPair};
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;
use whittle_proto::identity::{Identity, OperatorRole};

pub use error::CaError;
pub use params::CLOCK_SKEW;

use files::Mode;

/// The CA's certificate in the CA directory.
pub const CA_CERT_FILE: &str = "ca.pem";
/// The CA's private key in the CA directory.
pub const CA_KEY_FILE: &str = "ca.key";
/// The default output directory of issued certificates, inside the CA directory.
pub const ISSUED_DIR: &str = "issued";
/// How long a new CA is valid: ten years.
pub const CA_VALIDITY_DAYS: u32 = 3650;
/// How long an issued certificate is valid unless asked otherwise.
pub const LEAF_VALIDITY_DAYS: u32 = 90;

/// What to issue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssueRequest {
    /// Whom the certificate speaks for; [`Identity::Coordinator`] makes a server certificate.
    pub identity: Identity,
    /// The DNS names or IP addresses of a server certificate; empty for client certificates.
    pub dns_names: Vec<String>,
    /// How long the certificate is valid, from now.
    pub validity_days: u32,
}

impl IssueRequest {
    /// The coordinator's server certificate, for `dns_names`, valid [`LEAF_VALIDITY_DAYS`].
    pub fn server(dns_names: Vec<String>) -> IssueRequest {
        IssueRequest {
            identity: Identity::Coordinator,
            dns_names,
            validity_days: LEAF_VALIDITY_DAYS,
        }
    }

    /// The certificate of the agent of `account_id`, valid [`LEAF_VALIDITY_DAYS`].
    pub fn agent(account_id: &str) -> Result<IssueRequest, CaError> {
        Ok(IssueRequest::client(Identity::agent(account_id)?))
    }

    /// The certificate of operator `name` with `role`, valid [`LEAF_VALIDITY_DAYS`].
    pub fn operator(name: &str, role: OperatorRole) -> Result<IssueRequest, CaError> {
        Ok(IssueRequest::client(Identity::operator(name, role)?))
    }

    /// The same request with another validity.
    pub fn with_validity_days(self, validity_days: u32) -> IssueRequest {
        IssueRequest {
            validity_days,
            ..self
        }
    }

    /// The file name of the certificate and key, without extension: `coordinator`,
    /// `agent-<account>` or `operator-<name>`.
    pub fn file_stem(&self) -> String {
        match &self.identity {
            Identity::Coordinator => "coordinator".to_owned(),
            Identity::Agent { account_id } => format!("agent-{account_id}"),
            Identity::Operator { name, role: _ } => format!("operator-{name}"),
        }
    }

    fn client(identity: Identity) -> IssueRequest {
        IssueRequest {
            identity,
            dns_names: Vec::new(),
            validity_days: LEAF_VALIDITY_DAYS,
        }
    }
}

/// An issued certificate and its key, as written.
#[derive(Clone, PartialEq, Eq)]
pub struct IssuedCert {
    /// Whom it speaks for.
    pub identity: Identity,
    /// The certificate, PEM.
    pub cert_pem: String,
    /// The private key, PEM (PKCS#8).
    pub key_pem: String,
    /// Where the certificate was written.
    pub path_cert: PathBuf,
    /// Where the key was written (mode 0600).
    pub path_key: PathBuf,
    /// When the certificate expires.
    pub not_after: DateTime<Utc>,
}

impl std::fmt::Debug for IssuedCert {
    /// Leaves out the private key.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IssuedCert")
            .field("identity", &self.identity)
            .field("path_cert", &self.path_cert)
            .field("path_key", &self.path_key)
            .field("not_after", &self.not_after)
            .finish_non_exhaustive()
    }
}

/// A loaded CA, ready to issue.
#[derive(Debug)]
pub struct Ca {
    dir: PathBuf,
    cert_pem: String,
    not_after: DateTime<Utc>,
    issuer: Issuer<'static, KeyPair>,
}

impl Ca {
    /// Creates a CA in `dir` (made if missing), valid [`CA_VALIDITY_DAYS`] from `now`.
    /// Refuses if `dir` already holds a CA certificate or key.
    pub fn init(dir: &Path, now: DateTime<Utc>) -> Result<Ca, CaError> {
        let cert_path = dir.join(CA_CERT_FILE);
        let key_path = dir.join(CA_KEY_FILE);
        for path in [&cert_path, &key_path] {
            if path.exists() {
                return Err(CaError::AlreadyExists { path: path.clone() });
            }
        }
        let params = params::ca(now, CA_VALIDITY_DAYS)?;
        let key = generate_key()?;
        let cert = params
            .self_signed(&key)
            .map_err(|source| CaError::Generate {
                what: "ca certificate",
                source,
            })?;
        files::create_dir(dir)?;
        // The key first, with create_new: of two concurrent inits, one fails here.
        files::create_new(&key_path, &key.serialize_pem(), Mode::Secret)?;
        if let Err(e) = files::create_new(&cert_path, &cert.pem(), Mode::Public) {
            // Best effort: leave no key without its certificate.
            let _ = files::remove_if_present(&key_path);
            return Err(e);
        }
        Ca::load(dir)
    }

    /// Loads the CA of `dir`, checking that the key is the certificate's and that the
    /// certificate is a CA.
    pub fn load(dir: &Path) -> Result<Ca, CaError> {
        if !dir.is_dir() {
            return Err(CaError::NoCaDir {
                dir: dir.to_owned(),
            });
        }
        let cert_path = dir.join(CA_CERT_FILE);
        let key_path = dir.join(CA_KEY_FILE);
        let cert_pem = files::read(&cert_path)?;
        let key_pem = files::read(&key_path)?;
        let key = KeyPair::from_pem(&key_pem).map_err(|e| CaError::BadCaKey {
            path: key_path.clone(),
            problem: e.to_string(),
        })?;
        let bad_cert = |problem: String| CaError::BadCaCert {
            path: cert_path.clone(),
            problem,
        };
        let der = CertificateDer::from_pem_slice(cert_pem.as_bytes())
            .map_err(|e| bad_cert(format!("no pem CERTIFICATE block: {e}")))?;
        let not_after = check_ca_cert(&der, &key).map_err(|problem| match problem {
            CaCertProblem::KeyMismatch => CaError::KeyMismatch {
                key: key_path.clone(),
                cert: cert_path.clone(),
            },
            CaCertProblem::Other(problem) => bad_cert(problem),
        })?;
        let issuer = Issuer::from_ca_cert_der(&der, key).map_err(|e| bad_cert(e.to_string()))?;
        Ok(Ca {
            dir: dir.to_owned(),
            cert_pem,
            not_after,
            issuer,
        })
    }

    /// The CA directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The CA certificate, PEM: the trust anchor to hand to every member of the fleet.
    pub fn cert_pem(&self) -> &str {
        &self.cert_pem
    }

    /// Where the CA certificate is.
    pub fn cert_path(&self) -> PathBuf {
        self.dir.join(CA_CERT_FILE)
    }

    /// When the CA certificate expires.
    pub fn not_after(&self) -> DateTime<Utc> {
        self.not_after
    }

    /// The default output directory: `issued/` in the CA directory.
    pub fn issued_dir(&self) -> PathBuf {
        self.dir.join(ISSUED_DIR)
    }

    /// Issues a certificate into [`Ca::issued_dir`].
    pub fn issue(&self, request: IssueRequest, now: DateTime<Utc>) -> Result<IssuedCert, CaError> {
        self.issue_to(request, &self.issued_dir(), now)
    }

    /// Issues a certificate and a new key into `out_dir` (made if missing) as
    /// `<stem>.pem` and `<stem>.key` (0600), replacing files of an earlier issue.
    pub fn issue_to(
        &self,
        request: IssueRequest,
        out_dir: &Path,
        now: DateTime<Utc>,
    ) -> Result<IssuedCert, CaError> {
        if now >= self.not_after {
            return Err(CaError::CaExpired {
                not_after: self.not_after,
            });
        }
        let days = request.validity_days;
        if days == 0 {
            let problem = "a certificate must be valid for at least one day".to_owned();
            return Err(CaError::BadValidity { days, problem });
        }
        let not_after = params::add_days(now, days)?;
        if not_after > self.not_after {
            let problem = format!(
                "it would outlast the ca certificate, which expires at {}",
                self.not_after
            );
            return Err(CaError::BadValidity { days, problem });
        }
        let params = params::leaf(&request, now, not_after)?;
        let key = generate_key()?;
        let cert = params
            .signed_by(&key, &self.issuer)
            .map_err(|source| CaError::Generate {
                what: "certificate",
                source,
            })?;

        let stem = request.file_stem();
        let path_cert = out_dir.join(format!("{stem}.pem"));
        let path_key = out_dir.join(format!("{stem}.key"));
        let (cert_pem, key_pem) = (cert.pem(), key.serialize_pem());
        files::create_dir(out_dir)?;
        files::replace(&path_key, &key_pem, Mode::Secret)?;
        files::replace(&path_cert, &cert_pem, Mode::Public)?;
        Ok(IssuedCert {
            identity: request.identity,
            cert_pem,
            key_pem,
            path_cert,
            path_key,
            not_after,
        })
    }
}

fn generate_key() -> Result<KeyPair, CaError> {
    KeyPair::generate().map_err(|source| CaError::Generate {
        what: "private key",
        source,
    })
}

enum CaCertProblem {
    KeyMismatch,
    Other(String),
}

/// Checks that `der` is a CA certificate of `key`'s public key; returns when it expires.
fn check_ca_cert(der: &[u8], key: &KeyPair) -> Result<DateTime<Utc>, CaCertProblem> {
    let (_, cert) = x509_parser::parse_x509_certificate(der)
        .map_err(|e| CaCertProblem::Other(e.to_string()))?;
    let is_ca = cert
        .basic_constraints()
        .map_err(|e| CaCertProblem::Other(e.to_string()))?
        .is_some_and(|constraints| constraints.value.ca);
    if !is_ca {
        return Err(CaCertProblem::Other(
            "not a ca (basic constraints CA:FALSE)".to_owned(),
        ));
    }
    if cert.public_key().subject_public_key.data.as_ref() != rcgen::PublicKeyData::der_bytes(key) {
        return Err(CaCertProblem::KeyMismatch);
    }
    let not_after = cert.validity().not_after.timestamp();
    DateTime::from_timestamp(not_after, 0)
        .ok_or_else(|| CaCertProblem::Other(format!("expiry {not_after} out of range")))
}

//! Mutual TLS between agents, the coordinator and operators, and the identity of the peer.
//!
//! Every connection of a Whittle fleet is mutual TLS with one private CA: the server requires
//! a client certificate chained to that CA, the client trusts only that CA, both speak
//! TLS 1.3 or 1.2 with rustls on ring, and ALPN is `h2` (gRPC). Who the peer is comes from its
//! verified certificate only ([`peer_identity`], design invariant 6). The usages in the
//! certificates keep the roles apart: webpki requires `serverAuth` of a server certificate and
//! `clientAuth` of a client certificate, so an agent's certificate cannot serve as the
//! coordinator, nor the coordinator's as a client.
//!
//! Two ways to use it:
//! - [`server_config`] and [`client_config`] give rustls configurations (for tokio-rustls,
//!   or for tonic through `serve_with_incoming` / `connect_with_connector`);
//! - [`tonic_server_tls`] and [`tonic_client_tls`] give tonic's own TLS settings from the
//!   same PEM files, checked first so that a bad file fails here with its name.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::crypto::CryptoProvider;
use rustls::server::WebPkiClientVerifier;
use rustls::{ClientConfig, RootCertStore, ServerConfig};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use serde::{Deserialize, Serialize};

use crate::identity::{Identity, IdentityError};

/// The one application protocol spoken: HTTP/2, for gRPC.
pub const ALPN_H2: &[u8] = b"h2";

/// Why TLS material cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A file cannot be read.
    #[error("cannot read {what} {path}: {source}")]
    Read {
        /// Which file: "ca certificate", "certificate" or "private key".
        what: &'static str,
        /// The path as given.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// PEM text that holds none of what is expected, or that is broken.
    #[error("{what} has no usable pem {expected}: {problem}")]
    Pem {
        /// Which input, with its path when it came from a file.
        what: String,
        /// What was looked for, e.g. "CERTIFICATE block".
        expected: &'static str,
        /// What is wrong.
        problem: String,
    },
    /// A CA certificate that cannot be a trust anchor.
    #[error("{what} is not a usable ca certificate: {problem}")]
    BadCa {
        /// Which input, with its path when it came from a file.
        what: String,
        /// What is wrong.
        problem: String,
    },
    /// The private key is not the key of the certificate, or its algorithm is unsupported.
    #[error("{key} does not fit {cert}: {problem}")]
    KeyMismatch {
        /// The key input, with its path when it came from a file.
        key: String,
        /// The certificate input, with its path when it came from a file.
        cert: String,
        /// What rustls said.
        problem: String,
    },
    /// rustls refused the configuration.
    #[error("cannot build the tls {side} configuration: {problem}")]
    Config {
        /// "server" or "client".
        side: &'static str,
        /// What rustls said.
        problem: String,
    },
}

/// Where a daemon's TLS material lives: the fleet's CA certificate, its own certificate
/// (leaf first, then any intermediates) and its private key, all PEM.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsFiles {
    /// The CA certificate(s) to trust, PEM.
    pub ca_cert: PathBuf,
    /// This side's certificate chain, PEM.
    pub cert: PathBuf,
    /// This side's private key, PEM (PKCS#8, SEC1 or PKCS#1).
    pub key: PathBuf,
}

/// The contents of [`TlsFiles`], checked by [`TlsFiles::load`].
#[derive(Clone, PartialEq, Eq)]
pub struct TlsPem {
    /// The CA certificate(s), PEM.
    pub ca_cert: Vec<u8>,
    /// The certificate chain, PEM.
    pub cert: Vec<u8>,
    /// The private key, PEM.
    pub key: Vec<u8>,
}

impl fmt::Debug for TlsPem {
    /// Leaves out the private key.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsPem")
            .field("ca_cert", &String::from_utf8_lossy(&self.ca_cert))
            .field("cert", &String::from_utf8_lossy(&self.cert))
            .field("key", &"[elided]")
            .finish()
    }
}

impl TlsFiles {
    /// Reads the three files and checks them (PEM, CA usable, key fits the certificate);
    /// every error names the file.
    pub fn load(&self) -> Result<TlsPem, TlsError> {
        let read = |what, path: &Path| {
            std::fs::read(path).map_err(|source| TlsError::Read {
                what,
                path: path.to_owned(),
                source,
            })
        };
        let pem = TlsPem {
            ca_cert: read("ca certificate", &self.ca_cert)?,
            cert: read("certificate", &self.cert)?,
            key: read("private key", &self.key)?,
        };
        let names = Names {
            ca: format!("ca certificate {}", self.ca_cert.display()),
            cert: format!("certificate {}", self.cert.display()),
            key: format!("private key {}", self.key.display()),
        };
        Material::parse(&pem.ca_cert, &pem.cert, &pem.key, &names)?;
        Ok(pem)
    }
}

impl TlsPem {
    /// [`server_config`] from these PEMs.
    pub fn server_config(&self) -> Result<ServerConfig, TlsError> {
        server_config(&self.ca_cert, &self.cert, &self.key)
    }

    /// [`client_config`] from these PEMs.
    pub fn client_config(&self) -> Result<ClientConfig, TlsError> {
        client_config(&self.ca_cert, &self.cert, &self.key)
    }

    /// [`tonic_server_tls`] from these PEMs.
    pub fn tonic_server_tls(&self) -> Result<tonic::transport::ServerTlsConfig, TlsError> {
        tonic_server_tls(&self.ca_cert, &self.cert, &self.key)
    }

    /// [`tonic_client_tls`] from these PEMs.
    pub fn tonic_client_tls(&self) -> Result<tonic::transport::ClientTlsConfig, TlsError> {
        tonic_client_tls(&self.ca_cert, &self.cert, &self.key)
    }
}

/// A rustls server configuration that requires a client certificate chained to the CA in
/// `ca_pem`, presents `cert_pem` with `key_pem`, speaks TLS 1.3 or 1.2 on ring, and ALPN h2.
pub fn server_config(
    ca_pem: &[u8],
    cert_pem: &[u8],
    key_pem: &[u8],
) -> Result<ServerConfig, TlsError> {
    let Material { roots, chain, key } = Material::parse(ca_pem, cert_pem, key_pem, &Names::pem())?;
    let provider = provider();
    let config_error = |e: rustls::Error| TlsError::Config {
        side: "server",
        problem: e.to_string(),
    };
    let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .build()
        .map_err(|e| TlsError::Config {
            side: "server",
            problem: e.to_string(),
        })?;
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(PROTOCOL_VERSIONS)
        .map_err(config_error)?
        .with_client_cert_verifier(verifier)
        .with_single_cert(chain, key)
        .map_err(config_error)?;
    config.alpn_protocols = vec![ALPN_H2.to_vec()];
    Ok(config)
}

/// A rustls client configuration that trusts only the CA in `ca_pem`, presents `cert_pem`
/// with `key_pem`, speaks TLS 1.3 or 1.2 on ring, and ALPN h2.
pub fn client_config(
    ca_pem: &[u8],
    cert_pem: &[u8],
    key_pem: &[u8],
) -> Result<ClientConfig, TlsError> {
    let Material { roots, chain, key } = Material::parse(ca_pem, cert_pem, key_pem, &Names::pem())?;
    let config_error = |e: rustls::Error| TlsError::Config {
        side: "client",
        problem: e.to_string(),
    };
    let mut config = ClientConfig::builder_with_provider(provider())
        .with_protocol_versions(PROTOCOL_VERSIONS)
        .map_err(config_error)?
        .with_root_certificates(roots)
        .with_client_auth_cert(chain, key)
        .map_err(config_error)?;
    config.alpn_protocols = vec![ALPN_H2.to_vec()];
    Ok(config)
}

/// tonic's server TLS settings from the same PEMs: a client certificate chained to the CA is
/// required (tonic sets ALPN h2 itself).
///
/// The PEMs are checked here, and ring is installed as the process's default rustls provider
/// if none is yet ([`install_default_crypto_provider`]): tonic builds its rustls configuration
/// from the process default, which is ambiguous when another crate of the build enables
/// rustls's aws-lc-rs provider as well.
pub fn tonic_server_tls(
    ca_pem: &[u8],
    cert_pem: &[u8],
    key_pem: &[u8],
) -> Result<tonic::transport::ServerTlsConfig, TlsError> {
    Material::parse(ca_pem, cert_pem, key_pem, &Names::pem())?;
    install_default_crypto_provider();
    Ok(tonic::transport::ServerTlsConfig::new()
        .identity(tonic::transport::Identity::from_pem(cert_pem, key_pem))
        .client_ca_root(tonic::transport::Certificate::from_pem(ca_pem))
        .client_auth_optional(false))
}

/// tonic's client TLS settings from the same PEMs: only the CA is trusted, and the client
/// certificate is presented. The server name checked is the endpoint's host unless the caller
/// sets `.domain_name(..)`. Checks and the provider as in [`tonic_server_tls`].
pub fn tonic_client_tls(
    ca_pem: &[u8],
    cert_pem: &[u8],
    key_pem: &[u8],
) -> Result<tonic::transport::ClientTlsConfig, TlsError> {
    Material::parse(ca_pem, cert_pem, key_pem, &Names::pem())?;
    install_default_crypto_provider();
    Ok(tonic::transport::ClientTlsConfig::new()
        .ca_certificate(tonic::transport::Certificate::from_pem(ca_pem))
        .identity(tonic::transport::Identity::from_pem(cert_pem, key_pem)))
}

/// Makes ring the process's default rustls provider, unless a default is already installed.
pub fn install_default_crypto_provider() {
    // An error only means a default is already installed: that one stays.
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// The identity of the peer of a gRPC call, from its verified client certificate (the first
/// of the chain is the leaf). Works when tonic terminates TLS, or when it serves connections
/// accepted with tokio-rustls through `serve_with_incoming`.
pub fn peer_identity<T>(request: &tonic::Request<T>) -> Result<Identity, IdentityError> {
    let certs = request.peer_certs();
    identity_of_peer(certs.as_deref().map(Vec::as_slice))
}

/// The identity of a peer from its certificate chain as rustls gives it
/// (`connection.peer_certificates()`), leaf first.
pub fn identity_of_peer(certs: Option<&[CertificateDer<'_>]>) -> Result<Identity, IdentityError> {
    let leaf = certs
        .and_then(<[_]>::first)
        .ok_or(IdentityError::NoPeerCertificate)?;
    Identity::from_certificate(leaf)
}

const PROTOCOL_VERSIONS: &[&rustls::SupportedProtocolVersion] =
    &[&rustls::version::TLS13, &rustls::version::TLS12];

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// How the three inputs are named in errors.
struct Names {
    ca: String,
    cert: String,
    key: String,
}

impl Names {
    fn pem() -> Names {
        Names {
            ca: "ca certificate".to_owned(),
            cert: "certificate".to_owned(),
            key: "private key".to_owned(),
        }
    }
}

/// The parsed and checked inputs of a configuration.
struct Material {
    roots: RootCertStore,
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
}

impl Material {
    fn parse(
        ca_pem: &[u8],
        cert_pem: &[u8],
        key_pem: &[u8],
        names: &Names,
    ) -> Result<Self, TlsError> {
        let mut roots = RootCertStore::empty();
        for ca in certificates(ca_pem, &names.ca)? {
            roots.add(ca).map_err(|e| TlsError::BadCa {
                what: names.ca.clone(),
                problem: e.to_string(),
            })?;
        }
        let chain = certificates(cert_pem, &names.cert)?;
        let key = PrivateKeyDer::from_pem_slice(key_pem).map_err(|e| TlsError::Pem {
            what: names.key.clone(),
            expected: "PRIVATE KEY block",
            problem: pem_problem(&e),
        })?;
        rustls::sign::CertifiedKey::from_der(chain.clone(), key.clone_key(), &provider()).map_err(
            |e| TlsError::KeyMismatch {
                key: names.key.clone(),
                cert: names.cert.clone(),
                problem: e.to_string(),
            },
        )?;
        Ok(Material { roots, chain, key })
    }
}

/// Every CERTIFICATE block of `pem`; at least one.
fn certificates(pem: &[u8], what: &str) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let error = |problem: String| TlsError::Pem {
        what: what.to_owned(),
        expected: "CERTIFICATE block",
        problem,
    };
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| error(pem_problem(&e)))?;
    if certs.is_empty() {
        return Err(error("none found".to_owned()));
    }
    Ok(certs)
}

fn pem_problem(e: &rustls_pki_types::pem::Error) -> String {
    match e {
        rustls_pki_types::pem::Error::NoItemsFound => "none found".to_owned(),
        other => other.to_string(),
    }
}

//! Mutual TLS as the fleet sees it: a tokio-rustls server and client on loopback with the
//! configurations of `whittle_proto::tls`, certificates made here with rcgen. A client with an
//! agent certificate gets in and the server reads its account from the certificate; every
//! other client, and every server not vouched for by the fleet's CA, is refused.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code

use std::io;
use std::sync::Arc;
use std::time::Duration;

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, SanType,
};
use rustls::{CertificateError, ClientConfig, RootCertStore, ServerConfig};
use rustls_pki_types::ServerName;
use rustls_pki_types::pem::PemObject;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::{TlsAcceptor, TlsConnector};
use whittle_proto::identity::{Identity, OperatorRole};
use whittle_proto::tls::{self, TlsError, TlsFiles, client_config, server_config};

/// A CA made for one test.
struct TestCa {
    issuer: Issuer<'static, KeyPair>,
    pem: String,
}

/// A certificate and its key, PEM.
struct Leaf {
    cert: String,
    key: String,
}

impl TestCa {
    fn new(name: &str) -> TestCa {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::default();
        params.distinguished_name.push(DnType::CommonName, name);
        params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let pem = params.self_signed(&key).unwrap().pem();
        TestCa {
            issuer: Issuer::new(params, key),
            pem,
        }
    }

    fn leaf(&self, uri: &str, eku: ExtendedKeyUsagePurpose) -> Leaf {
        self.leaf_with(uri, eku, |_| {})
    }

    fn leaf_with(
        &self,
        uri: &str,
        eku: ExtendedKeyUsagePurpose,
        edit: impl FnOnce(&mut CertificateParams),
    ) -> Leaf {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
        params
            .subject_alt_names
            .push(SanType::URI(uri.try_into().unwrap()));
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![eku];
        params.use_authority_key_identifier_extension = true;
        edit(&mut params);
        let cert = params.signed_by(&key, &self.issuer).unwrap().pem();
        Leaf {
            cert,
            key: key.serialize_pem(),
        }
    }

    fn server(&self) -> Leaf {
        self.leaf("whittle://coordinator", ExtendedKeyUsagePurpose::ServerAuth)
    }

    fn agent(&self, account_id: &str) -> Leaf {
        let uri = format!("whittle://account/{account_id}");
        self.leaf(&uri, ExtendedKeyUsagePurpose::ClientAuth)
    }

    fn server_config(&self, leaf: &Leaf) -> ServerConfig {
        server_config(
            self.pem.as_bytes(),
            leaf.cert.as_bytes(),
            leaf.key.as_bytes(),
        )
        .unwrap()
    }

    fn client_config(&self, leaf: &Leaf) -> ClientConfig {
        client_config(
            self.pem.as_bytes(),
            leaf.cert.as_bytes(),
            leaf.key.as_bytes(),
        )
        .unwrap()
    }
}

/// What each side saw of one connection.
struct Outcome {
    /// The client's identity and the negotiated ALPN, or why the server refused.
    server: io::Result<(Identity, Option<Vec<u8>>)>,
    /// Whether the client exchanged a message, or why it failed.
    client: io::Result<()>,
}

/// Serves one connection on 127.0.0.1:0 and dials it: the client sends "ping", the server
/// reads the peer identity and answers "pong".
async fn connect(server: ServerConfig, client: ClientConfig) -> Outcome {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let acceptor = TlsAcceptor::from(Arc::new(server));
    let server = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await?;
        let mut tls = acceptor.accept(tcp).await?;
        let (_, conn) = tls.get_ref();
        let identity = tls::identity_of_peer(conn.peer_certificates()).map_err(io::Error::other)?;
        let alpn = conn.alpn_protocol().map(<[u8]>::to_vec);
        let mut ping = [0; 4];
        tls.read_exact(&mut ping).await?;
        tls.write_all(b"pong").await?;
        tls.shutdown().await?;
        Ok((identity, alpn))
    });
    let client = async {
        let tcp = TcpStream::connect(addr).await?;
        let name = ServerName::try_from("localhost").unwrap();
        let mut tls = TlsConnector::from(Arc::new(client))
            .connect(name, tcp)
            .await?;
        tls.write_all(b"ping").await?;
        let mut pong = [0; 4];
        tls.read_exact(&mut pong).await?;
        assert_eq!(&pong, b"pong");
        Ok(())
    };
    let limit = Duration::from_secs(20);
    let client = tokio::time::timeout(limit, client)
        .await
        .expect("client hung");
    let server = tokio::time::timeout(limit, server)
        .await
        .expect("server hung")
        .unwrap();
    Outcome { server, client }
}

/// The rustls error inside an I/O error of tokio-rustls.
fn rustls_error(result: &io::Result<impl Sized>) -> Option<&rustls::Error> {
    result
        .as_ref()
        .err()?
        .get_ref()?
        .downcast_ref::<rustls::Error>()
}

#[tokio::test]
async fn an_agent_gets_in_and_the_server_reads_its_account() {
    let ca = TestCa::new("fleet ca");
    let outcome = connect(
        ca.server_config(&ca.server()),
        ca.client_config(&ca.agent("123456789012")),
    )
    .await;
    outcome.client.unwrap();
    let (identity, alpn) = outcome.server.unwrap();
    assert_eq!(
        identity,
        Identity::Agent {
            account_id: "123456789012".to_owned()
        }
    );
    assert_eq!(alpn.as_deref(), Some(&b"h2"[..]));
}

#[tokio::test]
async fn an_operator_gets_in_with_its_role() {
    let ca = TestCa::new("fleet ca");
    let alice = ca.leaf(
        "whittle://operator/alice?role=viewer",
        ExtendedKeyUsagePurpose::ClientAuth,
    );
    let outcome = connect(ca.server_config(&ca.server()), ca.client_config(&alice)).await;
    let (identity, _) = outcome.server.unwrap();
    assert_eq!(
        identity,
        Identity::Operator {
            name: "alice".into(),
            role: OperatorRole::Viewer
        }
    );
}

#[tokio::test]
async fn a_client_without_a_certificate_is_refused() {
    let ca = TestCa::new("fleet ca");
    let mut roots = RootCertStore::empty();
    roots
        .add(rustls_pki_types::CertificateDer::from_pem_slice(ca.pem.as_bytes()).unwrap())
        .unwrap();
    let anonymous =
        ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
    let outcome = connect(ca.server_config(&ca.server()), anonymous).await;
    assert!(outcome.client.is_err());
    assert_eq!(
        rustls_error(&outcome.server),
        Some(&rustls::Error::NoCertificatesPresented)
    );
}

#[tokio::test]
async fn a_client_certificate_from_another_ca_is_refused() {
    let ca = TestCa::new("fleet ca");
    let other = TestCa::new("other ca");
    // The client trusts the fleet's CA but presents a certificate of another CA.
    let stranger = other.agent("123456789012");
    let client = client_config(
        ca.pem.as_bytes(),
        stranger.cert.as_bytes(),
        stranger.key.as_bytes(),
    )
    .unwrap();
    let outcome = connect(ca.server_config(&ca.server()), client).await;
    assert!(outcome.client.is_err());
    assert_eq!(
        rustls_error(&outcome.server),
        Some(&rustls::Error::InvalidCertificate(
            CertificateError::UnknownIssuer
        ))
    );
}

#[tokio::test]
async fn an_expired_client_certificate_is_refused() {
    let ca = TestCa::new("fleet ca");
    let expired = ca.leaf_with(
        "whittle://account/123456789012",
        ExtendedKeyUsagePurpose::ClientAuth,
        |params| {
            params.not_before = rcgen::date_time_ymd(2020, 1, 1);
            params.not_after = rcgen::date_time_ymd(2020, 4, 1);
        },
    );
    let outcome = connect(ca.server_config(&ca.server()), ca.client_config(&expired)).await;
    assert!(outcome.client.is_err());
    assert!(
        matches!(
            rustls_error(&outcome.server),
            Some(rustls::Error::InvalidCertificate(
                CertificateError::Expired | CertificateError::ExpiredContext { .. }
            ))
        ),
        "{:?}",
        outcome.server.err()
    );
}

#[tokio::test]
async fn a_server_certificate_from_another_ca_is_refused_by_the_client() {
    let ca = TestCa::new("fleet ca");
    let other = TestCa::new("other ca");
    let impostor = other.server();
    // The impostor accepts the fleet's clients but cannot prove itself to them.
    let server = server_config(
        ca.pem.as_bytes(),
        impostor.cert.as_bytes(),
        impostor.key.as_bytes(),
    )
    .unwrap();
    let outcome = connect(server, ca.client_config(&ca.agent("123456789012"))).await;
    assert!(outcome.server.is_err());
    assert_eq!(
        rustls_error(&outcome.client),
        Some(&rustls::Error::InvalidCertificate(
            CertificateError::UnknownIssuer
        ))
    );
}

#[tokio::test]
async fn usages_keep_roles_apart() {
    let ca = TestCa::new("fleet ca");
    // An agent's certificate (clientAuth only) cannot serve as the coordinator.
    let agent = ca.agent("123456789012");
    let outcome = connect(ca.server_config(&agent), ca.client_config(&agent)).await;
    assert!(
        matches!(
            rustls_error(&outcome.client),
            Some(rustls::Error::InvalidCertificate(
                CertificateError::InvalidPurpose | CertificateError::InvalidPurposeContext { .. }
            ))
        ),
        "{:?}",
        outcome.client.err()
    );
    // The coordinator's certificate (serverAuth only) cannot be a client.
    let server = ca.server();
    let outcome = connect(ca.server_config(&server), ca.client_config(&server)).await;
    assert!(outcome.client.is_err());
    assert!(
        matches!(
            rustls_error(&outcome.server),
            Some(rustls::Error::InvalidCertificate(
                CertificateError::InvalidPurpose | CertificateError::InvalidPurposeContext { .. }
            ))
        ),
        "{:?}",
        outcome.server.err()
    );
}

#[test]
fn bad_material_is_refused_with_the_file_named() {
    let ca = TestCa::new("fleet ca");
    let agent = ca.agent("123456789012");
    let other = ca.agent("210987654321");
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path
    };
    let files = TlsFiles {
        ca_cert: write("ca.pem", &ca.pem),
        cert: write("agent.pem", &agent.cert),
        key: write("agent.key", &agent.key),
    };
    let pem = files.load().unwrap();
    pem.server_config().unwrap();
    pem.client_config().unwrap();
    pem.tonic_server_tls().unwrap();
    pem.tonic_client_tls().unwrap();
    assert!(
        !format!("{pem:?}").contains("PRIVATE KEY"),
        "debug output shows the key"
    );

    let missing = TlsFiles {
        key: dir.path().join("nope.key"),
        ..files.clone()
    };
    let err = missing.load().unwrap_err();
    assert!(
        matches!(
            err,
            TlsError::Read {
                what: "private key",
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("nope.key"), "{err}");

    let not_pem = TlsFiles {
        ca_cert: write("junk.pem", "hello"),
        ..files.clone()
    };
    let err = not_pem.load().unwrap_err().to_string();
    assert!(
        err.starts_with("ca certificate ") && err.contains("junk.pem"),
        "{err}"
    );

    let key_as_cert = TlsFiles {
        cert: files.key.clone(),
        ..files.clone()
    };
    let err = key_as_cert.load().unwrap_err().to_string();
    assert!(
        err.contains("agent.key") && err.contains("no usable pem CERTIFICATE"),
        "{err}"
    );

    let mismatch = TlsFiles {
        key: write("other.key", &other.key),
        ..files.clone()
    };
    let err = mismatch.load().unwrap_err();
    assert!(matches!(err, TlsError::KeyMismatch { .. }), "{err}");
    assert!(err.to_string().contains("other.key"), "{err}");

    let leaf_as_ca = server_config(agent.cert.as_bytes(), agent.cert.as_bytes(), b"");
    assert!(leaf_as_ca.is_err());
    let no_key = tls::client_config(ca.pem.as_bytes(), agent.cert.as_bytes(), b"");
    assert!(matches!(no_key, Err(TlsError::Pem { .. })));
}

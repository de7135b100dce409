//! The built-in CA as an operator uses it: `ca init`, then `ca issue` for the coordinator, an
//! agent and an operator; the identities read back from the files, keys kept private, bad
//! input refused with the input named, and the issued certificates speaking mutual TLS.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, ServerName};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use whittle_coordinator::ca::{
    CA_CERT_FILE, CA_KEY_FILE, Ca, CaError, IssueRequest, IssuedCert, LEAF_VALIDITY_DAYS,
};
use whittle_proto::identity::{Identity, IdentityError, OperatorRole};
use whittle_proto::tls::{self, TlsFiles};
use x509_parser::extensions::GeneralName;

fn now() -> DateTime<Utc> {
    Utc::now()
}

fn der(pem: &str) -> CertificateDer<'static> {
    CertificateDer::from_pem_slice(pem.as_bytes()).unwrap()
}

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// The SANs and extended key usages of a certificate.
struct Inspected {
    dns: Vec<String>,
    ips: Vec<Vec<u8>>,
    server_auth: bool,
    client_auth: bool,
    is_ca: bool,
    not_before: i64,
    not_after: i64,
}

fn inspect(pem: &str) -> Inspected {
    let der = der(pem);
    let (_, cert) = x509_parser::parse_x509_certificate(&der).unwrap();
    let names = cert
        .subject_alternative_name()
        .unwrap()
        .map(|e| e.value.general_names.clone());
    let names = names.unwrap_or_default();
    let eku = cert.extended_key_usage().unwrap().map(|e| e.value.clone());
    Inspected {
        dns: names
            .iter()
            .filter_map(|n| match n {
                GeneralName::DNSName(d) => Some(d.to_string()),
                _ => None,
            })
            .collect(),
        ips: names
            .iter()
            .filter_map(|n| match n {
                GeneralName::IPAddress(ip) => Some(ip.to_vec()),
                _ => None,
            })
            .collect(),
        server_auth: eku.as_ref().is_some_and(|e| e.server_auth),
        client_auth: eku.as_ref().is_some_and(|e| e.client_auth),
        is_ca: cert
            .basic_constraints()
            .unwrap()
            .is_some_and(|b| b.value.ca),
        not_before: cert.validity().not_before.timestamp(),
        not_after: cert.validity().not_after.timestamp(),
    }
}

#[test]
fn init_then_issue_each_kind() {
    let dir = tempfile::tempdir().unwrap();
    let ca_dir = dir.path().join("ca");
    let now = now();
    let ca = Ca::init(&ca_dir, now).unwrap();
    assert!(inspect(ca.cert_pem()).is_ca);
    assert_eq!(ca.cert_path(), ca_dir.join(CA_CERT_FILE));

    let server = ca
        .issue(
            IssueRequest::server(vec!["coordinator.example".into(), "127.0.0.1".into()]),
            now,
        )
        .unwrap();
    assert_eq!(server.path_cert, ca_dir.join("issued/coordinator.pem"));
    assert_eq!(
        Identity::from_certificate(&der(&server.cert_pem)),
        Ok(Identity::Coordinator)
    );
    let seen = inspect(&server.cert_pem);
    assert_eq!(seen.dns, ["coordinator.example"]);
    assert_eq!(seen.ips, [vec![127, 0, 0, 1]]);
    assert!(seen.server_auth && !seen.client_auth && !seen.is_ca);

    let agent = ca
        .issue(IssueRequest::agent("123456789012").unwrap(), now)
        .unwrap();
    assert_eq!(agent.path_key, ca_dir.join("issued/agent-123456789012.key"));
    assert_eq!(
        Identity::from_certificate(&der(&agent.cert_pem)),
        Ok(Identity::Agent {
            account_id: "123456789012".into()
        })
    );
    let seen = inspect(&agent.cert_pem);
    assert!(seen.client_auth && !seen.server_auth && seen.dns.is_empty());
    assert_eq!(seen.not_before, (now - TimeDelta::minutes(5)).timestamp());
    let days = TimeDelta::days(LEAF_VALIDITY_DAYS.into());
    assert_eq!(seen.not_after, (now + days).timestamp());
    assert_eq!(agent.not_after.timestamp(), (now + days).timestamp());

    let out = dir.path().join("elsewhere");
    let request = IssueRequest::operator("alice", OperatorRole::Admin).unwrap();
    let alice = ca
        .issue_to(request.with_validity_days(7), &out, now)
        .unwrap();
    assert_eq!(alice.path_cert, out.join("operator-alice.pem"));
    assert_eq!(
        Identity::from_certificate(&der(&std::fs::read_to_string(&alice.path_cert).unwrap())),
        Ok(Identity::Operator {
            name: "alice".into(),
            role: OperatorRole::Admin
        })
    );
    assert_eq!(
        inspect(&alice.cert_pem).not_after,
        (now + TimeDelta::days(7)).timestamp()
    );
    assert!(
        !format!("{alice:?}").contains("PRIVATE KEY"),
        "debug output shows the key"
    );

    // A restarted coordinator loads the same CA and issues with it.
    let again = Ca::load(&ca_dir).unwrap();
    assert_eq!(again.cert_pem(), ca.cert_pem());
    let bob = again.issue(
        IssueRequest::operator("bob", OperatorRole::Viewer).unwrap(),
        now,
    );
    assert!(bob.is_ok());
}

#[cfg(unix)]
#[test]
fn keys_are_readable_by_their_owner_only() {
    let dir = tempfile::tempdir().unwrap();
    let now = now();
    let ca = Ca::init(dir.path(), now).unwrap();
    assert_eq!(mode(&dir.path().join(CA_KEY_FILE)), 0o600);
    let agent = ca
        .issue(IssueRequest::agent("123456789012").unwrap(), now)
        .unwrap();
    assert_eq!(mode(&agent.path_key), 0o600);
    assert_eq!(mode(&ca.issued_dir()), 0o700);
    // Issuing again (a renewal) replaces the pair and keeps the key private.
    let renewed = ca
        .issue(IssueRequest::agent("123456789012").unwrap(), now)
        .unwrap();
    assert_ne!(renewed.key_pem, agent.key_pem);
    assert_eq!(
        std::fs::read_to_string(&renewed.path_key).unwrap(),
        renewed.key_pem
    );
    assert_eq!(mode(&renewed.path_key), 0o600);
}

#[test]
fn an_existing_ca_is_never_overwritten() {
    let dir = tempfile::tempdir().unwrap();
    let ca = Ca::init(dir.path(), now()).unwrap();
    let key_before = std::fs::read(dir.path().join(CA_KEY_FILE)).unwrap();
    let err = Ca::init(dir.path(), now()).unwrap_err();
    assert!(matches!(err, CaError::AlreadyExists { .. }), "{err}");
    assert!(err.to_string().contains("refusing to overwrite"), "{err}");
    assert_eq!(
        std::fs::read(dir.path().join(CA_KEY_FILE)).unwrap(),
        key_before
    );
    assert_eq!(Ca::load(dir.path()).unwrap().cert_pem(), ca.cert_pem());

    // A key alone (a half-made CA) is refused as well.
    let other = tempfile::tempdir().unwrap();
    std::fs::write(other.path().join(CA_KEY_FILE), "x").unwrap();
    assert!(matches!(
        Ca::init(other.path(), now()),
        Err(CaError::AlreadyExists { .. })
    ));
}

#[test]
fn a_missing_or_broken_ca_is_refused_with_the_file_named() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope");
    let err = Ca::load(&missing).unwrap_err();
    assert!(
        matches!(err, CaError::NoCaDir { .. }) && err.to_string().contains("nope"),
        "{err}"
    );

    let empty = tempfile::tempdir().unwrap();
    let err = Ca::load(empty.path()).unwrap_err();
    assert!(
        matches!(&err, CaError::Read { path, .. } if path.ends_with(CA_CERT_FILE)),
        "{err}"
    );

    let one = tempfile::tempdir().unwrap();
    let two = tempfile::tempdir().unwrap();
    Ca::init(one.path(), now()).unwrap();
    Ca::init(two.path(), now()).unwrap();
    std::fs::copy(two.path().join(CA_KEY_FILE), one.path().join(CA_KEY_FILE)).unwrap();
    let err = Ca::load(one.path()).unwrap_err();
    assert!(matches!(err, CaError::KeyMismatch { .. }), "{err}");

    std::fs::write(one.path().join(CA_KEY_FILE), "not a key").unwrap();
    let err = Ca::load(one.path()).unwrap_err();
    assert!(
        matches!(&err, CaError::BadCaKey { path, .. } if path.ends_with(CA_KEY_FILE)),
        "{err}"
    );

    // A leaf certificate is not a CA.
    let ca = Ca::load(two.path()).unwrap();
    let agent = ca
        .issue(IssueRequest::agent("123456789012").unwrap(), now())
        .unwrap();
    std::fs::copy(&agent.path_cert, two.path().join(CA_CERT_FILE)).unwrap();
    std::fs::copy(&agent.path_key, two.path().join(CA_KEY_FILE)).unwrap();
    let err = Ca::load(two.path()).unwrap_err();
    assert!(matches!(err, CaError::BadCaCert { .. }), "{err}");
}

#[test]
fn bad_requests_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let now = now();
    let ca = Ca::init(dir.path(), now).unwrap();
    let issue = |request: IssueRequest| ca.issue(request, now).unwrap_err();

    let err = IssueRequest::agent("12345").unwrap_err();
    assert!(
        matches!(
            err,
            CaError::Identity(IdentityError::InvalidAccountId { .. })
        ),
        "{err}"
    );
    assert!(err.to_string().contains("\"12345\""), "{err}");
    let err = IssueRequest::operator("al/ice", OperatorRole::Admin).unwrap_err();
    assert!(matches!(
        err,
        CaError::Identity(IdentityError::InvalidOperatorName { .. })
    ));

    // Identities built from the enum directly are checked too.
    let forged = IssueRequest {
        identity: Identity::Operator {
            name: "../../etc".into(),
            role: OperatorRole::Admin,
        },
        dns_names: vec![],
        validity_days: 1,
    };
    assert!(matches!(issue(forged), CaError::Identity(_)));

    assert!(matches!(
        issue(IssueRequest::server(vec![])),
        CaError::NoDnsName
    ));
    let err = issue(IssueRequest::server(vec!["bad name".into()]));
    assert!(matches!(err, CaError::BadDnsName { .. }), "{err}");
    let mut agent = IssueRequest::agent("123456789012").unwrap();
    agent.dns_names.push("agent.example".into());
    assert!(matches!(
        issue(agent.clone()),
        CaError::DnsNameOnClient { .. }
    ));
    agent.dns_names.clear();
    assert!(matches!(
        issue(agent.clone().with_validity_days(0)),
        CaError::BadValidity { .. }
    ));
    let err = issue(agent.clone().with_validity_days(20 * 365));
    assert!(
        err.to_string().contains("outlast the ca certificate"),
        "{err}"
    );
    let err = ca
        .issue(agent, ca.not_after() + TimeDelta::seconds(1))
        .unwrap_err();
    assert!(matches!(err, CaError::CaExpired { .. }), "{err}");
    assert!(!ca.issued_dir().join("agent-123456789012.key").exists());
}

/// Serves one TLS connection with the issued server certificate and dials it with the issued
/// agent certificate; returns the identity the server read from the client certificate.
async fn handshake(ca_dir: &Path, server: &IssuedCert, client: &IssuedCert) -> Identity {
    let files = |cert: &IssuedCert| TlsFiles {
        ca_cert: ca_dir.join(CA_CERT_FILE),
        cert: cert.path_cert.clone(),
        key: cert.path_key.clone(),
    };
    let server_config = files(server).load().unwrap().server_config().unwrap();
    let client_config = files(client).load().unwrap().client_config().unwrap();

    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(server_config));
    let serving = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        let mut stream = acceptor.accept(tcp).await.unwrap();
        let identity = tls::identity_of_peer(stream.get_ref().1.peer_certificates()).unwrap();
        let mut ping = [0; 4];
        stream.read_exact(&mut ping).await.unwrap();
        stream.write_all(b"pong").await.unwrap();
        stream.shutdown().await.unwrap();
        identity
    });
    let tcp = TcpStream::connect(addr).await.unwrap();
    let name = ServerName::try_from("coordinator.example").unwrap();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(client_config));
    let mut stream = connector.connect(name, tcp).await.unwrap();
    stream.write_all(b"ping").await.unwrap();
    let mut pong = [0; 4];
    stream.read_exact(&mut pong).await.unwrap();
    assert_eq!(&pong, b"pong");
    tokio::time::timeout(Duration::from_secs(20), serving)
        .await
        .unwrap()
        .unwrap()
}

#[tokio::test]
async fn issued_certificates_speak_mutual_tls() {
    let dir = tempfile::tempdir().unwrap();
    let now = now();
    let ca = Ca::init(dir.path(), now).unwrap();
    let server = ca
        .issue(
            IssueRequest::server(vec!["coordinator.example".into()]),
            now,
        )
        .unwrap();
    let agent = ca
        .issue(IssueRequest::agent("123456789012").unwrap(), now)
        .unwrap();
    let operator = ca.issue(
        IssueRequest::operator("ops.bot", OperatorRole::Operator).unwrap(),
        now,
    );
    let operator = operator.unwrap();

    let seen = handshake(dir.path(), &server, &agent).await;
    assert_eq!(
        seen,
        Identity::Agent {
            account_id: "123456789012".into()
        }
    );
    let seen = handshake(dir.path(), &server, &operator).await;
    assert_eq!(
        seen,
        Identity::Operator {
            name: "ops.bot".into(),
            role: OperatorRole::Operator
        }
    );
}

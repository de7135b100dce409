//! Tests of identity URIs, roles and reading the identity of a certificate.

use rcgen::{CertificateParams, KeyPair, SanType};

use super::*;

fn agent(account_id: &str) -> Identity {
    Identity::Agent {
        account_id: account_id.to_owned(),
    }
}

fn operator(name: &str, role: OperatorRole) -> Identity {
    Identity::Operator {
        name: name.to_owned(),
        role,
    }
}

#[test]
fn uris_round_trip() {
    let cases = [
        (agent("123456789012"), "whittle://account/123456789012"),
        (
            operator("alice", OperatorRole::Admin),
            "whittle://operator/alice?role=admin",
        ),
        (
            operator("ci.bot_2-x", OperatorRole::Viewer),
            "whittle://operator/ci.bot_2-x?role=viewer",
        ),
        (
            operator("bob", OperatorRole::Operator),
            "whittle://operator/bob?role=operator",
        ),
        (Identity::Coordinator, "whittle://coordinator"),
    ];
    for (identity, uri) in cases {
        assert_eq!(identity.to_uri(), uri);
        assert_eq!(Identity::from_uri(uri), Ok(identity.clone()), "{uri}");
        assert_eq!(identity.to_string().parse::<Identity>(), Ok(identity));
    }
}

#[test]
fn bad_uris_are_refused() {
    let cases = [
        "",
        "https://account/123456789012",
        "whittle://account/12345678901",
        "whittle://account/1234567890123",
        "whittle://account/12345678901a",
        "whittle://account/123456789012/",
        "whittle://account/123456789012?role=admin",
        "whittle://account/",
        "WHITTLE://account/123456789012",
        "whittle://operator/alice",
        "whittle://operator/alice?role=root",
        "whittle://operator/alice?role=Admin",
        "whittle://operator/alice?role=admin&x=1",
        "whittle://operator/alice?x=1&role=admin",
        "whittle://operator/?role=admin",
        "whittle://operator/al ice?role=admin",
        "whittle://operator/al/ice?role=admin",
        "whittle://operator/alicé?role=admin",
        "whittle://coordinator/",
        "whittle://coordinator?x",
        "whittle://agent/123456789012",
    ];
    for uri in cases {
        assert!(Identity::from_uri(uri).is_err(), "{uri:?} was accepted");
    }
    let long = format!("whittle://operator/{}?role=admin", "a".repeat(65));
    assert!(Identity::from_uri(&long).is_err());
    let longest = format!("whittle://operator/{}?role=admin", "a".repeat(64));
    assert!(Identity::from_uri(&longest).is_ok());
}

#[test]
fn errors_name_the_input() {
    let err = Identity::from_uri("whittle://account/42")
        .err()
        .map(|e| e.to_string());
    assert_eq!(
        err.as_deref(),
        Some("invalid account id \"42\": expected 12 digits")
    );
    let err = Identity::from_uri("whittle://operator/a?role=root")
        .err()
        .map(|e| e.to_string());
    assert_eq!(
        err.as_deref(),
        Some("unknown operator role \"root\": expected viewer, operator or admin")
    );
    let err = Identity::from_uri("spiffe://x")
        .err()
        .map(|e| e.to_string());
    assert_eq!(
        err.as_deref(),
        Some("invalid identity uri \"spiffe://x\": not a whittle:// uri")
    );
}

#[test]
fn roles_are_ordered() {
    use OperatorRole::*;
    assert!(Admin.allows(Admin) && Admin.allows(Operator) && Admin.allows(Viewer));
    assert!(Operator.allows(Operator) && Operator.allows(Viewer) && !Operator.allows(Admin));
    assert!(Viewer.allows(Viewer) && !Viewer.allows(Operator) && !Viewer.allows(Admin));
    for role in OperatorRole::ALL {
        assert_eq!(role.as_str().parse::<OperatorRole>(), Ok(role));
    }
}

#[test]
fn checked_constructors_validate() {
    assert_eq!(Identity::agent("123456789012"), Ok(agent("123456789012")));
    assert!(Identity::agent("1234").is_err());
    assert!(Identity::operator("", OperatorRole::Viewer).is_err());
    assert!(agent("x").validate().is_err());
    assert!(operator("a b", OperatorRole::Admin).validate().is_err());
    assert!(Identity::Coordinator.validate().is_ok());
    assert_eq!(agent("123456789012").account_id(), Some("123456789012"));
    assert_eq!(
        operator("a", OperatorRole::Admin).operator_role(),
        Some(OperatorRole::Admin)
    );
    assert_eq!(Identity::Coordinator.account_id(), None);
}

fn cert_with_sans(sans: Vec<SanType>) -> Vec<u8> {
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::default();
    params.subject_alt_names = sans;
    params.self_signed(&key).unwrap().der().to_vec()
}

fn uri(s: &str) -> SanType {
    SanType::URI(s.try_into().unwrap())
}

fn dns(s: &str) -> SanType {
    SanType::DnsName(s.try_into().unwrap())
}

#[test]
fn identity_is_read_from_the_uri_san() {
    let der = cert_with_sans(vec![
        dns("agent.example"),
        uri("https://example.com/x"),
        uri("whittle://account/123456789012"),
    ]);
    assert_eq!(Identity::from_certificate(&der), Ok(agent("123456789012")));

    let der = cert_with_sans(vec![
        dns("coordinator.example"),
        uri("whittle://coordinator"),
    ]);
    assert_eq!(Identity::from_certificate(&der), Ok(Identity::Coordinator));
}

#[test]
fn certificates_without_exactly_one_valid_whittle_san_are_refused() {
    let none = cert_with_sans(vec![dns("whittle.example"), uri("https://whittle.example")]);
    assert_eq!(
        Identity::from_certificate(&none),
        Err(IdentityError::NoWhittleUri)
    );

    let no_san = cert_with_sans(vec![]);
    assert_eq!(
        Identity::from_certificate(&no_san),
        Err(IdentityError::NoWhittleUri)
    );

    let two = cert_with_sans(vec![
        uri("whittle://account/123456789012"),
        uri("whittle://account/210987654321"),
    ]);
    assert_eq!(
        Identity::from_certificate(&two),
        Err(IdentityError::SeveralWhittleUris {
            first: "whittle://account/123456789012".to_owned(),
            second: "whittle://account/210987654321".to_owned(),
        })
    );

    let shouting = cert_with_sans(vec![uri("WHITTLE://account/123456789012")]);
    assert!(matches!(
        Identity::from_certificate(&shouting),
        Err(IdentityError::InvalidUri { .. })
    ));

    let bad_account = cert_with_sans(vec![uri("whittle://account/1")]);
    assert!(matches!(
        Identity::from_certificate(&bad_account),
        Err(IdentityError::InvalidAccountId { .. })
    ));
}

#[test]
fn garbage_is_not_a_certificate() {
    assert!(matches!(
        Identity::from_certificate(b"not a certificate"),
        Err(IdentityError::NotACertificate { .. })
    ));
    assert!(matches!(
        Identity::from_certificate(&[]),
        Err(IdentityError::NotACertificate { .. })
    ));
    let mut der = cert_with_sans(vec![uri("whittle://coordinator")]);
    der.push(0);
    assert!(matches!(
        Identity::from_certificate(&der),
        Err(IdentityError::NotACertificate { .. })
    ));
}

//! What goes into the certificates the CA signs: names, validity and usages.
//!
//! - The CA: `CA:TRUE, pathlen:0` (it signs leaves only), key usage keyCertSign and cRLSign.
//! - Server certificates (the coordinator): the DNS names (or IP addresses) it is reached at,
//!   the URI `whittle://coordinator`, extended key usage serverAuth only.
//! - Client certificates (agents, operators): the identity's URI only, clientAuth only.
//!
//! Every certificate starts [`CLOCK_SKEW`] before `now`, so that a peer whose clock is a little
//! behind accepts it at once.

use std::net::IpAddr;

use chrono::{DateTime, TimeDelta, Utc};
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyUsagePurpose, SanType,
};
use rustls_pki_types::DnsName;
use time::OffsetDateTime;
use whittle_proto::identity::Identity;

use super::{CaError, IssueRequest};

/// How long before `now` a certificate starts.
pub const CLOCK_SKEW: TimeDelta = TimeDelta::minutes(5);

const ORGANIZATION: &str = "Whittle";

/// The CA's own certificate, valid from `now` for `days`.
pub(super) fn ca(now: DateTime<Utc>, days: u32) -> Result<CertificateParams, CaError> {
    let mut params = CertificateParams::default();
    params.not_before = offset(now - CLOCK_SKEW, now)?;
    params.not_after = offset(add_days(now, days)?, now)?;
    params.distinguished_name = name(&format!("Whittle CA {}", now.format("%Y-%m-%d")));
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    Ok(params)
}

/// A leaf certificate for `request`, checked: `not_after` is when it ends.
pub(super) fn leaf(
    request: &IssueRequest,
    now: DateTime<Utc>,
    not_after: DateTime<Utc>,
) -> Result<CertificateParams, CaError> {
    let IssueRequest {
        identity,
        dns_names,
        validity_days: _,
    } = request;
    identity.validate()?;
    let mut params = CertificateParams::default();
    params.not_before = offset(now - CLOCK_SKEW, now)?;
    params.not_after = offset(not_after, now)?;
    params.is_ca = IsCa::ExplicitNoCa;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.use_authority_key_identifier_extension = true;
    let common_name = match identity {
        Identity::Coordinator => {
            let first = dns_names.first().ok_or(CaError::NoDnsName)?;
            params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
            for dns_name in dns_names {
                params.subject_alt_names.push(server_name(dns_name)?);
            }
            first.clone()
        }
        Identity::Agent { account_id } => format!("whittle agent {account_id}"),
        Identity::Operator { name, role: _ } => format!("whittle operator {name}"),
    };
    if !identity.is_server() {
        if !dns_names.is_empty() {
            return Err(CaError::DnsNameOnClient {
                identity: identity.clone(),
            });
        }
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    }
    let uri = rcgen::string::Ia5String::try_from(identity.to_uri()).map_err(|source| {
        CaError::Generate {
            what: "identity uri",
            source,
        }
    })?;
    params.subject_alt_names.push(SanType::URI(uri));
    params.distinguished_name = name(&common_name);
    Ok(params)
}

/// `now` plus `days`, or an error if that is beyond any calendar.
pub(super) fn add_days(now: DateTime<Utc>, days: u32) -> Result<DateTime<Utc>, CaError> {
    TimeDelta::try_days(i64::from(days))
        .and_then(|delta| now.checked_add_signed(delta))
        .ok_or(CaError::BadValidity {
            days,
            problem: "too far in the future".to_owned(),
        })
}

/// A point in time in rcgen's type.
fn offset(at: DateTime<Utc>, now: DateTime<Utc>) -> Result<OffsetDateTime, CaError> {
    OffsetDateTime::from_unix_timestamp(at.timestamp()).map_err(|_| CaError::BadTime { now })
}

fn name(common_name: &str) -> DistinguishedName {
    let mut name = DistinguishedName::new();
    name.push(DnType::OrganizationName, ORGANIZATION);
    name.push(DnType::CommonName, common_name);
    name
}

/// A DNS name or an IP address the coordinator is reached at, as a SAN.
fn server_name(dns_name: &str) -> Result<SanType, CaError> {
    if let Ok(ip) = dns_name.parse::<IpAddr>() {
        return Ok(SanType::IpAddress(ip));
    }
    let bad = || CaError::BadDnsName {
        name: dns_name.to_owned(),
    };
    DnsName::try_from(dns_name).map_err(|_| bad())?;
    let ia5 = rcgen::string::Ia5String::try_from(dns_name).map_err(|_| bad())?;
    Ok(SanType::DnsName(ia5))
}

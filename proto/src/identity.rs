//! Who a certificate speaks for.
//!
//! Every certificate of a Whittle fleet carries exactly one `whittle://` URI in its subject
//! alternative names, and that URI is the only thing the coordinator trusts about a caller
//! (design invariant 6: an agent's account comes from its certificate, never from a field in
//! a message):
//!
//! | identity | URI SAN |
//! | --- | --- |
//! | the agent of one AWS account | `whittle://account/123456789012` |
//! | an operator with a role | `whittle://operator/alice?role=admin` |
//! | the coordinator (server certificates) | `whittle://coordinator` |
//!
//! Parsing is strict: a URI that is almost right is an error, never a guess.

use std::fmt;
use std::str::FromStr;

use x509_parser::extensions::GeneralName;

#[cfg(test)]
mod tests;

/// The scheme of every identity URI.
pub const URI_SCHEME: &str = "whittle";

/// The longest operator name accepted.
pub const MAX_OPERATOR_NAME_LEN: usize = 64;

const ACCOUNT_PREFIX: &str = "whittle://account/";
const OPERATOR_PREFIX: &str = "whittle://operator/";
const COORDINATOR_URI: &str = "whittle://coordinator";

/// What an operator may do, from least to most. A role allows everything a lower one does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum OperatorRole {
    /// Reads the fleet, plans, history and audit log.
    Viewer,
    /// Also approves, schedules and cancels decisions and rolls back.
    Operator,
    /// Also manages exclusion rules, campaigns and the fleet itself.
    Admin,
}

impl OperatorRole {
    /// Every role, from least to most.
    pub const ALL: [OperatorRole; 3] = [
        OperatorRole::Viewer,
        OperatorRole::Operator,
        OperatorRole::Admin,
    ];

    /// Whether this role may do what `required` may do.
    pub fn allows(self, required: OperatorRole) -> bool {
        self >= required
    }

    /// The role's name in URIs and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            OperatorRole::Viewer => "viewer",
            OperatorRole::Operator => "operator",
            OperatorRole::Admin => "admin",
        }
    }
}

impl fmt::Display for OperatorRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for OperatorRole {
    type Err = IdentityError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        OperatorRole::ALL
            .into_iter()
            .find(|role| role.as_str() == s)
            .ok_or_else(|| IdentityError::UnknownRole { role: s.to_owned() })
    }
}

/// Who a certificate speaks for.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Identity {
    /// The agent of one AWS account (12 digits).
    Agent {
        /// The account the agent runs in and may act on.
        account_id: String,
    },
    /// A person (or automation) using the operator CLI.
    Operator {
        /// `[A-Za-z0-9._-]{1,64}`.
        name: String,
        /// What the operator may do.
        role: OperatorRole,
    },
    /// The coordinator, in server certificates.
    Coordinator,
}

/// Why a URI, a certificate or a peer does not give an identity.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdentityError {
    /// The bytes are not one DER-encoded X.509 certificate.
    #[error("not an x509 certificate: {reason}")]
    NotACertificate {
        /// What the parser said.
        reason: String,
    },
    /// The subject alternative name extension cannot be read.
    #[error("certificate has an unreadable subject alternative name extension: {reason}")]
    BadSanExtension {
        /// What the parser said.
        reason: String,
    },
    /// No `whittle://` URI among the subject alternative names.
    #[error("certificate has no whittle:// uri subject alternative name")]
    NoWhittleUri,
    /// More than one `whittle://` URI: the certificate would speak for two identities.
    #[error("certificate has two whittle:// uri subject alt names {first:?} and {second:?}")]
    SeveralWhittleUris {
        /// The first one found.
        first: String,
        /// The second one found.
        second: String,
    },
    /// A URI that is not of the form of any identity.
    #[error("invalid identity uri {uri:?}: {problem}")]
    InvalidUri {
        /// The URI as given.
        uri: String,
        /// What is wrong with it.
        problem: &'static str,
    },
    /// An account id that is not 12 digits.
    #[error("invalid account id {account_id:?}: expected 12 digits")]
    InvalidAccountId {
        /// The account id as given.
        account_id: String,
    },
    /// An operator name outside `[A-Za-z0-9._-]{1,64}`.
    #[error("invalid operator name {name:?}: expected 1 to 64 of A-Z a-z 0-9 . _ -")]
    InvalidOperatorName {
        /// The name as given.
        name: String,
    },
    /// A role that is not viewer, operator or admin.
    #[error("unknown operator role {role:?}: expected viewer, operator or admin")]
    UnknownRole {
        /// The role as given.
        role: String,
    },
    /// The connection carries no client certificate (not TLS, or TLS without client auth).
    #[error("the peer presented no client certificate")]
    NoPeerCertificate,
}

impl Identity {
    /// The agent of `account_id`, checked.
    pub fn agent(account_id: impl Into<String>) -> Result<Identity, IdentityError> {
        let account_id = account_id.into();
        validate_account_id(&account_id)?;
        Ok(Identity::Agent { account_id })
    }

    /// The operator `name` with `role`, checked.
    pub fn operator(
        name: impl Into<String>,
        role: OperatorRole,
    ) -> Result<Identity, IdentityError> {
        let name = name.into();
        validate_operator_name(&name)?;
        Ok(Identity::Operator { name, role })
    }

    /// Checks the fields of a value built directly from the enum.
    pub fn validate(&self) -> Result<(), IdentityError> {
        match self {
            Identity::Agent { account_id } => validate_account_id(account_id),
            Identity::Operator { name, role: _ } => validate_operator_name(name),
            Identity::Coordinator => Ok(()),
        }
    }

    /// The URI that goes into the certificate's subject alternative names.
    pub fn to_uri(&self) -> String {
        match self {
            Identity::Agent { account_id } => format!("{ACCOUNT_PREFIX}{account_id}"),
            Identity::Operator { name, role } => format!("{OPERATOR_PREFIX}{name}?role={role}"),
            Identity::Coordinator => COORDINATOR_URI.to_owned(),
        }
    }

    /// Parses an identity URI strictly: nothing may be missing, extra or unknown.
    pub fn from_uri(uri: &str) -> Result<Identity, IdentityError> {
        let invalid = |problem| IdentityError::InvalidUri {
            uri: uri.to_owned(),
            problem,
        };
        if uri == COORDINATOR_URI {
            return Ok(Identity::Coordinator);
        }
        if let Some(account_id) = uri.strip_prefix(ACCOUNT_PREFIX) {
            return Identity::agent(account_id);
        }
        if let Some(rest) = uri.strip_prefix(OPERATOR_PREFIX) {
            let (name, query) = rest
                .split_once('?')
                .ok_or_else(|| invalid("missing ?role="))?;
            let role = query.strip_prefix("role=").ok_or_else(|| {
                invalid("the query must be exactly role=viewer, role=operator or role=admin")
            })?;
            return Identity::operator(name, role.parse()?);
        }
        if !is_whittle_uri(uri) {
            return Err(invalid("not a whittle:// uri"));
        }
        Err(invalid(
            "expected account/<id>, operator/<name>?role=<role> or coordinator after whittle://",
        ))
    }

    /// Reads the identity of a DER-encoded certificate from its one `whittle://` URI SAN.
    ///
    /// This does not verify the certificate: call it on a certificate the TLS handshake has
    /// already verified against the fleet's CA (see [`crate::tls::peer_identity`]).
    pub fn from_certificate(der: &[u8]) -> Result<Identity, IdentityError> {
        let (rest, cert) = x509_parser::parse_x509_certificate(der).map_err(|e| {
            IdentityError::NotACertificate {
                reason: e.to_string(),
            }
        })?;
        if !rest.is_empty() {
            return Err(IdentityError::NotACertificate {
                reason: format!("{} bytes after the certificate", rest.len()),
            });
        }
        let san = cert
            .subject_alternative_name()
            .map_err(|e| IdentityError::BadSanExtension {
                reason: e.to_string(),
            })?;
        let names = san
            .map(|ext| ext.value.general_names.as_slice())
            .unwrap_or_default();
        let mut found: Option<&str> = None;
        for name in names {
            let GeneralName::URI(uri) = name else {
                continue;
            };
            if !is_whittle_uri(uri) {
                continue;
            }
            if let Some(first) = found {
                return Err(IdentityError::SeveralWhittleUris {
                    first: first.to_owned(),
                    second: (*uri).to_owned(),
                });
            }
            found = Some(uri);
        }
        Identity::from_uri(found.ok_or(IdentityError::NoWhittleUri)?)
    }

    /// The account of an agent identity.
    pub fn account_id(&self) -> Option<&str> {
        match self {
            Identity::Agent { account_id } => Some(account_id),
            Identity::Operator { .. } | Identity::Coordinator => None,
        }
    }

    /// The role of an operator identity.
    pub fn operator_role(&self) -> Option<OperatorRole> {
        match self {
            Identity::Operator { role, .. } => Some(*role),
            Identity::Agent { .. } | Identity::Coordinator => None,
        }
    }

    /// Whether certificates for this identity are server certificates (the coordinator's).
    pub fn is_server(&self) -> bool {
        matches!(self, Identity::Coordinator)
    }
}

impl fmt::Display for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_uri())
    }
}

impl FromStr for Identity {
    type Err = IdentityError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Identity::from_uri(s)
    }
}

/// Checks that `account_id` is an AWS account id: exactly 12 ASCII digits.
pub fn validate_account_id(account_id: &str) -> Result<(), IdentityError> {
    if account_id.len() == 12 && account_id.bytes().all(|b| b.is_ascii_digit()) {
        Ok(())
    } else {
        Err(IdentityError::InvalidAccountId {
            account_id: account_id.to_owned(),
        })
    }
}

/// Checks that `name` is an operator name: 1 to 64 of `A-Z a-z 0-9 . _ -`.
pub fn validate_operator_name(name: &str) -> Result<(), IdentityError> {
    let allowed = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-');
    if (1..=MAX_OPERATOR_NAME_LEN).contains(&name.len()) && name.bytes().all(allowed) {
        Ok(())
    } else {
        Err(IdentityError::InvalidOperatorName {
            name: name.to_owned(),
        })
    }
}

/// Whether `uri` claims to be a Whittle identity (scheme compared without case, so that a
/// `WHITTLE://` SAN is rejected as invalid rather than silently ignored).
fn is_whittle_uri(uri: &str) -> bool {
    uri.split_once(':')
        .is_some_and(|(scheme, _)| scheme.eq_ignore_ascii_case(URI_SCHEME))
}

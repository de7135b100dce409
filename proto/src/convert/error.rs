//! The one error of every conversion from protobuf, and the small field parsers the
//! conversions share (times, account ids, change ids, required sub-messages).

use std::fmt;

use chrono::{DateTime, SecondsFormat, Utc};
use whittle_policy::change::{ChangeId, ParseChangeIdError};
use whittle_policy::settings::SettingsError;

/// A protobuf message that does not make a domain value.
///
/// Displays as the path of the field from the message converted, then the problem:
/// `ChangeRecord.created_at: "x" is not an RFC 3339 time`,
/// `AgentMessage.hello.account_id: "12" is not a 12-digit account id`.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}{path}: {problem}")]
pub struct ConvertError {
    message: &'static str,
    /// `.field`, `.map["key"]`, `.list[3]`, ... after the message name; empty for the
    /// message as a whole.
    path: String,
    problem: Problem,
}

/// What is wrong with a field.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum Problem {
    /// A required sub-message or oneof is unset, or an enum is UNSPECIFIED.
    #[error("missing")]
    Missing,
    #[error("must not be empty")]
    Empty,
    #[error("{value:?} is not an RFC 3339 time")]
    Time { value: String },
    #[error("{value:?} is not a 12-digit account id")]
    AccountId { value: String },
    #[error(transparent)]
    ChangeId(ParseChangeIdError),
    #[error("{value} is not a known {name} value")]
    UnknownEnum { name: &'static str, value: i32 },
    #[error("{key:?} appears more than once")]
    Duplicate { key: String },
    #[error(transparent)]
    Settings(SettingsError),
    /// Any other problem, in words.
    #[error("{0}")]
    Invalid(String),
}

impl ConvertError {
    /// A problem with `field` of `message` (`field` empty: the message as a whole).
    pub(crate) fn new(message: &'static str, field: &str, problem: Problem) -> ConvertError {
        ConvertError {
            message,
            path: dotted(field),
            problem,
        }
    }

    /// The same problem seen from an enclosing message: an error of `Diff` at
    /// `.changes[0].kind`, within `ChangeRecord` field `diff`, becomes
    /// `ChangeRecord.diff.changes[0].kind`.
    pub(crate) fn within(self, message: &'static str, field: &str) -> ConvertError {
        ConvertError {
            message,
            path: format!("{}{}", dotted(field), self.path),
            problem: self.problem,
        }
    }

    /// The message converted (its protobuf name).
    pub fn message(&self) -> &'static str {
        self.message
    }

    /// The field at fault, from the message converted: `before.attached[2]`.
    pub fn field(&self) -> &str {
        self.path.strip_prefix('.').unwrap_or(&self.path)
    }

    pub fn problem(&self) -> &Problem {
        &self.problem
    }
}

/// A message that does not convert is the caller's fault: `InvalidArgument`, with the
/// error's text.
impl From<ConvertError> for tonic::Status {
    fn from(e: ConvertError) -> Self {
        tonic::Status::invalid_argument(e.to_string())
    }
}

fn dotted(field: &str) -> String {
    if field.is_empty() {
        String::new()
    } else {
        format!(".{field}")
    }
}

/// A map key or list index as it appears in a path: `services["s3"]`, `changes[2]`.
pub(crate) fn key(field: &str, key: impl fmt::Debug) -> String {
    format!("{field}[{key:?}]")
}

/// A time as the wire carries it: RFC 3339 in UTC, with as many fraction digits as
/// needed to keep it exact.
pub(crate) fn time_text(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

pub(crate) fn time(
    message: &'static str,
    field: &str,
    text: &str,
) -> Result<DateTime<Utc>, ConvertError> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| {
            ConvertError::new(
                message,
                field,
                Problem::Time {
                    value: text.to_string(),
                },
            )
        })
}

pub(crate) fn opt_time(
    message: &'static str,
    field: &str,
    text: Option<String>,
) -> Result<Option<DateTime<Utc>>, ConvertError> {
    text.map(|t| time(message, field, &t)).transpose()
}

/// Whether `s` is an AWS account id: exactly 12 ASCII digits.
pub fn is_account_id(s: &str) -> bool {
    crate::identity::validate_account_id(s).is_ok()
}

pub(crate) fn account_id(
    message: &'static str,
    field: &str,
    value: String,
) -> Result<String, ConvertError> {
    if is_account_id(&value) {
        Ok(value)
    } else {
        Err(ConvertError::new(
            message,
            field,
            Problem::AccountId { value },
        ))
    }
}

pub(crate) fn change_id(
    message: &'static str,
    field: &str,
    text: &str,
) -> Result<ChangeId, ConvertError> {
    text.parse()
        .map_err(|e| ConvertError::new(message, field, Problem::ChangeId(e)))
}

pub(crate) fn non_empty(
    message: &'static str,
    field: &str,
    value: String,
) -> Result<String, ConvertError> {
    if value.is_empty() {
        Err(ConvertError::new(message, field, Problem::Empty))
    } else {
        Ok(value)
    }
}

/// A required sub-message, converted; its errors are placed under `field`.
pub(crate) fn required<P, T>(
    message: &'static str,
    field: &str,
    value: Option<P>,
) -> Result<T, ConvertError>
where
    T: TryFrom<P, Error = ConvertError>,
{
    let value = value.ok_or_else(|| ConvertError::new(message, field, Problem::Missing))?;
    nested(message, field, value)
}

/// A sub-message, converted; its errors are placed under `field`.
pub(crate) fn nested<P, T>(message: &'static str, field: &str, value: P) -> Result<T, ConvertError>
where
    T: TryFrom<P, Error = ConvertError>,
{
    T::try_from(value).map_err(|e| e.within(message, field))
}

/// Every element of a repeated sub-message, converted; errors name the index.
pub(crate) fn each<P, T>(
    message: &'static str,
    field: &str,
    values: Vec<P>,
) -> Result<Vec<T>, ConvertError>
where
    T: TryFrom<P, Error = ConvertError>,
{
    values
        .into_iter()
        .enumerate()
        .map(|(i, v)| nested(message, &key(field, i), v))
        .collect()
}

/// Reads a protobuf enum field: UNSPECIFIED (0) is missing, an unknown number an error.
pub(crate) fn enumeration<E>(
    message: &'static str,
    field: &str,
    name: &'static str,
    value: i32,
) -> Result<E, ConvertError>
where
    E: TryFrom<i32>,
{
    if value == 0 {
        return Err(ConvertError::new(message, field, Problem::Missing));
    }
    E::try_from(value)
        .map_err(|_| ConvertError::new(message, field, Problem::UnknownEnum { name, value }))
}

//! The one error type of the AWS door, and the one place SDK errors become it.
//!
//! Every failure of an IAM, access advisor or STS call is an [`AwsError`]: the
//! operation that failed (its IAM API name), a coarse [`ErrorKind`] the caller
//! can act on, and the service's message. [`ErrorKind::is_retryable`] decides
//! what the retry layer ([`crate::retry`]) tries again.

use std::fmt;

use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::display::DisplayErrorContext;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

/// What went wrong with an AWS call, as far as a caller needs to know.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// The service throttled the call (`Throttling`).
    Throttled,
    /// The role, policy, version or job does not exist (`NoSuchEntity`).
    NotFound,
    /// A quota is reached: five policy versions, policy size, attachments (`LimitExceeded`).
    LimitExceeded,
    /// IAM rejected a policy document (`MalformedPolicyDocument`).
    MalformedPolicy,
    /// Another writer changed the entity at the same time (`ConcurrentModification`).
    ConcurrentModification,
    /// The credentials may not do this, or are invalid or expired.
    AccessDenied,
    /// The entity is still in use: an attached policy, a non-default version (`DeleteConflict`).
    DeleteConflict,
    /// The entity to create exists already (`EntityAlreadyExists`).
    AlreadyExists,
    /// The request itself is invalid (`InvalidInput`, `ValidationError`).
    InvalidInput,
    /// A timeout, a connection failure, a 5xx or `ServiceFailure`: worth another try.
    Transient,
    /// Anything else.
    Other,
}

impl ErrorKind {
    /// Whether the same call may succeed if tried again later.
    pub fn is_retryable(self) -> bool {
        matches!(
            self,
            ErrorKind::Throttled | ErrorKind::Transient | ErrorKind::ConcurrentModification
        )
    }

    /// The kind of an AWS error code (`NoSuchEntity`, `Throttling`, ...).
    pub fn from_code(code: &str) -> ErrorKind {
        match code {
            "Throttling"
            | "ThrottlingException"
            | "RequestLimitExceeded"
            | "TooManyRequests"
            | "TooManyRequestsException"
            | "RequestThrottled"
            | "SlowDown" => ErrorKind::Throttled,
            "NoSuchEntity" | "NoSuchEntityException" => ErrorKind::NotFound,
            "LimitExceeded" | "LimitExceededException" => ErrorKind::LimitExceeded,
            "MalformedPolicyDocument" | "MalformedPolicyDocumentException" => {
                ErrorKind::MalformedPolicy
            }
            "ConcurrentModification" | "ConcurrentModificationException" => {
                ErrorKind::ConcurrentModification
            }
            "AccessDenied"
            | "AccessDeniedException"
            | "UnauthorizedOperation"
            | "InvalidClientTokenId"
            | "ExpiredToken"
            | "ExpiredTokenException"
            | "UnrecognizedClientException"
            | "SignatureDoesNotMatch" => ErrorKind::AccessDenied,
            "DeleteConflict" | "DeleteConflictException" => ErrorKind::DeleteConflict,
            "EntityAlreadyExists" | "EntityAlreadyExistsException" => ErrorKind::AlreadyExists,
            "InvalidInput" | "InvalidInputException" | "ValidationError" => ErrorKind::InvalidInput,
            "ServiceFailure"
            | "ServiceFailureException"
            | "InternalFailure"
            | "InternalError"
            | "ServiceUnavailable"
            | "ServiceUnavailableException"
            | "RequestTimeout"
            | "RequestTimeoutException" => ErrorKind::Transient,
            _ => ErrorKind::Other,
        }
    }

    /// A short lowercase name for messages and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Throttled => "throttled",
            ErrorKind::NotFound => "not found",
            ErrorKind::LimitExceeded => "limit exceeded",
            ErrorKind::MalformedPolicy => "malformed policy",
            ErrorKind::ConcurrentModification => "concurrent modification",
            ErrorKind::AccessDenied => "access denied",
            ErrorKind::DeleteConflict => "delete conflict",
            ErrorKind::AlreadyExists => "already exists",
            ErrorKind::InvalidInput => "invalid input",
            ErrorKind::Transient => "transient failure",
            ErrorKind::Other => "failed",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A failed AWS call.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("aws {operation} {kind}: {message}")]
pub struct AwsError {
    pub kind: ErrorKind,
    /// The IAM or STS API name, e.g. `PutRolePolicy`.
    pub operation: &'static str,
    pub message: String,
}

impl AwsError {
    pub fn new(kind: ErrorKind, operation: &'static str, message: impl Into<String>) -> AwsError {
        AwsError {
            kind,
            operation,
            message: message.into(),
        }
    }

    /// Whether the same call may succeed if tried again later.
    pub fn is_retryable(&self) -> bool {
        self.kind.is_retryable()
    }

    /// Maps any error of the AWS SDK (IAM or STS) to an [`AwsError`].
    ///
    /// Service errors are sorted by their code; timeouts, connection failures and
    /// unparseable or 5xx responses (a proxy's error page, an overloaded endpoint)
    /// are [`ErrorKind::Transient`]; a request that could not even be built is
    /// [`ErrorKind::Other`].
    pub fn from_sdk<E>(operation: &'static str, err: SdkError<E, HttpResponse>) -> AwsError
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        let kind = match &err {
            SdkError::ServiceError(service) => {
                let by_code = service.err().code().map(ErrorKind::from_code);
                match by_code {
                    Some(kind) if kind != ErrorKind::Other => kind,
                    _ if service.raw().status().is_server_error() => ErrorKind::Transient,
                    _ if service.raw().status().as_u16() == 429 => ErrorKind::Throttled,
                    _ => ErrorKind::Other,
                }
            }
            SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) => ErrorKind::Transient,
            SdkError::ResponseError(response) => {
                let status = response.raw().status();
                if status.as_u16() == 429 {
                    ErrorKind::Throttled
                } else if status.is_server_error() || status.is_success() {
                    // A 2xx that does not parse is a truncated or garbled answer.
                    ErrorKind::Transient
                } else {
                    ErrorKind::Other
                }
            }
            SdkError::ConstructionFailure(_) => ErrorKind::Other,
            _ => ErrorKind::Other,
        };
        let message = match (&err, err.code(), err.message()) {
            (SdkError::ServiceError(_), Some(code), Some(message)) => format!("{code}: {message}"),
            (SdkError::ServiceError(_), Some(code), None) => code.to_string(),
            _ => DisplayErrorContext(&err).to_string(),
        };
        AwsError::new(kind, operation, message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_map_to_kinds() {
        let cases = [
            ("Throttling", ErrorKind::Throttled),
            ("NoSuchEntity", ErrorKind::NotFound),
            ("LimitExceeded", ErrorKind::LimitExceeded),
            ("MalformedPolicyDocument", ErrorKind::MalformedPolicy),
            ("ConcurrentModification", ErrorKind::ConcurrentModification),
            ("AccessDenied", ErrorKind::AccessDenied),
            ("AccessDeniedException", ErrorKind::AccessDenied),
            ("DeleteConflict", ErrorKind::DeleteConflict),
            ("EntityAlreadyExists", ErrorKind::AlreadyExists),
            ("ServiceFailure", ErrorKind::Transient),
            ("SomethingNew", ErrorKind::Other),
        ];
        for (code, kind) in cases {
            assert_eq!(ErrorKind::from_code(code), kind, "{code}");
        }
    }

    #[test]
    fn only_throttling_transient_and_concurrency_are_retryable() {
        let retryable: Vec<ErrorKind> = [
            ErrorKind::Throttled,
            ErrorKind::NotFound,
            ErrorKind::LimitExceeded,
            ErrorKind::MalformedPolicy,
            ErrorKind::ConcurrentModification,
            ErrorKind::AccessDenied,
            ErrorKind::DeleteConflict,
            ErrorKind::AlreadyExists,
            ErrorKind::InvalidInput,
            ErrorKind::Transient,
            ErrorKind::Other,
        ]
        .into_iter()
        .filter(|k| k.is_retryable())
        .collect();
        assert_eq!(
            retryable,
            [
                ErrorKind::Throttled,
                ErrorKind::ConcurrentModification,
                ErrorKind::Transient
            ]
        );
    }

    #[test]
    fn display_names_operation_and_kind() {
        let err = AwsError::new(
            ErrorKind::NotFound,
            "GetRole",
            "NoSuchEntity: role x not found",
        );
        assert_eq!(
            err.to_string(),
            "aws GetRole not found: NoSuchEntity: role x not found"
        );
    }
}

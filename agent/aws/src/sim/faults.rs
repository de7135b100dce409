//! Fault injection and call counting for the simulated account.
//!
//! Per operation (its IAM API name): a queue of errors for the next calls, an
//! error for every call, a latency, and the number of calls made.

use std::collections::{BTreeMap, VecDeque};
use std::time::Duration;

use crate::error::{AwsError, ErrorKind};

#[derive(Debug, Default)]
pub(super) struct Faults {
    next: BTreeMap<String, VecDeque<ErrorKind>>,
    always: BTreeMap<String, ErrorKind>,
    latency: BTreeMap<String, Duration>,
    calls: BTreeMap<String, u64>,
}

impl Faults {
    pub fn fail_next(&mut self, operation: &str, kind: ErrorKind, n: usize) {
        self.next
            .entry(operation.to_string())
            .or_default()
            .extend(std::iter::repeat_n(kind, n));
    }

    pub fn fail_always(&mut self, operation: &str, kind: ErrorKind) {
        self.always.insert(operation.to_string(), kind);
    }

    pub fn set_latency(&mut self, operation: &str, latency: Duration) {
        if latency.is_zero() {
            self.latency.remove(operation);
        } else {
            self.latency.insert(operation.to_string(), latency);
        }
    }

    pub fn clear(&mut self) {
        self.next.clear();
        self.always.clear();
        self.latency.clear();
    }

    /// Counts a call and answers its latency.
    pub fn start_call(&mut self, operation: &str) -> Option<Duration> {
        *self.calls.entry(operation.to_string()).or_default() += 1;
        self.latency.get(operation).copied()
    }

    /// The injected error for this call, if any: queued ones first.
    pub fn take(&mut self, operation: &'static str) -> Option<AwsError> {
        let queued = self.next.get_mut(operation).and_then(VecDeque::pop_front);
        let kind = queued.or_else(|| self.always.get(operation).copied())?;
        Some(injected(operation, kind))
    }

    pub fn calls(&self, operation: &str) -> u64 {
        self.calls.get(operation).copied().unwrap_or(0)
    }

    pub fn all_calls(&self) -> BTreeMap<String, u64> {
        self.calls.clone()
    }

    pub fn reset_calls(&mut self) {
        self.calls.clear();
    }
}

/// An injected error, worded like the service's.
fn injected(operation: &'static str, kind: ErrorKind) -> AwsError {
    let (code, text) = match kind {
        ErrorKind::Throttled => ("Throttling", "Rate exceeded"),
        ErrorKind::NotFound => ("NoSuchEntity", "The entity cannot be found"),
        ErrorKind::LimitExceeded => ("LimitExceeded", "A quota is exceeded"),
        ErrorKind::MalformedPolicy => ("MalformedPolicyDocument", "Syntax errors in policy"),
        ErrorKind::ConcurrentModification => (
            "ConcurrentModification",
            "Multiple concurrent modifications of this entity",
        ),
        ErrorKind::AccessDenied => (
            "AccessDenied",
            "User is not authorized to perform this action",
        ),
        ErrorKind::DeleteConflict => ("DeleteConflict", "The entity is in use"),
        ErrorKind::AlreadyExists => ("EntityAlreadyExists", "The entity exists already"),
        ErrorKind::InvalidInput => ("InvalidInput", "The input is invalid"),
        ErrorKind::Transient => (
            "ServiceFailure",
            "The service failed to process the request",
        ),
        ErrorKind::Other => ("UnknownError", "Unexpected failure"),
    };
    AwsError::new(
        kind,
        operation,
        format!("{code}: {text} (injected by the simulated account)"),
    )
}

//! [`SimAccount`]: an in-memory AWS account that implements [`crate::Iam`],
//! [`crate::AccessAdvisor`] and [`crate::Sts`] with AWS-like semantics.
//!
//! - IAM rules and error codes: `NoSuchEntity` for missing roles, policies,
//!   versions and jobs; `LimitExceeded` for a sixth policy version, an
//!   oversized document or an eleventh attachment; `DeleteConflict` for
//!   deleting a default version, or a policy still attached or with other
//!   versions; `MalformedPolicyDocument`; version ids `v1`, `v2`, ... never
//!   reused; attachment counts kept; `AccessDenied` for changing AWS-managed
//!   policies. `ListRoles` leaves out tags, boundary and last use, like AWS.
//! - Access advisor jobs answer `IN_PROGRESS` to a set number of polls, then
//!   report the usage seeded for the role, observed at the clock's `now`.
//! - A [`SimClock`] dates new roles, versions and reports.
//! - Fault injection per operation (IAM API name): the next n calls fail, every
//!   call fails, or every call waits; and a counter of calls per operation.
//!
//! It is `Clone`: every clone shares one account, so a test keeps a handle while
//! the agent uses another. [`SimAccount::backdoor`] gives a handle that bypasses
//! faults and counters, for out-of-band edits ("someone changed the role").
//! No lock is held across an `.await`. Like AWS, it never retries; wrap it in
//! [`crate::Retrying`] for that.

mod advisor;
mod clock;
mod faults;
pub mod generate;
mod impls;
mod load;
mod policies;
mod roles;
mod state;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use tracing::Instrument;
use whittle_policy::Usage;
use whittle_policy::exports::AccountExport;

pub use clock::SimClock;
pub use load::SimLoadError;
pub use state::{MAX_ATTACHED_POLICIES, MAX_INLINE_SIZE, MAX_MANAGED_SIZE, MAX_POLICY_VERSIONS};

use crate::error::{AwsError, ErrorKind};
use crate::ops;
use crate::trace::{CallFields, aws_call_span};
use crate::types::RoleInfo;
use advisor::AdvisorState;
use faults::Faults;
use state::IamState;

/// A simulated AWS account. See the module documentation.
#[derive(Debug, Clone)]
pub struct SimAccount {
    shared: Arc<Shared>,
    /// `false` for a backdoor handle: no faults, latency or counting.
    tracked: bool,
}

#[derive(Debug)]
struct Shared {
    account_id: String,
    clock: SimClock,
    state: Mutex<Inner>,
}

#[derive(Debug)]
struct Inner {
    iam: IamState,
    advisor: AdvisorState,
    faults: Faults,
}

impl SimAccount {
    /// An empty account whose clock starts at 2026-01-01T00:00:00Z.
    pub fn new(account_id: &str) -> SimAccount {
        SimAccount::from_export(account_id, AccountExport::default(), BTreeMap::new())
    }

    /// An account seeded with roles and managed policies (each policy with its
    /// default version only) and access advisor usage by role name. ARNs are
    /// kept as given. The clock starts at the latest date in the seed.
    pub fn from_export(
        account_id: &str,
        export: AccountExport,
        usage: BTreeMap<String, Usage>,
    ) -> SimAccount {
        let start = seed_start(&export, &usage);
        let mut iam = IamState::new(account_id);
        iam.seed(export, start);
        let inner = Inner {
            iam,
            advisor: AdvisorState::new(usage),
            faults: Faults::default(),
        };
        SimAccount {
            shared: Arc::new(Shared {
                account_id: account_id.to_string(),
                clock: SimClock::new(start),
                state: Mutex::new(inner),
            }),
            tracked: true,
        }
    }

    pub fn account_id(&self) -> &str {
        &self.shared.account_id
    }

    /// The account's clock (shared: setting it moves every handle's time).
    pub fn clock(&self) -> SimClock {
        self.shared.clock.clone()
    }

    /// A handle on the same account that bypasses fault injection, latency and
    /// call counters: for changes made "by someone else".
    pub fn backdoor(&self) -> SimAccount {
        SimAccount {
            shared: Arc::clone(&self.shared),
            tracked: false,
        }
    }

    fn with<R>(&self, f: impl FnOnce(&mut Inner) -> R) -> R {
        let mut inner = self
            .shared
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        f(&mut inner)
    }

    /// One call: counted, delayed, maybe failed by injection, then `apply`.
    async fn call<T>(
        &self,
        fields: CallFields<'_>,
        apply: impl FnOnce(&mut Inner, DateTime<Utc>) -> Result<T, AwsError>,
    ) -> Result<T, AwsError> {
        let op = fields.operation;
        let span = aws_call_span(Some(self.account_id()), fields);
        async {
            if self.tracked {
                let latency = self.with(|s| s.faults.start_call(op));
                if let Some(latency) = latency {
                    tokio::time::sleep(latency).await;
                }
            }
            let now = self.shared.clock.now();
            self.with(|s| {
                if self.tracked
                    && let Some(err) = s.faults.take(op)
                {
                    return Err(err);
                }
                apply(s, now)
            })
        }
        .instrument(span)
        .await
    }

    /// The next `n` calls of `operation` fail with `Throttling`.
    pub fn throttle_next(&self, operation: &str, n: usize) {
        self.fail_next(operation, ErrorKind::Throttled, n);
    }

    /// The next `n` calls of `operation` fail with `kind` (after any queued before).
    pub fn fail_next(&self, operation: &str, kind: ErrorKind, n: usize) {
        debug_assert!(
            ops::ALL.contains(&operation),
            "unknown operation {operation:?}"
        );
        self.with(|s| s.faults.fail_next(operation, kind, n));
    }

    /// Every call of `operation` fails with `kind`, until [`SimAccount::clear_faults`].
    pub fn fail_always(&self, operation: &str, kind: ErrorKind) {
        debug_assert!(
            ops::ALL.contains(&operation),
            "unknown operation {operation:?}"
        );
        self.with(|s| s.faults.fail_always(operation, kind));
    }

    /// Every call of `operation` takes this long (zero: no delay).
    pub fn set_latency(&self, operation: &str, latency: Duration) {
        debug_assert!(
            ops::ALL.contains(&operation),
            "unknown operation {operation:?}"
        );
        self.with(|s| s.faults.set_latency(operation, latency));
    }

    /// Removes every injected failure and latency (counters stay).
    pub fn clear_faults(&self) {
        self.with(|s| s.faults.clear());
    }

    /// How many calls of `operation` were made, failed ones included.
    pub fn calls(&self, operation: &str) -> u64 {
        self.with(|s| s.faults.calls(operation))
    }

    /// Calls made, by operation.
    pub fn call_counts(&self) -> BTreeMap<String, u64> {
        self.with(|s| s.faults.all_calls())
    }

    /// How many calls that change IAM state were made (see [`ops::WRITES`]).
    pub fn write_calls(&self) -> u64 {
        self.with(|s| ops::WRITES.iter().map(|op| s.faults.calls(op)).sum())
    }

    pub fn reset_calls(&self) {
        self.with(|s| s.faults.reset_calls());
    }

    /// Access advisor jobs answer `IN_PROGRESS` to this many polls (default 1).
    pub fn set_advisor_polls(&self, polls: u32) {
        self.with(|s| s.advisor.polls_to_complete = polls);
    }

    /// The usage access advisor reports for a role from now on.
    pub fn set_usage(&self, role_name: &str, usage: Usage) {
        self.with(|s| s.advisor.usage.insert(role_name.to_string(), usage));
    }

    /// Access advisor jobs for this role fail with `reason`.
    pub fn fail_advisor_jobs(&self, role_name: &str, reason: &str) {
        self.with(|s| {
            s.advisor
                .failing
                .insert(role_name.to_string(), reason.to_string())
        });
    }

    /// Adds a role with no policies, created now, with a fresh RoleId.
    pub fn create_role(&self, role_name: &str, path: &str) -> Result<RoleInfo, AwsError> {
        let now = self.shared.clock.now();
        self.with(|s| s.iam.create_role(role_name, path, now))
    }

    /// Deletes a role that has no policies.
    pub fn delete_role(&self, role_name: &str) -> Result<(), AwsError> {
        self.with(|s| s.iam.delete_role(role_name))
    }

    /// Edits a role's tags, permissions boundary or last use (its ARN, RoleId,
    /// name and path stay).
    pub fn edit_role(
        &self,
        role_name: &str,
        edit: impl FnOnce(&mut RoleInfo),
    ) -> Result<(), AwsError> {
        self.with(|s| s.iam.edit_role(role_name, edit))
    }

    /// The whole account now: roles with their policies, and every managed
    /// policy with its default document.
    pub fn export(&self) -> AccountExport {
        self.with(|s| s.iam.export())
    }
}

/// Where a seeded account's clock starts: the latest date in the seed.
fn seed_start(export: &AccountExport, usage: &BTreeMap<String, Usage>) -> DateTime<Utc> {
    let default = Utc
        .with_ymd_and_hms(2026, 1, 1, 0, 0, 0)
        .single()
        .unwrap_or_default();
    let roles = export
        .roles
        .iter()
        .flat_map(|r| [Some(r.create_date), r.last_used])
        .flatten();
    let observed = usage.values().map(|u| u.observed_at);
    roles.chain(observed).max().unwrap_or(default)
}

#[cfg(test)]
mod tests;

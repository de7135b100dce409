//! The agent's link to the coordinator: one long-lived gRPC stream over mutual
//! TLS, dialled out by the agent and re-dialled with jittered exponential backoff.
//!
//! On each stream the agent says Hello, reports every journal record the
//! coordinator has not acknowledged (marking it reported only when the Ack
//! arrives), reports the account's plans every `plan_interval`, and carries out
//! the coordinator's directives: exclusion rules (persisted, see [`rules`]),
//! applies, rollbacks. Each directive gets an outcome with its id.

mod directives;
pub mod planning;
pub mod rules;
mod session;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBuilder};
use whittle_aws::{AccessAdvisor, Iam, PollPolicy};
use whittle_policy::Settings;
use whittle_proto::tls::TlsPem;

use crate::engine::Engine;
use crate::journal::JournalError;

pub use rules::RuleStore;

/// Called after a directive changed the account (the CLI saves a simulated account).
pub type AfterChange = Arc<dyn Fn() + Send + Sync>;

/// The account the link acts on, opened and checked by the caller.
#[derive(Clone)]
pub struct LinkAccount {
    pub account_id: String,
    pub iam: Arc<dyn Iam>,
    pub advisor: Arc<dyn AccessAdvisor>,
    pub engine: Engine,
    /// Planning settings; the exclusion rules' action patterns are added per role.
    pub settings: Settings,
    /// Roles never changed (the agent's own role), with the reason.
    pub protected: BTreeMap<String, String>,
    pub poll: PollPolicy,
    /// Where `exclusions.json` is kept (the journal's directory).
    pub data_dir: PathBuf,
    pub after_change: Option<AfterChange>,
}

impl std::fmt::Debug for LinkAccount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LinkAccount")
            .field("account_id", &self.account_id)
            .field("data_dir", &self.data_dir)
            .finish_non_exhaustive()
    }
}

/// How to reach the coordinator and how often to plan.
#[derive(Debug, Clone)]
pub struct LinkSettings {
    /// `https://host:port`.
    pub coordinator: String,
    pub tls: TlsPem,
    pub plan_interval: Duration,
    pub reconnect: Reconnect,
    pub connect_timeout: Duration,
}

/// Backoff between connection attempts; it starts over once a stream was welcomed.
#[derive(Debug, Clone)]
pub struct Reconnect {
    pub min_delay: Duration,
    pub max_delay: Duration,
    /// `None`: try for as long as the process runs.
    pub max_attempts: Option<usize>,
}

impl Default for Reconnect {
    fn default() -> Self {
        Reconnect {
            min_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(60),
            max_attempts: None,
        }
    }
}

impl Reconnect {
    fn builder(&self) -> ExponentialBuilder {
        let b = ExponentialBuilder::default()
            .with_jitter()
            .with_min_delay(self.min_delay)
            .with_max_delay(self.max_delay);
        match self.max_attempts {
            Some(n) => b.with_max_times(n),
            None => b.without_max_times(),
        }
    }
}

/// What ends a stream or the link.
#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    #[error("invalid coordinator address {url:?}: {problem}")]
    Address { url: String, problem: String },
    #[error("cannot reach the coordinator: {0}")]
    Transport(#[from] tonic::transport::Error),
    #[error("the coordinator answered {}: {}", .0.code(), .0.message())]
    Status(#[from] tonic::Status),
    #[error("the coordinator closed the stream")]
    Closed,
    #[error("the coordinator sent a bad message: {0}")]
    Protocol(#[from] whittle_proto::convert::ConvertError),
    #[error(transparent)]
    Journal(#[from] JournalError),
    #[error("exclusion rules {}: {problem}", path.display())]
    Rules { path: PathBuf, problem: String },
    #[error("gave up reconnecting after {attempts} attempts: {last}")]
    GaveUp {
        attempts: usize,
        last: Box<LinkError>,
    },
}

impl LinkError {
    /// Whether dialling again may help; the others end the agent.
    pub fn is_retryable(&self) -> bool {
        use tonic::Code;
        match self {
            LinkError::Transport(_) | LinkError::Closed | LinkError::Protocol(_) => true,
            LinkError::Status(s) => !matches!(
                s.code(),
                Code::PermissionDenied | Code::Unauthenticated | Code::Unimplemented
            ),
            LinkError::Address { .. }
            | LinkError::Journal(_)
            | LinkError::Rules { .. }
            | LinkError::GaveUp { .. } => false,
        }
    }
}

/// Keeps the link up until a fatal error (or, with `max_attempts`, until the
/// attempts are spent). The backoff starts over after each welcomed stream.
pub async fn run_link(account: LinkAccount, settings: LinkSettings) -> Result<(), LinkError> {
    let rules = RuleStore::open(&account.data_dir)?;
    let mut state = session::LinkState::default();
    let mut backoff = settings.reconnect.builder().build();
    let mut attempts = 0usize;
    loop {
        attempts += 1;
        let welcomed_before = state.welcomed;
        let err = match session::run(&account, &settings, &rules, &mut state).await {
            Ok(()) => LinkError::Closed,
            Err(e) => e,
        };
        if !err.is_retryable() {
            tracing::error!(error = %err, "link failed");
            return Err(err);
        }
        if state.welcomed > welcomed_before {
            backoff = settings.reconnect.builder().build();
            attempts = 0;
        }
        let Some(delay) = backoff.next() else {
            return Err(LinkError::GaveUp {
                attempts,
                last: Box::new(err),
            });
        };
        tracing::warn!(error = %err, delay_ms = delay.as_millis(), "link down; reconnecting");
        tokio::time::sleep(delay).await;
    }
}

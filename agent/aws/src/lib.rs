//! The narrow door between Whittle and AWS.
//!
//! - [`Iam`], [`AccessAdvisor`] and [`Sts`]: small async traits in the project's
//!   own types ([`whittle_policy::Role`], [`whittle_policy::Usage`], ...), used
//!   as `Arc<dyn Iam>`; errors are [`AwsError`] with an [`ErrorKind`].
//! - [`sdk::SdkAws`]: the adapter on `aws-sdk-iam` and `aws-sdk-sts`.
//! - [`sim::SimAccount`]: an in-memory account with AWS-like semantics, a clock,
//!   fault injection and call counters, for tests, demos and scale runs.
//! - [`retry`]: the one retry layer (backon, exponential backoff with jitter);
//!   [`Retrying`] puts it around any implementation.
//! - [`advisor::fetch_usage`]: generate an access advisor report and poll it.
//! - [`inventory`]: read a role or the whole account into the algebra's types.
//!
//! Architecture Invariant: this is the only crate that depends on `aws-sdk-*`,
//! and no SDK type appears in its public API.

pub mod advisor;
pub mod api;
pub mod error;
pub mod inventory;
pub mod ops;
pub mod rate;
pub mod retry;
mod retrying;
pub mod sdk;
pub mod sim;
mod trace;
pub mod types;

pub use advisor::{PollPolicy, fetch_usage};
pub use api::{AccessAdvisor, Iam, Sts};
pub use error::{AwsError, ErrorKind};
pub use rate::{RateLimited, WriteRate};
pub use retry::RetryPolicy;
pub use retrying::Retrying;
pub use sdk::{SdkAws, SdkSettings, StaticCredentials};
pub use sim::{SimAccount, SimClock};
pub use types::{CallerIdentity, LastAccessedJob, PolicyInfo, PolicyVersionInfo, RoleInfo};

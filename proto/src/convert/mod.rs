//! Protobuf messages to and from domain types, in one place.
//!
//! Domain to protobuf is infallible (`From`); protobuf to domain (`TryFrom`) checks
//! every field and fails with a [`ConvertError`] naming the field's path and the
//! problem: `ChangeRecord.created_at: "x" is not an RFC 3339 time`. Every message is
//! destructured without `..`, so a field added to a `.proto` file or a domain type is
//! a compile error here until it is converted.
//!
//! - `whittle-policy` types: `RoleState`, `Change`, `Diff` ([`state`]),
//!   `ChangeRecord`, `ChangeKind`, `ChangeState` ([`change`]), `Role`,
//!   `ManagedPolicy`, `Usage`, `Settings` ([`model`]).
//! - Wire-only domain types defined here: [`PlanInputs`], [`PlanSummary`] ([`plan`]);
//!   [`ExclusionRule`] and its [`Selector`] ([`exclusion`]); the agent protocol's
//!   messages ([`agent`], [`directive`]); operator queries ([`admin`]).
//!
//! Times travel as RFC 3339 strings in UTC, with as many fraction digits as needed
//! to come back exactly.

pub mod admin;
pub mod agent;
pub mod change;
pub mod coverage;
pub mod directive;
mod error;
pub mod exclusion;
pub mod model;
pub mod plan;
pub mod state;

pub use admin::{AccountRollback, AuditQuery, HistoryQuery};
pub use agent::{AgentMessage, DirectiveOutcome, Hello, Inventory, Refusal, Report, ReportBody};
pub use directive::{
    ApplyDecision, CoordinatorMessage, Directive, DirectiveAction, RollbackOrder, RollbackTarget,
    Welcome,
};
pub use error::{ConvertError, Problem, is_account_id};
pub use exclusion::{ExclusionRule, ExclusionRules, NewExclusion, Selector};
pub use plan::{PlanInputs, PlanSummary};

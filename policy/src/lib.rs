//! The IAM policy algebra of Whittle.
//!
//! Parse IAM policy documents ([`document`]), look actions up in the embedded
//! action catalogue ([`catalogue`]) and expand wildcards ([`expand`]), read
//! usage from AWS exports ([`exports`]), decide per action whether it is unused
//! ([`decision`]), plan a role ([`plan`]) with its rewritten documents
//! ([`rewrite`]) and the change as an invertible diff ([`diff`]), and render a
//! plan for people and machines ([`report`]).
//!
//! Architecture Invariant: this crate does no I/O, reads no clock and spawns no
//! task; the caller passes `now`. Bad input is a value (an error or a
//! diagnostic), never a panic.

pub mod catalogue;
pub mod change;
pub mod decision;
pub mod diff;
pub mod document;
pub mod expand;
pub mod exports;
pub mod fingerprint;
pub mod glob;
pub mod model;
pub mod plan;
pub mod report;
pub mod rewrite;
pub mod settings;

pub use catalogue::{ActionId, Catalogue};
pub use decision::Reason;
pub use diff::{Change, Diff, RoleState};
pub use document::PolicyDocument;
pub use model::{ManagedPolicy, Role, ServiceUsage, Usage};
pub use plan::{Planner, RolePlan};
pub use settings::Settings;

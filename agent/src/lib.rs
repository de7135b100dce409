//! The Whittle agent: collects one account's roles, policies and usage, plans
//! removals with `whittle-policy`, applies them behind a write-ahead journal and
//! rolls them back.

pub mod cli;
pub mod collect;
pub mod engine;
pub mod exports;
pub mod journal;
pub mod render;

//! The central server of a Whittle fleet: the org-wide store of accounts, plans,
//! decisions, exclusion rules and change history, served to agents and operators
//! over mutual TLS; and its certificate authority.

pub mod ca;
pub mod cli;
pub mod server;
pub mod store;

//! The wire between Whittle's agents, its coordinator and its operators.
//!
//! This crate will hold the versioned `.proto` packages (`whittle.agent.v1`,
//! `whittle.admin.v1`), the generated tonic/prost code, the conversions between
//! protobuf messages and `whittle-policy` types, and the mTLS identities carried in
//! certificates. It is empty until the coordinator exists.

//! The wire between Whittle's agents, its coordinator and its operators.
//!
//! - [`agent::v1`], [`admin::v1`] and [`types::v1`]: the generated tonic/prost
//!   code of the versioned packages `whittle.agent.v1` (the agent's one stream),
//!   `whittle.admin.v1` (operators) and `whittle.types.v1` (domain messages both
//!   use), from `proto/whittle/**.proto`, compiled at build time with protox: no
//!   system `protoc`.
//! - [`convert`]: protobuf <-> `whittle-policy` types, in one place, with typed
//!   errors naming the field.
//! - [`identity`]: who a certificate speaks for (an account's agent, an operator
//!   with a role, the coordinator), carried in a URI SAN.
//! - [`tls`]: rustls configurations for mutual TLS and reading the peer identity.
//! - [`telemetry`]: logs and traces for the binaries (`tracing`, OTLP export when
//!   configured) and the W3C trace context carried in gRPC metadata.

pub mod convert;
pub mod identity;
pub mod telemetry;
pub mod tls;

/// Generated code of `whittle.types.v1`: domain messages shared by both protocols.
pub mod types {
    pub mod v1 {
        #![allow(
            missing_docs,
            clippy::all,
            clippy::pedantic,
            missing_debug_implementations
        )]
        tonic::include_proto!("whittle.types.v1");
    }
}

/// Generated code of `whittle.agent.v1`.
pub mod agent {
    pub mod v1 {
        #![allow(
            missing_docs,
            clippy::all,
            clippy::pedantic,
            missing_debug_implementations
        )]
        tonic::include_proto!("whittle.agent.v1");
    }
}

/// Generated code of `whittle.admin.v1`.
pub mod admin {
    pub mod v1 {
        #![allow(
            missing_docs,
            clippy::all,
            clippy::pedantic,
            missing_debug_implementations
        )]
        tonic::include_proto!("whittle.admin.v1");
    }
}

/// The largest gRPC message either end accepts or sends: 64 MiB. A plan lists every action a
/// role is granted with its reason, so the plan of a role that grants almost every AWS action is
/// several MiB; tonic's default of 4 MiB would drop such an agent's stream.
pub const MAX_MESSAGE_BYTES: usize = 64 * 1024 * 1024;

//! Generates the tonic/prost code of the `.proto` files under `proto/`.
//!
//! The files are parsed with protox (pure Rust), so building needs no system
//! `protoc`. Maps become `BTreeMap`s: deterministic order on the wire and the same
//! map type as the domain.
//!
//! The clients get no `connect(dst)` constructor (`build_transport(false)`): it would
//! clash with the `AgentService.Connect` rpc, and every client dials over mutual TLS
//! anyway, with `Client::new(channel)` on a channel built by the caller.

use std::error::Error;

const INCLUDE: &str = "proto";

const FILES: [&str; 3] = [
    "proto/whittle/types/v1/types.proto",
    "proto/whittle/agent/v1/agent.proto",
    "proto/whittle/admin/v1/admin.proto",
];

fn main() -> Result<(), Box<dyn Error>> {
    println!("cargo:rerun-if-changed={INCLUDE}");
    let fds = protox::compile(FILES, [INCLUDE])?;
    tonic_prost_build::configure()
        .btree_map(".")
        .build_transport(false)
        .compile_fds(fds)?;
    Ok(())
}

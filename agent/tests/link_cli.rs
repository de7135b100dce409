//! `whittle-agent run`: the daemon dials the coordinator given by its flags, with
//! its TLS files, and says Hello for the simulated example account.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod link_fake;
mod support;

use std::process::{Command, Stdio};

use link_fake::Coordinator;
use whittle_proto::convert::AgentMessage;

/// Kills the daemon however the test ends.
struct Daemon(std::process::Child);

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn run_dials_the_coordinator_and_says_hello() {
    let mut coordinator = Coordinator::start().await;
    let dir = tempfile::tempdir().unwrap();
    let file = |name: &str, pem: &[u8]| {
        let path = dir.path().join(name);
        std::fs::write(&path, pem).unwrap();
        path
    };
    let ca = file("ca.pem", &coordinator.agent_tls.ca_cert);
    let cert = file("agent.pem", &coordinator.agent_tls.cert);
    let key = file("agent.key", &coordinator.agent_tls.key);
    let child = Command::new(env!("CARGO_BIN_EXE_whittle-agent"))
        .arg("run")
        .arg("--coordinator")
        .arg(&coordinator.url)
        .arg("--tls-ca")
        .arg(&ca)
        .arg("--tls-cert")
        .arg(&cert)
        .arg("--tls-key")
        .arg(&key)
        .arg("--simulate")
        .arg(support::example())
        .arg("--data-dir")
        .arg(dir.path().join("data"))
        .arg("--plan-interval")
        .arg("600")
        .env_remove("WHITTLE_AGENT_CONFIG")
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let _daemon = Daemon(child);
    let mut conn = coordinator.accept().await;
    match conn.recv().await {
        AgentMessage::Hello(h) => {
            assert_eq!(h.account_id, "111122223333");
            assert!(h.journal_empty);
        }
        other => panic!("expected Hello first, got {other:?}"),
    }
}

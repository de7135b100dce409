//! `whittle-coordinator ca ...` as an administrator runs it.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;

use whittle_proto::identity::{Identity, OperatorRole};

fn run(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_whittle-coordinator"))
        .args(args)
        .output()
        .unwrap()
}

fn identity_in(path: &std::path::Path) -> Identity {
    let pem = std::fs::read_to_string(path).unwrap();
    let b64: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    let der = decode_base64(&b64);
    Identity::from_certificate(&der).unwrap()
}

/// A small base64 decoder, enough for PEM bodies in a test.
fn decode_base64(s: &str) -> Vec<u8> {
    let table = |c: u8| match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' => 62,
        _ => 63,
    };
    let bytes: Vec<u8> = s.bytes().filter(|b| *b != b'=').map(table).collect();
    bytes
        .chunks(4)
        .flat_map(|c| {
            let n = c.iter().fold(0u32, |acc, v| (acc << 6) | u32::from(*v)) << (6 * (4 - c.len()));
            let all = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
            all.into_iter().take(c.len() * 3 / 4)
        })
        .collect()
}

#[test]
fn init_and_issue_every_kind_of_identity() {
    let tmp = tempfile::tempdir().unwrap();
    let ca = tmp.path().join("ca");
    let ca = ca.to_str().unwrap();
    assert!(run(&["ca", "init", "--dir", ca]).status.success());
    assert!(
        run(&["ca", "issue", "server", "--dir", ca, "--dns", "localhost"])
            .status
            .success()
    );
    assert!(
        run(&[
            "ca",
            "issue",
            "agent",
            "--dir",
            ca,
            "--account",
            "111122223333"
        ])
        .status
        .success()
    );
    let out = run(&[
        "ca", "issue", "operator", "--dir", ca, "--name", "alice", "--role", "viewer",
    ]);
    assert!(out.status.success());
    let issued = tmp.path().join("ca/issued");
    assert_eq!(
        identity_in(&issued.join("coordinator.pem")),
        Identity::Coordinator
    );
    assert_eq!(
        identity_in(&issued.join("agent-111122223333.pem")),
        Identity::Agent {
            account_id: "111122223333".into()
        }
    );
    assert_eq!(
        identity_in(&issued.join("operator-alice.pem")),
        Identity::Operator {
            name: "alice".into(),
            role: OperatorRole::Viewer
        }
    );
}

#[test]
fn mistakes_get_clear_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let ca = tmp.path().join("ca");
    let ca = ca.to_str().unwrap();
    let out = run(&[
        "ca",
        "issue",
        "agent",
        "--dir",
        ca,
        "--account",
        "111122223333",
    ]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot use the CA in"));
    assert!(run(&["ca", "init", "--dir", ca]).status.success());
    let out = run(&["ca", "init", "--dir", ca]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("refusing to overwrite"));
    let out = run(&["ca", "issue", "agent", "--dir", ca, "--account", "12"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("12 digits"));
    let out = run(&[
        "ca", "issue", "operator", "--dir", ca, "--name", "bob", "--role", "root",
    ]);
    assert!(!out.status.success());
}

//! `scripts/fleet-demo` end to end, on a small organisation: it builds, starts a fleet,
//! runs a campaign to completion, rolls an account back and stops everything.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: failing loudly is the point

use std::io::{Read, Seek};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The demo runs for under a minute on this organisation. It uses the binaries the test
/// run built (building them again here, with other features, would replace them under the
/// other tests' feet).
const LIMIT: Duration = Duration::from_secs(600);

#[test]
fn the_fleet_demo_runs_a_campaign_and_a_rollback_and_stops() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let dir = tempfile::TempDir::new().unwrap();
    let work = dir.path().join("demo");
    let mut output = tempfile::tempfile().unwrap();
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"));
    let bin_dir = target.join("debug");
    for name in ["whittle", "whittle-agent", "whittle-coordinator"] {
        assert!(
            bin_dir.join(name).is_file(),
            "{name} is missing in {}: run `cargo build --bins` first",
            bin_dir.display()
        );
    }
    let mut child = Command::new(root.join("scripts/fleet-demo"))
        .env("WHITTLE_DEMO_BIN_DIR", &bin_dir)
        .env("WHITTLE_DEMO_DIR", &work)
        .env("WHITTLE_DEMO_ACCOUNTS", "3")
        .env("WHITTLE_DEMO_ROLES", "20")
        .stdin(Stdio::null())
        .stdout(output.try_clone().unwrap())
        .stderr(output.try_clone().unwrap())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + LIMIT;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            // SIGKILL the script; its trap cannot run, so stop the fleet it recorded.
            child.kill().unwrap();
            let _ = Command::new(root.join("scripts/fleet-demo"))
                .arg("--stop")
                .env("WHITTLE_DEMO_DIR", &work)
                .status();
            panic!("scripts/fleet-demo did not finish within {LIMIT:?}");
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let mut text = String::new();
    output.rewind().unwrap();
    output.read_to_string(&mut text).unwrap();
    assert!(
        status.success(),
        "scripts/fleet-demo failed ({status}):\n{text}"
    );
    for expected in [
        "== 1. The organisation",
        "REMOVABLE NOW",
        "ROLLED BACK",
        "An exclusion rule for break-glass roles",
        "tag:whittle:break-glass=true",
        "completed",
        "Emergency rollback of account",
        "change(s) rolled back",
        "The organisation at the end",
        "the fleet is stopped",
    ] {
        assert!(text.contains(expected), "no {expected:?} in:\n{text}");
    }
    assert!(
        !work.join("pids").exists(),
        "every process the demo started was stopped"
    );
}

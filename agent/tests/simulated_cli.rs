//! The agent's commands as a user runs them from the README, against the
//! example account in simulated mode: plan, apply (dry run, then --yes),
//! history, rollback of one role, rollback of everything since a time.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;
use whittle_policy::exports::parse_authorization_details;

fn example() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/examples/account-111122223333")
}

fn agent(data: &Path, args: &[&str]) -> Output {
    let sim = example();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_whittle-agent"));
    cmd.args(&args[..1]).arg("--data-dir").arg(data);
    if args[0] != "history" {
        // The highest write rate: these tests check what changes, not how
        // fast; at the default of 3/s the writes below would take seconds.
        cmd.arg("--simulate")
            .arg(&sim)
            .args(["--now", "2026-11-20T12:00:00Z"])
            .args(["--iam-writes-per-second", "100"]);
    }
    cmd.args(&args[1..]).output().unwrap()
}

fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "stderr: {}\nstdout: {}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8(out.stdout.clone()).unwrap()
}

/// The simulated account as it is now, from its state file.
fn account(data: &Path) -> whittle_policy::exports::AccountExport {
    let text =
        std::fs::read_to_string(data.join("simulated-account/authorization-details.json")).unwrap();
    let mut a = parse_authorization_details(&text).unwrap();
    // Attachment order means nothing to IAM.
    for r in &mut a.roles {
        r.attached_policies.sort();
    }
    a
}

#[test]
fn plan_apply_history_and_rollback_in_simulated_mode() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path();
    let plan: Value =
        serde_json::from_str(&ok(&agent(data, &["plan", "--output", "json"]))).unwrap();
    assert_eq!(plan["summary"]["roles_with_changes"], 6);
    let seeded = account(data);

    let dry = agent(data, &["apply", "--all"]);
    ok(&dry);
    assert!(String::from_utf8_lossy(&dry.stderr).contains("Dry run"));
    assert_eq!(
        account(data).roles,
        seeded.roles,
        "a dry run changes nothing"
    );

    let applied: Value = serde_json::from_str(&ok(&agent(
        data,
        &["apply", "--all", "--yes", "--output", "json"],
    )))
    .unwrap();
    let changed: Vec<&str> = applied
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o["result"] == "applied")
        .map(|o| o["role"].as_str().unwrap())
        .collect();
    assert_eq!(changed.len(), 6, "{applied}");
    let now = account(data);
    let ci = now.roles.iter().find(|r| r.name == "ci-deployer").unwrap();
    assert!(
        !ci.inline_policies["ci-deploy"].contains("ecr:"),
        "ecr:* was removed"
    );
    assert!(
        now.managed_policies.keys().any(|k| k.contains("/whittle/")),
        "a trimmed copy exists"
    );

    let history: Value =
        serde_json::from_str(&ok(&agent(data, &["history", "--output", "json"]))).unwrap();
    assert_eq!(history.as_array().unwrap().len(), 6);
    assert!(
        history
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["state"] == "applied")
    );
    let table = ok(&agent(data, &["history", "--role", "reporting-lambda"]));
    assert!(table.contains("reporting-lambda") && table.contains("applied"));

    let out = ok(&agent(data, &["rollback", "--role", "ci-deployer"]));
    assert!(out.contains("ci-deployer: change"), "{out}");
    let ci = account(data)
        .roles
        .into_iter()
        .find(|r| r.name == "ci-deployer")
        .unwrap();
    let seeded_ci = seeded
        .roles
        .iter()
        .find(|r| r.name == "ci-deployer")
        .unwrap();
    assert_eq!(
        ci.inline_policies, seeded_ci.inline_policies,
        "ci-deployer is back"
    );

    let out = ok(&agent(
        data,
        &[
            "rollback",
            "--all",
            "--since",
            "2026-11-20T00:00:00Z",
            "--output",
            "json",
        ],
    ));
    let results: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        results.as_array().unwrap().len(),
        5,
        "the five changes not yet rolled back: {results}"
    );
    let back = account(data);
    assert_eq!(back.roles, seeded.roles, "every role is back as seeded");
    assert_eq!(
        back.managed_policies.keys().collect::<Vec<_>>(),
        seeded.managed_policies.keys().collect::<Vec<_>>(),
        "the copy is gone"
    );
}

#[test]
fn the_wrong_account_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let out = agent(tmp.path(), &["plan", "--account", "999999999999"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("belong to account 111122223333, not 999999999999"),
        "{err}"
    );
    let out = agent(tmp.path(), &["plan", "--account", "12"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("12-digit"));
}

#[test]
fn rollback_and_history_explain_what_is_missing() {
    let tmp = tempfile::tempdir().unwrap();
    let out = agent(tmp.path(), &["history"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no journal in"));
    let out = agent(tmp.path(), &["rollback", "--role", "ci-deployer"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("no applied change to roll back"));
    let out = agent(tmp.path(), &["apply"]);
    assert!(!out.status.success(), "apply needs --role or --all");
}

#[test]
fn a_bad_iam_write_rate_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_whittle-agent"))
        .args([
            "apply",
            "--all",
            "--iam-writes-per-second",
            "0",
            "--simulate",
        ])
        .arg(example())
        .arg("--data-dir")
        .arg(tmp.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--iam-writes-per-second") && err.contains("IAM write rate 0"),
        "{err}"
    );

    let config = tmp.path().join("agent.toml");
    std::fs::write(&config, "iam_writes_per_second = 500\n").unwrap();
    let out = agent(tmp.path(), &["plan", "--config", config.to_str().unwrap()]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("agent.toml") && err.contains("iam_writes_per_second") && err.contains("500"),
        "{err}"
    );
}

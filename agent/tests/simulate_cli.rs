//! `whittle-agent simulate generate` as a user runs it: an organisation of
//! simulated accounts that `plan --simulate` reads, and clear refusals.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

const NOW: &str = "2026-11-20T12:00:00Z";
const ACCOUNTS: [&str; 2] = ["111111111111", "222222222222"];

fn agent(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_whittle-agent"))
        .args(args)
        .output()
        .unwrap()
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

/// Exit status 2 and an error naming `needle`.
fn refused(out: &Output, needle: &str) {
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "stderr: {err}");
    assert!(err.contains(needle), "{needle:?} not in: {err}");
}

fn generate(out: &Path, extra: &[&str]) -> Output {
    let out = out.to_str().unwrap();
    let accounts = ACCOUNTS.join(",");
    let mut args = vec![
        "simulate",
        "generate",
        "--out",
        out,
        "--accounts",
        &accounts,
        "--roles",
        "40",
        "--seed",
        "7",
        "--now",
        NOW,
    ];
    args.extend_from_slice(extra);
    agent(&args)
}

#[test]
fn generated_accounts_plan_with_most_roles_removable_and_some_skipped() {
    let tmp = tempfile::tempdir().unwrap();
    let org = tmp.path().join("org");
    let stdout = ok(&generate(&org, &[]));
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{stdout}");
    for (line, id) in lines.iter().zip(ACCOUNTS) {
        let dir = org.join(format!("account-{id}"));
        assert!(line.contains(&dir.display().to_string()), "{line}");
        assert!(line.contains("40 roles"), "{line}");
        assert!(dir.join("authorization-details.json").is_file());
        let usage = std::fs::read_dir(dir.join("last-accessed"))
            .unwrap()
            .count();
        assert_eq!(usage, 40, "one access advisor report per role");

        let data = tmp.path().join(format!("data-{id}"));
        let plan = ok(&agent(&[
            "plan",
            "--simulate",
            dir.to_str().unwrap(),
            "--account",
            id,
            "--data-dir",
            data.to_str().unwrap(),
            "--now",
            NOW,
            "--output",
            "json",
        ]));
        let plan: Value = serde_json::from_str(&plan).unwrap();
        let summary = &plan["summary"];
        assert_eq!(summary["roles"], 40, "{summary}");
        let changed = summary["roles_with_changes"].as_u64().unwrap();
        let skipped = summary["roles_skipped"].as_u64().unwrap();
        assert!(
            changed >= 28,
            "most roles have removable permissions: {summary}"
        );
        assert!(skipped >= 1, "service-linked roles are skipped: {summary}");
        let young = plan["roles"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| {
                r["kept"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|d| d["code"] == "role_too_young")
            })
            .count();
        assert!(young >= 1, "young roles keep everything");
    }

    // The same seed writes the same bytes.
    let again = tmp.path().join("again");
    ok(&generate(&again, &[]));
    let dir = format!("account-{}", ACCOUNTS[0]);
    let read = |root: &Path| std::fs::read(root.join(&dir).join("authorization-details.json"));
    assert_eq!(read(&org).unwrap(), read(&again).unwrap());
}

#[test]
fn generate_refuses_bad_input_with_a_clear_message() {
    let tmp = tempfile::tempdir().unwrap();
    let org = tmp.path().join("org");
    ok(&generate(&org, &[]));
    let existing = org.join(format!("account-{}", ACCOUNTS[0]));
    let out = generate(&org, &[]);
    refused(&out, &existing.display().to_string());
    refused(&out, "--force");
    ok(&generate(&org, &["--force"]));

    let out_dir = tmp.path().join("other");
    let out_dir = out_dir.to_str().unwrap();
    let base = ["simulate", "generate", "--out", out_dir];
    refused(
        &agent(&[&base[..], &["--accounts", "12345"]].concat()),
        "invalid account id \"12345\"",
    );
    refused(
        &agent(&[&base[..], &["--accounts", "111111111111,111111111111"]].concat()),
        "given twice",
    );
    refused(
        &agent(&[&base[..], &["--roles", "0"]].concat()),
        "--roles 0",
    );
    refused(
        &agent(&[&base[..], &["--count", "0"]].concat()),
        "--count 0",
    );
    assert!(
        !Path::new(out_dir).exists(),
        "nothing is written when the input is refused"
    );
}

#[test]
fn count_makes_deterministic_account_ids() {
    let tmp = tempfile::tempdir().unwrap();
    let run = |name: &str| {
        let out = tmp.path().join(name);
        ok(&agent(&[
            "simulate",
            "generate",
            "--out",
            out.to_str().unwrap(),
            "--count",
            "3",
            "--roles",
            "5",
            "--now",
            NOW,
        ]));
        let mut dirs: Vec<String> = std::fs::read_dir(&out)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        dirs.sort();
        dirs
    };
    let first = run("a");
    assert_eq!(first.len(), 3);
    assert!(first.iter().all(|d| d.len() == "account-".len() + 12));
    assert_eq!(first, run("b"));
}

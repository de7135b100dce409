//! The `whittle` binary as an operator runs it, against a coordinator on loopback over real
//! mutual TLS.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code

mod server_harness;

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use server_harness::*;
use whittle_coordinator::ca::IssuedCert;
use whittle_policy::change::ChangeState;
use whittle_proto::convert::{CoordinatorMessage, ReportBody};
use whittle_proto::identity::OperatorRole;

/// Runs `whittle` with `args`, killing it if it runs longer than [`WAIT`].
async fn whittle(args: Vec<String>) -> Output {
    tokio::task::spawn_blocking(move || {
        let mut command = Command::new(env!("CARGO_BIN_EXE_whittle"));
        for var in [
            "WHITTLE_COORDINATOR",
            "WHITTLE_CA",
            "WHITTLE_CERT",
            "WHITTLE_KEY",
            "WHITTLE_CONFIG",
        ] {
            command.env_remove(var);
        }
        let mut child = command
            .args(&args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + WAIT;
        while child.try_wait().unwrap().is_none() {
            if Instant::now() > deadline {
                child.kill().unwrap();
                panic!("whittle {args:?} did not finish in time");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        child.wait_with_output().unwrap()
    })
    .await
    .unwrap()
}

/// The connection flags for `cert` at `port`.
fn connection(fx: &Fixture, port: u16, cert: &IssuedCert) -> Vec<String> {
    let path = |p: &Path| p.to_str().unwrap().to_string();
    vec![
        "--coordinator".into(),
        format!("https://localhost:{port}"),
        "--ca".into(),
        path(&fx.ca.cert_path()),
        "--cert".into(),
        path(&cert.path_cert),
        "--key".into(),
        path(&cert.path_key),
    ]
}

fn args(base: &[String], more: &[&str]) -> Vec<String> {
    let mut all = base.to_vec();
    all.extend(more.iter().map(|s| s.to_string()));
    all
}

/// Runs a command that must succeed, and parses its JSON output.
async fn json(base: &[String], more: &[&str]) -> Value {
    let mut all = args(base, more);
    all.extend(["--output".to_string(), "json".to_string()]);
    let out = whittle(all).await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "whittle {more:?} failed: {stderr}");
    serde_json::from_slice(&out.stdout).unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_manages_exclusions_and_sees_accounts_and_the_audit_log() {
    let fx = Fixture::new();
    let server = fx.start().await;
    let ada = connection(
        &fx,
        server.port,
        &fx.operator_cert("ada", OperatorRole::Admin),
    );

    assert_eq!(json(&ada, &["accounts"]).await, Value::Array(vec![]));

    let added = json(
        &ada,
        &[
            "exclusions",
            "add",
            "--account",
            A,
            "--action",
            "s3:Get*",
            "--tag",
            "team=data",
            "--reason",
            "break glass",
        ],
    )
    .await;
    let id = added["rule"]["id"].as_str().unwrap().to_string();
    assert_eq!(added["rule"]["author"], "ada");
    assert_eq!(added["rule"]["selector"]["accounts"][0], A);
    assert_eq!(added["rule"]["selector"]["tags"]["team"], "data");
    let version = added["version"].as_u64().unwrap();

    let listed = json(&ada, &["exclusions", "list"]).await;
    assert_eq!(listed["version"].as_u64(), Some(version));
    assert_eq!(listed["rules"], Value::Array(vec![added["rule"].clone()]));

    let removed = json(&ada, &["exclusions", "remove", &id]).await;
    assert_eq!(removed["removed"], id.as_str());
    assert!(removed["version"].as_u64().unwrap() > version);
    let listed = json(&ada, &["exclusions", "list"]).await;
    assert_eq!(listed["rules"], Value::Array(vec![]));

    let mut agent = server
        .agent(&fx, &fx.agent_cert(A), hello(A, 0, false))
        .await
        .unwrap();
    match agent.expect().await {
        CoordinatorMessage::Welcome(_) => {}
        other => panic!("expected welcome, got {other:?}"),
    }
    let accounts = json(&ada, &["accounts"]).await;
    assert_eq!(accounts.as_array().unwrap().len(), 1, "{accounts}");
    assert_eq!(accounts[0]["account_id"], A);
    assert_eq!(accounts[0]["connected"], true);
    assert_eq!(accounts[0]["agent_version"], "0.1.0-test");

    // The table form names the account too.
    let out = whittle(args(&ada, &["accounts"])).await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains(A));

    let audit = json(&ada, &["audit"]).await;
    let actions: Vec<(&str, &str)> = audit
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["action"].as_str().unwrap(), e["who"].as_str().unwrap()))
        .collect();
    assert_eq!(
        actions,
        [
            ("remove_exclusion", "operator ada (admin)"),
            ("add_exclusion", "operator ada (admin)"),
        ],
        "newest first"
    );
    drop(agent);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn settings_come_from_a_config_file() {
    let fx = Fixture::new();
    let server = fx.start().await;
    let cert = fx.operator_cert("ada", OperatorRole::Admin);
    let config = fx.tmp.path().join("whittle.toml");
    let text = format!(
        "coordinator = \"https://localhost:{}\"\nca = {:?}\ncert = {:?}\nkey = {:?}\n",
        server.port,
        fx.ca.cert_path(),
        cert.path_cert,
        cert.path_key
    );
    std::fs::write(&config, text).unwrap();
    let config = config.to_str().unwrap().to_string();
    let rules = json(
        &["--config".into(), config.clone()],
        &["exclusions", "list"],
    )
    .await;
    assert_eq!(rules["rules"], Value::Array(vec![]));

    std::fs::write(&config, "coordinatr = \"https://x\"\n").unwrap();
    let out = whittle(vec!["--config".into(), config.clone(), "accounts".into()]).await;
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains(&config) && err.contains("coordinatr"), "{err}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_viewer_may_not_approve() {
    let fx = Fixture::new();
    let server = fx.start().await;
    let vera = connection(
        &fx,
        server.port,
        &fx.operator_cert("vera", OperatorRole::Viewer),
    );
    let out = whittle(args(&vera, &["approve", "--account", A, "--all"])).await;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("your certificate (operator vera, viewer) may not approve: "),
        "{err}"
    );
    // Reading is allowed.
    assert_eq!(json(&vera, &["accounts"]).await, Value::Array(vec![]));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_coordinator_is_a_connection_error() {
    let fx = Fixture::new();
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let ada = connection(&fx, port, &fx.operator_cert("ada", OperatorRole::Admin));
    let out = whittle(args(&ada, &["accounts"])).await;
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    let expected = format!("cannot reach the coordinator at https://localhost:{port}: ");
    assert!(err.contains(&expected), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_certificate_file_is_named() {
    let fx = Fixture::new();
    let mut cert = fx.operator_cert("ada", OperatorRole::Admin);
    cert.path_cert = fx.tmp.path().join("no-such-cert.pem");
    let ada = connection(&fx, 1, &cert);
    let out = whittle(args(&ada, &["accounts"])).await;
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    let expected = format!("certificate file {}: ", cert.path_cert.display());
    assert!(err.contains(&expected), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_reads_a_plan_approves_it_and_rolls_it_back() {
    let fx = Fixture::new();
    let server = fx.start().await;
    let mut agent = server
        .agent(&fx, &fx.agent_cert(A), hello(A, 0, false))
        .await
        .unwrap();
    agent.expect().await; // welcome
    let mut p = plan(A, "app", "fp-1", 1);
    let before = r#"{"Statement":[{"Effect":"Allow","Action":["s3:GetObject","s3:PutObject"]}]}"#;
    let after = r#"{"Statement":[{"Effect":"Allow","Action":["s3:GetObject"]}]}"#;
    p.before.inline.insert("app-policy".into(), before.into());
    p.after.inline.insert("app-policy".into(), after.into());
    p.report_json = serde_json::json!({
        "removable": [{
            "action": "s3:PutObject",
            "policy": "app-policy",
            "reason": "not used in 90 days",
            "code": "unused",
        }],
    })
    .to_string();
    agent.report("p1", ReportBody::Plan(Box::new(p))).await;
    let change = change(A, "app", "fp-0", ChangeState::Applied);
    agent
        .report("c1", ReportBody::Change(Box::new(change.clone())))
        .await;
    let otto = connection(
        &fx,
        server.port,
        &fx.operator_cert("otto", OperatorRole::Operator),
    );

    let roles = json(&otto, &["roles", "--account", A]).await;
    assert_eq!(roles[0]["role_name"], "app");
    assert_eq!(roles[0]["removable"], 1);

    let show = ["plan", "show", "--account", A, "--role", "app"];
    let out = whittle(args(&otto, &show)).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("  s3 (1)"), "{text}");
    assert!(
        text.contains("s3:PutObject in app-policy: not used in 90 days"),
        "{text}"
    );
    assert!(
        text.contains("--- inline policy app-policy (before)"),
        "{text}"
    );
    assert!(
        text.lines()
            .any(|l| l.starts_with("- ") && l.contains("\"s3:PutObject\"")),
        "{text}"
    );
    let shown = json(&otto, &show).await;
    assert_eq!(
        shown["removable_by_service"]["s3"][0]["action"],
        "s3:PutObject"
    );
    let missing = ["plan", "show", "--account", A, "--role", "nope"];
    let out = whittle(args(&otto, &missing)).await;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("not found: "), "{}", stderr(&out));

    let decisions = json(&otto, &["approve", "--account", A, "--role", "app"]).await;
    assert_eq!(decisions[0]["role_name"], "app");
    assert_eq!(decisions[0]["author"], "otto");
    assert_eq!(decisions[0]["state"], "sent");

    let history = json(&otto, &["history", "--account", A, "--limit", "5"]).await;
    assert_eq!(history[0]["id"], change.id.to_string());

    let rollback = json(&otto, &["rollback", "--account", A, "--role", "app"]).await;
    assert_eq!(rollback["delivery"], "sent");
    assert!(!rollback["request_id"].as_str().unwrap().is_empty());
    drop(agent);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_schedules_removals_runs_campaigns_and_reads_the_report() {
    let fx = Fixture::new();
    let server = fx.start().await;
    let mut agent = server
        .agent(&fx, &fx.agent_cert(A), hello(A, 0, false))
        .await
        .unwrap();
    agent.expect().await; // welcome
    let mut p = plan(A, "app", "fp-1", 1);
    p.report_json = serde_json::json!({
        "removable": [{
            "action": "s3:PutObject",
            "policy": "app-policy",
            "reason": "not used in 90 days",
            "code": "unused",
        }],
    })
    .to_string();
    agent.report("p1", ReportBody::Plan(Box::new(p))).await;
    let otto = connection(
        &fx,
        server.port,
        &fx.operator_cert("otto", OperatorRole::Operator),
    );
    let later = (chrono::Utc::now() + chrono::Duration::days(7)).to_rfc3339();

    // A scheduled approval is announced on the plan until it is due.
    let approve = ["approve", "--account", A, "--role", "app", "--at", &later];
    let decisions = json(&otto, &approve).await;
    assert_eq!(decisions[0]["state"], "scheduled", "{decisions}");
    assert_eq!(decisions[0]["announced_removals"][0], "s3:PutObject");
    let out = whittle(args(
        &otto,
        &["plan", "show", "--account", A, "--role", "app"],
    ))
    .await;
    assert!(out.status.success(), "{}", stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.starts_with("ANNOUNCED: 1 action(s) will be removed no earlier than"),
        "{text}"
    );
    assert!(text.contains("  - s3:PutObject"), "{text}");
    let scheduled = json(&otto, &["decisions", "--state", "scheduled"]).await;
    assert_eq!(scheduled.as_array().unwrap().len(), 1, "{scheduled}");
    let out = whittle(args(&otto, &["decisions", "--state", "soon"])).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("\"soon\""), "{}", stderr(&out));

    // A campaign: created, listed, paused and cancelled.
    let create = [
        "campaign",
        "create",
        "--accounts",
        A,
        "--waves",
        "1,100%",
        "--soak",
        "10m",
        "--not-before",
        &later,
        "--description",
        "q4 cleanup",
    ];
    let created = json(&otto, &create).await;
    assert_eq!(created["state"], "scheduled", "{created}");
    assert_eq!(created["soak_seconds"], 600);
    assert_eq!(created["waves"][0]["roles"][0]["role_name"], "app");
    let id = created["campaign_id"].as_str().unwrap().to_string();
    let listed = json(&otto, &["campaign", "list"]).await;
    assert_eq!(listed[0]["campaign_id"], id.as_str());
    let paused = json(&otto, &["campaign", "pause", &id]).await;
    assert_eq!(paused["state"], "paused");
    let cancelled = json(&otto, &["campaign", "cancel", &id]).await;
    assert_eq!(cancelled["state"], "cancelled");
    let out = whittle(args(&otto, &["campaign", "resume", &id])).await;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("is cancelled"), "{}", stderr(&out));
    let bad = ["campaign", "create", "--accounts", "12", "--waves", "1"];
    let out = whittle(args(&otto, &bad)).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("\"12\""), "{}", stderr(&out));

    // Opt-outs.
    let add = [
        "optout",
        "add",
        "--account",
        A,
        "--role",
        "app",
        "--reason",
        "audit",
        "--until",
        &later,
        "--owner",
        "web-team",
    ];
    let added = json(&otto, &add).await;
    assert_eq!(added["owner"], "web-team");
    assert_eq!(added["created_by"], "otto");
    let listed = json(&otto, &["optout", "list"]).await;
    assert_eq!(listed.as_array().unwrap().len(), 1);
    json(
        &otto,
        &["optout", "remove", "--account", A, "--role", "app"],
    )
    .await;
    let listed = json(&otto, &["optout", "list"]).await;
    assert_eq!(listed, Value::Array(vec![]));

    // The report, as CSV; CSV is refused for other commands.
    let out = whittle(args(&otto, &["report", "--output", "csv"])).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let csv = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines[0],
        "account_id,connected,roles,actions_granted,removable_now,removed,rolled_back,excluded"
    );
    assert!(lines[1].starts_with(&format!("{A},true,")), "{csv}");
    assert!(lines[2].starts_with("total,"), "{csv}");
    let report = json(&otto, &["report"]).await;
    assert_eq!(report["top_roles"][0]["role_name"], "app");
    let out = whittle(args(&otto, &["accounts", "--output", "csv"])).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("`whittle report` only"),
        "{}",
        stderr(&out)
    );

    let audit = json(&otto, &["audit"]).await;
    let actions: Vec<&str> = audit
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    for action in [
        "approve",
        "create_campaign",
        "pause_campaign",
        "cancel_campaign",
        "resume_campaign",
        "add_opt_out",
        "remove_opt_out",
    ] {
        assert!(actions.contains(&action), "{action} audited: {actions:?}");
    }
    drop(agent);
    server.stop().await;
}

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

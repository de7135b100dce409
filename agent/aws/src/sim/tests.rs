use std::path::Path;
use std::time::Duration;

use chrono::TimeZone;

use super::*;
use crate::advisor::{PollPolicy, fetch_usage};
use crate::api::{AccessAdvisor, Iam, Sts};
use crate::retry::RetryPolicy;
use crate::retrying::Retrying;
use crate::types::LastAccessedJob;

const EXAMPLE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../deploy/examples/account-111122223333"
);
const DOC: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}"#;

fn example() -> SimAccount {
    SimAccount::load(Path::new(EXAMPLE)).unwrap()
}

fn doc(action: &str) -> String {
    DOC.replace("s3:GetObject", action)
}

#[tokio::test]
async fn loads_the_example_account() {
    let sim = example();
    assert_eq!(sim.account_id(), "111122223333");
    let roles = sim.list_roles().await.unwrap();
    assert_eq!(roles.len(), 8);
    let listed = roles.iter().find(|r| r.name == "app-web-frontend").unwrap();
    assert!(
        listed.tags.is_empty(),
        "ListRoles leaves tags out, like AWS"
    );
    let role = sim.get_role("app-web-frontend").await.unwrap();
    assert_eq!(role.tags.get("team").map(String::as_str), Some("web"));
    assert_eq!(
        role.permissions_boundary.as_deref(),
        Some("arn:aws:iam::111122223333:policy/workload-boundary")
    );
    assert!(role.last_used.is_some());
    let inline = sim
        .get_role_policy("ci-deployer", "ci-deploy")
        .await
        .unwrap();
    assert!(
        inline.starts_with('{') && inline.contains("cloudformation:*"),
        "decoded: {inline}"
    );
    let policy = sim
        .get_policy("arn:aws:iam::111122223333:policy/reporting-lambda-access")
        .await;
    assert_eq!(policy.unwrap().default_version_id, "v2");
    // The clock starts at the latest date of the seed (a usage report).
    assert!(sim.clock().now() >= Utc.with_ymd_and_hms(2026, 11, 19, 0, 0, 0).unwrap());
}

#[tokio::test]
async fn missing_things_are_not_found() {
    let sim = example();
    let arn = "arn:aws:iam::111122223333:policy/nope";
    let kinds = [
        sim.get_role("nope").await.unwrap_err().kind,
        sim.list_role_policies("nope").await.unwrap_err().kind,
        sim.get_role_policy("ci-deployer", "nope")
            .await
            .unwrap_err()
            .kind,
        sim.delete_role_policy("ci-deployer", "nope")
            .await
            .unwrap_err()
            .kind,
        sim.get_policy(arn).await.unwrap_err().kind,
        sim.attach_role_policy("ci-deployer", arn)
            .await
            .unwrap_err()
            .kind,
        sim.detach_role_policy("ci-deployer", arn)
            .await
            .unwrap_err()
            .kind,
        sim.get_policy_version(
            "arn:aws:iam::111122223333:policy/legacy-kinesis-access",
            "v7",
        )
        .await
        .unwrap_err()
        .kind,
        sim.get_service_last_accessed_details("nope")
            .await
            .unwrap_err()
            .kind,
    ];
    assert!(kinds.iter().all(|k| *k == ErrorKind::NotFound), "{kinds:?}");
    let err = sim.get_role("nope").await.unwrap_err();
    assert_eq!(err.operation, "GetRole");
    assert!(err.message.contains("nope"), "{}", err.message);
}

#[tokio::test]
async fn inline_policies_are_put_replaced_and_deleted() {
    let sim = example();
    sim.put_role_policy("data-pipeline", "extra", &doc("sqs:SendMessage"))
        .await
        .unwrap();
    sim.put_role_policy("data-pipeline", "extra", &doc("sqs:ReceiveMessage"))
        .await
        .unwrap();
    assert_eq!(
        sim.list_role_policies("data-pipeline").await.unwrap(),
        ["extra", "pipeline-etl"]
    );
    let got = sim.get_role_policy("data-pipeline", "extra").await.unwrap();
    assert!(got.contains("sqs:ReceiveMessage"));
    sim.delete_role_policy("data-pipeline", "extra")
        .await
        .unwrap();
    assert_eq!(
        sim.list_role_policies("data-pipeline").await.unwrap(),
        ["pipeline-etl"]
    );
}

#[tokio::test]
async fn bad_documents_are_refused() {
    let sim = example();
    for bad in [
        "not json",
        r#"{"Statement":[{"Effect":"Allow"}]}"#,
        r#"{"Version":"1"}"#,
    ] {
        let err = sim
            .put_role_policy("data-pipeline", "bad", bad)
            .await
            .unwrap_err();
        assert_eq!(err.kind, ErrorKind::MalformedPolicy, "{bad}");
    }
    let actions: Vec<String> = (0..1500).map(|i| format!("s3:Action{i}")).collect();
    let huge = DOC.replace(
        r#""s3:GetObject""#,
        &serde_json::to_string(&actions).unwrap(),
    );
    let err = sim
        .put_role_policy("data-pipeline", "huge", &huge)
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::LimitExceeded);
    let err = sim
        .create_policy("huge", "/", &huge, None)
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::LimitExceeded);
}

#[tokio::test]
async fn policy_versions_follow_iam_rules() {
    let sim = SimAccount::new("123456789012");
    let arn = sim
        .create_policy("scoped", "/whittle/", &doc("s3:A"), Some("d"))
        .await
        .unwrap();
    assert_eq!(arn, "arn:aws:iam::123456789012:policy/whittle/scoped");
    let info = sim.get_policy(&arn).await.unwrap();
    assert_eq!(
        (info.default_version_id.as_str(), info.attachment_count),
        ("v1", 0)
    );
    assert_eq!(info.path, "/whittle/");
    for n in 2..=5 {
        let id = sim
            .create_policy_version(&arn, &doc("s3:B"), false)
            .await
            .unwrap();
        assert_eq!(id, format!("v{n}"));
    }
    let sixth = sim
        .create_policy_version(&arn, &doc("s3:C"), true)
        .await
        .unwrap_err();
    assert_eq!(sixth.kind, ErrorKind::LimitExceeded);
    let err = sim.delete_policy_version(&arn, "v1").await.unwrap_err();
    assert_eq!(
        err.kind,
        ErrorKind::DeleteConflict,
        "the default version stays"
    );
    sim.delete_policy_version(&arn, "v2").await.unwrap();
    assert_eq!(
        sim.create_policy_version(&arn, &doc("s3:C"), true)
            .await
            .unwrap(),
        "v6"
    );
    assert_eq!(sim.get_policy(&arn).await.unwrap().default_version_id, "v6");
    assert!(
        sim.get_policy_version(&arn, "v6")
            .await
            .unwrap()
            .contains("s3:C")
    );
    sim.set_default_policy_version(&arn, "v1").await.unwrap();
    let versions = sim.list_policy_versions(&arn).await.unwrap();
    let ids: Vec<(&str, bool)> = versions
        .iter()
        .map(|v| (v.version_id.as_str(), v.is_default))
        .collect();
    assert_eq!(
        ids,
        [
            ("v1", true),
            ("v3", false),
            ("v4", false),
            ("v5", false),
            ("v6", false)
        ]
    );
    let err = sim
        .set_default_policy_version(&arn, "v2")
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::NotFound);
    let dup = sim
        .create_policy("scoped", "/whittle/", &doc("s3:A"), None)
        .await
        .unwrap_err();
    assert_eq!(dup.kind, ErrorKind::AlreadyExists);
}

#[tokio::test]
async fn attachments_are_counted_and_block_deletion() {
    let sim = example();
    let arn = sim
        .create_policy("new", "/", &doc("s3:A"), None)
        .await
        .unwrap();
    sim.attach_role_policy("data-pipeline", &arn).await.unwrap();
    sim.attach_role_policy("data-pipeline", &arn).await.unwrap();
    sim.attach_role_policy("ci-deployer", &arn).await.unwrap();
    assert_eq!(
        sim.get_policy(&arn).await.unwrap().attachment_count,
        2,
        "attaching twice is one"
    );
    assert_eq!(
        sim.list_attached_role_policies("data-pipeline")
            .await
            .unwrap(),
        std::slice::from_ref(&arn)
    );
    let err = sim.delete_policy(&arn).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::DeleteConflict);
    sim.detach_role_policy("data-pipeline", &arn).await.unwrap();
    sim.detach_role_policy("ci-deployer", &arn).await.unwrap();
    let err = sim
        .detach_role_policy("ci-deployer", &arn)
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::NotFound);
    assert_eq!(sim.get_policy(&arn).await.unwrap().attachment_count, 0);
    sim.create_policy_version(&arn, &doc("s3:B"), true)
        .await
        .unwrap();
    let err = sim.delete_policy(&arn).await.unwrap_err();
    assert_eq!(
        err.kind,
        ErrorKind::DeleteConflict,
        "a non-default version is left"
    );
    sim.delete_policy_version(&arn, "v1").await.unwrap();
    sim.delete_policy(&arn).await.unwrap();
    assert_eq!(
        sim.get_policy(&arn).await.unwrap_err().kind,
        ErrorKind::NotFound
    );
    // A boundary in use blocks deletion too.
    let boundary = "arn:aws:iam::111122223333:policy/workload-boundary";
    assert_eq!(
        sim.delete_policy(boundary).await.unwrap_err().kind,
        ErrorKind::DeleteConflict
    );
}

#[tokio::test]
async fn role_attachments_are_capped() {
    let sim = SimAccount::new("123456789012");
    sim.create_role("busy", "/").unwrap();
    for i in 0..MAX_ATTACHED_POLICIES {
        let arn = sim
            .create_policy(&format!("p{i}"), "/", DOC, None)
            .await
            .unwrap();
        sim.attach_role_policy("busy", &arn).await.unwrap();
    }
    let arn = sim
        .create_policy("one-too-many", "/", DOC, None)
        .await
        .unwrap();
    let err = sim.attach_role_policy("busy", &arn).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::LimitExceeded);
}

#[tokio::test]
async fn aws_managed_policies_cannot_be_changed() {
    let sim = example();
    let arn = "arn:aws:iam::aws:policy/AmazonSQSReadOnlyAccess";
    let err = sim.create_policy_version(arn, DOC, true).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::AccessDenied);
    assert_eq!(
        sim.delete_policy(arn).await.unwrap_err().kind,
        ErrorKind::AccessDenied
    );
}

#[tokio::test]
async fn a_recreated_role_has_a_new_role_id() {
    let sim = SimAccount::new("123456789012");
    let first = sim.create_role("app", "/team/").unwrap();
    assert_eq!(first.arn, "arn:aws:iam::123456789012:role/team/app");
    sim.put_role_policy("app", "p", DOC).await.unwrap();
    assert_eq!(
        sim.delete_role("app").unwrap_err().kind,
        ErrorKind::DeleteConflict
    );
    sim.delete_role_policy("app", "p").await.unwrap();
    sim.delete_role("app").unwrap();
    let second = sim.create_role("app", "/team/").unwrap();
    assert_eq!(first.arn, second.arn);
    assert_ne!(first.role_id, second.role_id);
}

#[tokio::test]
async fn clones_share_the_account_and_the_clock() {
    let sim = example();
    let other = sim.clone();
    let later = Utc.with_ymd_and_hms(2027, 2, 3, 4, 5, 6).unwrap();
    other.clock().set(later);
    other.create_role("made-elsewhere", "/").unwrap();
    let role = sim.get_role("made-elsewhere").await.unwrap();
    assert_eq!(role.create_date, later);
    sim.clock().advance(chrono::Duration::hours(1));
    assert_eq!(other.clock().now(), later + chrono::Duration::hours(1));
    other
        .edit_role("made-elsewhere", |r| {
            r.tags.insert("k".into(), "v".into());
            r.role_id = "forged".into();
        })
        .unwrap();
    let role = sim.get_role("made-elsewhere").await.unwrap();
    assert_eq!(role.tags.get("k").map(String::as_str), Some("v"));
    assert_ne!(role.role_id, "forged", "identity is not editable");
}

#[tokio::test]
async fn caller_identity_is_the_account() {
    let sim = SimAccount::new("123456789012");
    let me = sim.get_caller_identity().await.unwrap();
    assert_eq!(me.account, "123456789012");
    assert!(
        me.arn.starts_with("arn:aws:sts::123456789012:"),
        "{}",
        me.arn
    );
}

mod advisor;
mod faults;
